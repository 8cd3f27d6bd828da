package io.shardgate.sharding.ir;

import io.shardgate.sharding.model.Matcher;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.RouteOptions;
import java.util.List;

/**
 * One flattened route: no delegation left, upstream references resolved to namespaces.
 *
 * @param name the generated route name, kept only when a route on its delegation branch had a user name
 * @param matchers at least one; xDS translation emits one Envoy route per matcher
 * @param source the VirtualService or RouteTable the route was written in
 */
public record ProxyRoute(
    String name, List<Matcher> matchers, RouteAction action, RouteOptions options, ResourceKey source) {

  public ProxyRoute {
    matchers = List.copyOf(matchers);
    options = options == null ? RouteOptions.NONE : options;
  }
}
