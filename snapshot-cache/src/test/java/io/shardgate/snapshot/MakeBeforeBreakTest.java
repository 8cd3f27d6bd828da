package io.shardgate.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.google.protobuf.BoolValue;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The stages of a staged update, as a pure function of the served and the target snapshot; no gRPC. */
class MakeBeforeBreakTest {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;

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

  private static ContentSnapshot single(List<MakeBeforeBreak.Stage> stages) {
    assertEquals(1, stages.size(), stages::toString);
    return stages.get(0).snapshot();
  }

  private static ContentSnapshot snapshot(ShardResources resources) {
    return ContentSnapshot.of(resources);
  }

  private static List<String> clusterNames(ShardResources resources) {
    return resources.clusters().stream().map(Cluster::getName).toList();
  }
}
