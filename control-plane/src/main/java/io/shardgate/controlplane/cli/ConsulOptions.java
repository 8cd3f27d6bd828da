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
 * The Consul KV source's options and the agent's ({@code --consul-agent}, for serve's registration), shared by
 * {@code serve}, {@code validate}, {@code translate} and {@code consul push}. The token itself never becomes a property or an argument: it stays in its file or in
 * {@value ConsulKvClient#TOKEN_ENV}.
 */
final class ConsulOptions {

  @Option(names = "--consul", paramLabel = "ADDR", description = {
      "Read the Gloo resources from Consul's KV store at this HTTP address (http://127.0.0.1:8500, or https://...)",
      "under <root-key>/<group>/<version>/<Kind>/<namespace>/<name>, as Gloo does (docs/consul.md). Cannot be",
      "combined with --config-dir or --kubernetes."})
  String address;

  @Option(names = "--consul-agent", paramLabel = "ADDR", description = {
      "The Consul agent (http://127.0.0.1:8500, or https://...) that serve registers with (--consul-register) when",
      "the config comes from --config-dir or --kubernetes; with --consul, that agent is used. Cannot be combined",
      "with --consul."})
  String agentAddress;

  @Option(names = "--consul-token-file", paramLabel = "FILE",
      description = "With --consul or --consul-agent: a file holding the ACL token (default: $CONSUL_HTTP_TOKEN, else"
          + " no token).")
  Path tokenFile;

  @Option(names = "--consul-root-key", paramLabel = "KEY", defaultValue = ConsulKvSource.DEFAULT_ROOT_KEY,
      description = "With --consul: the key prefix (default: ${DEFAULT-VALUE}, as Gloo's rootKey).")
  String rootKey;

  @Option(names = "--consul-ca-file", paramLabel = "FILE",
      description = "With an https --consul or --consul-agent: the PEM CA certificates to trust (default: the"
          + " JVM's).")
  Path caFile;

  @Option(names = "--consul-datacenter", paramLabel = "DC",
      description = "With --consul or --consul-agent: the datacenter to read (default: the agent's own).")
  String datacenter;

  boolean enabled() {
    return address != null;
  }

  /** The agent's address for registration: {@code --consul}'s, else {@code --consul-agent}'s, else null. */
  String agent() {
    return address != null ? address : agentAddress;
  }

  /** Why these options cannot work, or null: consul-* options without --consul, unreadable files. */
  String problem(boolean parsedRootKey) {
    if (address != null && agentAddress != null) {
      return "--consul and --consul-agent are mutually exclusive: with --consul, that agent is also the one"
          + " registered with.";
    }
    if (!enabled()) {
      if (parsedRootKey || agentAddress == null && (tokenFile != null || caFile != null || datacenter != null)) {
        return "--consul-token-file, --consul-root-key, --consul-ca-file and --consul-datacenter are only read"
            + " with --consul (all but --consul-root-key also with --consul-agent).";
      }
      if (agentAddress == null) {
        return null;
      }
    }
    for (Path p : new Path[] {tokenFile, caFile}) {
      if (p != null && !Files.isReadable(p)) {
        return "Consul " + (p == tokenFile ? "token" : "CA") + " file " + p.toAbsolutePath() + " is not readable.";
      }
    }
    try {
      toOptions();
      if (enabled()) {
        ConsulKvSource.Options.defaults(rootKey);
      }
    } catch (IllegalArgumentException | IOException e) {
      return e.getMessage();
    }
    return null;
  }

  ConsulKvClient.Options toOptions() throws IOException {
    return ConsulKvClient.Options.resolve(agent(), tokenFile, caFile, datacenter);
  }

  /** The properties {@code serve} passes to the context (file paths, never the token). */
  Map<String, Object> properties() {
    Map<String, Object> p = new LinkedHashMap<>();
    if (enabled()) {
      p.put(ServeFactory.CONSUL, address);
      p.put(ServeFactory.CONSUL_PREFIX + "root-key", rootKey);
    } else if (agentAddress != null) {
      p.put(ServeFactory.CONSUL_AGENT, agentAddress);
    }
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
