package io.shardgate.sharding.ir;

import io.shardgate.sharding.model.Action;
import io.shardgate.sharding.model.ResourceRef;
import java.util.List;

/** What a flattened route does. */
public sealed interface RouteAction permits RouteAction.Forward, RouteAction.Redirect, RouteAction.DirectResponse {

  /**
   * Forward to upstream clusters.
   *
   * @param weighted false for a single destination; true for {@code multi} and UpstreamGroups
   */
  record Forward(List<ClusterWeight> clusters, boolean weighted) implements RouteAction {
    public Forward {
      clusters = List.copyOf(clusters);
    }
  }

  /** One upstream and its weight (0 for single destinations). */
  record ClusterWeight(ResourceRef upstream, int weight) {}

  /** Redirect, as written in the route. */
  record Redirect(Action.Redirect redirect) implements RouteAction {}

  /** Answer directly. */
  record DirectResponse(int status, String body) implements RouteAction {}
}
