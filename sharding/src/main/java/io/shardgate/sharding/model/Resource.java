package io.shardgate.sharding.model;

/** An input resource of one of the Gloo kinds. Implementations are immutable records. */
public sealed interface Resource permits Gateway, VirtualService, RouteTable, Upstream, UpstreamGroup, Settings {

  ObjectMeta meta();

  Kind kind();

  default ResourceKey key() {
    return new ResourceKey(kind(), meta().namespace(), meta().name());
  }
}
