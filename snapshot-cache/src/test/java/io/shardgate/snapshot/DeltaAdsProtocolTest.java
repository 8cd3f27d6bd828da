package io.shardgate.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Incremental (delta) ADS against the snapshot cache over a real grpc-netty server and channel on 127.0.0.1, with raw
 * delta streams that play Envoy's part by hand: per-resource content versions, only changed resources pushed, a
 * reconnect to a restarted control plane with {@code initial_resource_versions}, and NACKs that do not loop.
 */
class DeltaAdsProtocolTest {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;
  /** How long a stream must stay silent to count as "nothing sent". */
  private static final long SILENCE_MS = 1_000;

  private final List<ControlPlane> planes = new ArrayList<>();

  @AfterEach
  void stop() throws InterruptedException {
    for (ControlPlane plane : planes) {
      plane.stop();
    }
  }

  @Test
  void wildcardSubscriptionGetsContentVersionsThenOnlyWhatChanged() throws InvalidProtocolBufferException {
    ControlPlane plane = start();
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "two"));
    DeltaStream a = plane.open("envoy-a-delta", Fixtures.SHARD_A);

    DeltaDiscoveryResponse clusters = a.subscribeAndAck(CDS, List.of());
    assertEquals(CDS, clusters.getTypeUrl());
    assertEquals(Set.of("a-one", "a-two"), DeltaStream.versions(clusters).keySet());
    for (Resource r : clusters.getResourcesList()) {
      assertEquals(ContentVersions.of(r.getResource().unpack(Cluster.class)), r.getVersion());
    }
    DeltaDiscoveryResponse listeners = a.subscribeAndAck(LDS, List.of());
    assertEquals(Set.of("a-http"), DeltaStream.versions(listeners).keySet());
    a.assertSilent(SILENCE_MS);

    // one cluster added; the listener and its route configuration (which routes to a-one) are unchanged
    assertTrue(plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "two", "three")));
    DeltaDiscoveryResponse added = a.next();
    assertEquals(CDS, added.getTypeUrl());
    assertEquals(Set.of("a-three"), DeltaStream.versions(added).keySet(), "only the new cluster is sent");
    assertEquals(0, added.getRemovedResourcesCount());
    a.ack(added);
    a.assertSilent(SILENCE_MS);

    assertTrue(plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "three")));
    DeltaDiscoveryResponse removed = a.next();
    assertEquals(CDS, removed.getTypeUrl());
    assertEquals(0, removed.getResourcesCount());
    assertEquals(List.of("a-two"), removed.getRemovedResourcesList());
    a.ack(removed);
    a.assertSilent(SILENCE_MS);
  }

  @Test
  void clientReconnectingToARestartedControlPlaneWithItsVersionsGetsNothing() throws Exception {
    ControlPlane before = start();
    before.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "two"));
    before.cache.retainShards(Set.of(Fixtures.SHARD_A));
    DeltaStream first = before.open("envoy-a-delta", Fixtures.SHARD_A);
    Map<String, String> clusters = DeltaStream.versions(first.subscribeAndAck(CDS, List.of()));
    Map<String, String> listeners = DeltaStream.versions(first.subscribeAndAck(LDS, List.of()));
    Map<String, String> routes = DeltaStream.versions(first.subscribeAndAck(RDS, List.of("a-routes")));
    assertEquals(Set.of("a-routes"), routes.keySet());
    before.stop();

    // A new process: a new cache and server, fed separately built but equal content, as the pipeline would.
    ControlPlane after = start();
    after.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "two", "one"));
    after.cache.retainShards(Set.of(Fixtures.SHARD_A));
    DeltaStream again = after.open("envoy-a-delta", Fixtures.SHARD_A);
    again.subscribe(CDS, List.of(), clusters);
    again.subscribe(LDS, List.of(), listeners);
    again.subscribe(RDS, List.of("a-routes"), routes);
    again.assertSilent(SILENCE_MS);

    // What it declared counts as known from now on: a change sends only the difference, removals included.
    assertTrue(after.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "three")));
    DeltaDiscoveryResponse changed = again.next();
    assertEquals(CDS, changed.getTypeUrl());
    assertEquals(Set.of("a-three"), DeltaStream.versions(changed).keySet());
    assertEquals(List.of("a-two"), changed.getRemovedResourcesList(), "a-two was known only from its initial version");
    again.ack(changed);
    again.assertSilent(SILENCE_MS);

    // Control: a client that declares nothing is sent everything.
    DeltaStream fresh = after.open("envoy-a-fresh", Fixtures.SHARD_A);
    fresh.subscribe(CDS);
    assertEquals(Set.of("a-one", "a-three"), DeltaStream.versions(fresh.next()).keySet());
  }

  @Test
  void reconnectingWithAStaleVersionGetsOnlyThatResource() {
    ControlPlane plane = start();
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "two"));
    plane.cache.retainShards(Set.of(Fixtures.SHARD_A));
    String one = ContentVersions.of(Fixtures.edsCluster("a-one"));
    DeltaStream a = plane.open("envoy-a-delta", Fixtures.SHARD_A);
    a.subscribe(CDS, List.of(), Map.of("a-one", one, "a-two", "stale", "a-gone", "whatever"));

    DeltaDiscoveryResponse response = a.next();
    assertEquals(Set.of("a-two"), DeltaStream.versions(response).keySet());
    assertEquals(List.of("a-gone"), response.getRemovedResourcesList());
    a.ack(response);
    a.assertSilent(SILENCE_MS);
  }

  @Test
  void nackOfAResourceSubscribedByNameIsNotResentUntilItChanges() throws InvalidProtocolBufferException {
    ControlPlane plane = start();
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "two"));
    DeltaStream a = plane.open("envoy-a-delta", Fixtures.SHARD_A);
    a.subscribeAndAck(CDS, List.of());
    a.subscribeAndAck(LDS, List.of());
    a.subscribe(RDS, List.of("a-routes"), Map.of());
    DeltaDiscoveryResponse rejected = a.next();
    assertEquals(RDS, rejected.getTypeUrl());

    a.nack(rejected, "route config a-routes: pretend Envoy dislikes it");
    a.assertSilent(SILENCE_MS); // java-control-plane alone resends at once: the name is still "pending"

    ShardStreamStats.Nack nack = plane.cache.latestNacks(Fixtures.SHARD_A).get(RDS);
    assertEquals(rejected.getSystemVersionInfo(), nack.version());
    assertEquals("envoy-a-delta", nack.nodeId());
    assertTrue(nack.message().contains("pretend"));
    assertEquals(1, plane.xds.callbacks().statsOf(Fixtures.SHARD_A).nacks());

    // Another type changes and is ACKed: the rejected routes still are not resent with it.
    assertTrue(plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "two", "three")));
    DeltaDiscoveryResponse clusters = a.next();
    assertEquals(CDS, clusters.getTypeUrl());
    a.ack(clusters);
    a.assertSilent(SILENCE_MS);

    // The routes change (they route to the first cluster by name): now they are sent.
    assertTrue(plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "alpha", "one", "two", "three")));
    DeltaDiscoveryResponse fixed = null;
    for (int i = 0; i < 2 && fixed == null; i++) {
      DeltaDiscoveryResponse r = a.next();
      if (r.getTypeUrl().equals(RDS)) {
        fixed = r;
      } else {
        a.ack(r);
      }
    }
    assertTrue(fixed != null, "the changed route configuration is sent");
    assertEquals("a-alpha", fixed.getResources(0).getResource().unpack(RouteConfiguration.class)
        .getVirtualHosts(0).getRoutes(0).getRoute().getCluster());
    assertNotEquals(rejected.getResources(0).getVersion(), fixed.getResources(0).getVersion());
  }

  @Test
  void nackOfAWildcardTypeIsNotResent() {
    ControlPlane plane = start();
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    DeltaStream a = plane.open("envoy-a-delta", Fixtures.SHARD_A);
    a.subscribe(CDS);
    DeltaDiscoveryResponse rejected = a.next();
    a.nack(rejected, "cluster a-one: pretend Envoy dislikes it");
    a.assertSilent(SILENCE_MS);

    // A later, unrelated cluster change sends only that cluster, not the rejected one again.
    assertTrue(plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "two")));
    DeltaDiscoveryResponse next = a.next();
    assertEquals(Set.of("a-two"), DeltaStream.versions(next).keySet());
  }

  private ControlPlane start() {
    ControlPlane plane = new ControlPlane();
    planes.add(plane);
    return plane;
  }

  /** A cache, its discovery server on a loopback port and a channel to it: one control-plane process. */
  private static final class ControlPlane {
    final ShardSnapshotCache cache = new ShardSnapshotCache();
    final ShardDiscoveryServer xds = new ShardDiscoveryServer(cache);
    final Server server;
    final ManagedChannel channel;
    final List<DeltaStream> streams = new ArrayList<>();
    private boolean stopped;

    ControlPlane() {
      try {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(xds.aggregatedDiscoveryService())
            .build()
            .start();
      } catch (IOException e) {
        throw new AssertionError("cannot start the gRPC server", e);
      }
      channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    }

    DeltaStream open(String nodeId, String role) {
      DeltaStream stream = new DeltaStream(channel, Fixtures.node(nodeId, role));
      streams.add(stream);
      return stream;
    }

    void stop() throws InterruptedException {
      if (stopped) {
        return;
      }
      stopped = true;
      streams.forEach(DeltaStream::close);
      channel.shutdownNow();
      server.shutdownNow();
      assertTrue(channel.awaitTermination(DeltaStream.RESPONSE_TIMEOUT_S, TimeUnit.SECONDS));
      assertTrue(server.awaitTermination(DeltaStream.RESPONSE_TIMEOUT_S, TimeUnit.SECONDS));
    }
  }
}
