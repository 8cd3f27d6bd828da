package io.shardgate.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The cache's bookkeeping, without gRPC. */
class ShardSnapshotCacheTest {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;

  private final ShardSnapshotCache cache = new ShardSnapshotCache();

  @Test
  void setShardReportsWhetherAnythingChangedAndVersionsEachTypeOnItsOwn() {
    assertTrue(cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one")));
    String clusters = cache.versionOf(Fixtures.SHARD_A, CDS).orElseThrow();
    String endpoints = cache.versionOf(Fixtures.SHARD_A, EDS).orElseThrow();
    String listeners = cache.versionOf(Fixtures.SHARD_A, LDS).orElseThrow();

    assertFalse(cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one")));
    assertTrue(cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9002, "one")));
    assertEquals(clusters, cache.versionOf(Fixtures.SHARD_A, CDS).orElseThrow());
    assertNotEquals(endpoints, cache.versionOf(Fixtures.SHARD_A, EDS).orElseThrow());
    assertEquals(listeners, cache.versionOf(Fixtures.SHARD_A, LDS).orElseThrow());
    assertEquals(ContentVersions.EMPTY, cache.versionOf(Fixtures.SHARD_A, Resources.V3.SECRET_TYPE_URL).orElseThrow());
    assertEquals(Optional.empty(), cache.versionOf(Fixtures.SHARD_B, CDS));
    assertEquals(Optional.empty(), cache.versionOf(Fixtures.SHARD_A, "type.googleapis.com/not.a.Type"));
    assertEquals(Fixtures.shard("a", 9002, "one"), cache.resourcesOf(Fixtures.SHARD_A));
  }

  @Test
  void edsClusterWithoutEndpointsIsRejectedAndThePreviousSnapshotKept() {
    cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    String before = cache.versionOf(Fixtures.SHARD_A, CDS).orElseThrow();
    ShardResources good = Fixtures.shard("a", 9001, "one");
    ShardResources broken = new ShardResources(List.of(Fixtures.edsCluster("a-one"), Fixtures.edsCluster("a-lost")),
        good.endpoints(), good.listeners(), good.routes(), List.of());

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> cache.setShard(Fixtures.SHARD_A, broken));
    assertTrue(e.getMessage().contains(Fixtures.SHARD_A), e.getMessage());
    assertTrue(e.getMessage().contains("a-lost"), e.getMessage());
    assertEquals(before, cache.versionOf(Fixtures.SHARD_A, CDS).orElseThrow());
  }

  @Test
  void rdsReferenceWithoutItsRouteConfigurationIsRejected() {
    ShardResources good = Fixtures.shard("a", 9001, "one");
    ShardResources broken = new ShardResources(good.clusters(), good.endpoints(),
        List.of(Fixtures.rdsListener("a-http", 8080, "a-missing-routes")), good.routes(), List.of());

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> cache.setShard(Fixtures.SHARD_A, broken));
    assertTrue(e.getMessage().contains("a-missing-routes"), e.getMessage());
    assertEquals(Optional.empty(), cache.versionOf(Fixtures.SHARD_A, CDS));
  }

  @Test
  void unreferencedEndpointsAndRoutesAreAccepted() {
    ShardResources good = Fixtures.shard("a", 9001, "one");
    ShardResources extra = new ShardResources(List.of(), good.endpoints(), List.of(), good.routes(), List.of());
    assertTrue(cache.setShard(Fixtures.SHARD_A, extra));
  }

  @Test
  void theFallbackGroupIsSeededAndNotReplaceable() throws InvalidProtocolBufferException {
    assertEquals(Set.of(NodeRoles.MISCONFIGURED_NODE_GROUP), cache.groups());
    ShardResources fallback = cache.resourcesOf(NodeRoles.MISCONFIGURED_NODE_GROUP);
    Listener listener = fallback.listeners().get(0);
    assertEquals("listener-for-invalid-envoy", listener.getName());
    assertEquals("0.0.0.0", listener.getAddress().getSocketAddress().getAddress());
    HttpConnectionManager hcm = listener.getFilterChains(0).getFilters(0).getTypedConfig()
        .unpack(HttpConnectionManager.class);
    assertFalse(hcm.getStatPrefix().isEmpty());
    assertEquals("envoy.filters.http.router", hcm.getHttpFilters(0).getName());
    assertTrue(hcm.getHttpFilters(0).getTypedConfig().is(Router.class));
    String body = hcm.getRouteConfig().getVirtualHosts(0).getRoutes(0).getDirectResponse().getBody()
        .getInlineString();
    assertTrue(body.contains("<writeNamespace>~<proxyName>"), body);
    assertTrue(body.contains("shardgate bootstrap --proxy NAME"), body);

    assertThrows(IllegalArgumentException.class,
        () -> cache.setShard(NodeRoles.MISCONFIGURED_NODE_GROUP, ShardResources.empty()));
    assertEquals(Set.of(), cache.retainShards(Set.of()));
    assertEquals(fallback, cache.resourcesOf(NodeRoles.MISCONFIGURED_NODE_GROUP));
  }

  @Test
  void theFallbackPortIsConfigurable() {
    ShardSnapshotCache onOtherPort = new ShardSnapshotCache(FallbackConfig.onPort(18080));
    assertEquals(18080, onOtherPort.resourcesOf(NodeRoles.MISCONFIGURED_NODE_GROUP).listeners().get(0).getAddress()
        .getSocketAddress().getPortValue());
    assertThrows(IllegalArgumentException.class, () -> FallbackConfig.onPort(0));
  }

  @Test
  void retainShardsRetiresTheRestAndMarksTheCacheSynced() {
    cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    cache.setShard(Fixtures.SHARD_B, Fixtures.shard("b", 9001, "one"));
    assertFalse(cache.isSynced());

    assertEquals(Set.of(Fixtures.SHARD_B), cache.retainShards(Set.of(Fixtures.SHARD_A)));
    assertTrue(cache.isSynced());
    assertEquals(Set.of(Fixtures.SHARD_A), cache.knownRoles());
    assertEquals(ShardResources.empty(), cache.resourcesOf(Fixtures.SHARD_B));
    assertEquals(ContentVersions.EMPTY, cache.versionOf(Fixtures.SHARD_B, CDS).orElseThrow());
    assertEquals(Set.of(NodeRoles.MISCONFIGURED_NODE_GROUP, Fixtures.SHARD_A, Fixtures.SHARD_B), cache.groups());

    // a retired shard that comes back is known again, and pushed
    assertTrue(cache.setShard(Fixtures.SHARD_B, Fixtures.shard("b", 9001, "one")));
    assertEquals(Set.of(Fixtures.SHARD_A, Fixtures.SHARD_B), cache.knownRoles());
  }

  @Test
  void unknownRolesAreOnlyUnknownOnceSynced() {
    String unknown = NodeRoles.role("gloo-system", "nobody");
    assertEquals(ShardSnapshotCache.RoleState.SERVED, cache.roleState(unknown));
    assertEquals(Optional.empty(), cache.versionOf(unknown, CDS));

    cache.retainShards(Set.of());
    assertEquals(ShardSnapshotCache.RoleState.UNKNOWN_FIRST_SEEN, cache.roleState(unknown));
    assertEquals(ShardSnapshotCache.RoleState.UNKNOWN, cache.roleState(unknown));
    assertEquals(ContentVersions.EMPTY, cache.versionOf(unknown, CDS).orElseThrow());
    assertEquals(ShardSnapshotCache.RoleState.SERVED, cache.roleState(NodeRoles.MISCONFIGURED_NODE_GROUP));

    cache.setShard(unknown, ShardResources.empty()); // a Gateway now feeds it, even if with nothing yet
    assertEquals(ShardSnapshotCache.RoleState.SERVED, cache.roleState(unknown));
  }

  @Test
  void withoutStreamsEveryStageGoesOutAtOnce() {
    cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    assertTrue(cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "two")));
    assertTrue(cache.isSettled(Fixtures.SHARD_A), "nobody to wait for");
    assertEquals(cache.versionOf(Fixtures.SHARD_A, CDS), cache.servedVersionOf(Fixtures.SHARD_A, CDS));
    assertEquals(Fixtures.shard("a", 9001, "two"), cache.resourcesOf(Fixtures.SHARD_A));
    assertEquals(Optional.empty(), cache.servedVersionOf(Fixtures.SHARD_B, CDS));
  }

  @Test
  void aClosedCacheStillPublishesWithoutStages() {
    cache.close();
    assertTrue(cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one")));
    assertTrue(cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "two")));
    assertTrue(cache.isSettled(Fixtures.SHARD_A));
    assertEquals(cache.versionOf(Fixtures.SHARD_A, CDS), cache.servedVersionOf(Fixtures.SHARD_A, CDS));
  }

  @Test
  void settingsAreValidated() {
    assertThrows(IllegalArgumentException.class,
        () -> new ShardSnapshotCache(FallbackConfig.DEFAULT, Duration.ZERO, ResponsePacing.DEFAULT));
    assertThrows(IllegalArgumentException.class, () -> new ResponsePacing(0, 1));
    assertThrows(IllegalArgumentException.class, () -> new ResponsePacing(1, 0));
    assertThrows(IllegalArgumentException.class, () -> new ResponsePacing(1, Double.NaN));
    assertEquals(Duration.ofSeconds(10), ShardSnapshotCache.DEFAULT_STAGE_GRACE_PERIOD);
  }

  @Test
  void nodeRoles() {
    assertEquals("gloo-system~gateway-proxy", NodeRoles.role("gloo-system", "gateway-proxy"));
    assertEquals("ns~p", NodeRoles.groupOf(Fixtures.node("id", "ns~p")));
    assertEquals(NodeRoles.MISCONFIGURED_NODE_GROUP, NodeRoles.groupOf(Fixtures.node("id", null)));
    assertEquals(NodeRoles.MISCONFIGURED_NODE_GROUP, NodeRoles.groupOf(Fixtures.node("id", "")));
    assertEquals(NodeRoles.MISCONFIGURED_NODE_GROUP, NodeRoles.groupOf(Node.getDefaultInstance()));
    Node numericRole = Node.newBuilder().setMetadata(Struct.newBuilder()
        .putFields("role", Value.newBuilder().setNumberValue(1).build())).build();
    assertEquals(NodeRoles.MISCONFIGURED_NODE_GROUP, NodeRoles.groupOf(numericRole));
    assertEquals("ns~p", NodeRoles.NODE_GROUP.hash(Fixtures.node("id", "ns~p")));
  }

  @Test
  void shardResourcesSortsByNameAndRejectsDuplicates() {
    ShardResources sorted = new ShardResources(
        List.of(Fixtures.edsCluster("b"), Fixtures.edsCluster("a")), List.of(), List.of(), List.of(), List.of());
    assertEquals(List.of("a", "b"), sorted.clusters().stream().map(c -> c.getName()).toList());
    assertThrows(UnsupportedOperationException.class, () -> sorted.clusters().add(Fixtures.edsCluster("c")));
    assertThrows(IllegalArgumentException.class, () -> new ShardResources(
        List.of(Fixtures.edsCluster("a"), Fixtures.edsCluster("a")), List.of(), List.of(), List.of(), List.of()));
    assertEquals(sorted.clusters(), sorted.ofType(CDS));
    assertTrue(ShardResources.empty().isEmpty());
  }
}
