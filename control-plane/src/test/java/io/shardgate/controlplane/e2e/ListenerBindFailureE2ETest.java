package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.net.httpserver.HttpServer;
import io.envoyproxy.controlplane.cache.Resources;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.snapshot.ShardDiscoveryServer;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;

/**
 * A NACK must not start a push storm, seen with a <b>real Envoy</b>: the protected shard's listener port is held by a
 * socket the test opens, so the protected Envoy cannot bind its listener and rejects the listener update. Left
 * without a listener it stops watching route configurations; an Envoy answers a response of a type it does not watch
 * by asking again ("Ignoring unwatched type URL"), so a control plane that answers a request without names with every
 * route configuration would loop as fast as the two can talk. Over ten seconds after the NACK, the responses on that
 * Envoy's stream (counted by the discovery server's stream stats) and those log lines stay a handful, while the
 * noisy shard's Envoy keeps taking edits.
 */
class ListenerBindFailureE2ETest {

  private static final Duration LIVENESS = Duration.ofSeconds(30);
  /** How long the NACKing Envoy is watched after its NACK. */
  private static final Duration WATCH = Duration.ofSeconds(10);
  /** Responses to (and unwatched-type warnings of) the NACKing Envoy allowed in {@link #WATCH}: a few, not a loop. */
  private static final long BOUND = 10;
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String CATALOG_HOST = "catalog.example.com";
  private static final String UNWATCHED = "Ignoring unwatched type URL";

  @TempDir static Path work;

  private static ExampleConfig config;
  private static ServerSocket portHolder;
  private static HttpServer catalogBackend;
  private static ApplicationContext controlPlane;
  private static EnvoyProcess protectedEnvoy;
  private static EnvoyProcess noisyEnvoy;

  @RegisterExtension
  static final TestWatcher ENVOY_LOGS_ON_FAILURE = E2eSupport.envoyLogsOnFailure(() -> new EnvoyProcess[] {protectedEnvoy, noisyEnvoy});

  @BeforeAll
  static void start() throws Exception {
    EnvoyProcess.binary();
    int[] ports = ExampleConfig.freePorts(8);
    config = ExampleConfig.copyTo(work.resolve("config"), ports);
    Path run = Files.createDirectories(work.resolve("run"));
    int xdsPort = ports[4];
    try {
      // Without SO_REUSEPORT on this socket, Envoy's bind of the same address and port fails.
      portHolder = new ServerSocket();
      portHolder.bind(new InetSocketAddress("127.0.0.1", config.protectedPort()));
      catalogBackend = E2eSupport.echoBackend(config.catalogPort(), "catalog-backend");
      controlPlane = ServeCommand.start(config.dir(), xdsPort, ports[5], "127.0.0.1");
      ServeCommand.awaitFirstTranslation(controlPlane);
      protectedEnvoy = E2eSupport.startShardEnvoy("gateway-proxy-protected", "gateway-proxy-protected", xdsPort,
          ports[6], run);
      noisyEnvoy = E2eSupport.startShardEnvoy("gateway-proxy-noisy", "gateway-proxy-noisy", xdsPort, ports[7], run);
      noisyEnvoy.awaitReady(LIVENESS);
      noisyEnvoy.awaitListener(config.noisyPort(), CATALOG_HOST, "/", LIVENESS);
    } catch (Throwable t) {
      System.out.println(E2eSupport.envoyLogs("setup", protectedEnvoy, noisyEnvoy));
      throw t;
    }
  }

  @AfterAll
  static void stop() throws IOException {
    E2eSupport.stopAll(Arrays.asList(protectedEnvoy, noisyEnvoy), controlPlane, catalogBackend);
    if (portHolder != null) {
      portHolder.close();
    }
  }

  @Test
  void aRejectedListenerStartsNoPushStormAndTheOtherShardKeepsUpdating() throws Exception {
    awaitListenerNack();
    long responsesBefore = responsesTo(ExampleConfig.PROTECTED_ROLE);
    long warningsBefore = countLines(protectedEnvoy.log, UNWATCHED);
    long watchStarted = System.nanoTime();

    // The other shard keeps taking edits meanwhile.
    config.replace("virtualservices/catalog/catalog.yaml", "    routes:\n", """
            routes:
            - matchers:
              - exact: /after-the-nack
              directResponseAction:
                status: 418
        """);
    E2eSupport.awaitStatus(noisyEnvoy, config.noisyPort(), CATALOG_HOST, "/after-the-nack", 418, LIVENESS);

    long left = WATCH.toNanos() - (System.nanoTime() - watchStarted);
    if (left > 0) {
      Thread.sleep(left / 1_000_000);
    }
    protectedEnvoy.checkAlive();
    long responses = responsesTo(ExampleConfig.PROTECTED_ROLE) - responsesBefore;
    long warnings = countLines(protectedEnvoy.log, UNWATCHED) - warningsBefore;
    System.out.println("E2E NACKed listener: " + responses + " responses to the NACKing Envoy and " + warnings
        + " '" + UNWATCHED + "' lines in its log over " + WATCH.toSeconds() + " s");
    assertTrue(responses <= BOUND, responses + " responses to the Envoy that NACKed its listener in " + WATCH
        + ": a push loop");
    assertTrue(warnings <= BOUND, warnings + " '" + UNWATCHED + "' lines in " + WATCH + ": a push loop. Log:\n"
        + protectedEnvoy.logTail());
  }

  private static void awaitListenerNack() throws InterruptedException {
    ShardSnapshotCache cache = controlPlane.getBean(ShardSnapshotCache.class);
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    while (System.nanoTime() - deadline < 0) {
      protectedEnvoy.checkAlive();
      if (cache.latestNacks(ExampleConfig.PROTECTED_ROLE).containsKey(LDS)) {
        return;
      }
      Thread.sleep(50);
    }
    fail("the protected Envoy never rejected its listener (port " + config.protectedPort() + " is held); NACKs: "
        + cache.latestNacks() + ". Log:\n" + protectedEnvoy.logTail());
  }

  /** xDS responses sent to a shard's streams, as the discovery server's stream stats count them. */
  private static long responsesTo(String role) {
    return controlPlane.getBean(ShardDiscoveryServer.class).callbacks().statsOf(role).responses();
  }

  /** Lines of a log that contain {@code text}; streamed, as a storm writes tens of megabytes. */
  private static long countLines(Path log, String text) throws IOException {
    try (Stream<String> lines = Files.lines(log, StandardCharsets.ISO_8859_1)) {
      return lines.filter(line -> line.contains(text)).count();
    }
  }
}
