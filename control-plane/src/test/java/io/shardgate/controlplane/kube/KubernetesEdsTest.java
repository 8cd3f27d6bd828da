package io.shardgate.controlplane.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.ads.SotwClient;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.security.ServeSecurity;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * EDS from the real API server, counted on the wire: Services and hand-written EndpointSlices on the <b>real
 * kube-apiserver</b>, the control plane in Kubernetes mode in-process (the {@code serve --kubernetes} stack, real
 * gRPC), and raw ADS streams that behave like two Envoys of each of two shards (node on the first request, every
 * response ACKed, EDS subscribed for the clusters CDS names). Shard A routes to Service {@code team-a/svc-a} through
 * a route's {@code kube} destination, shard B to {@code team-b/svc-b} through a {@code kube} Upstream, and nobody to
 * {@code team-a/unrouted}.
 *
 * <p>Proves: an EndpointSlice change reaches the EDS of exactly the shard whose routes reach its Service, as EDS
 * only, and nothing reaches the other shard; a change of an unrouted Service's slices reaches nobody; a Service's
 * endpoints scaled 1 -> 50 -> 1 send only EDS to its shard and nothing to the other; a Service deleted and created
 * again reaches its shard only, which serves its endpoints again. The endpoint addresses are
 * never dialled (private addresses; the API server refuses loopback ones).
 *
 * <p>Timeouts are liveness bounds, except {@link #QUIET}: after the expected pushes arrived, nothing else may arrive
 * for that long.
 */
class KubernetesEdsTest {

  private static final Duration LIVENESS = Duration.ofSeconds(60);
  private static final Duration QUIET = Duration.ofSeconds(2);
  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;
  private static final String ROLE_A = "gloo-system~shard-a";
  private static final String ROLE_B = "gloo-system~shard-b";
  private static final int PORT = 8080;

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension();

  @TempDir static Path work;
  private static ApplicationContext controlPlane;
  private static ManagedChannel channel;
  private final List<SotwClient> clients = new ArrayList<>();
  private final List<SotwClient> shardA = new ArrayList<>();
  private final List<SotwClient> shardB = new ArrayList<>();
  /** Each client's EDS resource names, as subscribed from its CDS response. */
  private final Map<SotwClient, List<String>> edsNames = new HashMap<>();

  @BeforeAll
  static void start() throws Exception {
    KubernetesClient client = KUBE.client();
    KubeApiServer.installCrds(client, KubeApiServer.chartCrds());
    KubeObjects.namespaces(client, "gloo-system", "team-a", "team-b");
    int[] ports = ExampleConfig.freePorts(4);
    KubeObjects.apply(client, KubeObjects.gateway("gateway-proxy-a", "shard-a", "a", ports[0]));
    KubeObjects.apply(client, KubeObjects.gateway("gateway-proxy-b", "shard-b", "b", ports[1]));
    for (String[] svc : List.of(new String[] {"team-a", "svc-a"}, new String[] {"team-b", "svc-b"},
        new String[] {"team-a", "unrouted"})) {
      KubeObjects.apply(client, service(svc[0], svc[1]));
      KubeObjects.apply(client, endpointSlice(svc[0], svc[1], addresses(svc[1].equals("svc-b") ? 2 : 1, 1)));
    }
    KubeObjects.apply(client, """
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata:
          name: svc-b-kube
          namespace: gloo-system
        spec:
          kube:
            serviceName: svc-b
            serviceNamespace: team-b
            servicePort: %d
        """.formatted(PORT));
    KubeObjects.apply(client, virtualService("team-a", "a", "a.example.com", """
                single:
                  kube:
                    ref:
                      name: svc-a
                      namespace: team-a
                    port: %d
        """.formatted(PORT)));
    KubeObjects.apply(client, virtualService("team-b", "b", "b.example.com", """
                single:
                  upstream:
                    name: svc-b-kube
                    namespace: gloo-system
        """));
    controlPlane = ServeCommand.startKubernetes(KUBE.kubeconfig(), work.resolve("state"), ports[2], ports[3],
        "127.0.0.1", ServeSecurity.defaults());
    ServeCommand.awaitFirstTranslation(controlPlane, LIVENESS);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", ports[2]).usePlaintext().build();
  }

  @AfterAll
  static void stop() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow();
      channel.awaitTermination(10, TimeUnit.SECONDS);
    }
    if (controlPlane != null) {
      ServeCommand.stop(controlPlane);
    }
  }

  @BeforeEach
  void attachEnvoys() {
    for (int i = 1; i <= 2; i++) {
      shardA.add(envoy("envoy-a-" + i, ROLE_A));
      shardB.add(envoy("envoy-b-" + i, ROLE_B));
    }
  }

  @AfterEach
  void detach() {
    for (SotwClient c : clients) {
      assertNull(c.error(), () -> c.role() + " stream failed: " + c.error());
      c.close();
    }
  }

  @Test
  void endpointSliceChangesReachOnlyTheShardWhoseRoutesReachTheService() throws Exception {
    KubernetesClient client = KUBE.client();
    for (SotwClient c : shardA) {
      assertEquals(Set.of("10.251.1.1"), endpointsOf(c), () -> "shard A serves svc-a's one endpoint: " + edsOf(c));
    }
    for (SotwClient c : shardB) {
      assertEquals(Set.of("10.251.2.1"), endpointsOf(c), () -> "shard B serves svc-b's one endpoint: " + edsOf(c));
    }

    // svc-a gains an endpoint: shard A gets EDS, shard B nothing.
    Map<SotwClient, Map<String, Integer>> before = pushes();
    KubeObjects.apply(client, endpointSlice("team-a", "svc-a", addresses(1, 2)));
    awaitEndpoints(shardA, Set.of("10.251.1.1", "10.251.1.2"));
    quiet();
    assertOnlyEds(before, shardA, "svc-a's slice changed");
    assertNothing(before, shardB, "svc-a's slice changed");

    // svc-b's endpoint is replaced: shard B gets EDS, shard A nothing.
    before = pushes();
    KubeObjects.apply(client, endpointSlice("team-b", "svc-b", List.of("10.251.2.7")));
    awaitEndpoints(shardB, Set.of("10.251.2.7"));
    quiet();
    assertOnlyEds(before, shardB, "svc-b's slice changed");
    assertNothing(before, shardA, "svc-b's slice changed");

    // A Service no route reaches: nobody hears of its endpoints.
    before = pushes();
    KubeObjects.apply(client, endpointSlice("team-a", "unrouted", addresses(3, 5)));
    quiet();
    assertNothing(before, shardA, "an unrouted Service's slice changed");
    assertNothing(before, shardB, "an unrouted Service's slice changed");

    // A second slice of svc-a (a Service's endpoints may span slices): shard A only, the union of both.
    before = pushes();
    KubeObjects.apply(client, endpointSlice("team-a", "svc-a", "svc-a-2", List.of("10.251.1.9")));
    awaitEndpoints(shardA, Set.of("10.251.1.1", "10.251.1.2", "10.251.1.9"));
    quiet();
    assertOnlyEds(before, shardA, "a second slice of svc-a");
    assertNothing(before, shardB, "a second slice of svc-a");
    KubeObjects.delete(client, endpointSlice("team-a", "svc-a", "svc-a-2", List.of("10.251.1.9")));
    awaitEndpoints(shardA, Set.of("10.251.1.1", "10.251.1.2"));
  }

  @Test
  void scalingAServiceFromOneToFiftyEndpointsAndBackSendsOnlyEdsToItsShardOnly() throws Exception {
    KubernetesClient client = KUBE.client();
    KubeObjects.apply(client, endpointSlice("team-a", "svc-a", addresses(1, 1)));
    awaitEndpoints(shardA, Set.of("10.251.1.1"));
    quiet();
    Map<SotwClient, Map<String, Integer>> before = pushes();

    KubeObjects.apply(client, endpointSlice("team-a", "svc-a", addresses(1, 50)));
    awaitEndpoints(shardA, new TreeSet<>(addresses(1, 50)));
    KubeObjects.apply(client, endpointSlice("team-a", "svc-a", addresses(1, 1)));
    awaitEndpoints(shardA, Set.of("10.251.1.1"));
    quiet();

    for (SotwClient c : shardA) {
      Map<String, Integer> added = added(before.get(c), c.pushes());
      assertEquals(Set.of(EDS), added.keySet(), () -> c.role() + ": only EDS while scaling, got " + added);
      assertTrue(added.get(EDS) >= 2, () -> c.role() + ": at least the scale-up and the scale-down: " + added);
    }
    assertNothing(before, shardB, "svc-a scaled 1 -> 50 -> 1");
  }

  @Test
  void aServiceDeletedAndCreatedAgainReachesOnlyTheShardThatRoutesToIt() throws Exception {
    KubernetesClient client = KUBE.client();
    Map<SotwClient, Map<String, Integer>> before = pushes();
    KubeObjects.delete(client, service("team-b", "svc-b"));
    awaitSomething(before, shardB, "svc-b deleted");
    quiet();
    assertNothing(before, shardA, "svc-b deleted");

    Map<SotwClient, Map<String, Integer>> recreated = pushes();
    KubeObjects.apply(client, service("team-b", "svc-b"));
    awaitSomething(recreated, shardB, "svc-b created again");
    // Its EndpointSlice stayed (no garbage collector runs here): the shard serves its endpoints again.
    for (SotwClient c : shardB) {
      KubeWaits.await(LIVENESS, c.role() + " EDS with svc-b's endpoints again", () -> String.valueOf(edsOf(c)),
          () -> !endpointsOf(c).isEmpty() && added(recreated.get(c), c.pushes()).containsKey(EDS));
    }
    quiet();
    assertNothing(recreated, shardA, "svc-b created again");
  }

  // ---- the Envoy-like streams ----

  /** A stream of {@code role} that has its first CDS, EDS (for every EDS cluster), LDS and RDS, then ACKs all. */
  private SotwClient envoy(String nodeId, String role) {
    SotwClient c = new SotwClient(channel, nodeId, role);
    clients.add(c);
    DiscoveryResponse cds = c.subscribeAndAck(CDS, List.of(), LIVENESS);
    List<String> names = edsClusterNames(cds);
    assertEquals(1, names.size(), () -> role + " has one EDS cluster (its one kube Service): " + cds);
    edsNames.put(c, names);
    c.subscribeAndAck(EDS, names, LIVENESS);
    DiscoveryResponse lds = c.subscribeAndAck(LDS, List.of(), LIVENESS);
    c.subscribeAndAck(RDS, routeNames(lds), LIVENESS);
    c.autoAck();
    return c;
  }

  /** The EDS resource names of the EDS clusters in a CDS response: the service name, else the cluster's name. */
  private static List<String> edsClusterNames(DiscoveryResponse cds) {
    List<String> names = new ArrayList<>();
    for (Any any : cds.getResourcesList()) {
      Cluster cluster = unpack(any, Cluster.class);
      if (cluster.getType() == Cluster.DiscoveryType.EDS) {
        String service = cluster.getEdsClusterConfig().getServiceName();
        names.add(service.isEmpty() ? cluster.getName() : service);
      }
    }
    return names;
  }

  private static List<String> routeNames(DiscoveryResponse lds) {
    Set<String> names = new TreeSet<>();
    for (Any any : lds.getResourcesList()) {
      Listener listener = unpack(any, Listener.class);
      names.add(ExampleConfig.routeConfigName(listener.getAddress().getSocketAddress().getPortValue()));
    }
    return List.copyOf(names);
  }

  /** The endpoint addresses of a client's latest EDS response (empty before any). */
  private static Set<String> endpointsOf(SotwClient c) {
    DiscoveryResponse eds = edsOf(c);
    Set<String> addresses = new TreeSet<>();
    if (eds == null) {
      return addresses;
    }
    for (Any any : eds.getResourcesList()) {
      for (LocalityLbEndpoints locality : unpack(any, ClusterLoadAssignment.class).getEndpointsList()) {
        for (LbEndpoint e : locality.getLbEndpointsList()) {
          addresses.add(e.getEndpoint().getAddress().getSocketAddress().getAddress());
        }
      }
    }
    return addresses;
  }

  private static DiscoveryResponse edsOf(SotwClient c) {
    DiscoveryResponse last = null;
    for (DiscoveryResponse r : c.received()) {
      if (r.getTypeUrl().equals(EDS)) {
        last = r;
      }
    }
    return last;
  }

  private static void awaitEndpoints(List<SotwClient> shard, Set<String> expected) throws InterruptedException {
    for (SotwClient c : shard) {
      KubeWaits.await(LIVENESS, c.role() + " EDS holding " + expected, () -> endpointsOf(c) + " in " + edsOf(c),
          () -> endpointsOf(c).equals(expected));
    }
  }

  private Map<SotwClient, Map<String, Integer>> pushes() {
    Map<SotwClient, Map<String, Integer>> counts = new HashMap<>();
    for (SotwClient c : clients) {
      counts.put(c, c.pushes());
    }
    return counts;
  }

  private static void assertOnlyEds(Map<SotwClient, Map<String, Integer>> before, List<SotwClient> shard,
      String what) {
    for (SotwClient c : shard) {
      Map<String, Integer> added = added(before.get(c), c.pushes());
      assertEquals(Map.of(EDS, 1), added, () -> c.role() + " after " + what + ": exactly one EDS push");
    }
  }

  private static void awaitSomething(Map<SotwClient, Map<String, Integer>> before, List<SotwClient> shard,
      String what) throws InterruptedException {
    for (SotwClient c : shard) {
      KubeWaits.await(LIVENESS, c.role() + " hearing of it after " + what, () -> "" + added(before.get(c), c.pushes()),
          () -> !added(before.get(c), c.pushes()).isEmpty());
    }
  }

  private static void assertNothing(Map<SotwClient, Map<String, Integer>> before, List<SotwClient> shard,
      String what) {
    for (SotwClient c : shard) {
      assertEquals(Map.of(), added(before.get(c), c.pushes()), () -> c.role() + " after " + what + ": nothing");
    }
  }

  /** Waits {@link #QUIET}: anything still on its way arrives meanwhile, and the counts then include it. */
  private static void quiet() throws InterruptedException {
    Thread.sleep(QUIET.toMillis());
  }

  /** Responses per type that arrived since {@code before} (types with none left out). */
  private static Map<String, Integer> added(Map<String, Integer> before, Map<String, Integer> now) {
    Map<String, Integer> out = new TreeMap<>();
    now.forEach((type, n) -> {
      int d = n - before.getOrDefault(type, 0);
      if (d != 0) {
        out.put(type, d);
      }
    });
    return out;
  }

  private static <T extends Message> T unpack(Any any, Class<T> type) {
    try {
      return any.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError("not a " + type.getSimpleName() + ": " + any, e);
    }
  }

  // ---- the objects ----


  private static String virtualService(String namespace, String shard, String domain, String destination) {
    return """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata:
          name: routes
          namespace: %s
          labels:
            shard: %s
        spec:
          virtualHost:
            domains: [%s]
            routes:
            - matchers:
              - prefix: /
              routeAction:
        %s""".formatted(namespace, shard, domain, destination);
  }

  private static String service(String namespace, String name) {
    return """
        apiVersion: v1
        kind: Service
        metadata:
          name: %s
          namespace: %s
        spec:
          ports:
          - name: http
            port: %d
            targetPort: %d
        """.formatted(name, namespace, PORT, PORT);
  }

  /** {@code 10.251.<group>.<n>} for n in 1..count. */
  private static List<String> addresses(int group, int count) {
    return IntStream.rangeClosed(1, count).mapToObj(n -> "10.251." + group + "." + n).toList();
  }

  private static String endpointSlice(String namespace, String service, List<String> addresses) {
    return endpointSlice(namespace, service, service + "-1", addresses);
  }

  /** An EndpointSlice of {@code service} named {@code name}, every address ready. */
  private static String endpointSlice(String namespace, String service, String name, List<String> addresses) {
    return KubeObjects.readyEndpointSlice(namespace, name, service, PORT, addresses);
  }
}
