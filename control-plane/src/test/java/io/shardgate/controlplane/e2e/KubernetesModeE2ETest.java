package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.kube.KubeApiServer;
import io.shardgate.controlplane.kube.KubeApiServerExtension;
import io.shardgate.controlplane.kube.KubeObjects;
import io.shardgate.controlplane.kube.KubeWaits;
import io.shardgate.controlplane.security.ServeSecurity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kubernetes mode end to end: the <b>real kube-apiserver</b> (with etcd) holds the Gloo CRDs and the objects a user
 * applies; the control plane runs as {@code serve --kubernetes --kubeconfig ...} does (in-process, the same
 * Micronaut stack and real gRPC); two <b>real Envoys</b>, one per shard, take their config from it; and the backends
 * are real processes in network namespaces of their own ({@link NetnsTestHost}: the API server refuses loopback
 * endpoint addresses), reached through EndpointSlices and EDS.
 *
 * <p>Proves: a Gateway per shard with its {@code proxyNames}, a VirtualService selected by label and a delegated
 * RouteTable in a team namespace make shard A's Envoy route it and shard B's answer 404; a {@code kube} Upstream and
 * a route's {@code kube} destination both reach the backend the EndpointSlice names, and only it; changing and
 * scaling the EndpointSlice moves the traffic; deleting the VirtualService takes the route away.
 */
class KubernetesModeE2ETest {

  /** Generous: a loaded 2-core machine runs other builds beside this one. */
  private static final Duration LIVENESS = Duration.ofSeconds(60);
  private static final String TEAM = "team-a";
  private static final String APP_HOST = "app.example.com";
  private static final String ECHO_HOST = "echo.example.com";
  private static final int BACKEND_PORT = 8080;
  private static final Pattern CLUSTER_HOST =
      Pattern.compile("^([^:\\s]+)::(\\d+\\.\\d+\\.\\d+\\.\\d+):(\\d+)::health_flags::", Pattern.MULTILINE);

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension();

  @TempDir static Path work;
  private static final List<EnvoyProcess> envoys = new ArrayList<>();
  private static final List<NetnsTestHost> backends = new ArrayList<>();
  private static ApplicationContext controlPlane;
  private static EnvoyProcess envoyA;
  private static EnvoyProcess envoyB;
  private static NetnsTestHost backendOne;
  private static NetnsTestHost backendTwo;
  private static int portA;
  private static int portB;
  private static int xdsPort;

  @RegisterExtension
  static final TestWatcher LOGS =
      E2eSupport.envoyLogsOnFailure(() -> envoys.toArray(EnvoyProcess[]::new));

  @BeforeAll
  static void start() throws Exception {
    EnvoyProcess.binary();
    Path run = Files.createDirectories(work.resolve("run"));
    backendOne = NetnsTestHost.start("backend-one", BACKEND_PORT, run);
    backends.add(backendOne);
    backendTwo = NetnsTestHost.start("backend-two", BACKEND_PORT, run);
    backends.add(backendTwo);

    KubernetesClient client = KUBE.client();
    KubeApiServer.installCrds(client, KubeApiServer.chartCrds());
    KubeObjects.namespaces(client, "gloo-system", TEAM);
    int[] ports = ExampleConfig.freePorts(6);
    portA = ports[0];
    portB = ports[1];
    xdsPort = ports[2];
    KubeObjects.apply(client, KubeObjects.gateway("gateway-proxy-a", "shard-a", "a", portA));
    KubeObjects.apply(client, KubeObjects.gateway("gateway-proxy-b", "shard-b", "b", portB));

    controlPlane = ServeCommand.startKubernetes(KUBE.kubeconfig(), work.resolve("state"), xdsPort, ports[3],
        "127.0.0.1", ServeSecurity.defaults());
    ServeCommand.awaitFirstTranslation(controlPlane, LIVENESS);
    envoyA = E2eSupport.startShardEnvoy("envoy-shard-a", "shard-a", xdsPort, ports[4], run);
    envoys.add(envoyA);
    envoyB = E2eSupport.startShardEnvoy("envoy-shard-b", "shard-b", xdsPort, ports[5], run);
    envoys.add(envoyB);
    envoyA.awaitReady(LIVENESS);
    envoyB.awaitReady(LIVENESS);
  }

  @AfterAll
  static void stop() {
    try {
      E2eSupport.stopAll(envoys, controlPlane);
    } finally {
      for (NetnsTestHost backend : backends) {
        backend.close();
      }
    }
  }

  @Test
  void aLabelSelectedVirtualServiceWithADelegatedRouteTableIsRoutedByItsShardOnlyUntilDeleted() throws Exception {
    KubernetesClient client = KUBE.client();
    String virtualService = """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata:
          name: app
          namespace: %s
          labels:
            shard: a
        spec:
          virtualHost:
            domains: [%s]
            routes:
            - matchers:
              - prefix: /app
              delegateAction:
                ref:
                  name: app-routes
                  namespace: %s
        """.formatted(TEAM, APP_HOST, TEAM);
    KubeObjects.apply(client, """
        apiVersion: gateway.solo.io/v1
        kind: RouteTable
        metadata:
          name: app-routes
          namespace: %s
        spec:
          routes:
          - matchers:
            - prefix: /app/hello
            directResponseAction:
              status: 200
              body: "app-routes of %s\\n"
        """.formatted(TEAM, TEAM));
    KubeObjects.apply(client, virtualService);

    RawHttp.Response routed = awaitAnswer(envoyA, portA, APP_HOST, "/app/hello", r -> r.status() == 200,
        "200 from the delegated RouteTable");
    assertEquals("app-routes of " + TEAM + "\n", routed.body(), routed::toString);
    RawHttp.Response other = RawHttp.get(portB, APP_HOST, "/app/hello");
    assertEquals(404, other.status(), () -> "shard B must not route shard A's VirtualService: " + other);

    KubeObjects.delete(client, virtualService);
    awaitAnswer(envoyA, portA, APP_HOST, "/app/hello", r -> r.status() == 404,
        "404 once the VirtualService is deleted");
    assertEquals(404, RawHttp.get(portB, APP_HOST, "/app/hello").status());
  }

  @Test
  void aKubeUpstreamAndAKubeDestinationReachTheBackendsTheEndpointSliceNamesAndFollowItsChanges() throws Exception {
    KubernetesClient client = KUBE.client();
    KubeObjects.apply(client, """
        apiVersion: v1
        kind: Service
        metadata:
          name: echo
          namespace: %s
          labels:
            app: echo
        spec:
          ports:
          - name: http
            port: %d
            targetPort: %d
        """.formatted(TEAM, BACKEND_PORT, BACKEND_PORT));
    KubeObjects.apply(client, endpointSlice(List.of(backendOne)));
    KubeObjects.apply(client, """
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata:
          name: echo-kube
          namespace: gloo-system
        spec:
          kube:
            serviceName: echo
            serviceNamespace: %s
            servicePort: %d
        """.formatted(TEAM, BACKEND_PORT));
    String virtualService = """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata:
          name: echo
          namespace: %s
          labels:
            shard: a
        spec:
          virtualHost:
            domains: [%s]
            routes:
            - matchers:
              - prefix: /via-upstream
              routeAction:
                single:
                  upstream:
                    name: echo-kube
                    namespace: gloo-system
            - matchers:
              - prefix: /via-kube
              routeAction:
                single:
                  kube:
                    ref:
                      name: echo
                      namespace: %s
                    port: %d
        """.formatted(TEAM, ECHO_HOST, TEAM, BACKEND_PORT);
    KubeObjects.apply(client, virtualService);

    // One endpoint: both routes reach backend one, through EDS.
    for (String path : List.of("/via-upstream", "/via-kube")) {
      awaitAnswer(envoyA, portA, ECHO_HOST, path, servedBy(backendOne), "backend one through " + path);
      assertEquals(Set.of(backendOne.backendName()), backendsOf(path, 10), path);
    }
    RawHttp.Response other = RawHttp.get(portB, ECHO_HOST, "/via-kube");
    assertEquals(404, other.status(), () -> "shard B must not route shard A's VirtualService: " + other);
    assertEquals(Set.of(backendOne.address()), endpointAddresses(envoyA), () -> clustersQuietly(envoyA));
    assertRequestsCameFromTheHost();

    // The slice now names backend two only: all traffic moves there.
    KubeObjects.apply(client, endpointSlice(List.of(backendTwo)));
    for (String path : List.of("/via-upstream", "/via-kube")) {
      awaitAnswer(envoyA, portA, ECHO_HOST, path, servedBy(backendTwo), "backend two through " + path);
    }
    awaitEndpoints(Set.of(backendTwo.address()));
    int oneBefore = backendOne.requests().size();
    for (String path : List.of("/via-upstream", "/via-kube")) {
      assertEquals(Set.of(backendTwo.backendName()), backendsOf(path, 10), path);
    }
    assertEquals(oneBefore, backendOne.requests().size(), "backend one, no longer in the slice, got requests");

    // Scaled to both: both serve.
    KubeObjects.apply(client, endpointSlice(List.of(backendOne, backendTwo)));
    awaitEndpoints(Set.of(backendOne.address(), backendTwo.address()));
    Set<String> seen = new TreeSet<>();
    KubeWaits.await(LIVENESS, "both backends answering /via-kube", seen::toString, () -> {
      seen.addAll(backendsOfQuietly("/via-kube", 10));
      return seen.equals(Set.of(backendOne.backendName(), backendTwo.backendName()));
    });
    assertRequestsCameFromTheHost();

    KubeObjects.delete(client, virtualService);
    awaitAnswer(envoyA, portA, ECHO_HOST, "/via-kube", r -> r.status() == 404,
        "404 once the VirtualService is deleted");
  }

  // ---- helpers ----


  /** The EndpointSlice of Service team-a/echo, listing {@code hosts}' namespace addresses, all ready. */
  private static String endpointSlice(List<NetnsTestHost> hosts) {
    return KubeObjects.readyEndpointSlice(TEAM, "echo-1", "echo", BACKEND_PORT,
        hosts.stream().map(NetnsTestHost::address).toList());
  }

  private static Predicate<RawHttp.Response> servedBy(NetnsTestHost backend) {
    return r -> r.status() == 200 && backend.backendName().equals(r.headers().get(NetnsBackend.HEADER));
  }

  /** Polls until {@code envoy}'s listener answers as {@code expected} wants; fails with the last answer. */
  private static RawHttp.Response awaitAnswer(EnvoyProcess envoy, int port, String host, String path,
      Predicate<RawHttp.Response> expected, String what) throws InterruptedException {
    AtomicReference<Object> last = new AtomicReference<>("no answer");
    KubeWaits.await(LIVENESS, what + " on " + envoy.name + " for " + host + path, () -> String.valueOf(last.get()),
        () -> {
          envoy.checkAlive();
          try {
            RawHttp.Response r = RawHttp.get(port, host, path);
            last.set(r);
            return expected.test(r);
          } catch (IOException e) {
            last.set(e);
            return false;
          }
        });
    return (RawHttp.Response) last.get();
  }

  /** The backends that answered {@code count} requests to {@code path} on shard A; fails on any other answer. */
  private static Set<String> backendsOf(String path, int count) throws IOException {
    Set<String> names = new TreeSet<>();
    for (int i = 0; i < count; i++) {
      RawHttp.Response r = RawHttp.get(portA, ECHO_HOST, path);
      assertEquals(200, r.status(), r::toString);
      String name = r.headers().get(NetnsBackend.HEADER);
      assertTrue(name != null && r.body().startsWith(name + " path=" + path), () -> "not a backend's answer: " + r);
      names.add(name);
    }
    return names;
  }

  private static Set<String> backendsOfQuietly(String path, int count) {
    try {
      return backendsOf(path, count);
    } catch (IOException e) {
      return Set.of();
    }
  }

  /** Every request each backend logged came from the host side of its own veth pair: through the namespace. */
  private static void assertRequestsCameFromTheHost() {
    for (NetnsTestHost backend : backends) {
      for (String request : backend.requests()) {
        assertTrue(request.endsWith(" from " + backend.hostAddress()), () -> backend + " served " + request);
      }
    }
  }

  private static void awaitEndpoints(Set<String> addresses) throws InterruptedException {
    KubeWaits.await(LIVENESS, "shard A's Envoy holding exactly the endpoints " + addresses,
        () -> clustersQuietly(envoyA), () -> addresses.equals(endpointAddressesQuietly(envoyA)));
  }

  /**
   * The addresses of every upstream host in an Envoy's clusters, its own xDS cluster (the control plane on
   * 127.0.0.1) left out: the backends must be the namespace addresses only.
   */
  private static Set<String> endpointAddresses(EnvoyProcess envoy) throws IOException {
    Map<String, Set<String>> byCluster = new TreeMap<>();
    Matcher m = CLUSTER_HOST.matcher(clusters(envoy));
    while (m.find()) {
      if (!(m.group(2).equals("127.0.0.1") && Integer.parseInt(m.group(3)) == xdsPort)) {
        byCluster.computeIfAbsent(m.group(1), k -> new TreeSet<>()).add(m.group(2));
      }
    }
    Set<String> all = new TreeSet<>();
    byCluster.values().forEach(all::addAll);
    return all;
  }

  private static Set<String> endpointAddressesQuietly(EnvoyProcess envoy) {
    try {
      return endpointAddresses(envoy);
    } catch (IOException | AssertionError e) {
      return Set.of();
    }
  }

  private static String clusters(EnvoyProcess envoy) throws IOException {
    return E2eSupport.admin(envoy, "/clusters");
  }

  private static String clustersQuietly(EnvoyProcess envoy) {
    try {
      return clusters(envoy);
    } catch (IOException | AssertionError e) {
      return e.toString();
    }
  }
}
