package io.shardgate.sharding.ir;

import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One HTTP listener of a Proxy, built from one Gateway: plain, or terminating TLS (a Gateway with {@code ssl: true}).
 *
 * @param name {@code listener-<bindAddress>-<bindPort>}, as Gloo names it
 * @param virtualHosts sorted by name
 * @param gateway the Gateway it was built from
 * @param filterChains null for a plain listener (one plaintext chain); for an SSL listener its TLS filter chains,
 *     which are {@link ProxyFilterChain#of} its virtual hosts (see {@link #ssl(String, String, int, List,
 *     ResourceKey)})
 */
public record ProxyListener(
    String name, String bindAddress, int bindPort, List<ProxyVirtualHost> virtualHosts, ResourceKey gateway,
    List<ProxyFilterChain> filterChains) {

  public ProxyListener {
    virtualHosts = List.copyOf(virtualHosts);
    filterChains = filterChains == null ? null : List.copyOf(filterChains);
  }

  /** A plain listener. */
  public ProxyListener(
      String name, String bindAddress, int bindPort, List<ProxyVirtualHost> virtualHosts, ResourceKey gateway) {
    this(name, bindAddress, bindPort, virtualHosts, gateway, null);
  }

  /** An SSL listener, its filter chains those of its virtual hosts. */
  public static ProxyListener ssl(
      String name, String bindAddress, int bindPort, List<ProxyVirtualHost> virtualHosts, ResourceKey gateway) {
    return new ProxyListener(name, bindAddress, bindPort, virtualHosts, gateway, ProxyFilterChain.of(virtualHosts));
  }

  /** Whether the listener terminates TLS. */
  public boolean isSsl() {
    return filterChains != null;
  }

  /** The same listener with {@code hosts} (and, when it is an SSL listener, their filter chains). */
  public ProxyListener withVirtualHosts(List<ProxyVirtualHost> hosts) {
    return isSsl() ? ssl(name, bindAddress, bindPort, hosts, gateway)
        : new ProxyListener(name, bindAddress, bindPort, hosts, gateway);
  }

  /**
   * The TLS secrets this listener's filter chains reference over SDS, sorted: each {@code secretRef}'s certificate,
   * and its root CA where the chain verifies client certificates.
   */
  public List<SecretUse> secretUses() {
    if (filterChains == null) {
      return List.of();
    }
    SortedMap<ResourceRef, SecretUse> bySecret = new TreeMap<>();
    for (ProxyFilterChain c : filterChains) {
      ResourceRef ref = c.sslConfig().secretRef();
      if (ref != null) {
        SecretUse u = new SecretUse(ref, true, c.requiresClientCertificate());
        bySecret.merge(ref, u, (a, b) -> new SecretUse(ref, true, a.validation() || b.validation()));
      }
    }
    return List.copyOf(new ArrayList<>(bySecret.values()));
  }
}
