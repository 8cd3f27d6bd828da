package io.shardgate.sharding.plan;

import io.shardgate.sharding.ir.ProxyFilterChain;
import io.shardgate.sharding.ir.SecretUse;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.Settings;
import java.util.List;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The edge shard: a thin proxy in front of the gateway-proxy shards that sends each shard's domains to that shard,
 * by Host for plain HTTP, and for TLS by SNI: passed through to the shard that terminates it, or (with
 * {@code tlsMode: Terminate}) terminated at the edge with the shard's own certificates and sent by Host to the
 * shard's TLS address. It forwards as is: no rewrites, no retries, no options; Host is preserved. Immutable; built by
 * {@link ShardPlanner}, turned into Envoy resources by the control plane's edge xDS translator.
 *
 * @param proxyName the edge's proxy name ({@code gateway-proxy-edge} by default)
 * @param writeNamespace the first half of its role
 * @param bindAddress address of its listeners
 * @param bindPort port of its HTTP listener
 * @param tlsBindPort port of its TLS listener, built only when a target has a TLS address and TLS to route
 * @param tlsMode whether the TLS listener passes TLS through or terminates it
 * @param targets one per shard the edge routes to, sorted by shard name
 * @param fingerprint SHA-256 (hex) over everything above
 */
public record EdgePlan(
    String proxyName,
    String writeNamespace,
    String bindAddress,
    int bindPort,
    int tlsBindPort,
    Settings.Edge.TlsMode tlsMode,
    List<Target> targets,
    String fingerprint) {

  public EdgePlan {
    targets = List.copyOf(targets);
  }

  /** The edge with its fingerprint computed from its content. */
  static EdgePlan of(String proxyName, String writeNamespace, String bindAddress, int bindPort, int tlsBindPort,
      Settings.Edge.TlsMode tlsMode, List<Target> targets) {
    String fingerprint = Canonical.sha256("edge\n"
        + Canonical.of(List.of(proxyName, writeNamespace, bindAddress, bindPort, tlsBindPort, tlsMode, targets)));
    return new EdgePlan(proxyName, writeNamespace, bindAddress, bindPort, tlsBindPort, tlsMode, targets, fingerprint);
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

  /** Whether the edge has a TLS listener: some shard with a TLS address has TLS to pass through or terminate. */
  public boolean hasTlsListener() {
    return targets.stream().anyMatch(t -> t.tls() != null && (!t.serverNames().isEmpty() || !t.tlsChains().isEmpty()));
  }

  /**
   * The TLS secrets the edge's terminating filter chains reference over SDS, merged per secret and sorted: exactly
   * the SDS resources the edge serves (empty when it passes TLS through).
   */
  public SortedSet<SecretUse> secretUses() {
    SortedMap<ResourceRef, SecretUse> bySecret = new TreeMap<>();
    for (Target t : targets) {
      for (ProxyFilterChain c : t.tlsChains()) {
        ResourceRef ref = c.sslConfig().secretRef();
        if (ref != null) {
          bySecret.merge(ref, new SecretUse(ref, true, c.requiresClientCertificate()),
              (a, b) -> new SecretUse(ref, true, a.validation() || b.validation()));
        }
      }
    }
    return new TreeSet<>(bySecret.values());
  }

  /**
   * One shard behind the edge.
   *
   * @param shard the shard's proxy name
   * @param http where the shard takes plain HTTP, or null when the edge does not route its HTTP
   * @param tls where the shard takes TLS, or null when the edge sends it no TLS
   * @param domains the Host values sent to it (lower-case, sorted; {@code *} for a catch-all), conflicts left out
   * @param serverNames the SNI names passed through to it (the TLS stream relayed, the shard terminates): exactly the
   *     names its TLS filter chains match, sorted, those another shard claims too left out; with {@code Terminate}
   *     only those of chains that verify client certificates (the edge cannot present the client's certificate)
   * @param tlsChains with {@code Terminate}: the shard's TLS filter chains the edge terminates, with the names no
   *     other shard claims; empty otherwise
   * @param tlsDomains with {@code Terminate}: the Host values of the shard's TLS virtual hosts, sent to its TLS
   *     address once the edge has terminated TLS (lower-case, sorted); empty otherwise
   */
  public record Target(
      String shard, Settings.HostPort http, Settings.HostPort tls, List<String> domains, List<String> serverNames,
      List<ProxyFilterChain> tlsChains, List<String> tlsDomains) {
    public Target {
      domains = List.copyOf(domains);
      serverNames = List.copyOf(serverNames);
      tlsChains = List.copyOf(tlsChains);
      tlsDomains = List.copyOf(tlsDomains);
    }
  }
}
