package io.shardgate.sharding.model;

import java.util.List;

/**
 * {@code gateway.solo.io/v1} RouteTable: routes a VirtualService or another RouteTable delegates to.
 *
 * @param weight ordering among tables selected together (ascending); 0 when unset
 */
public record RouteTable(ObjectMeta meta, List<Route> routes, int weight) implements Resource {

  public RouteTable {
    routes = List.copyOf(routes);
  }

  @Override
  public Kind kind() {
    return Kind.ROUTE_TABLE;
  }
}
