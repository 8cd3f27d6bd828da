package io.shardgate.controlplane.cli;

import io.shardgate.controlplane.app.ServeFactory;
import io.shardgate.controlplane.source.ConsulKvClient;
import io.shardgate.controlplane.source.ConsulKvSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The Consul options shared by {@code serve}, {@code validate} and {@code translate}: the KV source
 * ({@code --consul}), or an agent for service discovery only ({@code --consul-agent}), and how to reach either. The
 * token itself never becomes a property or an argument: it stays in its file or in {@value ConsulKvClient#TOKEN_ENV}.
 */
final class ConsulOptions {

  @Option(names = "--consul", paramLabel = "ADDR", description = {
      "Read the Gloo resources from Consul's KV store at this HTTP address (http://127.0.0.1:8500, or https://...)",
      "under <root-key>/<group>/<version>/<Kind>/<namespace>/<name>, as Gloo does (docs/consul.md). Cannot be",
      "combined with --config-dir or --kubernetes."})
  String address;

  @Option(names = "--consul-agent", paramLabel = "ADDR", description = {
      "Use the Consul agent at this HTTP address for service discovery only: consul Upstreams get the passing",
      "instances of their service over EDS, while the config comes from --config-dir or --kubernetes. With --consul,",
      "that agent is used and this option must not be given."})
  String agent;

  @Option(names = "--consul-discovery", description = {
      "Also turn every service in the Consul catalog into an Upstream, named and shaped as Gloo's consul discovery",
      "writes them, in the Settings' discoveryNamespace. Needs --consul or --consul-agent."})
  boolean discovery;

  @Option(names = "--consul-token-file", paramLabel = "FILE", description = "With --consul or --consul-agent: a"
      + " file holding the ACL token (default: $CONSUL_HTTP_TOKEN, else no token). It is read again when Consul"
      + " answers 403, so a rotated file is picked up.")
  Path tokenFile;

  @Option(names = "--consul-root-key", paramLabel = "KEY", defaultValue = ConsulKvSource.DEFAULT_ROOT_KEY,
      description = "With --consul: the key prefix (default: ${DEFAULT-VALUE}, as Gloo's rootKey).")
  String rootKey;

  @Option(names = "--consul-ca-file", paramLabel = "FILE", description = "With an https --consul or"
      + " --consul-agent: the PEM CA certificates to trust (default: the JVM's).")
  Path caFile;

  @Option(names = "--consul-datacenter", paramLabel = "DC", description = "With --consul: the datacenter whose"
      + " KV store is read (default: the agent's own). Service discovery reads the data centers each Upstream names.")
  String datacenter;

  /** Whether Consul's KV store is the config source ({@code --consul}). */
  boolean enabled() {
    return address != null;
  }

  /** The agent used for service discovery: {@code --consul}'s, else {@code --consul-agent}'s, else null. */
  String agentAddress() {
    return address != null ? address : agent;
  }

  /**
   * Why these options cannot work, or null: consul-* options without an agent, {@code --consul} with
   * {@code --consul-agent}, unreadable files.
   */
  String problem(boolean parsedRootKey) {
    if (address != null && agent != null) {
      return "--consul and --consul-agent are mutually exclusive: with --consul, that agent is also used for"
          + " service discovery.";
    }
    if (parsedRootKey && !enabled()) {
      return "--consul-root-key is only read with --consul.";
    }
    if (agentAddress() == null) {
      if (tokenFile != null || caFile != null || datacenter != null || discovery) {
        return "--consul-token-file, --consul-ca-file, --consul-datacenter and --consul-discovery are only read"
            + " with --consul or --consul-agent.";
      }
      return null;
    }
    for (Path p : new Path[] {tokenFile, caFile}) {
      if (p != null && !Files.isReadable(p)) {
        return "Consul " + (p == tokenFile ? "token" : "CA") + " file " + p.toAbsolutePath() + " is not readable.";
      }
    }
    try {
      toOptions();
      ConsulKvSource.Options.defaults(rootKey);
    } catch (IllegalArgumentException | IOException e) {
      return e.getMessage();
    }
    return null;
  }

  ConsulKvClient.Options toOptions() throws IOException {
    return ConsulKvClient.Options.resolve(agentAddress(), tokenFile, caFile, datacenter);
  }

  /** The properties {@code serve} passes to the context (file paths, never the token). */
  Map<String, Object> properties() {
    Map<String, Object> p = new LinkedHashMap<>();
    if (address != null) {
      p.put(ServeFactory.CONSUL, address);
    } else if (agent != null) {
      p.put(ServeFactory.CONSUL_AGENT, agent);
    }
    if (discovery) {
      p.put(ServeFactory.CONSUL_DISCOVERY, "true");
    }
    p.put(ServeFactory.CONSUL_PREFIX + "root-key", rootKey);
    if (tokenFile != null) {
      p.put(ServeFactory.CONSUL_PREFIX + "token-file", tokenFile.toAbsolutePath().normalize().toString());
    }
    if (caFile != null) {
      p.put(ServeFactory.CONSUL_PREFIX + "ca-file", caFile.toAbsolutePath().normalize().toString());
    }
    if (datacenter != null) {
      p.put(ServeFactory.CONSUL_PREFIX + "datacenter", datacenter);
    }
    return p;
  }
}
