package io.shardgate.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
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
