package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.net.httpserver.HttpServer;
import io.envoyproxy.controlplane.cache.Resources;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.snapshot.ShardSnapshotCache;
import io.shardgate.snapshot.ShardStreamStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;

/**
 * Listeners are made before they are broken, seen with two <b>real Envoy processes</b> of the noisy shard (one state
 * of the world, one delta, on the same port with {@code SO_REUSEPORT}) served over <b>real gRPC</b> by the control
 * plane in-process, under steady HTTP traffic. A Gateway's {@code bindAddress} and {@code bindPort} are part of its
 * listener's name, so editing either replaces the listener with one of another name:
 *
 * <ul>
 *   <li>to an address the host does not have (192.0.2.1, TEST-NET-1), both Envoys reject the new listener (it cannot
 *       bind), the update is held with the old listener in place, and every request keeps being answered by it;
 *       fixing the address serves again and clears the hold;
 *   <li>to another port, the new port answers before the old one closes: no moment when neither answers.
 * </ul>
 */
class ListenerMakeBeforeBreakE2ETest {

  private static final Duration LIVENESS = Duration.ofSeconds(30);
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String CATALOG_HOST = "catalog.example.com";
  private static final String NOISY_GATEWAY = "gateways/gloo-system/gateway-proxy-noisy.yaml";
  /** An address no host has: TEST-NET-1 (RFC 5737). */
  private static final String UNBINDABLE = "192.0.2.1";
  /** Requests per second over both Envoys while an edit is served. */
  private static final int RATE = 100;
  /** How long the held state is served under traffic before the fix (not a wait for anything). */
  private static final Duration DWELL = Duration.ofSeconds(2);

  @TempDir static Path work;

  private static ExampleConfig config;
  private static int otherPort;
  private static int adminPort;
  private static HttpServer catalogBackend;
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
    adminPort = ports[5];
    otherPort = ports[6];
    try {
      catalogBackend = E2eSupport.echoBackend(config.catalogPort(), "catalog-backend");
      controlPlane = ServeCommand.start(config.dir(), xdsPort, adminPort, "127.0.0.1");
      ServeCommand.awaitFirstTranslation(controlPlane);
      envoys.add(E2eSupport.startShardEnvoy("gateway-proxy-noisy-sotw", "gateway-proxy-noisy", xdsPort, ports[7],
          run, "--node-id", "gateway-proxy-noisy-sotw"));
      envoys.add(E2eSupport.startShardEnvoy("gateway-proxy-noisy-delta", "gateway-proxy-noisy", xdsPort, ports[8],
          run, "--node-id", "gateway-proxy-noisy-delta", "--delta"));
      for (EnvoyProcess e : envoys) {
        e.awaitReady(LIVENESS);
      }
      envoys.get(0).awaitListener(config.noisyPort(), CATALOG_HOST, "/", LIVENESS);
      awaitInSync("the start");
    } catch (Throwable t) {
      System.out.println(E2eSupport.envoyLogs("setup", envoys.toArray(EnvoyProcess[]::new)));
      throw t;
    }
  }

  @AfterAll
  static void stop() {
    E2eSupport.stopAll(envoys, controlPlane, catalogBackend);
  }

  @Test
  void anAddressTheHostDoesNotHaveIsRejectedAndTheOldListenerKeepsAnswering() throws Exception {
    ShardSnapshotCache cache = cache();
    Map<EnvoyProcess, Long> rejectedBefore = new HashMap<>();
    for (EnvoyProcess e : envoys) {
      rejectedBefore.put(e, ldsRejected(e));
    }
    try (FixedRateTraffic traffic = FixedRateTraffic.start(config.noisyPort(), CATALOG_HOST, RATE, 300_000)) {
      awaitAnswered(traffic, "before the edit");

      config.replace(NOISY_GATEWAY, "bindAddress: 127.0.0.1", "bindAddress: " + UNBINDABLE);
      for (EnvoyProcess e : envoys) {
        await(e.name + " rejects the listener on " + UNBINDABLE, () -> ldsRejected(e) > rejectedBefore.get(e),
            () -> "LDS update_rejected " + ldsRejected(e) + "; NACKs " + cache.latestNacks(ExampleConfig.NOISY_ROLE));
      }
      // Envoy counts the rejection before its NACK reaches the control plane.
      await("the control plane has the NACK, naming the address", () -> {
        ShardStreamStats.Nack nack = cache.latestNacks(ExampleConfig.NOISY_ROLE).get(LDS);
        return nack != null && nack.message().contains(UNBINDABLE);
      }, () -> "NACKs " + cache.latestNacks(ExampleConfig.NOISY_ROLE));
      await("the update is held", () -> cache.isHeld(ExampleConfig.NOISY_ROLE), () -> "not held");
      assertTrue(!cache.isSettled(ExampleConfig.NOISY_ROLE), "a held update is not settled");
      String shards = adminGet("/api/shards");
      assertTrue(shards.contains("\"state\":\"Held\""), () -> "/api/shards says the shard is held: " + shards);
      long heldAt = traffic.sequence();
      Thread.sleep(DWELL.toMillis()); // traffic goes on against the held state
      awaitAnswered(traffic, heldAt, "while the update is held");
      for (EnvoyProcess e : envoys) {
        String listeners = E2eSupport.admin(e, "/config_dump?resource=dynamic_listeners");
        assertTrue(listeners.contains(ExampleConfig.listenerName(config.noisyPort())), () -> e.name
            + " still has the old listener: " + listeners);
      }

      config.replace(NOISY_GATEWAY, "bindAddress: " + UNBINDABLE, "bindAddress: 127.0.0.1");
      awaitInSync("the fix");
      assertTrue(!cache.isHeld(ExampleConfig.NOISY_ROLE), "the fix clears the hold");
      String fixed = adminGet("/api/shards");
      assertTrue(!fixed.contains("\"state\":\"Held\""), () -> "/api/shards after the fix: " + fixed);
      awaitAnswered(traffic, traffic.sequence(), "after the fix");
      traffic.close();
      System.out.println("E2E unbindable bindAddress: " + traffic);
      assertEquals(0, traffic.connectionErrors(), () -> "requests got no answer while the new listener could not"
          + " bind: " + traffic);
      assertEquals(0, traffic.errors(), traffic::toString);
      assertTrue(traffic.ok() > 0, traffic::toString);
    }
  }

  @Test
  void aNewPortAnswersBeforeTheOldOneCloses() throws Exception {
    handOver(config.noisyPort(), otherPort);
    handOver(otherPort, config.noisyPort());
  }

  /** Moves the noisy Gateway from port {@code from} to {@code to} under probes of both, and checks the handover. */
  private static void handOver(int from, int to) throws Exception {
    try (PortProbes probes = new PortProbes(from, to)) {
      probes.awaitAnswer(from);
      config.replace(NOISY_GATEWAY, "bindPort: " + from + "\n", "bindPort: " + to + "\n");
      await("port " + to + " answers and " + from + " is closed", () -> probes.answeredSinceRefused(to, from),
          probes::toString);
      awaitInSync("the move to port " + to);
      probes.close();
      System.out.println("E2E listener handover " + from + " -> " + to + ": " + probes);
      String gap = probes.gap(from, to);
      assertEquals(null, gap, () -> "a moment when neither port answered: " + probes);
      assertEquals(List.of(), probes.wrongAnswers(), () -> "answers other than the catalog's 200: " + probes);
    }
  }

  // ---- helpers ----

  /** Waits until the shard is settled, not held, and each Envoy's accepted LDS version is the cache's. */
  private static void awaitInSync(String after) throws InterruptedException {
    ShardSnapshotCache cache = cache();
    await("the Envoys are in sync after " + after, () -> {
      if (!cache.isSettled(ExampleConfig.NOISY_ROLE)) {
        return false;
      }
      String lds = cache.versionOf(ExampleConfig.NOISY_ROLE, LDS).orElse("");
      for (EnvoyProcess e : envoys) {
        if (!lds.equals(ldsVersion(e))) {
          return false;
        }
      }
      return true;
    }, () -> "settled " + cache.isSettled(ExampleConfig.NOISY_ROLE) + ", held "
        + cache.isHeld(ExampleConfig.NOISY_ROLE) + ", cache LDS " + cache.versionOf(ExampleConfig.NOISY_ROLE, LDS)
        + ", Envoys " + envoys.stream().map(ListenerMakeBeforeBreakE2ETest::ldsVersion).toList() + ", NACKs "
        + cache.latestNacks(ExampleConfig.NOISY_ROLE));
  }

  private static void awaitAnswered(FixedRateTraffic traffic, String when) throws InterruptedException {
    awaitAnswered(traffic, -1, when);
  }

  /** Waits until a request sent after {@code afterSequence} is answered by the catalog backend. */
  private static void awaitAnswered(FixedRateTraffic traffic, long afterSequence, String when)
      throws InterruptedException {
    await("the catalog answers " + when, () -> traffic.backendAnsweringAfter(afterSequence).equals("catalog-backend"),
        traffic::toString);
  }

  private static void await(String what, BooleanSupplier condition, Supplier<String> lastSeen)
      throws InterruptedException {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    while (System.nanoTime() - deadline < 0) {
      for (EnvoyProcess e : envoys) {
        e.checkAlive();
      }
      if (condition.getAsBoolean()) {
        return;
      }
      Thread.sleep(20);
    }
    fail(what + ": not within " + LIVENESS + "; last seen: " + lastSeen.get());
  }

  private static ShardSnapshotCache cache() {
    return controlPlane.getBean(ShardSnapshotCache.class);
  }

  private static String adminGet(String path) throws IOException {
    RawHttp.Response r = RawHttp.get(adminPort, "127.0.0.1:" + adminPort, path);
    assertEquals(200, r.status(), () -> path + ": " + r);
    return r.body().replace(" ", "");
  }

  private static long ldsRejected(EnvoyProcess e) {
    String v = stat(e, "listener_manager.lds.update_rejected");
    return v == null ? 0 : Long.parseLong(v);
  }

  private static String ldsVersion(EnvoyProcess e) {
    String v = stat(e, "listener_manager.lds.version_text");
    return v == null ? "" : v.replace("\"", "");
  }

  /** One stat of an Envoy, by exact name; null if it has none (yet). */
  private static String stat(EnvoyProcess e, String name) {
    try {
      for (String line : E2eSupport.admin(e, "/stats?filter=^" + name.replace(".", "\\.") + "$").split("\n")) {
        int colon = line.lastIndexOf(": ");
        if (colon > 0 && line.substring(0, colon).trim().equals(name)) {
          return line.substring(colon + 2).trim();
        }
      }
      return null;
    } catch (IOException ex) {
      throw new AssertionError(e.name + ": cannot read stat " + name, ex);
    }
  }

  /**
   * Two probes, one per port, each sending one request after another (one connection each, {@link RawHttp}) and
   * recording when it started and ended and whether it got an HTTP answer. Neither port answering at one moment
   * shows as a request to the old port that got no answer and ended before a request to the new port that got none
   * started: the old one was closed, and the new one was not listening yet, in that order. (Requests whose times
   * overlap prove nothing either way and are not counted.)
   */
  private static final class PortProbes implements AutoCloseable {

    /** One request: the port, its start and end ({@link System#nanoTime()}), and whether it was answered. */
    record Attempt(int port, long start, long end, boolean answered, String outcome) {
    }

    private final List<Attempt> attempts = new CopyOnWriteArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean stopped;

    PortProbes(int... ports) {
      for (int port : ports) {
        Thread t = new Thread(() -> probe(port), "probe-" + port);
        t.setDaemon(true);
        threads.add(t);
        t.start();
      }
    }

    private void probe(int port) {
      long stopAt = System.nanoTime() + Duration.ofMinutes(5).toNanos(); // bounded whatever happens
      while (!stopped && System.nanoTime() - stopAt < 0) {
        long start = System.nanoTime();
        String outcome;
        boolean answered;
        try {
          RawHttp.Response r = RawHttp.get(port, CATALOG_HOST, "/probe");
          answered = true;
          outcome = String.valueOf(r.status());
        } catch (IOException e) {
          answered = false;
          outcome = e.getClass().getSimpleName() + ": " + e.getMessage();
        }
        attempts.add(new Attempt(port, start, System.nanoTime(), answered, outcome));
        try {
          Thread.sleep(2);
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    void awaitAnswer(int port) throws InterruptedException {
      await("port " + port + " answers", () -> attempts.stream().anyMatch(a -> a.port == port && a.answered),
          this::toString);
    }

    /** Whether {@code to} answered and, later, {@code from} got no answer: the move is done. */
    boolean answeredSinceRefused(int to, int from) {
      long firstAnswer = attempts.stream().filter(a -> a.port == to && a.answered).mapToLong(Attempt::start).min()
          .orElse(Long.MAX_VALUE);
      return attempts.stream().anyMatch(a -> a.port == from && !a.answered && a.start - firstAnswer > 0);
    }

    /** The requests that were answered with anything but 200. */
    List<Attempt> wrongAnswers() {
      return attempts.stream().filter(a -> a.answered && !a.outcome.equals("200")).toList();
    }

    /** A moment when neither port answered, described, or null. */
    String gap(int from, int to) {
      Attempt lastNewRefusal = null;
      for (Attempt a : attempts) {
        if (a.port == to && !a.answered && (lastNewRefusal == null || a.start - lastNewRefusal.start > 0)) {
          lastNewRefusal = a;
        }
      }
      if (lastNewRefusal == null) {
        return null;
      }
      for (Attempt a : attempts) {
        if (a.port == from && !a.answered && lastNewRefusal.start - a.end > 0) {
          return "port " + from + " gave no answer (" + a.outcome + ") " + (lastNewRefusal.start - a.end) / 1_000
              + " us before port " + to + " still gave none (" + lastNewRefusal.outcome + ")";
        }
      }
      return null;
    }

    @Override
    public void close() throws InterruptedException {
      stopped = true;
      for (Thread t : threads) {
        t.join(Duration.ofSeconds(30).toMillis());
      }
    }

    @Override
    public String toString() {
      Map<String, Integer> counts = new TreeMap<>();
      for (Attempt a : attempts) {
        counts.merge(a.port + (a.answered ? " answered " + a.outcome : " no answer"), 1, Integer::sum);
      }
      return counts.toString();
    }
  }
}
