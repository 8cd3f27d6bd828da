package io.shardgate.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The snapshot cache served over a real gRPC server, spoken to by raw ADS streams that play Envoy's part by hand.
 */
class RawAdsProtocolTest {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  /** How long a stream must stay silent to count as "no push". */
  private static final long SILENCE_MS = 500;
  /** Liveness bound for a response or condition that must come; not a speed assertion. */
  private static final long RESPONSE_TIMEOUT_S = SotwStream.RESPONSE_TIMEOUT_S;

  private final RecordingListener events = new RecordingListener();
  private TestControlPlane plane;
  private ShardSnapshotCache cache;
  private ShardDiscoveryServer xds;

  @BeforeEach
  void start() {
    plane = new TestControlPlane(new ShardSnapshotCache(), events);
    cache = plane.cache;
    xds = plane.xds;
  }

  @AfterEach
  void stop() throws Exception {
    plane.close();
  }

  @Test
  void shardGetsOnlyItsOwnResourcesAndFollowsChanges() {
    assertTrue(cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one")));
    assertTrue(cache.setShard(Fixtures.SHARD_B, Fixtures.shard("b", 9002, "one")));
    SotwStream a = open("envoy-a-1", Fixtures.SHARD_A);

    Map<String, DiscoveryResponse> first = a.subscribeAndAck(CDS, LDS);
    assertEquals(List.of("a-one"), names(first.get(CDS)));
    assertEquals(List.of("a-http"), names(first.get(LDS)));
    assertEquals(cache.versionOf(Fixtures.SHARD_A, CDS).orElseThrow(), first.get(CDS).getVersionInfo());

    assertTrue(cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "two")));
    DiscoveryResponse changed = a.next();
    assertEquals(CDS, changed.getTypeUrl(), "only clusters changed, so only CDS is pushed");
    assertEquals(List.of("a-one", "a-two"), names(changed));
    assertNotEquals(first.get(CDS).getVersionInfo(), changed.getVersionInfo());
    a.ack(changed);
    a.assertSilent(SILENCE_MS);
    assertEquals(first.get(LDS).getVersionInfo(), cache.versionOf(Fixtures.SHARD_A, LDS).orElseThrow());
  }

  @Test
  void changingOneShardPushesNothingToAnother() {
    cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    cache.setShard(Fixtures.SHARD_B, Fixtures.shard("b", 9002, "one"));
    SotwStream a = open("envoy-a-1", Fixtures.SHARD_A);
    SotwStream b = open("envoy-b-1", Fixtures.SHARD_B);
    a.subscribeAndAck(CDS, LDS);
    assertEquals(List.of("b-one"), names(b.subscribeAndAck(CDS, LDS).get(CDS)));

    assertTrue(cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "two")));
    assertEquals(List.of("a-one", "a-two"), names(a.next()));
    b.assertSilent(SILENCE_MS);
  }

  @Test
  void identicalContentIsNotPushed() {
    cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "two"));
    SotwStream a = open("envoy-a-1", Fixtures.SHARD_A);
    a.subscribeAndAck(CDS, LDS);

    // separately built, in another order: equal content all the same
    assertFalse(cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "two", "one")));
    a.assertSilent(SILENCE_MS);
  }

  @Test
  void nodeWithoutRoleGetsTheFallbackListener() throws InvalidProtocolBufferException {
    SotwStream lost = open("envoy-without-role", null);
    Map<String, DiscoveryResponse> got = lost.subscribeAndAck(LDS, CDS);

    assertEquals(List.of("listener-for-invalid-envoy"), names(got.get(LDS)));
    assertEquals(List.of(), names(got.get(CDS)));
    Listener listener = got.get(LDS).getResources(0).unpack(Listener.class);
    assertEquals(8080, listener.getAddress().getSocketAddress().getPortValue());
    HttpConnectionManager hcm = listener.getFilterChains(0).getFilters(0).getTypedConfig()
        .unpack(HttpConnectionManager.class);
    assertEquals("routes-for-invalid-envoy", hcm.getRouteConfig().getName());
    Route route = hcm.getRouteConfig().getVirtualHosts(0).getRoutes(0);
    assertEquals(500, route.getDirectResponse().getStatus());
    assertTrue(route.getDirectResponse().getBody().getInlineString().contains("node.metadata.role"));
    assertEquals(1, xds.callbacks().statsOf(NodeRoles.MISCONFIGURED_NODE_GROUP).connectedStreams());
  }

  @Test
  void unknownRoleWaitsUntilSyncedThenGetsAnEmptySnapshot() {
    cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    String early = NodeRoles.role("gloo-system", "not-translated-yet");
    SotwStream waiting = open("envoy-early", early);
    waiting.subscribe(CDS);
    waiting.assertSilent(SILENCE_MS); // before the first sync, the role may just not be translated yet

    assertEquals(Set.of(), cache.retainShards(Set.of(Fixtures.SHARD_A)));
    DiscoveryResponse released = waiting.next(); // its parked request is answered by the sync
    assertEquals(0, released.getResourcesCount());
    assertEquals(ContentVersions.EMPTY, released.getVersionInfo());
    assertEquals(1, xds.callbacks().unknownRoleRequests(early));

    String unknown = NodeRoles.role("gloo-system", "nobody-feeds-me");
    SotwStream late = open("envoy-late", unknown);
    late.subscribe(CDS);
    DiscoveryResponse empty = late.next();
    assertEquals(CDS, empty.getTypeUrl());
    assertEquals(0, empty.getResourcesCount());
    assertEquals(1, xds.callbacks().unknownRoleRequests(unknown));
    assertEquals(Set.of(Fixtures.SHARD_A), cache.knownRoles());
    assertTrue(cache.groups().contains(unknown));
  }

  @Test
  void retiredShardIsEmptied() {
    cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    cache.setShard(Fixtures.SHARD_B, Fixtures.shard("b", 9002, "one"));
    SotwStream a = open("envoy-a-1", Fixtures.SHARD_A);
    a.subscribeAndAck(CDS);

    assertEquals(Set.of(Fixtures.SHARD_A), cache.retainShards(Set.of(Fixtures.SHARD_B)));
    DiscoveryResponse emptied = a.next();
    assertEquals(0, emptied.getResourcesCount());
    assertEquals(Set.of(), cache.retainShards(Set.of(Fixtures.SHARD_B)), "already retired");
  }

  @Test
  void nackIsCountedAndTheRejectedVersionIsNotResent() {
    cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    SotwStream a = open("envoy-a-1", Fixtures.SHARD_A);
    a.subscribe(CDS);
    DiscoveryResponse rejected = a.next();

    a.nack(rejected, "", "cluster a-one: pretend Envoy dislikes it");
    a.assertSilent(SILENCE_MS);
    ShardStreamStats stats = xds.callbacks().statsOf(Fixtures.SHARD_A);
    assertEquals(1, stats.nacks());
    assertEquals(rejected.getVersionInfo(), stats.lastNack().orElseThrow().version());
    assertEquals("envoy-a-1", stats.lastNack().orElseThrow().nodeId());
    ShardStreamStats.Nack latest = cache.latestNacks(Fixtures.SHARD_A).get(CDS);
    assertEquals(rejected.getVersionInfo(), latest.version());
    assertEquals("envoy-a-1", latest.nodeId());
    assertEquals("cluster a-one: pretend Envoy dislikes it", latest.message());
    assertEquals(Set.of(Fixtures.SHARD_A), cache.latestNacks().keySet());
    assertTrue(cache.latestNacks(Fixtures.SHARD_B).isEmpty());
    assertEquals(List.of("open " + Fixtures.SHARD_A + " sotw",
        "response " + Fixtures.SHARD_A + " " + CDS + " " + rejected.getVersionInfo() + " 1 sotw",
        "nack " + Fixtures.SHARD_A + " " + CDS + " " + rejected.getVersionInfo()), events.all(),
        "a NACKed response is never also ACKed");

    // the stream is not stuck: a fixed shard is pushed, the new cluster first, then without the rejected one
    cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "fixed"));
    DiscoveryResponse added = a.next(CDS);
    assertEquals(List.of("a-fixed", "a-one"), names(added));
    assertNotEquals(rejected.getVersionInfo(), added.getVersionInfo());
    a.ack(added);
    DiscoveryResponse fixed = a.next(CDS);
    assertEquals(List.of("a-fixed"), names(fixed));
  }

  @Test
  void nodeSentOnlyOnTheFirstRequestKeepsItsShard() {
    cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    SotwStream a = open("envoy-a-1", Fixtures.SHARD_A);
    a.subscribe(CDS);
    DiscoveryResponse first = a.next();
    a.send(DiscoveryRequest.newBuilder() // an ACK without node, as with set_node_on_first_message_only
        .setTypeUrl(CDS)
        .setVersionInfo(first.getVersionInfo())
        .setResponseNonce(first.getNonce())
        .build());
    a.assertSilent(SILENCE_MS); // grouped as misconfigured-node, it would get the fallback's clusters at once

    cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "two"));
    DiscoveryResponse added = a.next(CDS);
    assertEquals(List.of("a-one", "a-two"), names(added), "the new cluster before the old one goes");
    a.ack(added);
    assertEquals(List.of("a-two"), names(a.next(CDS)));
  }

  @Test
  void connectedStreamsAreCountedPerShard() throws InterruptedException {
    cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    SotwStream one = open("envoy-a-1", Fixtures.SHARD_A);
    SotwStream two = open("envoy-a-2", Fixtures.SHARD_A);
    one.subscribeAndAck(CDS);
    two.subscribeAndAck(CDS);
    assertEquals(2, xds.callbacks().statsOf(Fixtures.SHARD_A).connectedStreams());

    one.close();
    eventually(() -> xds.callbacks().statsOf(Fixtures.SHARD_A).connectedStreams() == 1);
  }

  @Test
  void listenerHearsEachStreamEventAndMatchesAcksByNonceOnce() throws InterruptedException {
    cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    SotwStream a = open("envoy-a-1", Fixtures.SHARD_A);
    a.subscribe(CDS);
    DiscoveryResponse response = a.next();
    a.ack(response);
    a.ack(response); // the same nonce again (Envoy does so when it changes its subscription): not a second ACK
    a.assertSilent(SILENCE_MS);
    String version = response.getVersionInfo();
    assertEquals(List.of("open " + Fixtures.SHARD_A + " sotw",
        "response " + Fixtures.SHARD_A + " " + CDS + " " + version + " 1 sotw",
        "ack " + Fixtures.SHARD_A + " " + CDS + " " + version), events.all());
    assertTrue(events.ackLatencies.get(0) >= 0);

    a.close();
    eventually(() -> events.all().contains("close " + Fixtures.SHARD_A + " sotw"));
  }

  @Test
  void listenerHearsDeltaStreams() throws InterruptedException {
    cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "two"));
    DeltaStream delta = plane.delta("envoy-a-delta", Fixtures.SHARD_A);
    DeltaDiscoveryResponse response = delta.subscribeAndAck(CDS, List.of());
    String version = response.getSystemVersionInfo();
    eventually(() -> events.all().size() == 3);
    assertEquals(List.of("open " + Fixtures.SHARD_A + " delta",
        "response " + Fixtures.SHARD_A + " " + CDS + " " + version + " 2 delta",
        "ack " + Fixtures.SHARD_A + " " + CDS + " " + version), events.all());
    delta.close();
    eventually(() -> events.all().contains("close " + Fixtures.SHARD_A + " delta"));
  }

  @Test
  void aFailingListenerDoesNotBreakTheStream() throws Exception {
    ShardStreamListener failing = new ShardStreamListener() {
      @Override
      public void onResponse(String group, String typeUrl, String version, String nonce, int resources,
          boolean delta) {
        throw new IllegalStateException("a broken metrics binding");
      }
    };
    try (TestControlPlane other = new TestControlPlane(new ShardSnapshotCache(), failing)) {
      other.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
      SotwStream e = other.sotw("envoy", Fixtures.SHARD_A);
      e.subscribe(CDS);
      assertEquals(List.of("a-one"), names(e.next(CDS)));
      e.subscribe(LDS);
      assertEquals(List.of("a-http"), names(e.next(LDS)), "the stream still works after the listener failed");
    }
  }

  @Test
  void deltaClientsGetContentVersionsPerResource() throws Exception {
    cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "two"));
    DeltaStream delta = plane.delta("envoy-a-delta", Fixtures.SHARD_A);
    delta.subscribe(CDS);
    DeltaDiscoveryResponse response = delta.next(CDS);
    assertEquals(2, response.getResourcesCount(), delta::seen);
    for (Resource resource : response.getResourcesList()) {
      // stable across restarts, unlike java-control-plane's hashCode-based resource versions
      assertEquals(ContentVersions.of(resource.getResource().unpack(Cluster.class)), resource.getVersion());
    }
  }

  private SotwStream open(String nodeId, String role) {
    return plane.sotw(nodeId, role);
  }

  private static List<String> names(DiscoveryResponse response) {
    return SotwStream.names(response);
  }

  private void eventually(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(RESPONSE_TIMEOUT_S);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() - deadline < 0, () -> "condition not met within " + RESPONSE_TIMEOUT_S
          + " s; listener events: " + events.all() + ", stats: " + xds.callbacks().stats());
      Thread.sleep(5);
    }
  }

  /** Records listener events as short strings, in arrival order. */
  private static final class RecordingListener implements ShardStreamListener {
    final List<String> events = new CopyOnWriteArrayList<>();
    final List<Long> ackLatencies = new CopyOnWriteArrayList<>();

    List<String> all() {
      return List.copyOf(events);
    }

    @Override
    public void onStreamOpen(String group, boolean delta) {
      events.add("open " + group + (delta ? " delta" : " sotw"));
    }

    @Override
    public void onStreamClose(String group, boolean delta) {
      events.add("close " + group + (delta ? " delta" : " sotw"));
    }

    @Override
    public void onResponse(String group, String typeUrl, String version, String nonce, int resources,
        boolean delta) {
      events.add("response " + group + " " + typeUrl + " " + version + " " + resources + (delta ? " delta" : " sotw"));
    }

    @Override
    public void onAck(String group, String typeUrl, String version, long latencyNanos) {
      ackLatencies.add(latencyNanos);
      events.add("ack " + group + " " + typeUrl + " " + version);
    }

    @Override
    public void onNack(String group, ShardStreamStats.Nack nack) {
      events.add("nack " + group + " " + nack.typeUrl() + " " + nack.version());
    }
  }
}
