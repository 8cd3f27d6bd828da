package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.net.httpserver.HttpServer;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.report.ResourceStatus;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression tests of issue 7's findings 2, 3, 4, 5, 6 and 9 with two <b>real Envoys</b> (the protected and the noisy
 * shard of the example) fed by a control plane in-process over real gRPC: a wrong edit to one resource changes
 * nothing that is served, for every kind; and a rejected resource with nothing to fall back on says so.
 *
 * <ul>
 *   <li>Finding 2: a rejected Upstream ({@code port: -1}, {@code port: ~}) keeps its last accepted cluster, and the
 *       route keeps answering 200 instead of 503.
 *   <li>Finding 3: a rejected Gateway (its {@code httpGateway:} line removed) keeps its shard's listener.
 *   <li>Finding 5: a bad Settings value ({@code discoveryNamespace: true}) keeps the last accepted Settings: both
 *       shards keep serving, and edits keep being served.
 *   <li>Finding 4: a typo in a VirtualService's {@code kind}, {@code apiVersion} or {@code metadata.name} is an
 *       error of its file, which keeps serving what it held; {@code validate} exits 1.
 *   <li>Finding 6: two Upstreams whose names would both become the cluster {@code cat_catalog_v9} are refused (as
 *       Kubernetes refuses such names); nothing else stops: edits on both shards are served.
 *   <li>Finding 9: after a restart on an empty state directory a rejected VirtualService's host is gone, and its
 *       status says that it serves nothing; on the old state directory it is served again.
 * </ul>
 * Timeouts are liveness bounds only.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RejectedResourcesE2ETest {

  private static final Duration LIVENESS = Duration.ofSeconds(30);
  /** How long a wrong edit is watched for doing harm: well past the source's debounce and a pass. */
  private static final Duration WATCH = Duration.ofSeconds(2);
  private static final String PAYMENTS_HOST = "payments.example.com";
  private static final String CATALOG_HOST = "catalog.example.com";
  private static final String CATALOG_VS = "virtualservices/catalog/catalog.yaml";
  private static final String CATALOG_US = "upstreams/catalog/catalog.yaml";
  private static final String NOISY_GW = "gateways/gloo-system/gateway-proxy-noisy.yaml";
  private static final String SETTINGS = "settings/gloo-system/default.yaml";

  @TempDir static Path work;

  private static ExampleConfig config;
  private static int[] ports;
  private static Path state;
  private static HttpServer paymentsBackend;
  private static HttpServer catalogBackend;
  private static ApplicationContext controlPlane;
  private static EnvoyProcess protectedEnvoy;
  private static EnvoyProcess noisyEnvoy;

  @BeforeAll
  static void startEverything() throws Exception {
    EnvoyProcess.binary();
    ports = ExampleConfig.freePorts(8);
    config = ExampleConfig.copyTo(work.resolve("config"), ports);
    state = work.resolve("state");
    Path run = Files.createDirectories(work.resolve("run"));
    try {
      paymentsBackend = E2eSupport.echoBackend(config.paymentsPort(), "payments-backend");
      catalogBackend = E2eSupport.echoBackend(config.catalogPort(), "catalog-backend");
      controlPlane = ServeCommand.start(config.dir(), state, ports[4], ports[5], "127.0.0.1");
      ServeCommand.awaitFirstTranslation(controlPlane);
      protectedEnvoy = E2eSupport.startShardEnvoy("protected", "gateway-proxy-protected", ports[4], ports[6], run);
      noisyEnvoy = E2eSupport.startShardEnvoy("noisy", "gateway-proxy-noisy", ports[4], ports[7], run);
      protectedEnvoy.awaitReady(LIVENESS);
      noisyEnvoy.awaitReady(LIVENESS);
      E2eSupport.awaitStatus(noisyEnvoy, config.noisyPort(), CATALOG_HOST, "/items", 200, LIVENESS);
      E2eSupport.awaitStatus(protectedEnvoy, config.protectedPort(), PAYMENTS_HOST, "/payments/v1/x", 200, LIVENESS);
    } catch (Throwable t) {
      E2eSupport.printEnvoyLogs("setup", protectedEnvoy, noisyEnvoy);
      throw t;
    }
  }

  @AfterAll
  static void stopEverything() {
    E2eSupport.stopAll(Arrays.asList(protectedEnvoy, noisyEnvoy), controlPlane, paymentsBackend, catalogBackend);
  }

  @Test
  @Order(1)
  void aRejectedUpstreamKeepsItsLastAcceptedCluster() throws Exception {
    for (String broken : new String[] {"port: -1", "port: ~"}) {
      String good = "port: " + config.catalogPort();
      config.replace(CATALOG_US, good, broken);
      awaitStatus(key(Kind.UPSTREAM, "catalog", "catalog"), s -> s.state() == ResourceState.REJECTED
          && s.reason().contains("last accepted version"), broken);
      assertKeepsServing(noisyEnvoy, config.noisyPort(), CATALOG_HOST, "/items", "catalog-backend");
      config.replace(CATALOG_US, broken, good);
      awaitStatus(key(Kind.UPSTREAM, "catalog", "catalog"), s -> s.state() == ResourceState.ACCEPTED, "fixed");
    }
  }

  @Test
  @Order(2)
  void aRejectedGatewayKeepsItsShardsListener() throws Exception {
    // The children of httpGateway move up to spec, where Gloo has no such fields: the Gateway is rejected.
    config.replace(NOISY_GW, "  httpGateway:\n    virtualServiceSelector:\n      shard: noisy",
        "  virtualServiceSelector:\n    shard: noisy");
    awaitStatus(key(Kind.GATEWAY, "gloo-system", "gateway-proxy-noisy"), s -> s.state() == ResourceState.REJECTED,
        "Gateway without httpGateway");
    assertKeepsServing(noisyEnvoy, config.noisyPort(), CATALOG_HOST, "/items", "catalog-backend");
    assertTrue(pipeline().latest().xds().containsKey(ExampleConfig.NOISY_ROLE), "the noisy shard is still there");
    config.replace(NOISY_GW, "  virtualServiceSelector:\n    shard: noisy",
        "  httpGateway:\n    virtualServiceSelector:\n      shard: noisy");
    awaitStatus(key(Kind.GATEWAY, "gloo-system", "gateway-proxy-noisy"), s -> s.state() == ResourceState.ACCEPTED,
        "fixed");

    // Only the httpGateway line removed: the file no longer parses, and keeps serving what it held.
    config.replace(NOISY_GW, "  httpGateway:\n", "");
    awaitSource(p -> p.contains("gateway-proxy-noisy.yaml"), "the broken Gateway file is reported");
    assertKeepsServing(noisyEnvoy, config.noisyPort(), CATALOG_HOST, "/items", "catalog-backend");
    config.replace(NOISY_GW, "  proxyNames:\n  - gateway-proxy-noisy\n",
        "  proxyNames:\n  - gateway-proxy-noisy\n  httpGateway:\n");
    awaitSource(p -> !p.contains("gateway-proxy-noisy.yaml"), "the Gateway file parses again");
  }

  @Test
  @Order(3)
  void aBadSettingsValueKeepsTheLastAcceptedSettingsAndEveryShard() throws Exception {
    config.replace(SETTINGS, "discoveryNamespace: gloo-system", "discoveryNamespace: true");
    awaitStatus(key(Kind.SETTINGS, "gloo-system", "default"), s -> s.state() == ResourceState.REJECTED, "Settings");
    assertKeepsServing(noisyEnvoy, config.noisyPort(), CATALOG_HOST, "/items", "catalog-backend");
    assertKeepsServing(protectedEnvoy, config.protectedPort(), PAYMENTS_HOST, "/payments/v1/x", "payments-backend");
    // Translation goes on under the last accepted Settings: an edit is served.
    addTeapot("/teapot-settings");
    E2eSupport.awaitStatus(noisyEnvoy, config.noisyPort(), CATALOG_HOST, "/teapot-settings", 418, LIVENESS);
    config.replace(SETTINGS, "discoveryNamespace: true", "discoveryNamespace: gloo-system");
    awaitStatus(key(Kind.SETTINGS, "gloo-system", "default"), s -> s.state() == ResourceState.ACCEPTED, "fixed");
  }

  @Test
  @Order(4)
  void upstreamsWhoseNamesWouldCollideStopNothingElse() throws Exception {
    write("upstreams/catalog_v9/cat.yaml", "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata:\n  name: cat\n"
        + "  namespace: catalog_v9\nspec:\n  static:\n    hosts:\n    - addr: 127.0.0.1\n      port: 9\n");
    write("upstreams/v9/cat_catalog.yaml", "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata:\n  name: cat_catalog\n"
        + "  namespace: v9\nspec:\n  static:\n    hosts:\n    - addr: 127.0.0.1\n      port: 9\n");
    awaitSource(p -> p.contains("upstreams/catalog_v9/cat.yaml") && p.contains("upstreams/v9/cat_catalog.yaml"),
        "both files are refused, naming their line");
    // Both shards keep taking edits.
    addTeapot("/teapot-names");
    E2eSupport.awaitStatus(noisyEnvoy, config.noisyPort(), CATALOG_HOST, "/teapot-names", 418, LIVENESS);
    config.replace("routetables/payments/payments-api.yaml", "      pathRedirect: /payments/v1",
        "      pathRedirect: /payments/v2");
    awaitRedirect("/payments/v2");
    assertTrue(pipeline().failures().isEmpty(), pipeline().failures().toString());
    RawHttp.Response ready = RawHttp.get(ports[5], "127.0.0.1:" + ports[5], "/ready?strict=true");
    assertEquals(200, ready.status(), ready::toString);

    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = E2eSupport.cli(out, err, "validate", "--config-dir", config.dir().toString());
    assertEquals(1, exit, out + "\n" + err);
    assertTrue(out.toString().contains("upstreams/catalog_v9/cat.yaml:5"), out::toString);
    assertTrue(out.toString().contains("upstreams/v9/cat_catalog.yaml:4"), out::toString);
    assertFalse((out.toString() + err).contains("Exception"), "no stack trace: " + out + err);
    Files.delete(config.file("upstreams/catalog_v9/cat.yaml"));
    Files.delete(config.file("upstreams/v9/cat_catalog.yaml"));
  }

  @Test
  @Order(5)
  void aTypoInKindApiVersionOrNameIsAFileErrorAndDeletesNothing() throws Exception {
    String[][] typos = {
        {"kind: VirtualService", "kind: VirtualServce"},
        {"apiVersion: gateway.solo.io/v1", "apiVersion: gatway.solo.io/v1"},
        {"  name: catalog\n  namespace: catalog", "  name: Catalog\n  namespace: catalog"},
    };
    for (String[] typo : typos) {
      config.replace(CATALOG_VS, typo[0], typo[1]);
      awaitSource(p -> p.contains(CATALOG_VS), typo[1]);
      assertKeepsServing(noisyEnvoy, config.noisyPort(), CATALOG_HOST, "/items", "catalog-backend");
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      assertEquals(1, E2eSupport.cli(out, err, "validate", "--config-dir", config.dir().toString()), typo[1] + ": "
          + out + err);
      assertTrue(out.toString().contains(CATALOG_VS), out::toString);
      config.replace(CATALOG_VS, typo[1], typo[0]);
      awaitSource(p -> !p.contains(CATALOG_VS), "fixed: " + typo[1]);
    }
  }

  @Test
  @Order(6)
  void afterARestartOnAnEmptyStateDirectoryARejectedHostSaysItServesNothing() throws Exception {
    // A typo rejects the catalog VirtualService; its last accepted virtual host keeps serving.
    config.replace(CATALOG_VS, "      - prefix: /\n", "      - prefx: /\n");
    ResourceKey vs = key(Kind.VIRTUAL_SERVICE, "catalog", "catalog");
    awaitStatus(vs, s -> s.state() == ResourceState.REJECTED, "typo");
    assertKeepsServing(noisyEnvoy, config.noisyPort(), CATALOG_HOST, "/items", "catalog-backend");

    restart(work.resolve("empty-state"));
    E2eSupport.awaitStatus(noisyEnvoy, config.noisyPort(), CATALOG_HOST, "/items", 404, LIVENESS);
    ResourceStatus status = pipeline().latest().gateway().statuses().get(vs);
    assertTrue(status.reason().contains("serves nothing until it is fixed"), status::reason);

    // On the state directory that knows its last accepted version, it is served again.
    restart(state);
    E2eSupport.awaitStatus(noisyEnvoy, config.noisyPort(), CATALOG_HOST, "/items", 200, LIVENESS);
    assertFalse(pipeline().latest().gateway().statuses().get(vs).reason().contains("serves nothing"));
    config.replace(CATALOG_VS, "      - prefx: /\n", "      - prefix: /\n");
    awaitStatus(vs, s -> s.state() != ResourceState.REJECTED, "fixed");
  }

  // ------------------------------------------------------------------ helpers

  private static void restart(Path stateDir) throws InterruptedException {
    ServeCommand.stop(controlPlane);
    E2eSupport.awaitPortFree(null, ports[4], LIVENESS);
    E2eSupport.awaitPortFree("127.0.0.1", ports[5], LIVENESS);
    controlPlane = ServeCommand.start(config.dir(), stateDir, ports[4], ports[5], "127.0.0.1");
    ServeCommand.awaitFirstTranslation(controlPlane);
  }

  private static ShardPipeline pipeline() {
    return controlPlane.getBean(ShardPipeline.class);
  }

  private static ResourceKey key(Kind kind, String ns, String name) {
    return new ResourceKey(kind, ns, name);
  }

  private static void write(String relative, String text) throws IOException {
    Path file = config.file(relative);
    Files.createDirectories(file.getParent());
    Files.writeString(file, text, StandardCharsets.UTF_8);
  }

  /** A new first route of the catalog VirtualService answering 418 at {@code path}. */
  private static void addTeapot(String path) throws IOException {
    config.replace(CATALOG_VS, "    routes:\n", "    routes:\n    - matchers:\n      - exact: " + path
        + "\n      directResponseAction:\n        status: 418\n");
  }

  /** Polls the pipeline's latest statuses until the resource's status satisfies {@code ok}. */
  private static void awaitStatus(ResourceKey key, Predicate<ResourceStatus> ok, String what) throws Exception {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    ResourceStatus last = null;
    while (System.nanoTime() - deadline < 0) {
      Translation t = pipeline().latest();
      last = t == null ? null : t.gateway().statuses().get(key);
      if (last != null && ok.test(last)) {
        return;
      }
      Thread.sleep(20);
    }
    fail(what + ": " + key + " did not reach the expected status within " + LIVENESS + "; last: " + last);
  }

  /** Polls the latest translation's source problems until their text satisfies {@code ok}. */
  private static void awaitSource(Predicate<String> ok, String what) throws Exception {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    String last = "";
    while (System.nanoTime() - deadline < 0) {
      Translation t = pipeline().latest();
      last = t == null ? "" : t.input().problems().toString() + t.gateway().documentProblems();
      if (ok.test(last)) {
        return;
      }
      Thread.sleep(20);
    }
    fail(what + ": not seen within " + LIVENESS + "; last source problems: " + last);
  }

  private static void awaitRedirect(String location) throws Exception {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    RawHttp.Response last = null;
    while (System.nanoTime() - deadline < 0) {
      last = RawHttp.get(config.protectedPort(), PAYMENTS_HOST, "/payments/old");
      if (last.status() == 302 && String.valueOf(last.headers().get("location")).endsWith(location)) {
        return;
      }
      Thread.sleep(20);
    }
    fail("the protected Envoy did not serve the edited redirect to " + location + "; last: " + last);
  }

  /** Over {@link #WATCH}, every request to the host is answered 200 by {@code backend}. */
  private static void assertKeepsServing(EnvoyProcess envoy, int port, String host, String path, String backend)
      throws Exception {
    long end = System.nanoTime() + WATCH.toNanos();
    int requests = 0;
    while (System.nanoTime() - end < 0) {
      RawHttp.Response r = RawHttp.get(port, host, path);
      requests++;
      if (r.status() != 200 || !r.body().contains(backend)) {
        E2eSupport.printEnvoyLogs("keeps serving", envoy);
        fail("request " + requests + " to " + host + path + " on Envoy " + envoy.name + " got " + r);
      }
      Thread.sleep(50);
    }
  }
}
