package io.shardgate.snapshot;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources.ApiVersion;
import io.envoyproxy.controlplane.server.serializer.ProtoResourcesSerializer;

/**
 * Packs each resource instance into an {@code Any} once, however many streams it is sent on, from the serialization
 * {@link ContentVersions} hashed (xDS serving stage).
 *
 * <p>Stateful, thread-safe. All Envoys of a shard receive the very same message instances from its snapshot, so
 * caching by identity turns one serialization per stream into one per snapshot. Weak keys compare by identity, which
 * avoids the deep {@code hashCode()} of java-control-plane's {@code CachedProtoResourcesSerializer} (slower than the
 * serialization it saves, for large route configurations), and let an entry go when no snapshot holds its resource.
 */
final class IdentityCachingSerializer implements ProtoResourcesSerializer {

  @Override
  public Any serialize(Message resource, ApiVersion apiVersion) {
    // The packed form is kept with the resource's version: its serialization is the one the version was hashed from.
    return ContentVersions.packed(resource);
  }
}
