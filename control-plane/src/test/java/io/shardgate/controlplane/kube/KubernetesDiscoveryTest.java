package io.shardgate.controlplane.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditionsBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.source.KubernetesSource;
import io.shardgate.controlplane.source.ServiceDiscovery;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.discovery.KubeEndpoint;
import io.shardgate.sharding.discovery.KubeEndpoint.Health;
import io.shardgate.sharding.discovery.ServiceEndpoints;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kubernetes discovery against the real kube-apiserver: Services become the Upstream documents Gloo's discovery
 * writes (a user's own Upstream of the same name wins), EndpointSlices and Pod labels become the endpoint state with
 * only the changed Service's endpoints replaced, and Settings' watchNamespaces scope what is read, also when they
 * change at run time. No controller manager runs: the tests write the EndpointSlices themselves, and Pods stay
 * Pending (only their labels are read).
 */
class KubernetesDiscoveryTest {

  private static final Duration BOUND = Duration.ofSeconds(30);

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension();

  private final List<ConfigInput> inputs = new CopyOnWriteArrayList<>();
  private KubernetesSource source;

  @BeforeAll
  static void installCrdsAndNamespaces() throws Exception {
    KubernetesClient client = KUBE.client();
    KubeCrdSchemaTest.install(client);
    for (String ns : List.of("gloo-system", "shop", "team-a", "team-b")) {
      client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
          .create();
    }
    service("shop", "cart", Map.of("http", 8080, "admin", 8081));
    service("shop", "pay", Map.of("", 80));
  }

  @AfterEach
  void closeSource() {
    inputs.clear();
    if (source != null) {
      source.close();
    }
  }

  @Test
  void eachTcpPortOfAServiceIsADiscoveredUpstreamAndAUserUpstreamOfTheSameNameWins() throws Exception {
    start();
    await("both ports of shop/cart as discovered Upstreams",
        () -> origin("shop-cart-8080") != null && origin("shop-cart-8081") != null);
    assertTrue(origin("shop-cart-8080").startsWith("Service shop/cart@"), origin("shop-cart-8080"));
    SourceDocument admin = document("shop-cart-8081");

    create("""
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata:
          name: shop-cart-8080
          namespace: gloo-system
        spec:
          static:
            hosts:
            - addr: 192.0.2.10
              port: 8080
        """);
    await("the user's Upstream in place of the discovered one",
        () -> Objects.toString(origin("shop-cart-8080")).startsWith("Upstream gloo-system/shop-cart-8080@"));
    assertEquals(1, last().documents().stream().filter(d -> name(d).equals("shop-cart-8080")).count());
    assertSame(admin, document("shop-cart-8081"), "the other port's document is untouched");

    gloo("Upstream").inNamespace("gloo-system").withName("shop-cart-8080").delete();
    await("the discovered Upstream back", () -> Objects.toString(origin("shop-cart-8080")).startsWith("Service "));

    // A new port of the Service: one more document; the unchanged port keeps its document.
    KUBE.client().services().inNamespace("shop").withName("cart").edit(s -> {
      s.getSpec().getPorts().add(new ServicePortBuilder().withName("metrics")
          .withPort(9100).build());
      return s;
    });
    await("the new port's Upstream", () -> origin("shop-cart-9100") != null);
    assertSame(admin, document("shop-cart-8081"));
  }

  @Test
  void endpointSlicesAndPodLabelsGiveTheEndpointStateAndAChangeReplacesOnlyItsService() throws Exception {
    KubernetesClient client = KUBE.client();
    client.pods().inNamespace("shop").resource(new PodBuilder().withNewMetadata().withName("cart-1")
        .withLabels(Map.of("app", "cart", "version", "v1")).endMetadata()
        .withNewSpec().addNewContainer().withName("app").withImage("example.invalid/cart:1").endContainer().endSpec()
        .build()).create();
    client.discovery().v1().endpointSlices().inNamespace("shop").resource(new EndpointSliceBuilder()
        .withNewMetadata().withName("cart-abc").withLabels(Map.of(ServiceDiscovery.SERVICE_NAME_LABEL, "cart"))
        .endMetadata().withAddressType("IPv4")
        .addNewPort().withName("http").withPort(9090).withProtocol("TCP").endPort()
        .addNewEndpoint().withAddresses("10.1.0.1").withZone("zone-a")
        .withConditions(new EndpointConditionsBuilder().withReady(true).build())
        .withNewTargetRef().withKind("Pod").withNamespace("shop").withName("cart-1").endTargetRef().endEndpoint()
        .addNewEndpoint().withAddresses("10.1.0.2")
        .withConditions(new EndpointConditionsBuilder().withReady(false).withServing(true).withTerminating(true)
            .build()).endEndpoint()
        .addNewEndpoint().withAddresses("10.1.0.3")
        .withConditions(new EndpointConditionsBuilder().withReady(false).withServing(false).build()).endEndpoint()
        .build()).create();
    client.discovery().v1().endpointSlices().inNamespace("shop").resource(new EndpointSliceBuilder()
        .withNewMetadata().withName("pay-xyz").withLabels(Map.of(ServiceDiscovery.SERVICE_NAME_LABEL, "pay"))
        .endMetadata().withAddressType("IPv4").addNewPort().withPort(8443).endPort()
        .addNewEndpoint().withAddresses("192.0.2.9").endEndpoint()
        .build()).create();
    service("shop", "lonely", Map.of("http", 80));
    start();
    await("cart's endpoints with the Pod's labels", () -> endpoints("cart") != null
        && endpoints("cart").of(8080).size() == 2 && endpoints("pay") != null && endpoints("lonely") != null);
    assertEquals(List.of(
        new KubeEndpoint("10.1.0.1", 9090, Health.READY, new TreeMap<>(Map.of("app", "cart",
            "version", "v1")), "zone-a"),
        new KubeEndpoint("10.1.0.2", 9090, Health.DRAINING, null, "")), endpoints("cart").of(8080));
    assertEquals(List.of(), endpoints("cart").of(8081), "no slice port is named admin");
    assertEquals(List.of(new KubeEndpoint("192.0.2.9", 8443, Health.READY, null, "")), endpoints("pay").of(80),
        "the unnamed Service port matches the unnamed slice port");
    assertEquals(Map.of(), endpoints("lonely").byServicePort(), "a Service without slices has no ports");

    // One slice changes: only its Service's endpoints are a new object, and only they are recomputed.
    ServiceEndpoints cart = endpoints("cart");
    ServiceEndpoints lonely = endpoints("lonely");
    SourceDocument cartDoc = document("shop-cart-8080");
    long recomputed = source.endpointRecomputations();
    int delivered = inputs.size();
    client.discovery().v1().endpointSlices().inNamespace("shop").withName("pay-xyz").edit(s -> {
      s.getEndpoints().add(new EndpointBuilder()
          .withAddresses("192.0.2.8").build());
      return s;
    });
    await("pay's second endpoint", () -> endpoints("pay").of(80).size() == 2);
    assertEquals(delivered + 1, inputs.size());
    assertSame(cart, endpoints("cart"));
    assertSame(lonely, endpoints("lonely"));
    assertSame(cartDoc, document("shop-cart-8080"), "an endpoint change leaves the documents as they were");
    assertEquals(recomputed + 1, source.endpointRecomputations(), "only pay's endpoints were computed again");

    // A Pod's labels change: the Services whose slices name it change, no other.
    ServiceEndpoints pay = endpoints("pay");
    client.pods().inNamespace("shop").withName("cart-1").edit(p -> {
      p.getMetadata().getLabels().put("version", "v2");
      return p;
    });
    await("cart's endpoint with the new label",
        () -> "v2".equals(endpoints("cart").of(8080).get(0).labels().get("version")));
    assertSame(pay, endpoints("pay"));
    assertNotSame(cart, endpoints("cart"));
  }

  @Test
  void watchNamespacesScopeWhatIsReadAndAChangeAtRunTimeRestartsTheInformers() throws Exception {
    create(virtualService("team-a", "a"));
    create(virtualService("team-b", "b"));
    service("team-b", "svc-b", Map.of("http", 80));
    create("""
        apiVersion: gloo.solo.io/v1
        kind: Settings
        metadata:
          name: default
          namespace: gloo-system
        spec:
          discoveryNamespace: gloo-system
          watchNamespaces: [team-a]
        """);
    try {
      start();
      await("the first delivery", () -> !inputs.isEmpty());
      assertTrue(origin("a") != null, this::origins);
      assertEquals(null, origin("b"), this::origins);
      assertEquals(null, origin("team-b-svc-b-80"), this::origins);
      assertEquals(null, origin("shop-cart-8080"), "Services of namespaces not watched are not discovered");
      assertEquals(null, endpoints("cart"));
      SourceDocument a = document("a");

      int delivered = inputs.size();
      editSettings(List.of("team-a", "team-b"));
      await("team-b read", () -> origin("b") != null && origin("team-b-svc-b-80") != null);
      assertEquals(delivered + 1, inputs.size(), "the Settings change and the new namespace in one delivery");
      assertSame(a, document("a"), "objects of namespaces still read keep their documents");
      assertEquals(null, origin("shop-cart-8080"));

      editSettings(List.of());
      await("all namespaces read", () -> origin("shop-cart-8080") != null && endpoints("cart") != null);
      assertSame(a, document("a"));

      editSettings(List.of("team-b"));
      await("team-a dropped", () -> origin("a") == null && origin("shop-cart-8080") == null
          && endpoints("cart") == null);
      assertTrue(origin("b") != null, this::origins);
    } finally {
      gloo("Settings").inNamespace("gloo-system").withName("default").delete();
    }
  }

  /**
   * Not a benchmark (no bound is asserted): prints roughly how much heap the source holds per watched Service,
   * EndpointSlice (10 endpoints) and Pod, fabric8's informer caches included, as the heap in use with the source
   * running less the heap in use once it is closed.
   */
  @Test
  void printsTheHeapPerWatchedObject() throws Exception {
    int services = 200;
    KubernetesClient client = KUBE.client();
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("bulk").endMetadata().build())
        .create();
    for (int i = 0; i < services; i++) {
      String name = "svc-" + i;
      client.services().inNamespace("bulk").resource(new ServiceBuilder().withNewMetadata().withName(name)
          .withLabels(Map.of("app", name)).endMetadata().withNewSpec().withSelector(Map.of("app", name))
          .addNewPort().withName("http").withPort(80).endPort().endSpec().build()).create();
      client.pods().inNamespace("bulk").resource(new PodBuilder().withNewMetadata().withName(name + "-pod")
          .withLabels(Map.of("app", name, "version", "v1")).endMetadata().withNewSpec().addNewContainer()
          .withName("app").withImage("example.invalid/app:1").endContainer().endSpec().build()).create();
      EndpointSliceBuilder slice = new EndpointSliceBuilder().withNewMetadata().withName(name + "-1")
          .withLabels(Map.of(ServiceDiscovery.SERVICE_NAME_LABEL, name)).endMetadata().withAddressType("IPv4")
          .addNewPort().withName("http").withPort(8080).endPort();
      for (int e = 0; e < 10; e++) {
        slice.addNewEndpoint().withAddresses("10.2." + i + "." + e).withNewTargetRef().withKind("Pod")
            .withNamespace("bulk").withName(name + "-pod").endTargetRef().endEndpoint();
      }
      client.discovery().v1().endpointSlices().inNamespace("bulk").resource(slice.build()).create();
    }
    long before = usedHeapAfterGc();
    start();
    await("every bulk Service's endpoints", () -> last() != null && last().endpoints().services().keySet().stream()
        .filter(k -> k.startsWith("bulk/")).count() == services
        && last().endpoints().of("bulk", "svc-" + (services - 1)).of(80).size() == 10);
    long running = usedHeapAfterGc();
    int objects = source.objectCounts().values().stream().mapToInt(Integer::intValue).sum();
    inputs.clear(); // the delivered inputs are the pipeline's, not the source's
    source.close();
    source = null;
    long after = usedHeapAfterGc();
    System.out.printf("[kube-memory] %d watched objects (%s): %d KiB of heap while the source runs (%d KiB before"
        + " it started, %d KiB after it closed): about %d bytes per watched object%n", objects,
        new TreeMap<>(Map.of("services", services, "slices of 10 endpoints", services, "pods", services)),
        (running - after) / 1024, before / 1024, after / 1024, (running - after) / Math.max(1, objects));
  }

  private static long usedHeapAfterGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(100); // let the collector finish; the figure is printed, never asserted
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  // ---- helpers ----

  private void start() {
    source = new KubernetesSource(KUBE.client(), inputs::add);
    source.start();
  }

  private ConfigInput last() {
    List<ConfigInput> now = List.copyOf(inputs);
    return now.isEmpty() ? null : now.get(now.size() - 1);
  }

  private void await(String what, BooleanSupplier condition) throws InterruptedException {
    KubeWaits.await(BOUND, what, this::origins, condition);
  }

  private String origins() {
    ConfigInput in = last();
    return in == null ? "nothing delivered" : inputs.size() + " deliveries, last: "
        + in.documents().stream().map(SourceDocument::origin).toList() + " endpoints " + in.endpoints().services();
  }

  @SuppressWarnings("unchecked")
  private static String name(SourceDocument d) {
    return String.valueOf(((Map<String, Object>) d.content().get("metadata")).get("name"));
  }

  private SourceDocument document(String name) {
    ConfigInput in = last();
    return in == null ? null : in.documents().stream().filter(d -> name(d).equals(name)).findFirst().orElse(null);
  }

  private String origin(String name) {
    SourceDocument d = document(name);
    return d == null ? null : d.origin();
  }

  private ServiceEndpoints endpoints(String service) {
    ConfigInput in = last();
    return in == null ? null : in.endpoints().of("shop", service);
  }

  private static void service(String ns, String name, Map<String, Integer> ports) {
    ServiceBuilder b = new ServiceBuilder().withNewMetadata().withNamespace(ns).withName(name)
        .withLabels(Map.of("app", name)).endMetadata().withNewSpec().withSelector(Map.of("app", name)).endSpec();
    ports.forEach((portName, port) -> b.editSpec().addNewPort().withName(portName.isEmpty() ? null : portName)
        .withPort(port).endPort().endSpec());
    KUBE.client().services().inNamespace(ns).resource(b.build()).create();
  }

  private static String virtualService(String ns, String name) {
    return """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata:
          name: %s
          namespace: %s
        spec:
          virtualHost:
            domains: [%s.example.com]
            routes:
            - matchers:
              - prefix: /
              directResponseAction:
                status: 200
        """.formatted(name, ns, name);
  }

  @SuppressWarnings("unchecked")
  private static void editSettings(List<String> watchNamespaces) {
    gloo("Settings").inNamespace("gloo-system").withName("default").edit(r -> {
      ((Map<String, Object>) r.getAdditionalProperties().get("spec")).put("watchNamespaces", watchNamespaces);
      return r;
    });
  }

  private static void create(String yaml) {
    GenericKubernetesResource r = KUBE.client().getKubernetesSerialization().unmarshal(yaml,
        GenericKubernetesResource.class);
    gloo(r.getKind()).inNamespace(r.getMetadata().getNamespace()).resource(r).create();
  }

  private static MixedOperation<GenericKubernetesResource, GenericKubernetesResourceList,
      Resource<GenericKubernetesResource>> gloo(String kind) {
    KubernetesSource.Kind k = KubernetesSource.KINDS.stream().filter(x -> x.kind().equals(kind)).findFirst()
        .orElseThrow();
    return KUBE.client().genericKubernetesResources(k.context());
  }
}
