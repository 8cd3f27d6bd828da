package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.net.httpserver.HttpServer;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;

/**
 * Make-before-break under traffic, with nothing faked: two <b>real Envoy processes</b> of the noisy shard (one state
 * of the world, one delta), served by the control plane in-process over <b>real gRPC</b>, take fixed-rate HTTP
 * traffic for {@code catalog.example.com} while the test moves the catalog route from Upstream {@code catalog} to a
 * new Upstream {@code catalog-v3} (a new file) and back, again and again. Each move removes one cluster and adds
 * another in the same edit; unless the new cluster reaches every Envoy before the route that uses it, and the old
 * one is removed only after every Envoy dropped the route that used it, some requests get 503 ({@code no_cluster}).
 * Not one request may fail.
 *
 * <p>Both Envoys listen on the same port (Envoy binds with {@code SO_REUSEPORT}, as replicas behind a Service would),
 * so the kernel spreads the connections over both; each Envoy's own counters say how many requests it answered and
 * how many of them were not 2xx.
 */
class UpstreamSwapE2ETest {

  private static final Duration LIVENESS = Duration.ofSeconds(30);
  private static final String CATALOG_HOST = "catalog.example.com";
  private static final String CATALOG_VS = "virtualservices/catalog/catalog.yaml";
  private static final String OLD_CLUSTER = "catalog_catalog";
  private static final String NEW_CLUSTER = "catalog-v3_catalog";
  /** Round trips catalog -> catalog-v3 -> catalog. */
  private static final int ROUND_TRIPS = 10;
  /** Requests per second over both Envoys: about 200 each. */
  private static final int RATE = 400;
  /** How long each state is served under traffic before the next move (not a wait for anything). */
  private static final Duration DWELL = Duration.ofMillis(300);

  @TempDir static Path work;

  private static ExampleConfig config;
  private static int catalogV3Port;
  private static HttpServer catalogBackend;
  private static HttpServer catalogV3Backend;
  private static ApplicationContext controlPlane;
  private static final List<EnvoyProcess> envoys = new ArrayList<>();

  @RegisterExtension
  static final TestWatcher ENVOY_LOGS_ON_FAILURE = E2eSupport.envoyLogsOnFailure(() -> envoys.toArray(EnvoyProcess[]::new));

  @BeforeAll
  static void start() throws Exception {
    EnvoyProcess.binary();
    int[] ports = ExampleConfig.freePorts(9);
    config = ExampleConfig.copyTo(work.resolve("config"), ports);
    Path run = Files.createDirectories(work.resolve("run"));
    int xdsPort = ports[4];
    catalogV3Port = ports[6];
    try {
      catalogBackend = E2eSupport.echoBackend(config.catalogPort(), "catalog-backend");
      catalogV3Backend = E2eSupport.echoBackend(catalogV3Port, "catalog-v3-backend");
      controlPlane = ServeCommand.start(config.dir(), xdsPort, ports[5], "127.0.0.1");
      ServeCommand.awaitFirstTranslation(controlPlane);
      envoys.add(envoy("gateway-proxy-noisy-sotw", false, xdsPort, ports[7], run));
      envoys.add(envoy("gateway-proxy-noisy-delta", true, xdsPort, ports[8], run));
      for (EnvoyProcess e : envoys) {
        e.awaitReady(LIVENESS);
      }
      envoys.get(0).awaitListener(config.noisyPort(), CATALOG_HOST, "/", LIVENESS);
      for (EnvoyProcess e : envoys) {
        awaitRoutesTo(e, OLD_CLUSTER);
      }
    } catch (Throwable t) {
      System.out.println(E2eSupport.envoyLogs("setup", envoys.toArray(EnvoyProcess[]::new)));
      throw t;
    }
  }

  @AfterAll
  static void stop() {
    E2eSupport.stopAll(envoys, controlPlane, catalogBackend, catalogV3Backend);
  }

  @Test
  void movingARouteToANewUpstreamAndBackUnderTrafficFailsNoRequest() throws Exception {
    Files.writeString(config.file("upstreams/catalog/catalog-v3.yaml"), """
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata:
          name: catalog-v3
          namespace: catalog
        spec:
          static:
            hosts:
            - addr: 127.0.0.1
              port: %d
        """.formatted(catalogV3Port));
    Map<EnvoyProcess, Map<String, Long>> before = new HashMap<>();
    for (EnvoyProcess e : envoys) {
      before.put(e, requestStats(e));
    }
    int moves = 0;
    try (FixedRateTraffic traffic = FixedRateTraffic.start(config.noisyPort(), CATALOG_HOST, RATE, 300_000)) {
      awaitBackend(traffic, "catalog-backend");
      for (int i = 0; i < ROUND_TRIPS; i++) {
        move("catalog", "catalog-v3", NEW_CLUSTER, "catalog-v3-backend", traffic);
        moves++;
        move("catalog-v3", "catalog", OLD_CLUSTER, "catalog-backend", traffic);
        moves++;
      }
      traffic.close();
      System.out.println("E2E upstream swaps, client side: " + traffic);
      for (EnvoyProcess e : envoys) {
        Map<String, Long> after = requestStats(e);
        long requests = delta(before.get(e), after, "downstream_rq_completed");
        long errors = requests - delta(before.get(e), after, "downstream_rq_2xx");
        System.out.println("E2E upstream swaps: " + requests + " requests, " + errors + " errors (" + e.name + ", "
            + moves + " moves; Envoy counters " + after + ")");
        assertTrue(requests > 0, e.name + " took no traffic, so it proves nothing: " + after);
        assertEquals(0, errors, e.name + " answered requests that were not 2xx during the moves: before " + before.get(e)
            + " after " + after + "; client side: " + traffic);
      }
      assertEquals(0, traffic.errors(), "requests failed during " + moves + " moves: " + traffic);
      assertTrue(traffic.byBackend().getOrDefault("catalog-v3-backend", 0L) > 0, traffic::toString);
    }
  }

  /**
   * Points the catalog route at {@code toUpstream}, then waits until every Envoy routes to {@code toCluster} only and
   * the traffic is answered by {@code toBackend}.
   */
  private static void move(String fromUpstream, String toUpstream, String toCluster, String toBackend,
      FixedRateTraffic traffic) throws Exception {
    config.replace(CATALOG_VS, "            name: " + fromUpstream + "\n", "            name: " + toUpstream + "\n");
    for (EnvoyProcess e : envoys) {
      awaitRoutesTo(e, toCluster);
    }
    long movedAt = traffic.sequence();
    awaitBackend(traffic, toBackend, movedAt);
    Thread.sleep(DWELL.toMillis());
  }

  private static void awaitBackend(FixedRateTraffic traffic, String backend) throws InterruptedException {
    awaitBackend(traffic, backend, -1);
  }

  /** Waits until a request sent after {@code afterSequence} is answered by {@code backend}. */
  private static void awaitBackend(FixedRateTraffic traffic, String backend, long afterSequence)
      throws InterruptedException {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    while (System.nanoTime() - deadline < 0) {
      if (traffic.backendAnsweringAfter(afterSequence).equals(backend)) {
        return;
      }
      Thread.sleep(10);
    }
    fail("no request sent after #" + afterSequence + " was answered by " + backend + " within " + LIVENESS
        + "; traffic: " + traffic);
  }

  /** Waits until the Envoy's route configurations name {@code cluster} and no other catalog cluster. */
  private static void awaitRoutesTo(EnvoyProcess e, String cluster) throws Exception {
    String other = cluster.equals(OLD_CLUSTER) ? NEW_CLUSTER : OLD_CLUSTER;
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    String last = "no answer";
    while (System.nanoTime() - deadline < 0) {
      e.checkAlive();
      String routes = E2eSupport.admin(e, "/config_dump?resource=dynamic_route_configs");
      if (routesTo(routes, cluster) && !routesTo(routes, other)) {
        return;
      }
      last = routes;
      Thread.sleep(20);
    }
    fail(e.name + " never routed to " + cluster + " alone within " + LIVENESS + "; its routes: " + last);
  }

  private static boolean routesTo(String routeConfigDump, String cluster) {
    return Pattern.compile("\"cluster\":\\s*\"" + Pattern.quote(cluster) + "\"").matcher(routeConfigDump).find();
  }

  /** The Envoy's HTTP connection manager request counters (stat prefix {@code http}). */
  private static Map<String, Long> requestStats(EnvoyProcess e) throws IOException {
    Map<String, Long> out = new TreeMap<>();
    for (String line : E2eSupport.admin(e, "/stats?filter=^http\\.http\\.(downstream_rq_(completed|[1-5]xx)|no_cluster)$")
        .split("\n")) {
      int colon = line.lastIndexOf(": ");
      if (colon > 0) {
        out.put(line.substring(0, colon).trim().replace("http.http.", ""),
            Long.parseLong(line.substring(colon + 2).trim()));
      }
    }
    return out;
  }

  private static long delta(Map<String, Long> before, Map<String, Long> after, String stat) {
    return after.getOrDefault(stat, 0L) - before.getOrDefault(stat, 0L);
  }

  private static EnvoyProcess envoy(String name, boolean delta, int xdsPort, int adminPort, Path run)
      throws IOException {
    return delta
        ? E2eSupport.startShardEnvoy(name, "gateway-proxy-noisy", xdsPort, adminPort, run, "--node-id", name, "--delta")
        : E2eSupport.startShardEnvoy(name, "gateway-proxy-noisy", xdsPort, adminPort, run, "--node-id", name);
  }
}
