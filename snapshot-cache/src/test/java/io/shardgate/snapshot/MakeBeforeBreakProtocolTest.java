package io.shardgate.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Make-before-break over a real gRPC server, with raw state of the world and delta streams that play Envoy by hand:
 * they ACK, NACK, ask for the endpoints of the clusters they get and for the route configurations of their listeners,
 * as Envoy does, but only when the test says so. Most tests move the route of shard A from cluster {@code a-one} to
 * a new cluster {@code a-two}: a route that uses {@code a-two} must never reach a stream before every stream of the
 * shard answered {@code a-two}, and {@code a-one} must not go before every stream answered the routes that no longer
 * use it. The others move shard A's listener to another address or port (a new name): the old listener must not go
 * before every stream answered the new one, and not at all while a stream rejects it.
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
  void aRejectedNewClusterHoldsTheUpdateBeforeItsRoutesUntilTheNextSetShard() throws Exception {
    ListAppender<ILoggingEvent> log = captureCacheLog();
    try {
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

      // No route to a-two follows, though both streams answered: the update is held.
      awaitHeld(true);
      sotw.assertSilent(SILENCE_MS);
      delta.assertSilent(SILENCE_MS);
      assertTrue(plane.cache.isHeld(Fixtures.SHARD_A));
      assertFalse(plane.cache.isSettled(Fixtures.SHARD_A), "a held update is not settled");
      assertEquals(2, plane.xds.callbacks().statsOf(Fixtures.SHARD_A).nacks());
      List<String> held = warnings(log, "held");
      assertEquals(1, held.size(), () -> "one WARN for the hold: " + held);
      // It names the shard, the stream whose NACK the server saw first (held at once, without waiting for the
      // other; which one comes first is up to the two streams' threads), the type and Envoy's message.
      assertTrue(held.get(0).contains("shard '" + Fixtures.SHARD_A + "'")
          && (held.get(0).contains("envoy-sotw") || held.get(0).contains("envoy-delta"))
          && held.get(0).contains("CDS: 'cluster a-two: pretend Envoy dislikes it'"), held::toString);

      // The next update (back to a-one) starts from the held stage, and a-two goes.
      plane.cache.setShard(Fixtures.SHARD_A, Fixtures.shard("a", 9001, "one"));
      assertEquals(List.of("a-one"), SotwStream.names(nextOfEach(sotw, CDS, EDS).get(CDS)), sotw.seen());
      assertEquals(List.of("a-two"), delta.next(CDS).getRemovedResourcesList(), delta.seen());
      assertFalse(plane.cache.isHeld(Fixtures.SHARD_A));
      assertTrue(plane.cache.isSettled(Fixtures.SHARD_A));
    } finally {
      releaseCacheLog(log);
    }
  }

  @Test
  void aListenerMovedToAnotherPortIsAnsweredByEveryStreamBeforeTheOldOneGoes() throws Exception {
    plane = new TestControlPlane(TestControlPlane.NO_GRACE, ResponsePacing.DEFAULT);
    ShardResources base = Fixtures.shard("a", 9001, "one");
    plane.cache.setShard(Fixtures.SHARD_A, Fixtures.listenerAt(base, "127.0.0.1", 8080));
    SotwStream sotw = connectSotw("envoy-sotw", OLD_ROUTES);
    DeltaStream delta = connectDelta("envoy-delta", OLD_ROUTES);

    assertTrue(plane.cache.setShard(Fixtures.SHARD_A, Fixtures.listenerAt(base, "127.0.0.1", 8081)));
    answerNewListenerSotw(sotw, List.of(OLD_LISTENER, LISTENER_8081), LISTENER_8081 + "-routes");
    sotw.assertSilent(SILENCE_MS); // the delta stream has not answered the new listener: the old one stays
    answerNewListenerDelta(delta, LISTENER_8081);

    assertEquals(List.of(LISTENER_8081), SotwStream.names(nextOfEach(sotw, LDS, RDS).get(LDS)),
        "the old listener goes last; " + sotw.seen());
    DeltaDiscoveryResponse removal = nextOfEach(delta, LDS, RDS).get(LDS);
    assertEquals(List.of(OLD_LISTENER), removal.getRemovedResourcesList(), delta.seen());
    assertEquals(0, removal.getResourcesCount());
  }

  @Test
  void aRejectedNewListenerKeepsTheOldOneAcrossUpdatesUntilItIsNoLongerWanted() throws Exception {
    ListAppender<ILoggingEvent> log = captureCacheLog();
    try {
      plane = new TestControlPlane(TestControlPlane.NO_GRACE, ResponsePacing.DEFAULT);
      ShardResources base = Fixtures.shard("a", 9001, "one");
      plane.cache.setShard(Fixtures.SHARD_A, Fixtures.listenerAt(base, "127.0.0.1", 8080));
      SotwStream sotw = connectSotw("envoy-sotw", OLD_ROUTES);
      DeltaStream delta = connectDelta("envoy-delta", OLD_ROUTES);
      String acceptedListeners = plane.cache.versionOf(Fixtures.SHARD_A, LDS).orElseThrow();

      // An address the host does not have: both keep the old listener and reject the new one.
      ShardResources unbindable = Fixtures.listenerAt(base, "192.0.2.1", 8080);
      plane.cache.setShard(Fixtures.SHARD_A, unbindable);
      Map<String, DiscoveryResponse> stageB = nextOfEach(sotw, LDS, RDS);
      assertEquals(List.of(OLD_LISTENER, BAD_LISTENER), SotwStream.names(stageB.get(LDS)), sotw.seen());
      sotw.nack(stageB.get(LDS), acceptedListeners, BIND_ERROR);
      sotw.ack(stageB.get(RDS));
      DeltaDiscoveryResponse deltaListeners = delta.next(LDS);
      assertEquals(Set.of(BAD_LISTENER), DeltaStream.versions(deltaListeners).keySet(), delta.seen());
      delta.nack(deltaListeners, BIND_ERROR);
      awaitHeld(true);
      sotw.assertSilent(SILENCE_MS);
      delta.assertSilent(SILENCE_MS);
      List<String> held = warnings(log, "held");
      assertEquals(1, held.size(), () -> "one WARN for the hold: " + held);
      assertTrue(held.get(0).contains("LDS: '" + BIND_ERROR + "'"), held::toString);

      // Another edit that keeps the bad address (a route configuration changes) holds again; the old one stays.
      RouteConfiguration changed = unbindable.routes().get(0).toBuilder().setValidateClusters(BoolValue.of(false))
          .build();
      plane.cache.setShard(Fixtures.SHARD_A, new ShardResources(unbindable.clusters(), unbindable.endpoints(),
          unbindable.listeners(), List.of(changed), List.of()));
      sotw.ack(sotw.next(RDS));
      awaitHeld(true);
      sotw.assertSilent(SILENCE_MS);
      delta.assertSilent(SILENCE_MS);

      // Fixed to another port: the rejected listener is not sent again, the old one goes after the new one.
      plane.cache.setShard(Fixtures.SHARD_A, Fixtures.listenerAt(base, "127.0.0.1", 8081));
      assertFalse(plane.cache.isHeld(Fixtures.SHARD_A));
      answerNewListenerSotw(sotw, List.of(OLD_LISTENER, LISTENER_8081), LISTENER_8081 + "-routes");
      DeltaDiscoveryResponse fixed = delta.next(LDS);
      assertEquals(Set.of(LISTENER_8081), DeltaStream.versions(fixed).keySet(), delta.seen());
      assertEquals(List.of(BAD_LISTENER), fixed.getRemovedResourcesList(), delta.seen());
      delta.ack(fixed);
      delta.subscribeMore(RDS, LISTENER_8081 + "-routes");
      delta.ack(delta.next(RDS));
      assertEquals(List.of(LISTENER_8081), SotwStream.names(nextOfEach(sotw, LDS, RDS).get(LDS)), sotw.seen());
      assertEquals(List.of(OLD_LISTENER), nextOfEach(delta, LDS, RDS).get(LDS).getRemovedResourcesList(),
          delta.seen());
    } finally {
      releaseCacheLog(log);
    }
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

  private static final String OLD_LISTENER = "listener-127.0.0.1-8080";
  private static final String OLD_ROUTES = OLD_LISTENER + "-routes";
  private static final String LISTENER_8081 = "listener-127.0.0.1-8081";
  private static final String BAD_LISTENER = "listener-192.0.2.1-8080";
  private static final String BIND_ERROR = "Error adding/updating listener(s) " + BAD_LISTENER
      + ": cannot bind '192.0.2.1:8080': Cannot assign requested address";

  /** A state of the world stream that connects as Envoy does: clusters, their endpoints, listeners, their routes. */
  private SotwStream connectSotw(String nodeId) {
    return connectSotw(nodeId, "a-routes");
  }

  private SotwStream connectSotw(String nodeId, String routes) {
    SotwStream e = plane.sotw(nodeId, Fixtures.SHARD_A);
    e.subscribeAndAck(CDS);
    e.subscribeNamesAndAck(EDS, "a-one");
    e.subscribeAndAck(LDS);
    e.subscribeNamesAndAck(RDS, routes);
    return e;
  }

  private DeltaStream connectDelta(String nodeId) {
    return connectDelta(nodeId, "a-routes");
  }

  private DeltaStream connectDelta(String nodeId, String routes) {
    DeltaStream e = plane.delta(nodeId, Fixtures.SHARD_A);
    e.subscribeAndAck(CDS, List.of());
    e.subscribeAndAck(EDS, List.of("a-one"));
    e.subscribeAndAck(LDS, List.of());
    e.subscribeAndAck(RDS, List.of(routes));
    return e;
  }

  /**
   * Takes a stage B that adds a listener (its LDS, and the RDS of the route configurations the stream watches, whose
   * version changed) and answers it as Envoy does: ACKs both, asking for the new listener's route configuration too,
   * and ACKs that.
   */
  private static void answerNewListenerSotw(SotwStream e, List<String> listeners, String newRoutes) {
    Map<String, DiscoveryResponse> stage = nextOfEach(e, LDS, RDS);
    assertEquals(listeners, SotwStream.names(stage.get(LDS)), e.seen());
    e.ack(stage.get(LDS));
    List<String> routes = new ArrayList<>(SotwStream.names(stage.get(RDS)));
    routes.add(newRoutes);
    e.ack(stage.get(RDS), routes.toArray(String[]::new));
    DiscoveryResponse more = e.next(RDS);
    assertTrue(SotwStream.names(more).contains(newRoutes), e.seen());
    e.ack(more, routes.toArray(String[]::new));
  }

  /** The same for delta: the new listener alone, then a subscription to its route configuration. */
  private static void answerNewListenerDelta(DeltaStream e, String listener) {
    DeltaDiscoveryResponse listeners = e.next(LDS);
    assertEquals(Set.of(listener), DeltaStream.versions(listeners).keySet(), e.seen());
    assertEquals(List.of(), listeners.getRemovedResourcesList(), e.seen());
    e.ack(listeners);
    e.subscribeMore(RDS, listener + "-routes");
    DeltaDiscoveryResponse routes = e.next(RDS);
    assertEquals(Set.of(listener + "-routes"), DeltaStream.versions(routes).keySet(), e.seen());
    e.ack(routes);
  }

  /** The next responses of a stream, one of each type, in whatever order they come. */
  private static Map<String, DiscoveryResponse> nextOfEach(SotwStream e, String... typeUrls) {
    return nextOfEach(e::next, DiscoveryResponse::getTypeUrl, e::seen, typeUrls);
  }

  private static Map<String, DeltaDiscoveryResponse> nextOfEach(DeltaStream e, String... typeUrls) {
    return nextOfEach(e::next, DeltaDiscoveryResponse::getTypeUrl, e::seen, typeUrls);
  }

  private static <R> Map<String, R> nextOfEach(Supplier<R> next, Function<R, String> typeOf, Supplier<String> seen,
      String... typeUrls) {
    Map<String, R> got = new HashMap<>();
    while (got.size() < typeUrls.length) {
      R response = next.get();
      String type = typeOf.apply(response);
      assertTrue(List.of(typeUrls).contains(type) && !got.containsKey(type),
          () -> "expected one response of each of " + List.of(typeUrls) + "; " + seen.get());
      got.put(type, response);
    }
    return got;
  }

  /** Waits until shard A's update is held (or not): the cache decides on its own thread after the answers. */
  private void awaitHeld(boolean held) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(ResponseQueue.RESPONSE_TIMEOUT_S);
    while (plane.cache.isHeld(Fixtures.SHARD_A) != held) {
      assertTrue(System.nanoTime() - deadline < 0, "shard A's update is " + (held ? "not " : "") + "held after "
          + ResponseQueue.RESPONSE_TIMEOUT_S + " s; NACKs " + plane.cache.latestNacks(Fixtures.SHARD_A));
      Thread.sleep(10);
    }
  }

  private static ListAppender<ILoggingEvent> captureCacheLog() {
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    ((Logger) LoggerFactory.getLogger(ShardSnapshotCache.class)).addAppender(log);
    return log;
  }

  private static void releaseCacheLog(ListAppender<ILoggingEvent> log) {
    ((Logger) LoggerFactory.getLogger(ShardSnapshotCache.class)).detachAppender(log);
  }

  /** The cache's WARNs that contain {@code text}. */
  private static List<String> warnings(ListAppender<ILoggingEvent> log, String text) {
    return log.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage)
        .filter(m -> m.contains(text)).toList();
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
