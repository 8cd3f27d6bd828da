package io.shardgate.controlplane.pipeline;

import static io.shardgate.controlplane.pipeline.KubeShards.CLUSTER_S;
import static io.shardgate.controlplane.pipeline.KubeShards.CLUSTER_T;
import static io.shardgate.controlplane.pipeline.KubeShards.ROLE_A;
import static io.shardgate.controlplane.pipeline.KubeShards.ROLE_B;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.shardgate.controlplane.state.LastGoodStore;
import io.shardgate.controlplane.xds.EndpointTranslator;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Endpoint churn, as the Kubernetes source delivers it (the very same documents, a new endpoints object for the
 * Service that changed), through the real pipeline into the real snapshot cache: only the load assignments of the
 * shards whose routes reach that Service change, only their EDS version moves, nothing is translated but those load
 * assignments, and the state store is not written.
 */
class EndpointOnlyPassTest {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;
  private static final List<String> TYPES = List.of(CDS, EDS, LDS, RDS);

  @TempDir Path state;

  private final KubeShards shards = new KubeShards();
  private final ShardSnapshotCache cache = new ShardSnapshotCache();
  private final TranslationEngine engine = new TranslationEngine();
  private LastGoodStore store;
  private ShardPipeline pipeline;

  @BeforeEach
  void start() {
    store = LastGoodStore.open(state);
    pipeline = new ShardPipeline(cache, store, PipelineObserver.NONE, engine);
    pipeline.accept(shards.input());
    assertFalse(pipeline.latest().endpointsOnly(), "the first pass is a full one");
    assertEquals(1, engine.fullPasses());
    assertEquals(1, endpointsOf(ROLE_A, CLUSTER_S));
    assertEquals(1, endpointsOf(ROLE_B, CLUSTER_T));
  }

  @AfterEach
  void stop() {
    store.close();
    cache.close();
  }

  @Test
  void anEndpointChangePushesOnlyEdsAndOnlyToTheShardThatReachesTheService() {
    Map<String, String> a = versions(ROLE_A);
    Map<String, String> b = versions(ROLE_B);
    long[] writes = store.writes().clone();

    shards.scale("s", 2);
    pipeline.accept(shards.input());

    Translation t = pipeline.latest();
    assertTrue(t.endpointsOnly());
    assertEquals(Set.of(ROLE_A), t.translated());
    assertEquals(2, endpointsOf(ROLE_A, CLUSTER_S));
    assertOnlyEdsMoved(a, versions(ROLE_A), "shard A");
    assertEquals(b, versions(ROLE_B), "shard B is untouched");
    assertEquals(2, pipeline.pushes(ROLE_A));
    assertEquals(1, pipeline.pushes(ROLE_B));
    assertEquals(1, pipeline.endpointUpdates(ROLE_A));
    assertEquals(0, pipeline.endpointUpdates(ROLE_B));
    assertArrayEquals(writes, store.writes(), "an endpoint-only pass writes nothing to the state store");
  }

  @Test
  void endpointOnlyPassesDoNotRunTheTranslationEngine() {
    for (int n = 2; n <= 5; n++) {
      shards.scale("s", n);
      pipeline.accept(shards.input());
    }
    assertEquals(1, engine.fullPasses(), "no decode, gateway translation, plan or xDS translation ran");
    assertEquals(4, engine.endpointPasses());
    assertEquals(1, pipeline.translations(ROLE_A), "xDS translations of shard A");
    assertEquals(1, pipeline.translations(ROLE_B));
    assertEquals(4, pipeline.endpointUpdates(ROLE_A));

    // A Service no route reaches changes no shard, and costs no translation either.
    shards.addUnreachedService("u", 3);
    pipeline.accept(shards.input());
    assertTrue(pipeline.latest().endpointsOnly());
    assertEquals(Set.of(), pipeline.latest().translated());
    assertEquals(1, engine.fullPasses());
  }

  @Test
  void scalingFromOneToFiftyEndpointsAndBackSendsOnlyEds() {
    Map<String, String> a = versions(ROLE_A);
    Map<String, String> b = versions(ROLE_B);
    long pushesA = pipeline.pushes(ROLE_A);

    shards.scale("s", 50);
    pipeline.accept(shards.input());
    assertEquals(50, endpointsOf(ROLE_A, CLUSTER_S));
    assertOnlyEdsMoved(a, versions(ROLE_A), "scaled to 50");
    assertEquals(b, versions(ROLE_B));

    shards.scale("s", 1);
    pipeline.accept(shards.input());
    assertEquals(1, endpointsOf(ROLE_A, CLUSTER_S));
    assertEquals(a, versions(ROLE_A), "back to one endpoint: the very versions it started with (content hashes)");
    assertEquals(b, versions(ROLE_B));
    assertEquals(pushesA + 2, pipeline.pushes(ROLE_A));
    assertEquals(1, pipeline.pushes(ROLE_B));
    assertEquals(1, engine.fullPasses());
  }

  @Test
  void anEndpointObjectWithEqualContentPushesNothingAndKeepsTheResources() {
    var before = cache.resourcesOf(ROLE_A);
    shards.scale("s", 1); // a new object, the same endpoints
    pipeline.accept(shards.input());
    assertTrue(pipeline.latest().endpointsOnly());
    assertEquals(Set.of(), pipeline.latest().translated());
    assertEquals(1, pipeline.pushes(ROLE_A));
    assertSame(before, cache.resourcesOf(ROLE_A));
  }

  @Test
  void aFullPassAfterEndpointOnlyPassesKeepsTheShardsItDoesNotChange() {
    shards.scale("s", 3);
    pipeline.accept(shards.input());
    Map<String, String> a = versions(ROLE_A);
    Map<String, String> b = versions(ROLE_B);
    // A full pass (the documents are new objects, with the same content) serves the very same resources.
    List<SourceDocument> reparsed = shards.input().documents().stream()
        .map(d -> new SourceDocument(d.origin(), d.line(), d.content(), d.fieldLines()))
        .toList();
    pipeline.accept(new ConfigInput("reparsed", reparsed, List.of(), shards.input().endpoints()));
    assertFalse(pipeline.latest().endpointsOnly());
    assertEquals(2, engine.fullPasses());
    assertEquals(a, versions(ROLE_A));
    assertEquals(b, versions(ROLE_B));
    assertEquals(3, endpointsOf(ROLE_A, CLUSTER_S));
  }

  private void assertOnlyEdsMoved(Map<String, String> before, Map<String, String> after, String what) {
    assertNotEquals(before.get(EDS), after.get(EDS), what + ": EDS version");
    for (String type : List.of(CDS, LDS, RDS)) {
      assertEquals(before.get(type), after.get(type), what + ": " + type + " version");
    }
  }

  private Map<String, String> versions(String role) {
    Map<String, String> out = new TreeMap<>();
    for (String type : TYPES) {
      out.put(type, cache.versionOf(role, type).orElse(""));
    }
    return out;
  }

  private int endpointsOf(String role, String cluster) {
    for (ClusterLoadAssignment cla : cache.resourcesOf(role).endpoints()) {
      if (cla.getClusterName().equals(cluster)) {
        return EndpointTranslator.endpointCount(cla);
      }
    }
    throw new AssertionError(role + " has no load assignment " + cluster + ": " + cache.resourcesOf(role).endpoints());
  }
}
