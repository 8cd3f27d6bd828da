package io.shardgate.sharding.ir;

import io.shardgate.sharding.model.ResourceKey;
import java.util.List;

/**
 * One virtual host of a listener, built from one VirtualService with its delegation flattened.
 *
 * @param name {@code <namespace>.<name>} of the VirtualService
 * @param domains as written; empty means every domain
 * @param routes in match order
 */
public record ProxyVirtualHost(
    String name, List<String> domains, List<ProxyRoute> routes, ResourceKey virtualService) {

  public ProxyVirtualHost {
    domains = List.copyOf(domains);
    routes = List.copyOf(routes);
  }
}
