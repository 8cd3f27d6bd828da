package io.shardgate.sharding.plan;

import io.shardgate.sharding.model.Settings;
import java.util.List;

/**
 * The edge shard: a thin proxy in front of the gateway-proxy shards that sends each shard's domains to that shard,
 * by Host for plain HTTP and by SNI (TLS passthrough, never terminated) for TLS. It forwards as is: no rewrites, no
 * retries, no options; Host is preserved. Immutable; built by {@link ShardPlanner}, turned into Envoy resources by
 * the control plane's edge xDS translator.
 *
 * @param proxyName the edge's proxy name ({@code gateway-proxy-edge} by default)
 * @param writeNamespace the first half of its role
 * @param bindAddress address of its listeners
 * @param bindPort port of its HTTP listener
 * @param tlsBindPort port of its TLS passthrough listener, built only when a target has a TLS address and server
 *     names
 * @param targets one per shard the edge routes to, sorted by shard name
 * @param fingerprint SHA-256 (hex) over everything above
 */
public record EdgePlan(
    String proxyName,
    String writeNamespace,
    String bindAddress,
    int bindPort,
    int tlsBindPort,
    List<Target> targets,
    String fingerprint) {

  public EdgePlan {
    targets = List.copyOf(targets);
  }

  /** The edge with its fingerprint computed from its content. */
  static EdgePlan of(
      String proxyName, String writeNamespace, String bindAddress, int bindPort, int tlsBindPort, List<Target> targets) {
    String fingerprint =
        Canonical.sha256(
            "edge\n" + Canonical.of(List.of(proxyName, writeNamespace, bindAddress, bindPort, tlsBindPort, targets)));
    return new EdgePlan(proxyName, writeNamespace, bindAddress, bindPort, tlsBindPort, targets, fingerprint);
  }

  /** The node role of the edge's Envoys. */
  public String role() {
    return writeNamespace + "~" + proxyName;
  }

  /** Where its HTTP listener listens. */
  public Settings.HostPort httpListener() {
    return new Settings.HostPort(bindAddress, bindPort);
  }

  /** Where its TLS passthrough listener listens, when it has one ({@link #hasTlsListener()}). */
  public Settings.HostPort tlsListener() {
    return new Settings.HostPort(bindAddress, tlsBindPort);
  }

  /** Whether the edge has a TLS passthrough listener. */
  public boolean hasTlsListener() {
    return targets.stream().anyMatch(t -> t.tls() != null && !t.serverNames().isEmpty());
  }

  /**
   * One shard behind the edge.
   *
   * @param shard the shard's proxy name
   * @param http where the shard takes plain HTTP, or null when the edge does not route its HTTP
   * @param tls where the shard takes TLS, or null when the edge does not pass its TLS through
   * @param domains the Host values sent to it (lower-case, sorted; {@code *} for a catch-all), conflicts left out
   * @param serverNames the SNI names passed through to it: its domains that are valid server names
   */
  public record Target(
      String shard, Settings.HostPort http, Settings.HostPort tls, List<String> domains, List<String> serverNames) {
    public Target {
      domains = List.copyOf(domains);
      serverNames = List.copyOf(serverNames);
    }
  }
}
