package io.shardgate.controlplane.cli;

import io.shardgate.controlplane.app.ServeFactory;
import io.shardgate.controlplane.source.ConsulServiceRegistration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import picocli.CommandLine.Option;

/**
 * {@code serve}'s registration of its xDS endpoint in the Consul agent (docs/hashicorp.md), as a picocli mixin;
 * {@link #problem} checks the combination, {@link #properties} hands it to the context.
 */
final class ConsulRegisterOptions {

  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern IPV4 =
      Pattern.compile("((25[0-5]|2[0-4]\\d|1?\\d?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1?\\d?\\d)");
  private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

  @Option(names = "--consul-register", description = {
      "Register the xDS endpoint as a service in the Consul agent (--consul, else --consul-agent) once the xDS port",
      "is open, with an HTTP check of the admin API's /ready, and deregister it on shutdown. Gateway-proxies then",
      "find this control plane by name (bootstrap --xds-consul)."})
  boolean register;

  @Option(names = "--consul-service-name", paramLabel = "NAME",
      defaultValue = ConsulServiceRegistration.DEFAULT_SERVICE_NAME,
      description = "With --consul-register: the service name, a DNS label (default: ${DEFAULT-VALUE}).")
  String serviceName;

  @Option(names = "--consul-service-address", paramLabel = "ADDR", description = "With --consul-register: the IP"
      + " address Envoys dial, registered as the service's address (default: --xds-address; required when that is"
      + " 0.0.0.0 or ::).")
  String serviceAddress;

  /** Why these options cannot work with this xDS bind address and agent, or null. */
  String problem(boolean parsedServiceName, String xdsAddress, String agent) {
    if (!register) {
      if (parsedServiceName || serviceAddress != null) {
        return "--consul-service-name and --consul-service-address are only read with --consul-register.";
      }
      return null;
    }
    if (agent == null) {
      return "--consul-register needs the Consul agent to register with: --consul ADDR (the KV source's agent) or"
          + " --consul-agent ADDR.";
    }
    if (!DNS_LABEL.matcher(serviceName).matches()) {
      return "--consul-service-name '" + serviceName + "' cannot be looked up through Consul's DNS: use lowercase"
          + " letters, digits and '-' (like gloo-xds).";
    }
    if (serviceAddress == null && isWildcard(xdsAddress)) {
      return "--consul-register with --xds-address " + xdsAddress + " needs --consul-service-address ADDR: the"
          + " address Envoys dial, which a wildcard bind address does not tell.";
    }
    String address = address(xdsAddress);
    if (isWildcard(address) || !IPV4.matcher(address).matches() && !IPV6.matcher(address).matches()) {
      return "--consul-service-address '" + address + "' is not an IP address Envoys can dial (Consul's DNS"
          + " answers with it as an A or AAAA record).";
    }
    return null;
  }

  private String address(String xdsAddress) {
    return serviceAddress != null ? serviceAddress : xdsAddress;
  }

  /**
   * The registration's properties: the service, and the check URL of the admin API's {@code /ready} on an address
   * the agent (on this host) reaches: loopback for a wildcard admin bind address.
   */
  Map<String, Object> properties(String xdsAddress, String adminAddress, int adminPort) {
    Map<String, Object> p = new LinkedHashMap<>();
    if (!register) {
      return p;
    }
    String checkHost = isWildcard(adminAddress) ? "127.0.0.1" : adminAddress;
    p.put(ServeFactory.CONSUL_REGISTER, "true");
    p.put(ServeFactory.CONSUL_REGISTER_PREFIX + "service-name", serviceName);
    p.put(ServeFactory.CONSUL_REGISTER_PREFIX + "address", address(xdsAddress));
    p.put(ServeFactory.CONSUL_REGISTER_PREFIX + "check-url",
        "http://" + (checkHost.contains(":") ? "[" + checkHost + "]" : checkHost) + ":" + adminPort + "/ready");
    BuildVersion version = BuildVersion.current();
    p.put(ServeFactory.CONSUL_REGISTER_PREFIX + "version", version.version() == null ? "development"
        : version.version());
    return p;
  }

  private static boolean isWildcard(String address) {
    return address.equals("0.0.0.0") || address.equals("::") || address.equals("[::]");
  }
}
