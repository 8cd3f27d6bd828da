package io.shardgate.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Make-before-break over a real gRPC server, with raw state of the world and delta streams that play Envoy by hand:
 * they ACK, NACK, ask for the endpoints of the clusters they get and for the route configurations of their listeners,
 * as Envoy does, but only when the test says so. Each test moves the route of shard A from cluster {@code a-one} to
 * a new cluster {@code a-two}: a route that uses {@code a-two} must never reach a stream before every stream of the
 * shard answered {@code a-two}, and {@code a-one} must not go before every stream answered the routes that no longer
 * use it.
 *
 * <p>Unless a test is about the grace period, the cache's grace period is ten minutes, so every stage here moves on
 * because of an answer, never because of a timeout.
 */
class MakeBeforeBreakProtocolTest {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;
  /** A window in which nothing must arrive; short, since it proves an absence. */
  private static final long SILENCE_MS = 500;

  private TestControlPlane plane;

  @AfterEach
  void stop() throws Exception {
    if (plane != null) {
      plane.close();
    }
  }

  @Test
  void sotwNewClusterIsAnsweredByEveryStreamBeforeItsRouteAndTheOldGoesLast() throws Exception {
    plane = new TestControlPlane(TestControlPlane.NO_GRACE, ResponsePacing.DEFAULT);
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    SotwStream first = connectSotw("envoy-1");
    SotwStream second = connectSotw("envoy-2");

    assertTrue(plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "two")));
    answerNewClusterSotw(first);
    first.assertSilent(SILENCE_MS); // the other stream has not answered the new cluster: no route to it yet
    answerNewClusterSotw(second);

    DiscoveryResponse firstRoutes = first.next(RDS);
    DiscoveryResponse secondRoutes = second.next(RDS);
    assertEquals(List.of("a-two"), routeClusters(firstRoutes), first.seen());
    assertEquals(List.of("a-two"), routeClusters(secondRoutes), second.seen());
    first.ack(firstRoutes);
    first.assertSilent(SILENCE_MS); // the other stream still has the old routes: a-one stays
    second.ack(secondRoutes);
    for (SotwStream e : List.of(first, second)) {
      assertEquals(List.of("a-two"), SotwStream.names(e.next(CDS)), "a-one goes last; " + e.seen());
    }
  }

  @Test
  void deltaNewClusterIsAnsweredByEveryStreamBeforeItsRouteAndTheOldGoesLast() throws Exception {
    plane = new TestControlPlane(TestControlPlane.NO_GRACE, ResponsePacing.DEFAULT);
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    DeltaStream first = connectDelta("envoy-1");
    DeltaStream second = connectDelta("envoy-2");

    assertTrue(plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "two")));
    answerNewClusterDelta(first);
    first.assertSilent(SILENCE_MS);
    answerNewClusterDelta(second);

    for (DeltaStream e : List.of(first, second)) {
      DeltaDiscoveryResponse routes = e.next(RDS);
      assertEquals("a-two", routeCluster(routes), e.seen());
      e.ack(routes);
    }
    for (DeltaStream e : List.of(first, second)) {
      DeltaDiscoveryResponse removal = e.next(CDS);
      assertEquals(List.of("a-one"), removal.getRemovedResourcesList(), e.seen());
      assertEquals(0, removal.getResourcesCount());
    }
  }

  @Test
  void deltaOldClusterStaysUntilEveryStreamAnsweredTheNewRoutes() throws Exception {
    plane = new TestControlPlane(TestControlPlane.NO_GRACE, ResponsePacing.DEFAULT);
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    DeltaStream first = connectDelta("envoy-1");
    DeltaStream second = connectDelta("envoy-2");
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "two"));
    answerNewClusterDelta(first);
    answerNewClusterDelta(second);
    DeltaDiscoveryResponse firstRoutes = first.next(RDS);
    DeltaDiscoveryResponse secondRoutes = second.next(RDS);

    first.ack(firstRoutes);
    first.assertSilent(SILENCE_MS); // a-one is still used by the routes the second stream has
    second.ack(secondRoutes);
    assertEquals(List.of("a-one"), first.next(CDS).getRemovedResourcesList(), first.seen());
  }

  @Test
  void aNackCountsAsAnAnswer() throws Exception {
    plane = new TestControlPlane(TestControlPlane.NO_GRACE, ResponsePacing.DEFAULT);
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    SotwStream sotw = connectSotw("envoy-sotw");
    DeltaStream delta = connectDelta("envoy-delta");
    String acceptedClusters = plane.cache.versionOf(Fixtures.SHARD_A, CDS).orElseThrow();

    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "two"));
    // Both reject the new clusters; having no new cluster, they ask for no new endpoints.
    DiscoveryResponse clusters = sotw.next(CDS);
    sotw.nack(clusters, acceptedClusters, "cluster a-two: pretend Envoy dislikes it");
    sotw.ack(sotw.next(EDS));
    DeltaDiscoveryResponse deltaClusters = delta.next(CDS);
    delta.nack(deltaClusters, "cluster a-two: pretend Envoy dislikes it");

    // The routes follow without waiting for a grace period: both streams answered.
    assertEquals(List.of("a-two"), routeClusters(sotw.next(RDS)), sotw.seen());
    assertEquals("a-two", routeCluster(delta.next(RDS)), delta.seen());
    assertEquals(2, plane.xds.callbacks().statsOf(Fixtures.SHARD_A).nacks());
  }

  @Test
  void aStreamThatDoesNotAnswerHoldsTheStageOnlyForTheGracePeriodAndIsNamed() throws Exception {
    Logger cacheLog = (Logger) LoggerFactory.getLogger(ShardSnapshotCache.class);
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    cacheLog.addAppender(log);
    try {
      plane = new TestControlPlane(Duration.ofSeconds(1), ResponsePacing.DEFAULT);
      plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
      SotwStream answering = connectSotw("envoy-answering");
      SotwStream silent = connectSotw("envoy-silent");

      plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "two"));
      // The answering stream answers whatever it gets as Envoy would (asking for both clusters' endpoints), in
      // whatever order the grace period lets it arrive; the silent one never answers. After the grace period the
      // routes go out anyway, and the WARN names the silent stream (and, on a machine slower than the grace period,
      // maybe the answering one too: it is not asserted either way).
      DiscoveryResponse routes;
      while (!(routes = answering.next()).getTypeUrl().equals(RDS)) {
        if (routes.getTypeUrl().equals(EDS)) {
          answering.ack(routes, "a-one", "a-two");
        } else {
          answering.ack(routes);
        }
      }
      assertEquals(List.of("a-two"), routeClusters(routes), answering.seen());
      List<String> warnings = log.list.stream().filter(e -> e.getLevel() == Level.WARN)
          .map(ILoggingEvent::getFormattedMessage).toList();
      assertTrue(warnings.stream().anyMatch(w -> w.contains("envoy-silent (stream") && w.contains(": CDS, EDS]")),
          () -> "a WARN names the stream that did not answer, and what: " + warnings);
      assertTrue(silent.queued() > 0, "the silent stream was sent the stage it did not answer");
    } finally {
      cacheLog.detachAppender(log);
    }
  }

  @Test
  void aStreamThatReconnectsMidStageGetsTheCurrentStageAndIsWaitedFor() throws Exception {
    plane = new TestControlPlane(TestControlPlane.NO_GRACE, ResponsePacing.DEFAULT);
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    SotwStream staying = connectSotw("envoy-1");
    SotwStream leaving = connectSotw("envoy-2");
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "two"));
    assertEquals(List.of("a-one", "a-two"), SotwStream.names(leaving.next(CDS)));
    leaving.close(); // gone before it answered

    SotwStream back = plane.sotw("envoy-2", Fixtures.SHARD_A);
    DiscoveryResponse clusters = back.subscribeAndAck(CDS).get(CDS);
    assertEquals(List.of("a-one", "a-two"), SotwStream.names(clusters), "the current stage: both clusters");
    back.subscribeNamesAndAck(EDS, "a-one", "a-two");
    back.subscribeAndAck(LDS);
    DiscoveryResponse routes = back.subscribeNamesAndAck(RDS, "a-routes");
    assertEquals(List.of("a-one"), routeClusters(routes), "the current stage: still the served routes");
    back.assertSilent(SILENCE_MS); // the stream that stayed has not answered yet

    answerNewClusterSotw(staying);
    DiscoveryResponse newRoutes = back.next(RDS);
    assertEquals(List.of("a-two"), routeClusters(newRoutes), back.seen());
    DiscoveryResponse stayingRoutes = staying.next(RDS);
    back.ack(newRoutes);
    back.assertSilent(SILENCE_MS);
    staying.ack(stayingRoutes);
    assertEquals(List.of("a-two"), SotwStream.names(back.next(CDS)), back.seen());
  }

  @Test
  void anUpdateDuringAStageStartsOverFromWhatIsServedAndKeepsItsClusters() throws Exception {
    plane = new TestControlPlane(TestControlPlane.NO_GRACE, ResponsePacing.DEFAULT);
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
    SotwStream e = connectSotw("envoy-1");
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "two"));
    DiscoveryResponse staged = e.next(CDS);
    assertEquals(List.of("a-one", "a-two"), SotwStream.names(staged));
    DiscoveryResponse stagedEndpoints = e.next(EDS);

    // Before the stream answers, the shard moves on again: its route is to go to a-three, and a-two is dropped.
    assertTrue(plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "three")));
    e.ack(staged);
    DiscoveryResponse restaged = e.next(CDS);
    assertEquals(List.of("a-one", "a-three", "a-two"), SotwStream.names(restaged),
        "a-one, used by the routes the stream has, stays; so does a-two, which it may already use");
    e.ack(restaged);
    e.ack(stagedEndpoints, "a-one", "a-three", "a-two");
    DiscoveryResponse endpoints = e.next(EDS);
    assertEquals(List.of("a-one", "a-three", "a-two"), SotwStream.names(endpoints));
    e.ack(endpoints);

    DiscoveryResponse routes = e.next(RDS);
    assertEquals(List.of("a-three"), routeClusters(routes), e.seen());
    e.ack(routes);
    assertEquals(List.of("a-three"), SotwStream.names(e.next(CDS)), e.seen());
  }

  // ---- helpers ----

  /** A state of the world stream that connects as Envoy does: clusters, their endpoints, listeners, their routes. */
  private SotwStream connectSotw(String nodeId) {
    SotwStream e = plane.sotw(nodeId, Fixtures.SHARD_A);
    e.subscribeAndAck(CDS);
    e.subscribeNamesAndAck(EDS, "a-one");
    e.subscribeAndAck(LDS);
    e.subscribeNamesAndAck(RDS, "a-routes");
    return e;
  }

  private DeltaStream connectDelta(String nodeId) {
    DeltaStream e = plane.delta(nodeId, Fixtures.SHARD_A);
    e.subscribeAndAck(CDS, List.of());
    e.subscribeAndAck(EDS, List.of("a-one"));
    e.subscribeAndAck(LDS, List.of());
    e.subscribeAndAck(RDS, List.of("a-routes"));
    return e;
  }

  /**
   * Takes stage A (both clusters, and the endpoints it watched at their new version) and answers it as Envoy does:
   * ACKs the clusters, asks for the new cluster's endpoints with the ACK of the endpoints, and ACKs those.
   */
  private static void answerNewClusterSotw(SotwStream e) {
    DiscoveryResponse clusters = e.next(CDS);
    assertEquals(List.of("a-one", "a-two"), SotwStream.names(clusters), e.seen());
    DiscoveryResponse endpoints = e.next(EDS);
    assertEquals(List.of("a-one"), SotwStream.names(endpoints), e.seen());
    e.ack(clusters);
    e.ack(endpoints, "a-one", "a-two");
    DiscoveryResponse more = e.next(EDS);
    assertEquals(List.of("a-one", "a-two"), SotwStream.names(more), e.seen());
    e.ack(more);
  }

  /** The same for delta: the new cluster alone, then a subscription to its endpoints. */
  private static void answerNewClusterDelta(DeltaStream e) {
    DeltaDiscoveryResponse clusters = e.next(CDS);
    assertEquals(Set.of("a-two"), DeltaStream.versions(clusters).keySet(), e.seen());
    assertEquals(List.of(), clusters.getRemovedResourcesList());
    e.ack(clusters);
    e.subscribeMore(EDS, "a-two");
    DeltaDiscoveryResponse endpoints = e.next(EDS);
    assertEquals(Set.of("a-two"), DeltaStream.versions(endpoints).keySet(), e.seen());
    e.ack(endpoints);
  }

  /** The clusters the routes of an RDS response go to. */
  private static List<String> routeClusters(DiscoveryResponse routes) throws InvalidProtocolBufferException {
    List<String> clusters = new ArrayList<>();
    for (Any any : routes.getResourcesList()) {
      RouteConfiguration rc = any.unpack(RouteConfiguration.class);
      rc.getVirtualHostsList().forEach(vh -> vh.getRoutesList().forEach(r -> clusters.add(r.getRoute().getCluster())));
    }
    return clusters;
  }

  private static String routeCluster(DeltaDiscoveryResponse routes) throws InvalidProtocolBufferException {
    return routes.getResources(0).getResource().unpack(RouteConfiguration.class).getVirtualHosts(0).getRoutes(0)
        .getRoute().getCluster();
  }
}
