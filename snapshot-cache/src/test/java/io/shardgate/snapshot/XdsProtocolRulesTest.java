package io.shardgate.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.BoolValue;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The xDS protocol rules the cache keeps on top of java-control-plane, over a real gRPC server with raw state of the
 * world streams: a type watched by name and asked for without names is watched by nobody; responses carry only the
 * names asked for; no NACK of any type makes a response loop; and a client that asks again for every response it
 * gets is sent a bounded number of responses, yet still gets the newest state.
 */
class XdsProtocolRulesTest {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;
  private static final long SILENCE_MS = 500;

  private TestControlPlane plane;

  @AfterEach
  void stop() throws Exception {
    if (plane != null) {
      plane.close();
    }
  }

  @Test
  void anRdsRequestWithoutNamesGetsNoResponseAndNamedOnesGetOnlyTheirNames() {
    plane = new TestControlPlane();
    plane.cache.setShard(Fixtures.SHARD_A, twoListeners("a-one"));
    SotwStream e = plane.sotw("envoy-1", Fixtures.SHARD_A);
    e.subscribeAndAck(CDS, LDS);

    // How Envoy stops watching route configurations (e.g. after its only listener failed): a request naming none.
    e.subscribe(RDS);
    e.assertSilent(SILENCE_MS);
    // Not even when the route configurations change (the clusters do not: both exist in both versions).
    assertTrue(plane.cache.setShard(Fixtures.SHARD_A, twoListeners("a-two")));
    e.assertSilent(SILENCE_MS);

    // Asking for one of the two route configurations gets that one only.
    e.subscribe(RDS, "a-admin-routes");
    DiscoveryResponse routes = e.next(RDS);
    assertEquals(List.of("a-admin-routes"), SotwStream.names(routes));
    e.ack(routes);
    e.assertSilent(SILENCE_MS);

    // The same for endpoints: without names, nothing.
    e.subscribe(EDS);
    e.assertSilent(SILENCE_MS);
  }

  @Test
  void anRdsRequestThatAlsoNamesARouteConfigurationTheShardNoLongerHasGetsTheOnesItHas() {
    plane = new TestControlPlane();
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    SotwStream e = plane.sotw("envoy-1", Fixtures.SHARD_A);
    e.subscribeAndAck(CDS, LDS);
    e.subscribeNamesAndAck(RDS, "a-routes");

    // A Gateway's port changed: the listener and its route configuration are renamed. Envoy drains the old listener
    // and keeps asking for its route configuration next to the new one's, for as long as the drain lasts.
    assertTrue(plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("b", 9001, "one")));
    e.ack(e.next(CDS));
    e.ack(e.next(LDS));
    e.ack(e.next(RDS), "a-routes", "b-routes");
    DiscoveryResponse routes = e.next(RDS);
    assertEquals(List.of("b-routes"), SotwStream.names(routes), "the new listener's routes, while the old drains");
    e.ack(routes, "a-routes", "b-routes");
    assertEquals(List.of("b-one"), SotwStream.names(e.next(CDS)), "then the old cluster goes: the update completes");

    // And later changes of its routes reach it while it still asks for the old name.
    assertTrue(plane.cache.setShard(Fixtures.SHARD_A, withValidatedClusters(Fixtures.shard("b", 9001, "one"))));
    DiscoveryResponse changed = e.next(RDS);
    assertEquals(List.of("b-routes"), SotwStream.names(changed));
    assertEquals(plane.cache.versionOf(Fixtures.SHARD_A, RDS).orElseThrow(), changed.getVersionInfo());
  }

  @Test
  void aRouteWatchOfAShardThatWasEmptiedIsAnsweredWhenTheShardComesBack() {
    plane = new TestControlPlane();
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    SotwStream e = plane.sotw("envoy-1", Fixtures.SHARD_A);
    e.subscribeAndAck(CDS, LDS);
    e.subscribeNamesAndAck(RDS, "a-routes");

    // No Gateway feeds the shard for a moment (a broken edit of its only Gateway). Envoy keeps asking for the route
    // configuration it had; the answer has none, and the watch it was answered on must not be used up in silence.
    plane.cache.retainShards(Set.of());
    e.ack(e.next(CDS));
    e.ack(e.next(LDS));
    DiscoveryResponse emptied = e.next(RDS);
    assertEquals(List.of(), SotwStream.names(emptied));
    e.ack(emptied, "a-routes");

    // The shard is back, and so are its routes.
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    e.ack(e.next(CDS));
    e.ack(e.next(LDS));
    DiscoveryResponse routes = e.next(RDS);
    assertEquals(List.of("a-routes"), SotwStream.names(routes));
    assertEquals(plane.cache.versionOf(Fixtures.SHARD_A, RDS).orElseThrow(), routes.getVersionInfo());
  }

  @Test
  void aNackOfAnyTypeStartsNoLoop() {
    plane = new TestControlPlane();
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    SotwStream e = plane.sotw("envoy-1", Fixtures.SHARD_A);
    String[][] subscriptions = {{CDS}, {EDS, "a-one"}, {LDS}, {RDS, "a-routes"}};
    for (String[] subscription : subscriptions) {
      String typeUrl = subscription[0];
      String[] names = Arrays.copyOfRange(subscription, 1, subscription.length);
      e.subscribe(typeUrl, names);
      DiscoveryResponse rejected = e.next(typeUrl);
      e.nack(rejected, "", typeUrl + ": pretend Envoy dislikes it", names);
      e.assertSilent(SILENCE_MS);
    }
    assertEquals(4, plane.xds.callbacks().statsOf(Fixtures.SHARD_A).nacks());
    assertEquals(4, plane.xds.callbacks().statsOf(Fixtures.SHARD_A).responses(), "one response per type, no more");
  }

  @Test
  void aClientThatAsksAgainForEveryResponseIsSentABoundedNumberAndStillGetsTheNewestState() throws Exception {
    ResponsePacing pacing = new ResponsePacing(5, 4);
    plane = new TestControlPlane(TestControlPlane.NO_GRACE, pacing);
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    SotwStream e = plane.sotw("envoy-1", Fixtures.SHARD_A);
    e.subscribe(CDS);

    // Like an Envoy that ignores what it gets: it answers each response with the response's nonce but without taking
    // its version, and java-control-plane answers such a request at once, with the same version again.
    long started = System.nanoTime();
    long deadline = started + Duration.ofSeconds(3).toNanos();
    int responses = 0;
    while (System.nanoTime() - deadline < 0) {
      DiscoveryResponse r = e.nextWithin(Duration.ofMillis(200));
      if (r == null) {
        continue;
      }
      responses++;
      e.send(DiscoveryRequest.newBuilder().setTypeUrl(CDS).setResponseNonce(r.getNonce()).build());
    }
    double elapsedSeconds = (System.nanoTime() - started) / 1e9;
    long bound = pacing.burst() + (long) Math.ceil(pacing.perSecond() * (elapsedSeconds + 1));
    System.out.printf("looping client: %d responses in %.1f s (bound %d; unpaced it is thousands)%n", responses,
        elapsedSeconds, bound);
    assertTrue(responses <= bound, responses + " responses in " + elapsedSeconds + " s, more than the budget allows ("
        + bound + ")");
    assertTrue(responses > pacing.burst(), "the loop went past the burst, or this test proves nothing: " + responses);
    assertTrue(plane.xds.callbacks().statsOf(Fixtures.SHARD_A).delayedResponses() > 0);

    // The newest state still arrives, however far behind the pacing is.
    assertTrue(plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one", "two")));
    String newest = plane.cache.versionOf(Fixtures.SHARD_A, CDS).orElseThrow();
    DiscoveryResponse last;
    do {
      last = e.next(CDS);
      e.send(DiscoveryRequest.newBuilder().setTypeUrl(CDS).setResponseNonce(last.getNonce()).build());
    } while (!last.getVersionInfo().equals(newest));
    assertEquals(List.of("a-one", "a-two"), SotwStream.names(last));
    assertNotEquals("", last.getNonce());
  }

  /** {@code shard} with its route configurations' {@code validate_clusters} set: a change of routes only. */
  private static ShardResources withValidatedClusters(ShardResources shard) {
    return new ShardResources(shard.clusters(), shard.endpoints(), shard.listeners(), shard.routes().stream()
        .map(rc -> rc.toBuilder().setValidateClusters(BoolValue.of(true)).build()).toList(), shard.secrets());
  }

  /**
   * Two listeners, each with its own route configuration, both routing to {@code cluster}; both clusters exist, so
   * that changing {@code cluster} changes the route configurations only.
   */
  private static ShardResources twoListeners(String cluster) {
    return new ShardResources(
        List.of(Fixtures.edsCluster("a-one"), Fixtures.edsCluster("a-two")),
        List.of(Fixtures.endpoints("a-one", 9001), Fixtures.endpoints("a-two", 9002)),
        List.of(Fixtures.rdsListener("a-http", 8080, "a-routes"), Fixtures.rdsListener("a-admin", 8081,
            "a-admin-routes")),
        List.of(Fixtures.routes("a-routes", cluster), Fixtures.routes("a-admin-routes", cluster)),
        List.of());
  }
}
