package io.shardgate.controlplane.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.security.ServeSecurity;
import io.shardgate.controlplane.source.DirectorySource;
import io.shardgate.controlplane.source.KubernetesSource;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.report.ResourceStatus;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Kubernetes source against the real kube-apiserver, feeding the real pipeline: the sharded example applied as
 * Kubernetes objects is served shard by shard, edits and deletes reach only the shard they concern, a resync that
 * changes nothing costs no pipeline pass, and a rejected object is named by its {@code Kind namespace/name} origin.
 */
class KubernetesSourceTest {

  private static final Duration BOUND = Duration.ofSeconds(30);
  private static final String PROTECTED = ExampleConfig.PROTECTED_ROLE;
  private static final String NOISY = ExampleConfig.NOISY_ROLE;
  // As the route configuration prints them (the RouteTable's redirect also names /payments/v1, as a path).
  private static final String PREFIX_V1 = "prefix: \"/payments/v1\"";
  private static final String PREFIX_V2 = "prefix: \"/payments/v2\"";

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension();

  private final AtomicLong passes = new AtomicLong();
  private final AtomicReference<ConfigInput> lastInput = new AtomicReference<>();
  private KubernetesSource source;

  @BeforeAll
  static void installCrdsAndExample() throws Exception {
    KubernetesClient client = KUBE.client();
    KubeCrdSchemaTest.install(client);
    for (String ns : List.of("gloo-system", "payments", "catalog")) {
      client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
          .create();
    }
    List<Path> files;
    try (Stream<Path> s = Files.walk(ExampleConfig.repoRoot().resolve("docs/examples/sharded"))) {
      files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    for (Path file : files) {
      create(client, Files.readString(file));
    }
  }

  @AfterEach
  void closeSource() {
    if (source != null) {
      source.close();
    }
  }

  @Test
  void servesEachShardItsRoutesAndFollowsEditsAndDeletes() throws Exception {
    ShardPipeline pipeline = start(KubernetesSource.DEFAULT_RESYNC);
    KubernetesClient client = KUBE.client();

    // (a) The whole initial list in one delivery: the delegated RouteTable's route is on the protected shard only.
    KubeWaits.await(BOUND, "the payments route on the protected shard", () -> routesOf(pipeline, PROTECTED),
        () -> routesOf(pipeline, PROTECTED).contains(PREFIX_V1));
    assertEquals(1, passes.get(), "the initial list is one delivery");
    assertFalse(routesOf(pipeline, NOISY).contains("/payments"), () -> routesOf(pipeline, NOISY));
    assertTrue(routesOf(pipeline, NOISY).contains("catalog"), () -> routesOf(pipeline, NOISY));
    SourceDocument rt = document("RouteTable payments/payments-api@");
    assertEquals(Map.of("name", "payments-api", "namespace", "payments"), rt.content().get("metadata"),
        "server-set metadata (uid, resourceVersion, managedFields, ...) never reaches the decoder");
    long noisyPushes = pipeline.pushes(NOISY);
    long protectedPushes = pipeline.pushes(PROTECTED);
    SourceDocument catalogVs = document("VirtualService catalog/catalog@");

    // (b) An edit of the RouteTable changes the protected shard; the noisy one is neither translated nor pushed.
    long before = passes.get();
    edit(client, "RouteTable", "payments", "payments-api", spec -> {
      Map<String, Object> matcher = firstMatcher(spec);
      matcher.put("prefix", "/payments/v2");
    });
    KubeWaits.await(BOUND, "the edited route on the protected shard", () -> routesOf(pipeline, PROTECTED),
        () -> routesOf(pipeline, PROTECTED).contains(PREFIX_V2));
    assertEquals(before + 1, passes.get(), "one edit, one pass");
    assertFalse(routesOf(pipeline, PROTECTED).contains(PREFIX_V1));
    assertTrue(pipeline.latest().translated().contains(PROTECTED));
    assertFalse(pipeline.latest().translated().contains(NOISY), () -> "" + pipeline.latest().translated());
    assertEquals(noisyPushes, pipeline.pushes(NOISY));
    assertEquals(protectedPushes + 1, pipeline.pushes(PROTECTED));
    assertSame(catalogVs, document("VirtualService catalog/catalog@"),
        "an unchanged object hands over the very same document");

    // (c) Deleting the VirtualService takes the route away.
    resources(client, "VirtualService").inNamespace("payments").withName("payments").delete();
    KubeWaits.await(BOUND, "the protected shard without the payments route", () -> routesOf(pipeline, PROTECTED),
        () -> !routesOf(pipeline, PROTECTED).contains("/payments"));
    assertEquals(noisyPushes, pipeline.pushes(NOISY));
  }

  @Test
  void aResyncThatChangesNothingCostsNoPass() throws Exception {
    ShardPipeline pipeline = start(Duration.ofSeconds(1));
    KubeWaits.await(BOUND, "the first translation", () -> "passes " + passes.get(), () -> pipeline.latest() != null);
    Translation first = pipeline.latest();
    int objects = lastInput.get().documents().size();
    long resyncsBefore = source.unchangedUpdates();
    // Every informer re-announces its objects each second; wait for three rounds of all of them.
    KubeWaits.await(BOUND, "three resyncs of every object", () -> "unchanged updates " + source.unchangedUpdates(),
        () -> source.unchangedUpdates() - resyncsBefore >= 3L * objects);
    assertEquals(1, passes.get(), "resyncs cause no pipeline pass");
    assertEquals(1, source.deliveries());
    assertSame(first, pipeline.latest());
  }

  @Test
  void aRejectedObjectIsNamedByItsKindNamespaceAndName() throws Exception {
    ShardPipeline pipeline = start(KubernetesSource.DEFAULT_RESYNC);
    KubeWaits.await(BOUND, "the first translation", () -> "passes " + passes.get(), () -> pipeline.latest() != null);
    // The schema leaves oneofs to the decoder: a matcher with both a prefix and an exact path is stored, then
    // rejected by Shardgate.
    create(KUBE.client(), """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata:
          name: broken
          namespace: catalog
          labels:
            shard: noisy
        spec:
          virtualHost:
            domains: [broken.example.com]
            routes:
            - matchers:
              - prefix: /broken
                exact: /broken
              directResponseAction:
                status: 200
        """);
    KubeWaits.await(BOUND, "a status for the broken VirtualService", () -> statusesOf(pipeline),
        () -> statusOf(pipeline, "broken") != null);
    ResourceStatus status = statusOf(pipeline, "broken");
    assertTrue(status.origin().startsWith("VirtualService catalog/broken@"), status::toString);
    assertFalse(status.errors().isEmpty(), status::toString);
    assertTrue(routesOf(pipeline, NOISY).contains("catalog"), "the other VirtualServices are still served");
    resources(KUBE.client(), "VirtualService").inNamespace("catalog").withName("broken").delete();
  }

  @Test
  void serveKubernetesServesTheShardsOfTheApiServersResources(@TempDir Path work) throws Exception {
    int[] ports = ExampleConfig.freePorts(2);
    ApplicationContext controlPlane = ServeCommand.startKubernetes(KUBE.kubeconfig(), work.resolve("state"), ports[0],
        ports[1], "127.0.0.1", ServeSecurity.defaults());
    try {
      assertTrue(controlPlane.findBean(DirectorySource.class).isEmpty(), "no directory source with --kubernetes");
      ServeCommand.awaitFirstTranslation(controlPlane);
      ShardPipeline pipeline = controlPlane.getBean(ShardPipeline.class);
      assertTrue(pipeline.latest().input().description().startsWith("Kubernetes API server"),
          pipeline.latest().input()::description);
      assertTrue(routesOf(pipeline, NOISY).contains("catalog"), () -> routesOf(pipeline, NOISY));
    } finally {
      ServeCommand.stop(controlPlane);
    }
  }

  // ---- helpers ----

  private ShardPipeline start(Duration resync) {
    ShardPipeline pipeline = new ShardPipeline(new ShardSnapshotCache());
    source = new KubernetesSource(KUBE.client(), resync, input -> {
      passes.incrementAndGet();
      lastInput.set(input);
      pipeline.accept(input);
    });
    source.start();
    return pipeline;
  }

  private SourceDocument document(String originPrefix) {
    ConfigInput input = lastInput.get();
    assertNotNull(input, "nothing delivered yet");
    return input.documents().stream().filter(d -> d.origin().startsWith(originPrefix)).findFirst()
        .orElseThrow(() -> new AssertionError("no document " + originPrefix + " in "
            + input.documents().stream().map(SourceDocument::origin).toList()));
  }

  private static String routesOf(ShardPipeline pipeline, String role) {
    Translation t = pipeline.latest();
    if (t == null || t.xds().get(role) == null) {
      return "";
    }
    return t.xds().get(role).routes().toString();
  }

  private static ResourceStatus statusOf(ShardPipeline pipeline, String name) {
    Translation t = pipeline.latest();
    if (t == null) {
      return null;
    }
    return t.gateway().statuses().values().stream().filter(s -> s.key().name().equals(name)).findFirst()
        .orElse(null);
  }

  private static String statusesOf(ShardPipeline pipeline) {
    Translation t = pipeline.latest();
    return t == null ? "no translation" : t.gateway().statuses().keySet().toString();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> firstMatcher(Map<String, Object> spec) {
    List<Object> routes = (List<Object>) spec.get("routes");
    Map<String, Object> route = (Map<String, Object>) routes.get(0);
    return (Map<String, Object>) ((List<Object>) route.get("matchers")).get(0);
  }

  @SuppressWarnings("unchecked")
  private static void edit(KubernetesClient client, String kind, String ns, String name,
      Consumer<Map<String, Object>> change) {
    resources(client, kind).inNamespace(ns).withName(name).edit(r -> {
      change.accept((Map<String, Object>) r.getAdditionalProperties().get("spec"));
      return r;
    });
  }

  private static void create(KubernetesClient client, String yaml) {
    GenericKubernetesResource r = client.getKubernetesSerialization().unmarshal(yaml, GenericKubernetesResource.class);
    if (r.getKind() == null) {
      // The example's Settings is in Gloo's flat form (spec fields beside metadata): the Kubernetes object nests them.
      r.setApiVersion("gloo.solo.io/v1");
      r.setKind("Settings");
      Map<String, Object> spec = new LinkedHashMap<>(r.getAdditionalProperties());
      r.getAdditionalProperties().clear();
      r.getAdditionalProperties().put("spec", spec);
    }
    resources(client, r.getKind()).inNamespace(r.getMetadata().getNamespace()).resource(r).create();
  }

  private static MixedOperation<GenericKubernetesResource, GenericKubernetesResourceList,
      Resource<GenericKubernetesResource>> resources(KubernetesClient client, String kind) {
    KubernetesSource.Kind k = KubernetesSource.KINDS.stream().filter(x -> x.kind().equals(kind)).findFirst()
        .orElseThrow();
    return client.genericKubernetesResources(k.context());
  }
}
