package io.shardgate.controlplane.cli;

import io.shardgate.templates.BootstrapParams;
import io.shardgate.templates.BootstrapRenderer;
import io.shardgate.templates.XdsMode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
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

  /** Injected by picocli: its writers are the terminal, or whatever a caller set with setOut/setErr. */
  @Spec CommandSpec spec;

  @Option(names = "--proxy", required = true, paramLabel = "NAME", description = "Proxy name (a Gateway proxyNames entry).")
  String proxy;

  @Option(names = "--namespace", paramLabel = "NS", defaultValue = BootstrapParams.DEFAULT_NAMESPACE,
      description = "Write namespace: the first half of the node role (default: ${DEFAULT-VALUE}).")
  String namespace;

  @Option(names = "--xds", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:9977",
      description = "Address of the control plane's xDS port (default: ${DEFAULT-VALUE}).")
  String xds;

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
    int colon = xds.lastIndexOf(':');
    if (colon <= 0 || colon == xds.length() - 1) {
      err.println("error: --xds must be HOST:PORT, e.g. 127.0.0.1:9977; got '" + xds + "'");
      err.flush();
      return 2;
    }
    int port;
    try {
      port = Integer.parseInt(xds.substring(colon + 1));
    } catch (NumberFormatException e) {
      err.println("error: --xds port must be a number, got '" + xds.substring(colon + 1) + "'");
      err.flush();
      return 2;
    }
    String tlsProblem = tlsProblem();
    if (tlsProblem != null) {
      err.println("error: " + tlsProblem);
      err.flush();
      return 2;
    }
    String host = xds.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    try {
      BootstrapParams.Builder b =
          BootstrapParams.builder(proxy)
              .namespace(namespace)
              .xdsHost(host)
              .xdsPort(port)
              .adminPort(adminPort)
              .statsPort(statsPort)
              .statsAddress(statsAddress)
              .xdsMode(delta ? XdsMode.DELTA : XdsMode.SOTW)
              .xdsCaFile(xdsTlsCa)
              .xdsClientCertificate(xdsTlsCert, xdsTlsKey);
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
