package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpServer;
import io.envoyproxy.controlplane.cache.Resources;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.snapshot.ShardDiscoveryServer;
import io.shardgate.snapshot.ShardSnapshotCache;
import io.shardgate.snapshot.ShardStreamStats;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
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
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * Team delegation end to end, with nothing faked: a <b>real Envoy process</b> (the binary in
 * {@code shardgate.envoy.bin}) gets its configuration from the control plane running in-process
 * ({@link ServeCommand#start(Path, Path, int, int, String)}, with a state directory) over <b>real gRPC</b> ADS on a
 * loopback port, from a bootstrap made by the project's own {@code bootstrap} command, and routes <b>real HTTP</b> to
 * three JDK HTTP servers standing in for the teams' services. The config
 * ({@code src/test/resources/e2e/team-delegation}, copied with free ports) is one shard, {@code gateway-proxy}, with a
 * three-level delegation tree:
 *
 * <pre>
 * VirtualService platform/shop      /orders (x-tenant: acme, GET|POST, inheritableMatchers) -> RouteTable orders/orders
 *   RouteTable orders/orders        /orders/history -> backend A;  /orders/live -> RouteTable orders/orders-live
 *     RouteTable orders/orders-live /orders/live/stream -> backend B
 * VirtualService platform/shop      /carts (label selector team: carts) -> RouteTable carts/carts: /carts -> backend C
 * </pre>
 *
 * <p>The tests run in a fixed order ({@link Order}) over one shared setup and tell one story: the tree routes with the
 * inherited header and methods; the live-orders sub-team then saves a table with an error, which rejects that table
 * alone (it keeps serving its last accepted routes) while its parent team and a sibling team keep getting their edits
 * served; a control plane restart with the same state directory serves exactly what was served before; a restart
 * without it shows that the persisted state is what kept the broken table's routes. A test whose precondition an
 * earlier test failed to establish is skipped, not failed, so only the first failure is reported.
 *
 * <p>Timeouts are liveness bounds (generous: a slow host must not fail the test); how long a team's edit took to be
 * served while another team's table is broken is printed, not asserted.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TeamDelegationE2ETest {

  private static final Duration LIVENESS = Duration.ofSeconds(30);
  /** Envoy's ADS retry backoff grows while the control plane is down; a restart must still be picked up. */
  private static final Duration RECONNECT = Duration.ofSeconds(30);

  private static final String RESOURCES = "e2e/team-delegation";
  private static final String ROLE = "gloo-system~gateway-proxy";
  private static final String PROXY = "gateway-proxy";
  private static final String HOST = "shop.example.com";
  private static final Map<String, String> ACME = Map.of("x-tenant", "acme");
  private static final Map<String, String> NO_HEADERS = Map.of();

  private static final String ORDERS_LIVE_FILE = "routetables/orders/orders-live.yaml";
  private static final String ORDERS_FILE = "routetables/orders/orders.yaml";
  private static final String CARTS_FILE = "routetables/carts/carts.yaml";
  private static final String ORDERS_LIVE_TABLE = "RouteTable orders/orders-live";
  private static final String ORDERS_TABLE = "RouteTable orders/orders";
  private static final String CARTS_TABLE = "RouteTable carts/carts";
  private static final String SHOP_VS = "VirtualService platform/shop";

  private static final String BACKEND_A = "backend-A(orders-history)";
  private static final String BACKEND_B = "backend-B(orders-live)";
  private static final String BACKEND_C = "backend-C(carts)";

  /**
   * The live-orders sub-team's broken save: its second route has no action (an error, so the table is rejected), and
   * its first route now answers 503, which must NOT be served: a rejected table serves its last accepted version.
   */
  private static final String ORDERS_LIVE_BROKEN = """
      # Broken on purpose by TeamDelegationE2ETest: spec.routes[1] has no action.
      apiVersion: gateway.solo.io/v1
      kind: RouteTable
      metadata:
        name: orders-live
        namespace: orders
      spec:
        routes:
        - matchers:
          - prefix: /orders/live/stream
          directResponseAction:
            status: 503
            body: "the rejected version of orders-live is being served\\n"
        - matchers:
          - prefix: /orders/live/debug
      """;

  /** The carts team's edit: a new first route. */
  private static final String CARTS_EDITED = """
      # Edited by TeamDelegationE2ETest: a new first route.
      apiVersion: gateway.solo.io/v1
      kind: RouteTable
      metadata:
        name: carts
        namespace: carts
        labels:
          team: carts
      spec:
        routes:
        - matchers:
          - prefix: /carts/new
          directResponseAction:
            status: 418
            body: "carts team: new carts are brewing\\n"
        - matchers:
          - prefix: /carts
          routeAction:
            single:
              upstream:
                name: carts
      """;

  /** The orders team's edit (the parent of the broken table): /orders/history moves to the carts backend. */
  private static final String ORDERS_EDITED = """
      # Edited by TeamDelegationE2ETest: /orders/history now goes to the carts Upstream.
      apiVersion: gateway.solo.io/v1
      kind: RouteTable
      metadata:
        name: orders
        namespace: orders
      spec:
        routes:
        - matchers:
          - prefix: /orders/history
          routeAction:
            single:
              upstream:
                name: carts
                namespace: carts
        - matchers:
          - prefix: /orders/live
          delegateAction:
            ref:
              name: orders-live
              namespace: orders
      """;

  @TempDir static Path work;

  private static Path configDir;
  private static Path stateDir;
  private static int listenerPort;
  private static int xdsPort;
  private static int adminPort;
  private static HttpServer backendA;
  private static HttpServer backendB;
  private static HttpServer backendC;
  private static ApplicationContext controlPlane;
  private static EnvoyProcess envoy;

  /** Set by test 2 once the running control plane reports the sub-team's table Rejected. */
  private static volatile boolean subTeamTableBroken;
  /** Set by test 3 once both teams' edits are served. */
  private static volatile boolean teamEditsServed;

  @RegisterExtension
  static final TestWatcher ENVOY_LOG_ON_FAILURE = new TestWatcher() {
    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
      printEnvoyLog(context.getDisplayName());
    }
  };

  @BeforeAll
  static void startEverything() throws Exception {
    EnvoyProcess.binary(); // fails at once, with the install command, when Envoy is missing
    int[] ports = ExampleConfig.freePorts(7);
    listenerPort = ports[0];
    xdsPort = ports[4];
    adminPort = ports[5];
    int envoyAdminPort = ports[6];
    configDir = copyConfig(work.resolve("config"), Map.of(
        "LISTENER_PORT", listenerPort,
        "ORDERS_HISTORY_PORT", ports[1],
        "ORDERS_LIVE_PORT", ports[2],
        "CARTS_PORT", ports[3]));
    stateDir = work.resolve("state");
    // Logs and the bootstrap outside the watched config directory, so writing them triggers no reads.
    Path run = Files.createDirectories(work.resolve("run"));
    try {
      backendA = backend(ports[1], BACKEND_A);
      backendB = backend(ports[2], BACKEND_B);
      backendC = backend(ports[3], BACKEND_C);
      controlPlane = ServeCommand.start(configDir, stateDir, xdsPort, adminPort, "127.0.0.1");
      ServeCommand.awaitFirstTranslation(controlPlane);
      envoy = E2eSupport.startShardEnvoy(PROXY, PROXY, xdsPort, envoyAdminPort, run);
      envoy.awaitReady(LIVENESS);
      envoy.awaitListener(listenerPort, HOST, "/", LIVENESS);
      awaitEnvoyInSyncWithControlPlane();
    } catch (Throwable t) {
      printEnvoyLog("setup");
      throw t;
    }
  }

  @AfterAll
  static void stopEverything() {
    E2eSupport.stopAll(Arrays.asList(envoy), controlPlane, backendA, backendB, backendC);
  }

  @Test
  @Order(1)
  void theThreeLevelTreeRoutesWithTheInheritedHeaderAndMethods() throws IOException {
    // Two delegations deep: platform/shop -> orders/orders -> orders/orders-live.
    assertServedBy(BACKEND_B, "GET", "/orders/live/stream", ACME);
    assertServedBy(BACKEND_B, "POST", "/orders/live/stream", ACME);
    // The header and the methods of the platform's route were inherited by every level below it.
    assertNotRouted("GET", "/orders/live/stream", NO_HEADERS);
    assertNotRouted("GET", "/orders/live/stream", Map.of("x-tenant", "globex"));
    assertNotRouted("DELETE", "/orders/live/stream", ACME);
    // One delegation deep.
    assertServedBy(BACKEND_A, "GET", "/orders/history", ACME);
    assertNotRouted("GET", "/orders/history", NO_HEADERS);
    assertNotRouted("DELETE", "/orders/history", ACME);
    // Delegated by label selector, with no header or method matchers to inherit.
    assertServedBy(BACKEND_C, "GET", "/carts/1", NO_HEADERS);
    assertServedBy(BACKEND_C, "DELETE", "/carts/1", NO_HEADERS);
    // Nothing else on the host.
    assertNotRouted("GET", "/elsewhere", ACME);
  }

  @Test
  @Order(2)
  void aBrokenSubTeamTableIsRejectedAloneAndKeepsServingItsLastAcceptedRoutes() throws Exception {
    String routeVersionBefore = controlPlaneVersion(Resources.V3.ROUTE_TYPE_URL);
    write(ORDERS_LIVE_FILE, ORDERS_LIVE_BROKEN);

    // validate (what the team runs before committing) rejects that table and nothing else.
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = E2eSupport.cli(out, err, "validate", "--config-dir", configDir.toString());
    String validate = out + "\n" + err;
    assertEquals(1, exit, () -> "validate must exit 1 when a table is rejected:\n" + validate);
    assertTrue(Pattern.compile("(?m)^Rejected\\s+" + Pattern.quote(ORDERS_LIVE_TABLE) + "\\s").matcher(validate).find(),
        () -> "validate must report " + ORDERS_LIVE_TABLE + " as Rejected:\n" + validate);
    assertTrue(validate.contains("route must specify an action"), () -> "validate must say why:\n" + validate);
    assertEquals(1, Pattern.compile("(?m)^Rejected\\s").matcher(validate).results().count(),
        () -> "only the sub-team's table is rejected:\n" + validate);
    for (String accepted : List.of(ORDERS_TABLE, CARTS_TABLE)) {
      assertTrue(Pattern.compile("(?m)^Accepted\\s+" + Pattern.quote(accepted) + "\\s").matcher(validate).find(),
          () -> accepted + " stays Accepted:\n" + validate);
    }

    // The running control plane sees it the same way (its statuses are published after its snapshots).
    Map<?, ?> resources = awaitStatus(ORDERS_LIVE_TABLE, "Rejected");
    subTeamTableBroken = true;
    assertEquals("Accepted", state(resources, ORDERS_TABLE), () -> "parent team's table: " + resources);
    assertEquals("Accepted", state(resources, CARTS_TABLE), () -> "sibling team's table: " + resources);
    assertEquals("Warning", state(resources, SHOP_VS), () -> "platform's VirtualService: " + resources);
    assertTrue(String.valueOf(resources.get(SHOP_VS)).contains("its last accepted 1 routes keep being served"),
        () -> "the VirtualService must say the rejected table's last accepted routes are served: " + resources);

    // What Envoy serves is exactly what it served before the break: the last accepted version of the table.
    awaitEnvoyInSyncWithControlPlane();
    assertEquals(routeVersionBefore, controlPlaneVersion(Resources.V3.ROUTE_TYPE_URL),
        "the rejected table's last accepted routes are served, so the route configuration must not change");
    assertServedBy(BACKEND_B, "GET", "/orders/live/stream", ACME); // not the rejected version's 503
    assertNotRouted("GET", "/orders/live/debug", ACME);
    assertNotRouted("GET", "/orders/live/stream", NO_HEADERS);
    assertNotRouted("DELETE", "/orders/live/stream", ACME);
    assertServedBy(BACKEND_A, "GET", "/orders/history", ACME);
    assertServedBy(BACKEND_C, "GET", "/carts/1", NO_HEADERS);
    envoy.checkAlive();
  }

  @Test
  @Order(3)
  void theParentAndSiblingTeamsKeepGettingTheirEditsServedWhileTheSubTeamTableIsBroken() throws Exception {
    assumeTrue(subTeamTableBroken, "needs the broken sub-team table of test 2");

    // The sibling team (carts) adds a route in front of its catch-all.
    assertServedBy(BACKEND_C, "GET", "/carts/new", NO_HEADERS);
    long cartsMs = editAndAwait(CARTS_FILE, CARTS_EDITED, "GET", "/carts/new", NO_HEADERS,
        r -> r.status() == 418 && r.body().contains("new carts are brewing"));
    System.out.println("E2E carts team edit-to-serve with orders/orders-live rejected: " + cartsMs + " ms");
    assertServedBy(BACKEND_C, "GET", "/carts/1", NO_HEADERS);

    // The parent team (orders, whose child is the broken table) moves /orders/history to another backend.
    long ordersMs = editAndAwait(ORDERS_FILE, ORDERS_EDITED, "GET", "/orders/history", ACME,
        r -> r.status() == 200 && r.body().startsWith(BACKEND_C + " "));
    System.out.println("E2E orders team (parent of the rejected table) edit-to-serve: " + ordersMs + " ms");
    teamEditsServed = true;

    // The edited parent still carries the rejected child's last accepted routes, with the inherited matchers.
    awaitEnvoyInSyncWithControlPlane();
    assertServedBy(BACKEND_B, "GET", "/orders/live/stream", ACME);
    assertNotRouted("GET", "/orders/live/stream", NO_HEADERS);
    assertNotRouted("DELETE", "/orders/live/stream", ACME);
    assertNotRouted("GET", "/orders/history", NO_HEADERS);
    Map<?, ?> resources = statusResources();
    assertEquals("Rejected", state(resources, ORDERS_LIVE_TABLE), () -> String.valueOf(resources));
    assertEquals("Accepted", state(resources, ORDERS_TABLE), () -> String.valueOf(resources));
    assertEquals("Accepted", state(resources, CARTS_TABLE), () -> String.valueOf(resources));
  }

  @Test
  @Order(4)
  void aRestartWithTheSameStateDirectoryServesExactlyWhatWasServedBefore() throws Exception {
    assumeTrue(subTeamTableBroken && teamEditsServed, "needs the broken table and the team edits of tests 2 and 3");
    awaitEnvoyInSyncWithControlPlane();
    Served before = served();
    // What the restart must keep: the rejected table's last accepted route and both teams' edits.
    assertTrue(before.probes().get("GET /orders/live/stream x-tenant=acme").startsWith("200 " + BACKEND_B + " "),
        () -> "before the restart: " + before.probes());
    assertTrue(before.probes().get("GET /carts/new").startsWith("418 "),
        () -> "before the restart: " + before.probes());
    assertTrue(before.probes().get("GET /orders/history x-tenant=acme").startsWith("200 " + BACKEND_C + " "),
        () -> "before the restart: " + before.probes());

    long restartMs = restartControlPlane(stateDir);
    System.out.println("E2E control plane restart (same state dir) until Envoy was in sync: " + restartMs + " ms");

    Served after = served();
    assertEquals(before.probes(), after.probes(), "HTTP answers before and after the restart");
    assertEquals(before.versions(), after.versions(), "the control plane's xDS versions before and after the restart");
    assertEquals(before.routeConfigs(), after.routeConfigs(),
        "Envoy's dynamic route configurations (config_dump, without last_updated) before and after the restart");
    Map<?, ?> resources = statusResources();
    assertEquals("Rejected", state(resources, ORDERS_LIVE_TABLE), () -> String.valueOf(resources));
    assertTrue(String.valueOf(resources.get(SHOP_VS)).contains("its last accepted 1 routes keep being served"),
        () -> "after the restart the last accepted routes come from the state directory: " + resources);
  }

  @Test
  @Order(5)
  void aRestartWithoutTheStateDirectoryNoLongerServesTheBrokenTablesRoutes() throws Exception {
    assumeTrue(subTeamTableBroken && teamEditsServed, "needs the broken table and the team edits of tests 2 and 3");
    assumeTrue(controlPlane != null, "needs the control plane that test 4 restarted");
    awaitEnvoyInSyncWithControlPlane();
    String routeVersionWithState = controlPlaneVersion(Resources.V3.ROUTE_TYPE_URL);

    long restartMs = restartControlPlane(Files.createDirectories(work.resolve("fresh-state")));
    System.out.println("E2E control plane restart (fresh state dir) until Envoy was in sync: " + restartMs + " ms");

    assertNotEquals(routeVersionWithState, controlPlaneVersion(Resources.V3.ROUTE_TYPE_URL),
        "without the state the rejected table has no last accepted version, so the routes must differ");
    // The difference is the rejected table's subtree, and only that.
    assertNotRouted("GET", "/orders/live/stream", ACME);
    assertServedBy(BACKEND_C, "GET", "/orders/history", ACME);
    assertNotRouted("GET", "/orders/history", NO_HEADERS);
    assertServedBy(BACKEND_C, "GET", "/carts/1", NO_HEADERS);
    RawHttp.Response brewing = shop("GET", "/carts/new", NO_HEADERS);
    assertEquals(418, brewing.status(), brewing::toString);
    Map<?, ?> resources = statusResources();
    assertEquals("Rejected", state(resources, ORDERS_LIVE_TABLE), () -> String.valueOf(resources));
    assertTrue(String.valueOf(resources.get(SHOP_VS)).contains("has no last accepted version here"),
        () -> "without the state the VirtualService must say the rejected table serves nothing: " + resources);
  }

  // ---- what is served ----

  /**
   * What the shard serves, seen three ways: HTTP answers to a fixed set of requests, the control plane's xDS
   * versions (content hashes), and Envoy's own dump of its dynamic route configurations.
   */
  private record Served(Map<String, String> probes, Map<String, String> versions, Object routeConfigs) {}

  private static Served served() throws IOException {
    Map<String, String> probes = new LinkedHashMap<>();
    probe(probes, "GET", "/orders/live/stream", ACME);
    probe(probes, "POST", "/orders/live/stream", ACME);
    probe(probes, "GET", "/orders/live/stream", NO_HEADERS);
    probe(probes, "DELETE", "/orders/live/stream", ACME);
    probe(probes, "GET", "/orders/live/debug", ACME);
    probe(probes, "GET", "/orders/history", ACME);
    probe(probes, "GET", "/orders/history", NO_HEADERS);
    probe(probes, "GET", "/carts/new", NO_HEADERS);
    probe(probes, "GET", "/carts/1", NO_HEADERS);
    Map<String, String> versions = new LinkedHashMap<>();
    for (String type : List.of(
        Resources.V3.LISTENER_TYPE_URL, Resources.V3.ROUTE_TYPE_URL, Resources.V3.CLUSTER_TYPE_URL)) {
      versions.put(type, controlPlaneVersion(type));
    }
    return new Served(probes, versions, envoyRouteConfigs());
  }

  private static void probe(Map<String, String> probes, String method, String path, Map<String, String> headers)
      throws IOException {
    RawHttp.Response r = shop(method, path, headers);
    String key = method + " " + path + (headers.isEmpty() ? "" : " x-tenant=" + headers.get("x-tenant"));
    probes.put(key, r.status() + " " + r.body().strip());
  }

  // ---- control plane ----

  /**
   * Stops the control plane, waits for Envoy to notice, starts a new one on the same ports with {@code state}, and
   * waits until Envoy is connected to it and holds the routes it serves. Returns the milliseconds from the stop to
   * that point.
   */
  private static long restartControlPlane(Path state) throws Exception {
    long stopped = System.nanoTime();
    ApplicationContext old = controlPlane;
    controlPlane = null;
    // ServeCommand.stop ends the ADS streams first, as the exit of a control plane process does.
    ServeCommand.stop(old);
    System.out.println("E2E control plane stopped in " + (System.nanoTime() - stopped) / 1_000_000 + " ms");
    awaitEnvoyStat("control_plane.connected_state", 0, LIVENESS);
    // The admin server's Netty releases its port a moment after close() returns.
    E2eSupport.awaitPortFree(null, xdsPort, LIVENESS);
    E2eSupport.awaitPortFree("127.0.0.1", adminPort, LIVENESS);
    controlPlane = ServeCommand.start(configDir, state, xdsPort, adminPort, "127.0.0.1");
    ServeCommand.awaitFirstTranslation(controlPlane);
    awaitEnvoyStreamOnControlPlane();
    awaitEnvoyStat("control_plane.connected_state", 1, LIVENESS);
    awaitEnvoyInSyncWithControlPlane();
    return (System.nanoTime() - stopped) / 1_000_000;
  }

  /**
   * Polls until the running control plane has an open ADS stream from the shard's Envoy (its first request named
   * the role), within {@link #RECONNECT}. Envoy's own {@code connected_state} turns 1 as soon as it starts a stream,
   * before the connection is known to work; this is the control plane's side of it.
   */
  private static void awaitEnvoyStreamOnControlPlane() throws InterruptedException {
    long deadline = System.nanoTime() + RECONNECT.toNanos();
    ShardStreamStats last = null;
    while (System.nanoTime() - deadline < 0) {
      envoy.checkAlive();
      last = controlPlane.getBean(ShardDiscoveryServer.class).callbacks().statsOf(ROLE);
      if (last.connectedStreams() > 0) {
        return;
      }
      Thread.sleep(50);
    }
    fail("Envoy did not reconnect to the restarted control plane within " + RECONNECT + "; its streams of " + ROLE
        + ": " + last);
  }

  /** Polls until {@code port} can be bound on {@code host} (null: every interface), then lets it go again. */
  /** The content version the running control plane serves to the shard for one xDS type. */
  private static String controlPlaneVersion(String typeUrl) {
    return controlPlane.getBean(ShardSnapshotCache.class).versionOf(ROLE, typeUrl)
        .orElseThrow(() -> new AssertionError("the control plane has no " + typeUrl + " for " + ROLE));
  }

  /**
   * Waits until the control plane has translated, and Envoy's route configuration carries the version the control
   * plane serves (versions are content hashes, so equal versions mean equal routes). Deterministic, unlike a sleep:
   * after it, every HTTP answer comes from the control plane's current routes.
   */
  private static void awaitEnvoyInSyncWithControlPlane() throws InterruptedException {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    String last = "nothing yet";
    while (System.nanoTime() - deadline < 0) {
      envoy.checkAlive();
      try {
        Object dump = envoyRouteConfigs();
        var version = controlPlane.getBean(ShardSnapshotCache.class).versionOf(ROLE, Resources.V3.ROUTE_TYPE_URL);
        if (version.isPresent() && dump instanceof List<?> configs && configs.size() == 1
            && configs.get(0) instanceof Map<?, ?> config && version.get().equals(config.get("version_info"))) {
          return;
        }
        last = "control plane " + version + ", Envoy " + dump;
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(50);
    }
    fail("Envoy's route configuration never reached the control plane's version within " + LIVENESS + "; last: "
        + last);
  }

  /** Polls {@code GET /api/status} until {@code resource} is in {@code state}; returns the resources then. */
  private static Map<?, ?> awaitStatus(String resource, String state) throws InterruptedException {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    Object last = "no answer";
    while (System.nanoTime() - deadline < 0) {
      try {
        Map<?, ?> resources = statusResources();
        if (state.equals(state(resources, resource))) {
          return resources;
        }
        last = resources.get(resource);
      } catch (IOException | AssertionError e) {
        last = e.toString();
      }
      Thread.sleep(50);
    }
    return fail("the control plane's /api/status never showed " + resource + " " + state + " within " + LIVENESS
        + "; last: " + last);
  }

  /** The {@code resources} map of the control plane's {@code GET /api/status} (JSON, read as YAML). */
  private static Map<?, ?> statusResources() throws IOException {
    RawHttp.Response r = RawHttp.get(adminPort, "127.0.0.1:" + adminPort, "/api/status");
    assertEquals(200, r.status(), () -> "GET /api/status: " + r);
    if (new Yaml(new LoaderOptions()).load(r.body()) instanceof Map<?, ?> status
        && status.get("resources") instanceof Map<?, ?> resources) {
      return resources;
    }
    throw new AssertionError("GET /api/status has no resources yet: " + r.body());
  }

  private static String state(Map<?, ?> resources, String resource) {
    return resources.get(resource) instanceof Map<?, ?> s ? String.valueOf(s.get("state")) : "(not listed)";
  }

  // ---- Envoy ----

  /**
   * Envoy's dynamic route configurations from its admin {@code /config_dump}, each without {@code last_updated}
   * (the only field that changes when equal content is received again).
   */
  private static Object envoyRouteConfigs() throws IOException {
    RawHttp.Response r = RawHttp.get(envoy.adminPort, "127.0.0.1:" + envoy.adminPort,
        "/config_dump?resource=dynamic_route_configs");
    if (r.status() != 200) {
      throw new IOException("Envoy config_dump answered " + r);
    }
    Object dump = new Yaml(new LoaderOptions()).load(r.body());
    List<Object> configs = new ArrayList<>();
    if (dump instanceof Map<?, ?> m && m.get("configs") instanceof List<?> list) {
      for (Object c : list) {
        if (c instanceof Map<?, ?> config) {
          Map<Object, Object> copy = new LinkedHashMap<>(config);
          copy.remove("last_updated");
          configs.add(copy);
        }
      }
    }
    return configs;
  }

  /** Polls Envoy's admin {@code /stats} until the named gauge or counter has {@code value}. */
  private static void awaitEnvoyStat(String name, long value, Duration bound) throws InterruptedException {
    Pattern line = Pattern.compile("(?m)^" + Pattern.quote(name) + ": (\\d+)$");
    long deadline = System.nanoTime() + bound.toNanos();
    String last = "no answer";
    while (System.nanoTime() - deadline < 0) {
      envoy.checkAlive();
      try {
        RawHttp.Response r = RawHttp.get(envoy.adminPort, "127.0.0.1:" + envoy.adminPort, "/stats?filter=" + name);
        Matcher m = line.matcher(r.body());
        if (m.find() && Long.parseLong(m.group(1)) == value) {
          return;
        }
        last = r.body().strip();
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(50);
    }
    fail("Envoy's " + name + " was not " + value + " within " + bound + "; last: " + last);
  }

  private static void printEnvoyLog(String what) {
    if (envoy != null) {
      System.out.println("---- Envoy log after the failure of " + what + " (" + envoy.log + ") ----\n"
          + envoy.logTail());
    }
  }

  // ---- HTTP through Envoy ----

  /** A request to the shop host through Envoy's listener. */
  private static RawHttp.Response shop(String method, String path, Map<String, String> headers) throws IOException {
    return RawHttp.request(listenerPort, method, HOST, path, headers);
  }

  private static void assertServedBy(String backend, String method, String path, Map<String, String> headers)
      throws IOException {
    RawHttp.Response r = shop(method, path, headers);
    String what = method + " " + path + " " + headers;
    assertEquals(200, r.status(), () -> what + " must reach " + backend + "; got " + r);
    assertEquals(backend + " method=" + method + " path=" + path, r.body().strip(),
        () -> what + " must reach " + backend + "; got " + r);
  }

  /** Envoy found no route: 404 with an empty body (nothing reached any backend). */
  private static void assertNotRouted(String method, String path, Map<String, String> headers) throws IOException {
    RawHttp.Response r = shop(method, path, headers);
    String what = method + " " + path + " " + headers;
    assertEquals(404, r.status(), () -> what + " must match no route; got " + r);
    assertEquals("", r.body(), () -> what + " must match no route; got " + r);
  }

  /**
   * Writes a team's edit and polls until a request is answered as {@code served} says, within
   * {@link #LIVENESS}; returns the milliseconds from the write.
   */
  private static long editAndAwait(String file, String text, String method, String path, Map<String, String> headers,
      Predicate<RawHttp.Response> served) throws Exception {
    long written = System.nanoTime();
    write(file, text);
    long deadline = written + LIVENESS.toNanos();
    RawHttp.Response last;
    while (true) {
      last = shop(method, path, headers);
      long now = System.nanoTime();
      if (served.test(last)) {
        return (now - written) / 1_000_000;
      }
      if (now - deadline > 0) {
        return fail("the edit of " + file + " was not served within " + LIVENESS.toMillis()
            + " ms; last answer to " + method + " " + path + ": " + last + "; status of the tables: "
            + statusResources());
      }
      Thread.sleep(20);
    }
  }

  // ---- config and backends ----

  /** Copies the YAML under {@code src/test/resources/e2e/team-delegation} into {@code target}, filling in ports. */
  private static Path copyConfig(Path target, Map<String, Integer> ports) throws IOException, URISyntaxException {
    URL url = TeamDelegationE2ETest.class.getClassLoader().getResource(RESOURCES);
    assertTrue(url != null && "file".equals(url.getProtocol()), () -> RESOURCES + " not on the test classpath: " + url);
    Path source = Path.of(url.toURI());
    try (Stream<Path> files = Files.walk(source)) {
      for (Path from : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        String text = Files.readString(from, StandardCharsets.UTF_8);
        for (Map.Entry<String, Integer> port : ports.entrySet()) {
          text = text.replace("${" + port.getKey() + "}", String.valueOf(port.getValue()));
        }
        String relative = source.relativize(from).toString();
        if (text.contains("${")) {
          throw new IllegalStateException(relative + " has a placeholder the test does not fill in:\n" + text);
        }
        Path to = target.resolve(relative);
        Files.createDirectories(to.getParent());
        Files.writeString(to, text, StandardCharsets.UTF_8);
      }
    }
    return target;
  }

  private static void write(String relative, String text) throws IOException {
    Files.writeString(configDir.resolve(relative), text, StandardCharsets.UTF_8);
  }

  /** An HTTP server on 127.0.0.1:port answering every request 200 with its name, the method and the path. */
  private static HttpServer backend(int port, String name) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
    server.createContext("/", exchange -> {
      try (exchange) {
        byte[] body = (name + " method=" + exchange.getRequestMethod() + " path="
            + exchange.getRequestURI().getPath() + "\n").getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream os = exchange.getResponseBody()) {
          os.write(body);
        }
      }
    });
    server.start();
    return server;
  }
}
