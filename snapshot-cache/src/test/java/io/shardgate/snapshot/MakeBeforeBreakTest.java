package io.shardgate.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.BoolValue;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.AdditionalAddress;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The stages of a staged update, as a pure function of the served and the target snapshot; no gRPC. */
class MakeBeforeBreakTest {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;

  @Test
  void movingARouteToANewClusterAddsItFirstAndRemovesTheOldLast() {
    ContentSnapshot served = snapshot(Fixtures.shard("a", 9001, "one"));
    ContentSnapshot target = snapshot(Fixtures.shard("a", 9001, "two"));

    List<MakeBeforeBreak.Stage> stages = MakeBeforeBreak.plan(served, target);

    assertEquals(3, stages.size(), stages::toString);
    ShardResources a = stages.get(0).snapshot().shardResources();
    assertEquals(List.of("a-one", "a-two"), clusterNames(a), "stage A: both clusters");
    assertEquals(served.shardResources().routes(), a.routes(), "stage A: the served routes, which use a-one");
    assertEquals(Set.of(CDS, EDS), stages.get(0).awaitedTypes());

    ShardResources b = stages.get(1).snapshot().shardResources();
    assertEquals(List.of("a-one", "a-two"), clusterNames(b), "stage B: still both clusters");
    assertEquals(target.shardResources().routes(), b.routes(), "stage B: the new routes, which use a-two");
    assertEquals(Set.of(RDS), stages.get(1).awaitedTypes(), "the listener did not change, so only RDS is awaited");

    assertSame(target, stages.get(2).snapshot(), "stage C: exactly the target");
    assertEquals(Set.of(), stages.get(2).awaitedTypes());
  }

  @Test
  void resourcesInBothTakeTheTargetsVersionInTheFirstStage() {
    ShardResources s = Fixtures.shard("a", 9001, "one");
    ShardResources t = Fixtures.shard("a", 9002, "one", "two"); // a-one's endpoints move to another port
    ShardResources routedElsewhere = new ShardResources(t.clusters(), t.endpoints(), t.listeners(),
        List.of(Fixtures.routes("a-routes", "a-two")), List.of());

    List<MakeBeforeBreak.Stage> stages = MakeBeforeBreak.plan(snapshot(s), snapshot(routedElsewhere));

    assertEquals(t.endpoints(), stages.get(0).snapshot().shardResources().endpoints());
    assertEquals(2, stages.size(), "nothing is removed, so the stage after the routes is the target: " + stages);
  }

  @Test
  void anEditThatAddsOrRemovesNothingIsOnePush() {
    ContentSnapshot served = snapshot(Fixtures.shard("a", 9001, "one"));
    ShardResources s = served.shardResources();
    ContentSnapshot newRoutes = snapshot(new ShardResources(s.clusters(), s.endpoints(), s.listeners(),
        List.of(Fixtures.routes("a-routes", "a-one").toBuilder().setValidateClusters(BoolValue.of(false)).build()),
        List.of()));
    assertSame(newRoutes, single(MakeBeforeBreak.plan(served, newRoutes)));

    ContentSnapshot newEndpoints = snapshot(Fixtures.shard("a", 9002, "one"));
    assertSame(newEndpoints, single(MakeBeforeBreak.plan(served, newEndpoints)));
  }

  @Test
  void addingOrRemovingAClusterNoRouteUsesIsOnePush() {
    ContentSnapshot one = snapshot(Fixtures.shard("a", 9001, "one"));
    ContentSnapshot oneAndTwo = snapshot(Fixtures.shard("a", 9001, "one", "two")); // routes still to a-one
    assertSame(oneAndTwo, single(MakeBeforeBreak.plan(one, oneAndTwo)));
    assertSame(one, single(MakeBeforeBreak.plan(oneAndTwo, one)));
  }

  @Test
  void removingAClusterTheRoutesStopUsingWaitsForTheRoutesOnly() {
    ContentSnapshot served = snapshot(Fixtures.shard("a", 9001, "one", "two")); // routes to a-one
    ShardResources keepTwo = Fixtures.shard("a", 9001, "two");
    ContentSnapshot target = snapshot(keepTwo);

    List<MakeBeforeBreak.Stage> stages = MakeBeforeBreak.plan(served, target);

    assertEquals(2, stages.size(), stages::toString);
    assertEquals(List.of("a-one", "a-two"), clusterNames(stages.get(0).snapshot().shardResources()));
    assertEquals(keepTwo.routes(), stages.get(0).snapshot().shardResources().routes());
    assertEquals(Set.of(RDS), stages.get(0).awaitedTypes());
    assertSame(target, stages.get(1).snapshot());
  }

  @Test
  void aShardNeverServedGetsItsTargetAtOnce() {
    ContentSnapshot target = snapshot(Fixtures.shard("a", 9001, "one"));
    assertSame(target, single(MakeBeforeBreak.plan(null, target)));
  }

  @Test
  void anEmptyShardGetsItsClustersBeforeItsListeners() {
    ContentSnapshot target = snapshot(Fixtures.shard("a", 9001, "one"));

    List<MakeBeforeBreak.Stage> stages = MakeBeforeBreak.plan(ContentSnapshot.EMPTY, target);

    assertEquals(2, stages.size(), stages::toString);
    assertEquals(List.of(), stages.get(0).snapshot().shardResources().listeners());
    assertEquals(List.of("a-one"), clusterNames(stages.get(0).snapshot().shardResources()));
    assertSame(target, stages.get(1).snapshot());
  }

  @Test
  void aListenerMovedToAnotherPortIsKeptWithItsRoutesUntilTheNewOneIsAnswered() {
    ShardResources base = Fixtures.shard("a", 9001, "one");
    ContentSnapshot served = snapshot(Fixtures.listenerAt(base, "127.0.0.1", 8080));
    ContentSnapshot target = snapshot(Fixtures.listenerAt(base, "127.0.0.1", 8081));

    List<MakeBeforeBreak.Stage> stages = MakeBeforeBreak.plan(served, target);

    assertEquals(2, stages.size(), stages::toString);
    ShardResources b = stages.get(0).snapshot().shardResources();
    assertEquals(List.of("listener-127.0.0.1-8080", "listener-127.0.0.1-8081"), listenerNames(b),
        "stage B: the new listener, and the old one until the new one is answered");
    assertEquals(List.of("listener-127.0.0.1-8080-routes", "listener-127.0.0.1-8081-routes"), routeNames(b),
        "the old listener keeps its route configuration");
    assertEquals(Optional.empty(), stages.get(0).snapshot().inconsistency());
    assertEquals(Set.of(LDS, RDS), stages.get(0).awaitedTypes());
    assertSame(target, stages.get(1).snapshot(), "stage C: exactly the target, without the old listener");
  }

  @Test
  void aListenerMovedToAnotherAddressOnTheSamePortIsKept() {
    ShardResources base = Fixtures.shard("a", 9001, "one");
    ContentSnapshot served = snapshot(Fixtures.listenerAt(base, "127.0.0.1", 8080));
    ContentSnapshot target = snapshot(Fixtures.listenerAt(base, "192.0.2.1", 8080));

    List<MakeBeforeBreak.Stage> stages = MakeBeforeBreak.plan(served, target);

    assertEquals(2, stages.size(), stages::toString);
    assertEquals(List.of("listener-127.0.0.1-8080", "listener-192.0.2.1-8080"),
        listenerNames(stages.get(0).snapshot().shardResources()));
    assertSame(target, stages.get(1).snapshot());
  }

  @Test
  void aListenerOnTheSamePortAsAWildcardIsNotKept() {
    ShardResources base = Fixtures.shard("a", 9001, "one");
    ContentSnapshot specific = snapshot(Fixtures.listenerAt(base, "127.0.0.1", 8080));
    for (String wildcard : List.of("0.0.0.0", "::", "0:0:0:0:0:0:0:0")) {
      ContentSnapshot any = snapshot(Fixtures.listenerAt(base, wildcard, 8080));
      assertSame(any, single(MakeBeforeBreak.plan(specific, any)), "to " + wildcard + ": one push, as before");
      assertSame(specific, single(MakeBeforeBreak.plan(any, specific)), "from " + wildcard);
    }
  }

  @Test
  void listenersClashOnAnAddressTheyShareOrAWildcardOnOnePort() {
    assertTrue(MakeBeforeBreak.sharesAddress(listener("a", "127.0.0.1", 8080), listener("b", "127.0.0.1", 8080)));
    assertTrue(MakeBeforeBreak.sharesAddress(listener("a", "::", 8080), listener("b", "::1", 8080)));
    assertTrue(MakeBeforeBreak.sharesAddress(listener("a", "::1", 8080), listener("b", "0.0.0.0", 8080)));
    assertTrue(MakeBeforeBreak.sharesAddress(listener("a", "FE80::1", 8080), listener("b", "fe80::1", 8080)));
    assertFalse(MakeBeforeBreak.sharesAddress(listener("a", "127.0.0.1", 8080), listener("b", "127.0.0.2", 8080)));
    assertFalse(MakeBeforeBreak.sharesAddress(listener("a", "0.0.0.0", 8080), listener("b", "0.0.0.0", 8081)));
    Listener additional = listener("a", "127.0.0.1", 9000).toBuilder()
        .addAdditionalAddresses(AdditionalAddress.newBuilder()
            .setAddress(listener("x", "0.0.0.0", 8080).getAddress()))
        .build();
    assertTrue(MakeBeforeBreak.sharesAddress(additional, listener("b", "127.0.0.1", 8080)),
        "additional addresses count too");
  }

  @Test
  void aListenerThatAnEnvoyRejectedIsNotKept() {
    ShardResources base = Fixtures.shard("a", 9001, "one");
    ShardResources good = Fixtures.listenerAt(base, "127.0.0.1", 8080);
    ShardResources bad = Fixtures.listenerAt(base, "192.0.2.1", 8080);
    // Served: a stage B that an Envoy rejected (the new listener could not bind); the old one is still there.
    ContentSnapshot held = snapshot(new ShardResources(base.clusters(), base.endpoints(),
        List.of(good.listeners().get(0), bad.listeners().get(0)), List.of(good.routes().get(0),
        bad.routes().get(0)), List.of()));
    MakeBeforeBreak.ResourceVersion rejected = new MakeBeforeBreak.ResourceVersion(LDS, "listener-192.0.2.1-8080",
        held.resourceVersion(LDS, "listener-192.0.2.1-8080"));
    ContentSnapshot otherPort = snapshot(Fixtures.listenerAt(base, "127.0.0.1", 8081));

    List<MakeBeforeBreak.Stage> stages = MakeBeforeBreak.plan(held, otherPort, Set.of(rejected));

    assertEquals(2, stages.size(), stages::toString);
    assertEquals(List.of("listener-127.0.0.1-8080", "listener-127.0.0.1-8081"),
        listenerNames(stages.get(0).snapshot().shardResources()), "the rejected listener is not sent again");
    assertEquals(Set.of(LDS, RDS), stages.get(0).awaitedTypes());
    assertSame(otherPort, stages.get(1).snapshot());

    ContentSnapshot back = snapshot(good);
    assertSame(back, single(MakeBeforeBreak.plan(held, back, Set.of(rejected))), "fixed: one push");
  }

  @Test
  void aTargetThatStillHasWhatAnEnvoyRejectedAwaitsItsTypeAgainBeforeTheRemovals() {
    ShardResources base = Fixtures.shard("a", 9001, "one");
    ShardResources good = Fixtures.listenerAt(base, "127.0.0.1", 8080);
    ShardResources bad = Fixtures.listenerAt(base, "192.0.2.1", 8080);
    ContentSnapshot held = snapshot(new ShardResources(base.clusters(), base.endpoints(),
        List.of(good.listeners().get(0), bad.listeners().get(0)), List.of(good.routes().get(0),
        bad.routes().get(0)), List.of()));
    MakeBeforeBreak.ResourceVersion rejected = new MakeBeforeBreak.ResourceVersion(LDS, "listener-192.0.2.1-8080",
        held.resourceVersion(LDS, "listener-192.0.2.1-8080"));
    // Another edit of the shard that keeps the unbindable address: a changed route configuration.
    RouteConfiguration changedRoutes = bad.routes().get(0).toBuilder().setValidateClusters(
        BoolValue.of(false)).build();
    ContentSnapshot stillBad = snapshot(new ShardResources(bad.clusters(), bad.endpoints(), bad.listeners(),
        List.of(changedRoutes), List.of()));

    List<MakeBeforeBreak.Stage> stages = MakeBeforeBreak.plan(held, stillBad, Set.of(rejected));

    assertEquals(2, stages.size(), stages::toString);
    assertEquals(List.of("listener-127.0.0.1-8080", "listener-192.0.2.1-8080"),
        listenerNames(stages.get(0).snapshot().shardResources()), "the old listener is kept again");
    assertEquals(held.typeVersion(LDS), stages.get(0).snapshot().typeVersion(LDS), "LDS did not change, yet");
    assertEquals(Set.of(LDS, RDS), stages.get(0).awaitedTypes(), "LDS is awaited: its rejection holds the update");
    assertSame(stillBad, stages.get(1).snapshot());

    MakeBeforeBreak.ResourceVersion otherVersion =
        new MakeBeforeBreak.ResourceVersion(LDS, "listener-192.0.2.1-8080", "another version");
    assertEquals(Set.of(RDS), MakeBeforeBreak.plan(held, stillBad, Set.of(otherVersion)).get(0).awaitedTypes(),
        "a rejection of content the target does not have is not awaited again");
  }

  private static ContentSnapshot single(List<MakeBeforeBreak.Stage> stages) {
    assertEquals(1, stages.size(), stages::toString);
    return stages.get(0).snapshot();
  }

  private static ContentSnapshot snapshot(ShardResources resources) {
    return ContentSnapshot.of(resources);
  }

  private static Listener listener(String name, String address, int port) {
    return Fixtures.rdsListener(name, address, port, name + "-routes");
  }

  private static List<String> listenerNames(ShardResources resources) {
    return resources.listeners().stream().map(Listener::getName).toList();
  }

  private static List<String> routeNames(ShardResources resources) {
    return resources.routes().stream().map(RouteConfiguration::getName).toList();
  }

  private static List<String> clusterNames(ShardResources resources) {
    return resources.clusters().stream().map(Cluster::getName).toList();
  }
}
