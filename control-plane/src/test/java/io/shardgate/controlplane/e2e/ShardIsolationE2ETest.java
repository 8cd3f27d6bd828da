package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shard isolation seen from the Envoys themselves: four <b>real Envoy processes</b> (each shard once with a state of
 * the world bootstrap and once with a delta bootstrap) on the example, served by the control plane in-process over
 * <b>real gRPC</b>. Each Envoy's own xDS statistics must show that an edit on one shard sends the other shard's
 * Envoys nothing, and each Envoy must hold only the clusters its shard routes to.
 */
class ShardIsolationE2ETest {

  private static final Duration LIVENESS = Duration.ofSeconds(20);
  private static final String PAYMENTS_HOST = "payments.example.com";
  private static final String CATALOG_HOST = "catalog.example.com";

  @TempDir static Path work;
  private static ExampleConfig config;
  private static ApplicationContext controlPlane;
  private static final List<EnvoyProcess> protectedEnvoys = new ArrayList<>();
  private static final List<EnvoyProcess> noisyEnvoys = new ArrayList<>();
  private static final Map<EnvoyProcess, Integer> adminPorts = new HashMap<>();

  @BeforeAll
  static void start() throws Exception {
    EnvoyProcess.binary();
    int[] ports = ExampleConfig.freePorts(10);
    config = ExampleConfig.copyTo(work.resolve("config"), ports);
    Path run = Files.createDirectories(work.resolve("run"));
    int xdsPort = ports[4];
    controlPlane = ServeCommand.start(config.dir(), xdsPort, ports[5], "127.0.0.1");
    ServeCommand.awaitFirstTranslation(controlPlane);
    // Both Envoys of a shard get the same listener port; Envoy binds listeners with SO_REUSEPORT on Linux by
    // default, so replicas of one shard can run side by side on one host, as they would behind a Service.
    protectedEnvoys.add(envoy("gateway-proxy-protected", "sotw", false, xdsPort, ports[6], run));
    protectedEnvoys.add(envoy("gateway-proxy-protected", "delta", true, xdsPort, ports[7], run));
    noisyEnvoys.add(envoy("gateway-proxy-noisy", "sotw", false, xdsPort, ports[8], run));
    noisyEnvoys.add(envoy("gateway-proxy-noisy", "delta", true, xdsPort, ports[9], run));
    for (EnvoyProcess e : all()) {
      e.awaitReady(LIVENESS);
    }
    protectedEnvoys.get(0).awaitListener(config.protectedPort(), PAYMENTS_HOST, "/healthz", LIVENESS);
    noisyEnvoys.get(0).awaitListener(config.noisyPort(), CATALOG_HOST, "/", LIVENESS);
  }

  @AfterAll
  static void stop() {
    E2eSupport.stopAll(all(), controlPlane);
  }

  @Test
  void eachEnvoyHoldsOnlyTheClustersItsShardRoutesTo() throws Exception {
    for (EnvoyProcess e : protectedEnvoys) {
      String clusters = admin(e, "/clusters");
      assertTrue(clusters.contains("payments_payments::"), e.name + " lacks its cluster:\n" + clusters);
      assertFalse(clusters.contains("catalog_catalog::"), e.name + " holds the other shard's cluster:\n" + clusters);
    }
    for (EnvoyProcess e : noisyEnvoys) {
      String clusters = admin(e, "/clusters");
      assertTrue(clusters.contains("catalog_catalog::"), e.name + " lacks its cluster:\n" + clusters);
      assertFalse(clusters.contains("payments_payments::"), e.name + " holds the other shard's cluster:\n" + clusters);
    }
  }

  @Test
  void anEditOnOneShardSendsNothingToTheOtherShardsEnvoys() throws Exception {
    Map<EnvoyProcess, Map<String, Long>> before = new HashMap<>();
    for (EnvoyProcess e : all()) {
      before.put(e, stableXdsStats(e));
    }
    // Edit the protected shard's VirtualService: a new route answers 418.
    Path vs = config.file("virtualservices/payments/payments.yaml");
    long edited = System.nanoTime();
    Files.writeString(vs, Files.readString(vs).replace("""
            routes:
        """, """
            routes:
            - matchers:
              - exact: /isolation-probe
              directResponseAction:
                status: 418
        """));
    awaitStatus(config.protectedPort(), PAYMENTS_HOST, "/isolation-probe", 418);
    System.out.println("E2E isolation edit-to-serve: " + (System.nanoTime() - edited) / 1_000_000 + " ms");
    for (EnvoyProcess e : protectedEnvoys) {
      Map<String, Long> after = stableXdsStats(e);
      String rds = rdsStat(config.protectedPort());
      assertEquals(before.get(e).getOrDefault(rds, 0L) + 1, after.getOrDefault(rds, 0L),
          e.name + " received the edit exactly once: before " + before.get(e) + " after " + after);
      System.out.println("E2E isolation " + e.name + " xDS stats before " + before.get(e) + " after " + after);
    }
    for (EnvoyProcess e : noisyEnvoys) {
      Map<String, Long> after = stableXdsStats(e);
      assertEquals(before.get(e), after, e.name + " received something for the other shard's edit");
      System.out.println("E2E isolation " + e.name + " xDS stats unchanged: " + after);
    }
  }

  private static String rdsStat(int listenerPort) {
    return "http.http.rds." + ExampleConfig.routeConfigName(listenerPort) + ".update_success";
  }

  /** Envoy's xDS update counters, read until two reads 300 ms apart agree (no update in flight). */
  private static Map<String, Long> stableXdsStats(EnvoyProcess e) throws Exception {
    Map<String, Long> last = xdsStats(e);
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    while (System.nanoTime() - deadline < 0) {
      Thread.sleep(300);
      Map<String, Long> now = xdsStats(e);
      if (now.equals(last)) {
        return now;
      }
      last = now;
    }
    fail(e.name + " xDS stats never settled: " + last);
    return last;
  }

  private static Map<String, Long> xdsStats(EnvoyProcess e) throws IOException {
    Map<String, Long> out = new TreeMap<>();
    for (String line : admin(e, "/stats?filter=(update_success|update_attempt|update_rejected)$").split("\n")) {
      int colon = line.lastIndexOf(": ");
      if (colon > 0) {
        out.put(line.substring(0, colon).trim(), Long.parseLong(line.substring(colon + 2).trim()));
      }
    }
    return out;
  }

  private static String admin(EnvoyProcess e, String path) throws IOException {
    int port = adminPorts.get(e);
    RawHttp.Response r = RawHttp.get(port, "127.0.0.1:" + port, path);
    assertEquals(200, r.status(), () -> e.name + " admin " + path + ": " + r);
    return r.body();
  }

  private static void awaitStatus(int port, String host, String path, int status) throws Exception {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    RawHttp.Response last = null;
    while (System.nanoTime() - deadline < 0) {
      last = RawHttp.get(port, host, path);
      if (last.status() == status) {
        return;
      }
      Thread.sleep(20);
    }
    fail(host + path + " never answered " + status + "; last: " + last);
  }

  private static List<EnvoyProcess> all() {
    List<EnvoyProcess> out = new ArrayList<>(protectedEnvoys);
    out.addAll(noisyEnvoys);
    return out;
  }

  private static EnvoyProcess envoy(String proxy, String flavour, boolean delta, int xdsPort, int adminPort, Path run)
      throws IOException {
    String name = proxy + "-" + flavour;
    EnvoyProcess e = delta
        ? E2eSupport.startShardEnvoy(name, proxy, xdsPort, adminPort, run, "--node-id", name, "--delta")
        : E2eSupport.startShardEnvoy(name, proxy, xdsPort, adminPort, run, "--node-id", name);
    adminPorts.put(e, adminPort);
    return e;
  }
}
