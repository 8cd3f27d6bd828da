package io.shardgate.snapshot;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources.ApiVersion;
import io.envoyproxy.controlplane.server.serializer.ProtoResourcesSerializer;

/**
 * Packs each resource instance into an {@code Any} once, however many streams it is sent on (xDS serving stage).
 *
 * <p>Stateful, thread-safe. All Envoys of a shard receive the very same message instances from its snapshot, so
 * caching by identity turns one serialization per stream into one per snapshot. Weak keys compare by identity, which
 * avoids the deep {@code hashCode()} of java-control-plane's {@code CachedProtoResourcesSerializer} (slower than the
 * serialization it saves, for large route configurations), and let an entry go when no snapshot holds its resource.
 */
final class IdentityCachingSerializer implements ProtoResourcesSerializer {

  private final Cache<Message, Any> packed = Caffeine.newBuilder().weakKeys().build();

  @Override
  public Any serialize(Message resource, ApiVersion apiVersion) {
    return packed.get(resource, Any::pack);
  }
}
