package io.shardgate.snapshot;

import io.envoyproxy.controlplane.server.DefaultExecutorGroup;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.grpc.BindableService;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The gRPC services that serve a {@link ShardSnapshotCache} to Envoys (xDS serving stage).
 *
 * <p>Immutable after construction and thread-safe; the services it returns are what the control plane registers on
 * its gRPC server (Micronaut registers every {@code BindableService} bean). It wires java-control-plane's
 * {@link V3DiscoveryServer} to the cache's {@link ShardSnapshotCache#configWatcher() watcher} and to a fresh
 * {@link ShardDiscoveryCallbacks}, which must see every stream of this server, so always build servers here. Each
 * resource is packed into an {@code Any} once per snapshot, not once per stream.
 */
public final class ShardDiscoveryServer {

  private final ShardDiscoveryCallbacks callbacks;
  private final V3DiscoveryServer server;

  /** A server with Shardgate's callbacks only. */
  public ShardDiscoveryServer(ShardSnapshotCache cache) {
    this(cache, List.of());
  }

  /**
   * A server with Shardgate's callbacks, then {@code extraCallbacks} (raw java-control-plane callbacks) in order.
   */
  public ShardDiscoveryServer(ShardSnapshotCache cache, List<? extends DiscoveryServerCallbacks> extraCallbacks) {
    this(cache, extraCallbacks, ShardStreamListener.NONE);
  }

  /**
   * A server with Shardgate's callbacks, which report every stream event to {@code listener} (metrics), then
   * {@code extraCallbacks} in order.
   */
  public ShardDiscoveryServer(ShardSnapshotCache cache, List<? extends DiscoveryServerCallbacks> extraCallbacks,
      ShardStreamListener listener) {
    Objects.requireNonNull(cache, "cache");
    Objects.requireNonNull(listener, "listener");
    this.callbacks = ShardDiscoveryCallbacks.create(cache,
        listener == ShardStreamListener.NONE ? List.of() : List.of(listener));
    List<DiscoveryServerCallbacks> all = new ArrayList<>();
    all.add(callbacks);
    all.addAll(extraCallbacks);
    this.server = new V3DiscoveryServer(List.copyOf(all), cache.configWatcher(), new DefaultExecutorGroup(),
        new IdentityCachingSerializer());
  }

  /** The aggregated discovery service (ADS, state of the world and delta), which Shardgate's bootstraps use. */
  public BindableService aggregatedDiscoveryService() {
    return server.getAggregatedDiscoveryServiceImpl();
  }

  /** ADS plus the per-type CDS, EDS, LDS, RDS and SDS services, for clients that do not use ADS. */
  public List<BindableService> allServices() {
    return List.of(
        server.getAggregatedDiscoveryServiceImpl(),
        server.getClusterDiscoveryServiceImpl(),
        server.getEndpointDiscoveryServiceImpl(),
        server.getListenerDiscoveryServiceImpl(),
        server.getRouteDiscoveryServiceImpl(),
        server.getSecretDiscoveryServiceImpl());
  }

  /** The per-group stream counters of this server, and its NACK bookkeeping. */
  public ShardDiscoveryCallbacks callbacks() {
    return callbacks;
  }
}
