package io.shardgate.sharding.ir;

import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.SslConfig;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * One TLS filter chain of an SSL listener: the virtual hosts whose TLS settings are equal but for their SNI names
 * share it, and it matches the union of their names (every SNI when one of them matches every SNI), as Gloo
 * consolidates them. All chains of a listener share its one HTTP connection manager and route configuration: SNI
 * picks the certificate, the Host header the virtual host. Immutable value.
 *
 * @param serverNames the SNI names it matches, sorted; empty for every SNI
 * @param sslConfig the shared TLS settings, resolved as in {@link ProxyVirtualHost#sslConfig}, with no
 *     {@code sniDomains} (see {@code serverNames})
 * @param virtualServices the VirtualServices whose hosts it terminates TLS for, sorted
 */
public record ProxyFilterChain(List<String> serverNames, SslConfig sslConfig, List<ResourceKey> virtualServices) {

  private static final Comparator<ProxyFilterChain> ORDER =
      Comparator.comparing((ProxyFilterChain c) -> String.join(",", c.serverNames()))
          .thenComparing(c -> c.sslConfig().toString());

  public ProxyFilterChain {
    serverNames = List.copyOf(serverNames);
    virtualServices = List.copyOf(virtualServices);
  }

  /** Whether Envoy requires client certificates on this chain and verifies them with the root CA. */
  public boolean requiresClientCertificate() {
    return Boolean.FALSE.equals(sslConfig.oneWayTls());
  }

  /**
   * The chains of {@code hosts} (those with an {@code sslConfig}): one per distinct configuration but for its SNI
   * names, sorted by server names, then by configuration. Pure.
   */
  public static List<ProxyFilterChain> of(List<ProxyVirtualHost> hosts) {
    Map<SslConfig, List<ProxyVirtualHost>> byConfig = new LinkedHashMap<>();
    for (ProxyVirtualHost vh : hosts) {
      if (vh.sslConfig() != null) {
        byConfig.computeIfAbsent(vh.sslConfig().withSniDomains(List.of()), k -> new ArrayList<>()).add(vh);
      }
    }
    List<ProxyFilterChain> out = new ArrayList<>();
    byConfig.forEach((config, members) -> {
      TreeSet<String> names = new TreeSet<>();
      boolean all = false;
      TreeSet<ResourceKey> vss = new TreeSet<>();
      for (ProxyVirtualHost vh : members) {
        all |= vh.sslConfig().sniDomains().isEmpty();
        names.addAll(vh.sslConfig().sniDomains());
        vss.add(vh.virtualService());
      }
      out.add(new ProxyFilterChain(all ? List.of() : List.copyOf(names), config, List.copyOf(vss)));
    });
    out.sort(ORDER);
    return out;
  }
}
