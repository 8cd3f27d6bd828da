package io.shardgate.controlplane.ads;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.shardgate.controlplane.e2e.ExampleConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shard isolation as Envoys see it, counted on the wire: the {@code serve} command runs in-process on a copy of
 * {@code docs/examples/sharded} (real Micronaut gRPC server, real directory watching), and raw ADS streams over a real
 * grpc-netty channel on 127.0.0.1 play two Envoys of each shard, state of the world and delta, ACKing every response
 * as Envoy would. An edit must reach exactly the affected shard's Envoys, once, with only the changed type; an edit
 * that changes no xDS resource must reach nobody; a NACK must not be answered with the same rejected config, and must
 * show up in {@code GET /api/status}.
 *
 * <p>Timeouts are liveness bounds, except {@link #QUIET}: after the expected pushes arrived, nothing else may arrive
 * for that long.
 */
class ShardIsolationProtocolTest {

  private static final Duration LIVENESS = ServedExample.LIVENESS;
  private static final Duration QUIET = Duration.ofSeconds(1);

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;
  private static final String PROTECTED = ExampleConfig.PROTECTED_ROLE;
  private static final String NOISY = ExampleConfig.NOISY_ROLE;

  /** An edit that changes one route's direct response: only the protected shard's route configuration changes. */
  private static final String PAYMENTS_VS = "virtualservices/payments/payments.yaml";

  @TempDir Path work;

  private ServedExample served;
  private final List<AutoCloseable> clients = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    served = ServedExample.start(work);
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : clients) {
      c.close();
    }
    if (served != null) {
      served.close();
    }
  }

  @Test
  void aVirtualServiceEditPushesOnceToEachEnvoyOfItsShardAndNothingToTheOtherShard() throws Exception {
    SotwClient a1 = sotw("envoy-protected-1", PROTECTED);
    SotwClient a2 = sotw("envoy-protected-2", PROTECTED);
    SotwClient b1 = sotw("envoy-noisy-1", NOISY);
    SotwClient b2 = sotw("envoy-noisy-2", NOISY);
    Map<SotwClient, Map<String, Integer>> before = counts(List.of(a1, a2, b1, b2), SotwClient::pushes);

    served.editAndAwaitTranslation(PAYMENTS_VS, "payments gateway ok", "payments gateway fine");
    awaitPushes(() -> added(before.get(a1), a1.pushes()).getOrDefault(RDS, 0) >= 1
        && added(before.get(a2), a2.pushes()).getOrDefault(RDS, 0) >= 1);
    ServedExample.sleep(QUIET);

    assertEquals(Map.of(RDS, 1), added(before.get(a1), a1.pushes()), "protected Envoy 1: one RDS push, nothing else");
    assertEquals(Map.of(RDS, 1), added(before.get(a2), a2.pushes()), "protected Envoy 2: one RDS push, nothing else");
    assertEquals(Map.of(), added(before.get(b1), b1.pushes()), "noisy Envoy 1: nothing");
    assertEquals(Map.of(), added(before.get(b2), b2.pushes()), "noisy Envoy 2: nothing");
    DiscoveryResponse rds = last(a1.received());
    assertTrue(directResponseBodies(rds).contains("payments gateway fine\n"), () -> "the edit is pushed: " + rds);
    for (SotwClient c : List.of(a1, a2, b1, b2)) {
      assertNull(c.error(), () -> c.role() + " stream failed: " + c.error());
    }
  }

  @Test
  void anEditThatChangesNoXdsResourceIsPushedToNobody() throws Exception {
    SotwClient a = sotw("envoy-protected-1", PROTECTED);
    SotwClient b = sotw("envoy-noisy-1", NOISY);
    DeltaClient d = delta("envoy-protected-delta", PROTECTED);
    Map<String, Integer> aBefore = a.pushes();
    Map<String, Integer> bBefore = b.pushes();
    Map<String, Integer> dBefore = d.pushes();

    // A label no selector reads, an annotation, and a comment: every file changes, no xDS resource does.
    served.editAndAwaitTranslation(PAYMENTS_VS, "    shard: protected\n", "    shard: protected\n    team: payments\n");
    served.editAndAwaitTranslation("virtualservices/catalog/catalog.yaml", "  labels:\n    shard: noisy\n",
        "  annotations:\n    owner: catalog-team\n  labels:\n    shard: noisy\n");
    served.editAndAwaitTranslation("upstreams/payments/payments.yaml", "  namespace: payments\n",
        "  namespace: payments\n  annotations:\n    deployed-by: ci\n");
    served.editAndAwaitTranslation("gateways/gloo-system/gateway-proxy-noisy.yaml", "# The noisy shard",
        "# Edited: the noisy shard");
    ServedExample.sleep(QUIET);

    assertEquals(aBefore, a.pushes(), "protected SotW Envoy");
    assertEquals(bBefore, b.pushes(), "noisy SotW Envoy");
    assertEquals(dBefore, d.pushes(), "protected delta Envoy");
  }

  @Test
  void aNackIsNotAnsweredWithTheSameConfigAndShowsInTheStatus() throws Exception {
    int port = served.config().protectedPort();
    SotwClient a = new SotwClient(served.channel(), "envoy-protected-nacking", PROTECTED);
    clients.add(a);
    a.subscribe(LDS, List.of());
    DiscoveryResponse listeners = a.next(LIVENESS, "the first LDS response");
    a.nack(listeners, "", "Error adding/updating listener(s) " + ExampleConfig.listenerName(port)
        + ": cannot bind '127.0.0.1:" + port + "': Address already in use");
    a.subscribe(CDS, List.of());
    DiscoveryResponse clusters = a.next(LIVENESS, "the first CDS response");
    a.nack(clusters, "", "Error adding/updating cluster(s) payments_payments: pretend Envoy dislikes it");

    DiscoveryResponse resent = a.poll(QUIET);
    assertNull(resent, () -> "a rejected config was sent again: " + resent);

    List<Map<String, Object>> nacks = nacksOf(PROTECTED);
    Map<String, Object> lds = byType(nacks, LDS);
    assertEquals(listeners.getVersionInfo(), lds.get("version"));
    assertEquals(Boolean.TRUE, lds.get("current"), "the rejected listener version is still the one served");
    assertEquals("envoy-protected-nacking", lds.get("nodeId"));
    assertTrue(((String) lds.get("message")).contains("Address already in use"));
    assertEquals(List.of("Gateway gloo-system/gateway-proxy-protected"), lds.get("resources"));
    Map<String, Object> cds = byType(nacks, CDS);
    assertEquals(clusters.getVersionInfo(), cds.get("version"));
    assertEquals(List.of("Upstream payments/payments"), cds.get("resources"));
    assertNull(nacksOrNull(NOISY), "the noisy shard had no NACK");
    // The resources behind the rejected xDS resources show it in their own status.
    @SuppressWarnings("unchecked")
    Map<String, Map<String, Object>> resources = (Map<String, Map<String, Object>>) served.status().get("resources");
    Map<String, Object> upstream = resources.get("Upstream payments/payments");
    assertEquals("Rejected", upstream.get("state"), upstream::toString);
    assertTrue(upstream.get("errors").toString().contains("envoy-protected-nacking"), upstream::toString);
    assertTrue(upstream.get("errors").toString().contains("pretend Envoy dislikes it"), upstream::toString);
    assertTrue(String.valueOf(upstream.get("reason")).contains("pretend Envoy dislikes it"), upstream::toString);
    assertEquals("Accepted", resources.get("Upstream catalog/catalog").get("state"));

    String metrics = served.get("/metrics").body();
    assertTrue(metrics.contains("shardgate_shard_nacks_total{shard=\"" + PROTECTED + "\",type_url=\"" + LDS
        + "\"} 1.0"), metrics);
  }

  @Test
  void deltaClientsToo_anEditSendsOnlyTheChangedResourceToItsShardOnly() throws Exception {
    DeltaClient a1 = delta("envoy-protected-delta-1", PROTECTED);
    DeltaClient a2 = delta("envoy-protected-delta-2", PROTECTED);
    DeltaClient b1 = delta("envoy-noisy-delta-1", NOISY);
    DeltaClient b2 = delta("envoy-noisy-delta-2", NOISY);
    Map<DeltaClient, Map<String, Integer>> before = counts(List.of(a1, a2, b1, b2), DeltaClient::pushes);

    served.editAndAwaitTranslation(PAYMENTS_VS, "payments gateway ok", "payments gateway fine");
    awaitPushes(() -> added(before.get(a1), a1.pushes()).getOrDefault(RDS, 0) >= 1
        && added(before.get(a2), a2.pushes()).getOrDefault(RDS, 0) >= 1);
    ServedExample.sleep(QUIET);

    assertEquals(Map.of(RDS, 1), added(before.get(a1), a1.pushes()), "protected delta Envoy 1");
    assertEquals(Map.of(RDS, 1), added(before.get(a2), a2.pushes()), "protected delta Envoy 2");
    assertEquals(Map.of(), added(before.get(b1), b1.pushes()), "noisy delta Envoy 1");
    assertEquals(Map.of(), added(before.get(b2), b2.pushes()), "noisy delta Envoy 2");
    DeltaDiscoveryResponse rds = last(a1.received());
    assertEquals(List.of(ExampleConfig.routeConfigName(served.config().protectedPort())),
        List.copyOf(DeltaClient.versions(rds).keySet()), "exactly the changed route configuration");
    assertEquals(0, rds.getRemovedResourcesCount());
  }

  @Test
  void aDeltaEnvoyReconnectingToARestartedControlPlaneIsSentNothing() throws Exception {
    DeltaClient first = delta("envoy-protected-delta", PROTECTED);
    Map<String, Map<String, String>> known = new HashMap<>();
    for (DeltaDiscoveryResponse r : first.received()) {
      known.computeIfAbsent(r.getTypeUrl(), t -> new HashMap<>()).putAll(DeltaClient.versions(r));
    }
    first.close();
    clients.remove(first);

    served = served.restart();
    DeltaClient again = new DeltaClient(served.channel(), "envoy-protected-delta", PROTECTED);
    clients.add(again);
    again.subscribe(CDS, List.of(), known.get(CDS));
    again.subscribe(LDS, List.of(), known.get(LDS));
    again.subscribe(RDS, List.of(ExampleConfig.routeConfigName(served.config().protectedPort())), known.get(RDS));
    ServedExample.sleep(QUIET);
    assertEquals(Map.of(), again.pushes(), "a new control plane on equal content has nothing new to send");
  }

  // ---- helpers

  /** An Envoy-like SotW client of {@code role}: wildcard CDS and LDS, RDS for its listener, all ACKed. */
  private SotwClient sotw(String nodeId, String role) {
    SotwClient c = new SotwClient(served.channel(), nodeId, role);
    clients.add(c);
    c.subscribeAndAck(CDS, List.of(), LIVENESS);
    c.subscribeAndAck(LDS, List.of(), LIVENESS);
    c.subscribeAndAck(RDS, List.of(routeConfigOf(role)), LIVENESS);
    c.autoAck();
    return c;
  }

  /** The same as a delta client. */
  private DeltaClient delta(String nodeId, String role) {
    DeltaClient c = new DeltaClient(served.channel(), nodeId, role);
    clients.add(c);
    c.subscribeAndAck(CDS, List.of(), LIVENESS);
    c.subscribeAndAck(LDS, List.of(), LIVENESS);
    DeltaDiscoveryResponse rds = c.subscribeAndAck(RDS, List.of(routeConfigOf(role)), LIVENESS);
    assertEquals(1, rds.getResourcesCount(), () -> "one route configuration: " + rds);
    c.autoAck();
    return c;
  }

  private String routeConfigOf(String role) {
    ExampleConfig config = served.config();
    return ExampleConfig.routeConfigName(role.equals(PROTECTED) ? config.protectedPort() : config.noisyPort());
  }

  private static <C> Map<C, Map<String, Integer>> counts(List<C> clients,
      Function<C, Map<String, Integer>> pushes) {
    Map<C, Map<String, Integer>> out = new HashMap<>();
    for (C c : clients) {
      out.put(c, pushes.apply(c));
    }
    return out;
  }

  /** Per type, how many pushes {@code after} has beyond {@code before}; types without new pushes left out. */
  private static Map<String, Integer> added(Map<String, Integer> before, Map<String, Integer> after) {
    Map<String, Integer> added = new HashMap<>();
    after.forEach((type, n) -> {
      int d = n - before.getOrDefault(type, 0);
      if (d != 0) {
        added.put(type, d);
      }
    });
    return added;
  }

  private static void awaitPushes(Supplier<Boolean> arrived) {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    while (!arrived.get()) {
      if (System.nanoTime() > deadline) {
        fail("the expected pushes did not arrive within " + LIVENESS);
      }
      ServedExample.sleep(Duration.ofMillis(10));
    }
  }

  private static <T> T last(List<T> list) {
    assertTrue(!list.isEmpty(), "nothing received");
    return list.get(list.size() - 1);
  }

  private static List<String> directResponseBodies(DiscoveryResponse rds) throws InvalidProtocolBufferException {
    List<String> bodies = new ArrayList<>();
    for (Any any : rds.getResourcesList()) {
      RouteConfiguration rc = any.unpack(RouteConfiguration.class);
      rc.getVirtualHostsList().forEach(vh -> vh.getRoutesList().stream()
          .filter(r -> r.hasDirectResponse())
          .forEach(r -> bodies.add(r.getDirectResponse().getBody().getInlineString())));
    }
    return bodies;
  }

  private List<Map<String, Object>> nacksOf(String role) {
    List<Map<String, Object>> nacks = nacksOrNull(role);
    assertNotNull(nacks, () -> "no NACKs of " + role + " in /api/status: " + served.status().get("nacks"));
    return nacks;
  }

  @SuppressWarnings("unchecked")
  private List<Map<String, Object>> nacksOrNull(String role) {
    Map<String, Object> nacks = (Map<String, Object>) served.status().get("nacks");
    assertNotNull(nacks, "/api/status has a nacks section");
    return (List<Map<String, Object>>) nacks.get(role);
  }

  private static Map<String, Object> byType(List<Map<String, Object>> nacks, String typeUrl) {
    return nacks.stream().filter(n -> typeUrl.equals(n.get("typeUrl"))).findFirst()
        .orElseThrow(() -> new AssertionError("no " + typeUrl + " NACK in " + nacks));
  }
}
