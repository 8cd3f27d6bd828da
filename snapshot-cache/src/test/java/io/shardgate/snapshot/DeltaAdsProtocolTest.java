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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
  private static final long SILENCE_MS = 500;

  private final List<TestControlPlane> planes = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (TestControlPlane plane : planes) {
      plane.close();
    }
  }

  @Test
  void wildcardSubscriptionGetsContentVersionsThenOnlyWhatChanged() throws InvalidProtocolBufferException {
    TestControlPlane plane = start();
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "two"));
    DeltaStream a = plane.delta("envoy-a-delta", Fixtures.SHARD_A);

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
    TestControlPlane before = start();
    before.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "two"));
    before.cache.retainShards(Set.of(Fixtures.SHARD_A));
    DeltaStream first = before.delta("envoy-a-delta", Fixtures.SHARD_A);
    Map<String, String> clusters = DeltaStream.versions(first.subscribeAndAck(CDS, List.of()));
    Map<String, String> listeners = DeltaStream.versions(first.subscribeAndAck(LDS, List.of()));
    Map<String, String> routes = DeltaStream.versions(first.subscribeAndAck(RDS, List.of("a-routes")));
    assertEquals(Set.of("a-routes"), routes.keySet());
    before.close();

    // A new process: a new cache and server, fed separately built but equal content, as the pipeline would.
    TestControlPlane after = start();
    after.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "two", "one"));
    after.cache.retainShards(Set.of(Fixtures.SHARD_A));
    DeltaStream again = after.delta("envoy-a-delta", Fixtures.SHARD_A);
    again.subscribe(CDS, List.of(), clusters);
    again.subscribe(LDS, List.of(), listeners);
    again.subscribe(RDS, List.of("a-routes"), routes);
    again.assertSilent(SILENCE_MS);

    // What it declared counts as known from now on: a change sends only the difference, removals included (make
    // before break: the new cluster first, the removal once the new one is answered).
    assertTrue(after.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "three")));
    DeltaDiscoveryResponse added = again.next(CDS);
    assertEquals(Set.of("a-three"), DeltaStream.versions(added).keySet());
    assertEquals(List.of(), added.getRemovedResourcesList());
    again.ack(added);
    DeltaDiscoveryResponse removed = again.next(CDS);
    assertEquals(Set.of(), DeltaStream.versions(removed).keySet());
    assertEquals(List.of("a-two"), removed.getRemovedResourcesList(), "a-two was known only from its initial version");
    again.ack(removed);
    again.assertSilent(SILENCE_MS);

    // Control: a client that declares nothing is sent everything.
    DeltaStream fresh = after.delta("envoy-a-fresh", Fixtures.SHARD_A);
    fresh.subscribe(CDS);
    assertEquals(Set.of("a-one", "a-three"), DeltaStream.versions(fresh.next()).keySet());
  }

  @Test
  void reconnectingWithAStaleVersionGetsOnlyThatResource() {
    TestControlPlane plane = start();
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "two"));
    plane.cache.retainShards(Set.of(Fixtures.SHARD_A));
    String one = ContentVersions.of(Fixtures.edsCluster("a-one"));
    DeltaStream a = plane.delta("envoy-a-delta", Fixtures.SHARD_A);
    a.subscribe(CDS, List.of(), Map.of("a-one", one, "a-two", "stale", "a-gone", "whatever"));

    DeltaDiscoveryResponse response = a.next();
    assertEquals(Set.of("a-two"), DeltaStream.versions(response).keySet());
    assertEquals(List.of("a-gone"), response.getRemovedResourcesList());
    a.ack(response);
    a.assertSilent(SILENCE_MS);
  }

  @Test
  void nackOfAResourceSubscribedByNameIsNotResentUntilItChanges() throws InvalidProtocolBufferException {
    TestControlPlane plane = start();
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "two"));
    DeltaStream a = plane.delta("envoy-a-delta", Fixtures.SHARD_A);
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
    TestControlPlane plane = start();
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    DeltaStream a = plane.delta("envoy-a-delta", Fixtures.SHARD_A);
    a.subscribe(CDS);
    DeltaDiscoveryResponse rejected = a.next();
    a.nack(rejected, "cluster a-one: pretend Envoy dislikes it");
    a.assertSilent(SILENCE_MS);

    // A later, unrelated cluster change sends only that cluster, not the rejected one again.
    assertTrue(plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "two")));
    DeltaDiscoveryResponse next = a.next();
    assertEquals(Set.of("a-two"), DeltaStream.versions(next).keySet());
  }

  private TestControlPlane start() {
    TestControlPlane plane = new TestControlPlane();
    planes.add(plane);
    return plane;
  }
}
