package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.net.httpserver.HttpServer;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sharded example end to end, with nothing faked: two <b>real Envoy processes</b> (the binary in
 * {@code shardgate.envoy.bin}) get their configuration from the control plane running in-process
 * ({@link ServeCommand#start}) over <b>real gRPC</b> ADS on a loopback port, from bootstraps made by the project's own
 * {@code bootstrap} command, and route <b>real HTTP</b> to two JDK HTTP servers standing in for the payments and
 * catalog services. The config is a copy of {@code docs/examples/sharded} with free ports; the tests edit that copy
 * as a user would.
 *
 * <p>The tests run in a fixed order ({@link Order}) over one shared setup: the routing checks first, then an edit
 * that must reach the noisy Envoy, then a broken file that must change nothing that is served. Timeouts are liveness
 * bounds only: the edit-to-serve time is printed, and measured under load by the serve benchmark, not asserted here,
 * where a loaded machine would make it flaky.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ShardedExampleE2ETest {

  private static final Duration LIVENESS = Duration.ofSeconds(30);
  /** Longer than the config source's debounce (150 ms), so a broken file has certainly been read. */
  private static final Duration SETTLE = Duration.ofMillis(1_500);

  private static final String PAYMENTS_HOST = "payments.example.com";
  private static final String CATALOG_HOST = "catalog.example.com";
  private static final String CATALOG_VS = "virtualservices/catalog/catalog.yaml";

  @TempDir static Path work;

  private static ExampleConfig config;
  private static HttpServer paymentsBackend;
  private static HttpServer catalogBackend;
  private static ApplicationContext controlPlane;
  private static int adminPort;
  private static EnvoyProcess protectedEnvoy;
  private static EnvoyProcess noisyEnvoy;
  /** Set once the edit test saw its route served, so later tests can check it is still served. */
  private static volatile boolean newPathServed;

  @RegisterExtension
  static final TestWatcher ENVOY_LOGS_ON_FAILURE = new TestWatcher() {
    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
      printEnvoyLogs(context.getDisplayName());
    }
  };

  @BeforeAll
  static void startEverything() throws Exception {
    EnvoyProcess.binary(); // fails at once, with the install command, when Envoy is missing
    int[] ports = ExampleConfig.freePorts(8);
    config = ExampleConfig.copyTo(work.resolve("config"), ports);
    // Logs and bootstraps outside the watched config directory, so writing them triggers no reads.
    Path run = Files.createDirectories(work.resolve("run"));
    int xdsPort = ports[4];
    adminPort = ports[5];
    try {
      paymentsBackend = E2eSupport.echoBackend(config.paymentsPort(), "payments-backend");
      catalogBackend = E2eSupport.echoBackend(config.catalogPort(), "catalog-backend");
      controlPlane = ServeCommand.start(config.dir(), xdsPort, adminPort, "127.0.0.1");
      ServeCommand.awaitFirstTranslation(controlPlane);
      protectedEnvoy = E2eSupport.startShardEnvoy("gateway-proxy-protected", "gateway-proxy-protected", xdsPort, ports[6], run);
      noisyEnvoy = E2eSupport.startShardEnvoy("gateway-proxy-noisy", "gateway-proxy-noisy", xdsPort, ports[7], run);
      protectedEnvoy.awaitReady(LIVENESS);
      noisyEnvoy.awaitReady(LIVENESS);
      protectedEnvoy.awaitListener(config.protectedPort(), PAYMENTS_HOST, "/healthz", LIVENESS);
      noisyEnvoy.awaitListener(config.noisyPort(), CATALOG_HOST, "/", LIVENESS);
    } catch (Throwable t) {
      printEnvoyLogs("setup");
      throw t;
    }
  }

  @AfterAll
  static void stopEverything() {
    E2eSupport.stopAll(Arrays.asList(protectedEnvoy, noisyEnvoy), controlPlane, paymentsBackend, catalogBackend);
  }

  @Test
  @Order(1)
  void protectedEnvoyServesThePaymentsRouteDelegatedToTheRouteTable() throws IOException {
    RawHttp.Response charges = RawHttp.get(config.protectedPort(), PAYMENTS_HOST, "/payments/v1/charges");
    assertEquals(200, charges.status(), charges::toString);
    assertTrue(charges.body().contains("payments-backend"), charges::toString);
    assertTrue(charges.body().contains("path=/payments/v1/charges"), charges::toString);

    // The RouteTable's second route: anything else under /payments redirects (not followed) to /payments/v1.
    RawHttp.Response other = RawHttp.get(config.protectedPort(), PAYMENTS_HOST, "/payments/old");
    assertEquals(302, other.status(), other::toString);
    assertTrue(String.valueOf(other.headers().get("location")).endsWith("/payments/v1"), other::toString);
  }

  @Test
  @Order(2)
  void noisyEnvoyDoesNotServeThePaymentsHost() throws IOException {
    RawHttp.Response r = RawHttp.get(config.noisyPort(), PAYMENTS_HOST, "/payments/v1/charges");
    assertEquals(404, r.status(), r::toString);
    assertTrue(!r.body().contains("payments-backend"), r::toString);
  }

  @Test
  @Order(3)
  void catalogHostIsServedByTheNoisyEnvoyOnly() throws IOException {
    RawHttp.Response noisy = RawHttp.get(config.noisyPort(), CATALOG_HOST, "/items/42");
    assertEquals(200, noisy.status(), noisy::toString);
    assertTrue(noisy.body().contains("catalog-backend"), noisy::toString);
    assertTrue(noisy.body().contains("path=/items/42"), noisy::toString);

    RawHttp.Response protectedShard = RawHttp.get(config.protectedPort(), CATALOG_HOST, "/items/42");
    assertEquals(404, protectedShard.status(), protectedShard::toString);
  }

  @Test
  @Order(4)
  void editingAVirtualServiceChangesWhatTheNoisyEnvoyServesWithinTwoSeconds() throws Exception {
    RawHttp.Response before = RawHttp.get(config.noisyPort(), CATALOG_HOST, "/new-path");
    assertEquals(200, before.status(), () -> "before the edit /new-path goes to the catalog backend: " + before);

    // A new first route of the catalog VirtualService.
    String newRoute = """
            routes:
            - matchers:
              - exact: /new-path
              directResponseAction:
                status: 418
                body: "short and stout\\n"
        """;
    long written = System.nanoTime();
    config.replace(CATALOG_VS, "    routes:\n", newRoute);

    long deadline = written + LIVENESS.toNanos();
    RawHttp.Response last = null;
    while (true) {
      try {
        last = RawHttp.get(config.noisyPort(), CATALOG_HOST, "/new-path");
      } catch (IOException e) {
        fail("the noisy Envoy stopped answering after the edit: " + e);
      }
      long now = System.nanoTime();
      if (last.status() == 418) {
        long ms = (now - written) / 1_000_000;
        System.out.println("E2E edit-to-serve: " + ms + " ms");
        break;
      }
      if (now - deadline > 0) {
        fail("the noisy Envoy did not serve the edited VirtualService within " + LIVENESS.toMillis()
            + " ms of the file write; last answer to /new-path: " + last);
      }
      Thread.sleep(20);
    }
    newPathServed = true;
    assertTrue(last.body().contains("short and stout"), last::toString);

    // The rest of the catalog host is still routed, and the protected shard is unaffected.
    RawHttp.Response catalog = RawHttp.get(config.noisyPort(), CATALOG_HOST, "/items/42");
    assertEquals(200, catalog.status(), catalog::toString);
    assertTrue(catalog.body().contains("catalog-backend"), catalog::toString);
    assertPaymentsServedByProtectedOnly();
    RawHttp.Response protectedNewPath = RawHttp.get(config.protectedPort(), CATALOG_HOST, "/new-path");
    assertEquals(404, protectedNewPath.status(), protectedNewPath::toString);
  }

  @Test
  @Order(5)
  void aMalformedFileIsReportedByValidateAndTheEnvoysKeepTheLastGoodConfig() throws Exception {
    Path broken = config.file("virtualservices/catalog/broken.yaml");
    long written = System.nanoTime();
    Files.writeString(broken, "spec: [unclosed\n", StandardCharsets.UTF_8);
    try {
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      int exit = E2eSupport.cli(out, err, "validate", "--config-dir", config.dir().toString());
      String output = out + "\n" + err;
      assertEquals(1, exit, () -> "validate must fail on a malformed file:\n" + output);
      assertTrue(Pattern.compile("virtualservices/catalog/broken\\.yaml:\\d+").matcher(output).find(),
          () -> "validate must name broken.yaml with a line number:\n" + output);

      // The running control plane read the broken file too (else the checks below would prove nothing)...
      awaitStatusMentions("broken.yaml");
      long settled = written + SETTLE.toNanos();
      while (System.nanoTime() - settled < 0) {
        Thread.sleep(50);
      }
      // ...and both Envoys still serve the last good configuration.
      assertPaymentsServedByProtectedOnly();
      RawHttp.Response catalog = RawHttp.get(config.noisyPort(), CATALOG_HOST, "/items/7");
      assertEquals(200, catalog.status(), catalog::toString);
      assertTrue(catalog.body().contains("catalog-backend"), catalog::toString);
      RawHttp.Response protectedCatalog = RawHttp.get(config.protectedPort(), CATALOG_HOST, "/items/7");
      assertEquals(404, protectedCatalog.status(), protectedCatalog::toString);
      if (newPathServed) {
        RawHttp.Response edited = RawHttp.get(config.noisyPort(), CATALOG_HOST, "/new-path");
        assertEquals(418, edited.status(), () -> "the edit made before the broken file is still served: " + edited);
      }
      protectedEnvoy.checkAlive();
      noisyEnvoy.checkAlive();
    } finally {
      Files.deleteIfExists(broken);
    }
  }

  // ---- helpers ----

  private static void assertPaymentsServedByProtectedOnly() throws IOException {
    RawHttp.Response payments = RawHttp.get(config.protectedPort(), PAYMENTS_HOST, "/payments/v1/charges");
    assertEquals(200, payments.status(), payments::toString);
    assertTrue(payments.body().contains("payments-backend"), payments::toString);
    RawHttp.Response noisy = RawHttp.get(config.noisyPort(), PAYMENTS_HOST, "/payments/v1/charges");
    assertEquals(404, noisy.status(), noisy::toString);
  }

  /** Polls the control plane's admin {@code /api/status} until its body contains {@code text}. */
  private static void awaitStatusMentions(String text) throws InterruptedException {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    String last = "no answer";
    while (System.nanoTime() - deadline < 0) {
      try {
        RawHttp.Response r = RawHttp.get(adminPort, "127.0.0.1:" + adminPort, "/api/status");
        if (r.status() == 200 && r.body().contains(text)) {
          return;
        }
        last = r.toString();
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(50);
    }
    fail("the control plane's /api/status never mentioned " + text + "; last: " + last);
  }

  private static void printEnvoyLogs(String what) {
    E2eSupport.printEnvoyLogs(what, protectedEnvoy, noisyEnvoy);
  }
}
