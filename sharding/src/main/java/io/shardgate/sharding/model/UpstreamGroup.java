package io.shardgate.sharding.model;

import java.util.List;

/** {@code gloo.solo.io/v1} UpstreamGroup: weighted destinations that routes can share. */
public record UpstreamGroup(ObjectMeta meta, List<Action.WeightedDestination> destinations) implements Resource {

  public UpstreamGroup {
    destinations = List.copyOf(destinations);
  }

  @Override
  public Kind kind() {
    return Kind.UPSTREAM_GROUP;
  }
}
