package io.shardgate.controlplane.cli;

import io.shardgate.templates.BootstrapParams;
import io.shardgate.templates.BootstrapRenderer;
import io.shardgate.templates.XdsMode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code bootstrap}: prints the Envoy bootstrap of one shard. */
@Command(
    name = "bootstrap",
    mixinStandardHelpOptions = true,
    description = {
      "Print the Envoy bootstrap (YAML) of one gateway-proxy shard to stdout. Run Envoy with it:",
      "  envoy -c envoy.yaml --base-id <unique number per Envoy on the host>"
    })
public final class BootstrapCommand implements Callable<Integer> {

  static final String DEFAULT_CONSUL_DNS = "127.0.0.1:8600";
  static final String DEFAULT_CONSUL_DOMAIN = "consul";
  private static final Pattern IP_LITERAL = Pattern.compile("[0-9.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern DNS_NAME =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

  /** Injected by picocli: its writers are the terminal, or whatever a caller set with setOut/setErr. */
  @Spec CommandSpec spec;

  @Option(names = "--proxy", required = true, paramLabel = "NAME", description = "Proxy name (a Gateway proxyNames entry).")
  String proxy;

  @Option(names = "--namespace", paramLabel = "NS", defaultValue = BootstrapParams.DEFAULT_NAMESPACE,
      description = "Write namespace: the first half of the node role (default: ${DEFAULT-VALUE}).")
  String namespace;

  /** {@code --xds}'s default, spelled out so that its absence can be told from an explicit value. */
  static final String DEFAULT_XDS = "127.0.0.1:9977";

  @Option(names = "--xds", paramLabel = "HOST:PORT",
      description = "Address of the control plane's xDS port (default: " + DEFAULT_XDS + "). Cannot be combined with"
          + " --xds-consul.")
  String xds;

  @Option(names = "--xds-consul", paramLabel = "SERVICE", description = "Find the control plane through Consul's"
      + " DNS instead of a fixed --xds address: Envoy resolves SERVICE.service.<--consul-domain> (the passing"
      + " instances of the service that serve --consul-register registers, gloo-xds by default) by asking"
      + " --consul-dns, and follows the answer as instances come and go (docs/hashicorp.md).")
  String xdsConsul;

  @Option(names = "--xds-port", paramLabel = "PORT", description = "With --xds-consul: the control plane's xDS port,"
      + " the same on every instance because Consul's DNS A records carry no port (default: "
      + BootstrapParams.DEFAULT_XDS_PORT + ", serve's default).")
  Integer xdsPort;

  @Option(names = "--consul-dns", paramLabel = "IP:PORT", description = "With --xds-consul: the IP address and"
      + " port of the Consul agent's DNS interface that Envoy asks (default: " + DEFAULT_CONSUL_DNS + ", the local"
      + " agent's).")
  String consulDns;

  @Option(names = "--consul-domain", paramLabel = "DOMAIN", description = "With --xds-consul: Consul's DNS domain,"
      + " the agent's -domain (default: " + DEFAULT_CONSUL_DOMAIN + ").")
  String consulDomain;

  @Option(names = "--admin-port", paramLabel = "PORT", defaultValue = "19000",
      description = "Envoy admin port on 127.0.0.1; give each Envoy on one host its own (default: ${DEFAULT-VALUE}).")
  int adminPort;

  @Option(names = "--node-id", paramLabel = "ID", description = "Envoy node id (default: <proxy>.<namespace>).")
  String nodeId;

  @Option(names = "--stats-port", paramLabel = "PORT", defaultValue = "0",
      description = "Port of a /ready and /metrics listener (on --stats-address); 0 for none (default: ${DEFAULT-VALUE}).")
  int statsPort;

  @Option(names = "--stats-address", paramLabel = "ADDR", defaultValue = BootstrapParams.DEFAULT_STATS_ADDRESS,
      description = "IP address the --stats-port listener binds to; 0.0.0.0 or :: in a pod, so probes and Prometheus"
          + " reach it while the admin interface stays on 127.0.0.1 (default: ${DEFAULT-VALUE}).")
  String statsAddress;

  @Option(names = "--delta", description = "Use incremental (delta) xDS instead of state of the world.")
  boolean delta;

  @Option(names = "--xds-tls", description = "Connect to the control plane over TLS (serve --xds-tls-cert); needs"
      + " --xds-tls-ca, which also implies it.")
  boolean xdsTls;

  @Option(names = "--xds-tls-ca", paramLabel = "FILE", description = "PEM CA bundle that signs the control plane's"
      + " xDS certificate; that certificate must name the --xds host. A path on the Envoy's machine, written as given"
      + " (relative paths resolve against Envoy's working directory).")
  String xdsTlsCa;

  @Option(names = "--xds-tls-cert", paramLabel = "FILE", description = "PEM certificate chain this Envoy presents"
      + " (mutual TLS, for serve --xds-tls-client-ca); with --xds-tls-key. A path on the Envoy's machine.")
  String xdsTlsCert;

  @Option(names = "--xds-tls-key", paramLabel = "FILE", description = "PEM private key of --xds-tls-cert. A path on"
      + " the Envoy's machine.")
  String xdsTlsKey;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    String problem = consulProblem();
    if (problem == null) {
      problem = tlsProblem();
    }
    if (problem != null) {
      err.println("error: " + problem);
      err.flush();
      return 2;
    }
    try {
      BootstrapParams.Builder b = BootstrapParams.builder(proxy)
          .namespace(namespace)
          .adminPort(adminPort)
          .statsPort(statsPort)
          .statsAddress(statsAddress)
          .xdsMode(delta ? XdsMode.DELTA : XdsMode.SOTW)
          .xdsCaFile(xdsTlsCa)
          .xdsClientCertificate(xdsTlsCert, xdsTlsKey);
      if (xdsConsul != null) {
        HostPort dns = HostPort.parse("--consul-dns", consulDns == null ? DEFAULT_CONSUL_DNS : consulDns);
        if (!IP_LITERAL.matcher(dns.host()).matches()) {
          throw new IllegalArgumentException("--consul-dns needs the agent's IP address (Envoy sends its DNS queries"
              + " to an address, it does not resolve the resolver), got '" + dns.host() + "'");
        }
        b.xdsHost(xdsConsul + ".service." + (consulDomain == null ? DEFAULT_CONSUL_DOMAIN : consulDomain))
            .xdsPort(xdsPort == null ? BootstrapParams.DEFAULT_XDS_PORT : xdsPort)
            .xdsDnsResolver(dns.host(), dns.port());
      } else {
        HostPort x = HostPort.parse("--xds", xds == null ? DEFAULT_XDS : xds);
        b.xdsHost(x.host()).xdsPort(x.port());
      }
      if (nodeId != null) {
        b.nodeId(nodeId);
      }
      out.print(BootstrapRenderer.render(b.build()));
      out.flush();
      return 0;
    } catch (IllegalArgumentException e) {
      err.println("error: " + e.getMessage());
      err.flush();
      return 2;
    }
  }

  /** What is wrong with the combination of the Consul options, in their own names; null when nothing is. */
  private String consulProblem() {
    if (xdsConsul == null) {
      if (xdsPort != null || consulDns != null || consulDomain != null) {
        return "--xds-port, --consul-dns and --consul-domain are only read with --xds-consul SERVICE; without it,"
            + " give the control plane's address as --xds HOST:PORT.";
      }
      return null;
    }
    if (xds != null) {
      return "--xds and --xds-consul are mutually exclusive: give the control plane's address either as --xds"
          + " HOST:PORT or as a Consul service name (with --xds-port PORT).";
    }
    if (!DNS_LABEL.matcher(xdsConsul).matches()) {
      return "--xds-consul '" + xdsConsul + "' is not a Consul service name that DNS can carry: use lowercase"
          + " letters, digits and '-' (like gloo-xds).";
    }
    if (consulDomain != null && !DNS_NAME.matcher(consulDomain).matches()) {
      return "--consul-domain '" + consulDomain + "' is not a DNS domain (like consul or consul.example.com).";
    }
    return null;
  }

  /** A {@code HOST:PORT} option's value, the brackets of an IPv6 host removed. */
  private record HostPort(String host, int port) {

    static HostPort parse(String option, String value) {
      int colon = value.lastIndexOf(':');
      if (colon <= 0 || colon == value.length() - 1) {
        throw new IllegalArgumentException(option + " must be HOST:PORT, e.g. 127.0.0.1:9977; got '" + value + "'");
      }
      int port;
      try {
        port = Integer.parseInt(value.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(option + " port must be a number, got '" + value.substring(colon + 1)
            + "'");
      }
      String host = value.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      return new HostPort(host, port);
    }
  }

  /** What is wrong with the combination of TLS options, in their own names; null when nothing is. */
  private String tlsProblem() {
    if (xdsTls && xdsTlsCa == null) {
      return "--xds-tls needs --xds-tls-ca FILE: the CA that signs the control plane's xDS certificate (without it"
          + " Envoy would trust any server)";
    }
    if ((xdsTlsCert == null) != (xdsTlsKey == null)) {
      return "a client certificate needs both --xds-tls-cert FILE and --xds-tls-key FILE; only "
          + (xdsTlsCert == null ? "--xds-tls-key" : "--xds-tls-cert") + " was given";
    }
    if (xdsTlsCert != null && xdsTlsCa == null) {
      return "--xds-tls-cert needs TLS: also pass --xds-tls-ca FILE, the CA that signs the control plane's xDS"
          + " certificate";
    }
    return null;
  }
}
