package io.shardgate.sharding.ir;

import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.SslConfig;
import java.util.List;

/**
 * One virtual host of a listener, built from one VirtualService with its delegation flattened.
 *
 * @param name {@code <namespace>.<name>} of the VirtualService
 * @param domains as written; empty means every domain
 * @param routes in match order
 * @param sslConfig on an SSL listener, the VirtualService's TLS as resolved for its filter chain, else null:
 *     {@code sniDomains} are the server names it matches (lower-cased, sorted; empty for every SNI), and
 *     {@code oneWayTls} is never null: false exactly when Envoy requires client certificates and verifies them with
 *     the root CA (the source has one and oneWayTls is not set, directly or by Settings); then
 *     {@code verifySubjectAltName} is empty
 */
public record ProxyVirtualHost(
    String name, List<String> domains, List<ProxyRoute> routes, ResourceKey virtualService, SslConfig sslConfig) {

  public ProxyVirtualHost {
    domains = List.copyOf(domains);
    routes = List.copyOf(routes);
  }

  /** A virtual host of a plain (non-TLS) listener. */
  public ProxyVirtualHost(String name, List<String> domains, List<ProxyRoute> routes, ResourceKey virtualService) {
    this(name, domains, routes, virtualService, null);
  }
}
