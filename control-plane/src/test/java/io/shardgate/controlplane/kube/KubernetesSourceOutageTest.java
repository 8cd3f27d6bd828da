package io.shardgate.controlplane.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.informers.impl.cache.Reflector;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.micronaut.http.HttpResponse;
import io.shardgate.controlplane.app.AdminController;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.metrics.ShardgateMetrics;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.source.KubernetesSource;
import io.shardgate.controlplane.source.ServiceDiscovery;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * The Kubernetes source through API-server outages on the real kube-apiserver, started with
 * {@code --watch-cache=false} so that watches are served by etcd and an etcd compaction makes the informers' next
 * watch answer 410 Gone: a restart loses nothing and delivers nothing when nothing changed; a change made while the
 * source's API server was away (through a second API server on the same etcd) arrives exactly once after the 410
 * relist; while the API server is unreachable the last config is served and {@code /ready} says so.
 *
 * <p>Each test ends with a "barrier" change that must arrive: it shows that nothing else was still on its way when
 * the number of deliveries is checked.
 */
class KubernetesSourceOutageTest {

  private static final Duration BOUND = Duration.ofSeconds(60); // reconnects back off

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension(List.of("--watch-cache=false"));

  private final List<ConfigInput> inputs = new CopyOnWriteArrayList<>();
  /** fabric8's informer says at DEBUG when a watch answered 410 Gone and it lists again. */
  private final ListAppender<ILoggingEvent> reflectorLog = new ListAppender<>();
  private final Logger reflector = (Logger) LoggerFactory.getLogger(Reflector.class);
  private ShardPipeline pipeline;
  private KubernetesSource source;
  private static int barrier; // names unique across the class's tests, which share the API server

  @BeforeAll
  static void installCrdsAndObjects() throws Exception {
    KubernetesClient client = KUBE.client();
    KubeCrdSchemaTest.install(client);
    for (String ns : List.of("gloo-system", "shop")) {
      client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
          .create();
    }
    create("""
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata:
          name: web
          namespace: shop
        spec:
          virtualHost:
            domains: [web.example.com]
            routes:
            - matchers:
              - prefix: /
              directResponseAction:
                status: 200
        """);
    client.services().inNamespace("shop").resource(new ServiceBuilder().withNewMetadata().withName("web")
        .endMetadata().withNewSpec().addNewPort().withName("http").withPort(80).endPort().endSpec().build()).create();
    client.discovery().v1().endpointSlices().inNamespace("shop").resource(new EndpointSliceBuilder()
        .withNewMetadata().withName("web-1").withLabels(Map.of(ServiceDiscovery.SERVICE_NAME_LABEL, "web"))
        .endMetadata().withAddressType("IPv4").addNewPort().withName("http").withPort(8080).endPort()
        .addNewEndpoint().withAddresses("192.0.2.1").endEndpoint().build()).create();
  }

  @BeforeEach
  void start() throws Exception {
    reflectorLog.start();
    reflector.addAppender(reflectorLog);
    reflector.setLevel(Level.DEBUG);
    pipeline = new ShardPipeline(new ShardSnapshotCache());
    source = new KubernetesSource(KUBE.client(), input -> {
      inputs.add(input);
      pipeline.accept(input);
    });
    source.start();
    await("the first delivery with the Service's endpoints", () -> !inputs.isEmpty()
        && last().endpoints().of("shop", "web") != null && !last().endpoints().of("shop", "web").of(80).isEmpty());
    await("every watch open", source::connected);
  }

  @AfterEach
  void stop() {
    source.close();
    reflector.detachAppender(reflectorLog);
    reflector.setLevel(null);
  }

  private long gone() {
    return List.copyOf(reflectorLog.list).stream()
        .filter(e -> e.getFormattedMessage().startsWith("Watch restarting due to http gone")).count();
  }

  @Test
  void anApiServerRestartLosesNothingAndDeliversNothingAndTheLastConfigIsServedMeanwhile() throws Exception {
    int delivered = inputs.size();
    Translation served = pipeline.latest();
    AdminController admin = new AdminController(pipeline, new ShardSnapshotCache(), source, null);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new ShardgateMetrics(registry, new ShardSnapshotCache()).bindSource(source);
    String scrape = registry.scrape();
    Matcher documented = Pattern.compile("^\\| `(shardgate_source_kubernetes_[a-z_]+)(?:\\{[a-z_]+})?`",
        Pattern.MULTILINE).matcher(Files.readString(ExampleConfig.repoRoot().resolve("docs/metrics.md")));
    int names = 0;
    while (documented.find()) {
      String name = documented.group(1);
      names++;
      assertTrue(scrape.contains("\n" + name), () -> name + " is documented but not served:\n" + scrape);
    }
    assertTrue(names >= 6, "docs/metrics.md lists the Kubernetes source's metrics");
    assertTrue(scrape.contains("\nshardgate_source_kubernetes_connected 1.0"), scrape);
    assertTrue(scrape.contains("\nshardgate_source_kubernetes_objects{kind=\"EndpointSlice\"} 1.0"), scrape);

    KUBE.stopApiServer();
    await("the source to see the API server unreachable", () -> source.health().isPresent());
    HttpResponse<String> ready = admin.ready(false);
    assertEquals(200, ready.code(), ready::body);
    String line = source.health().orElseThrow();
    assertTrue(line.startsWith("kubernetes source: API server https://127.0.0.1:")
        && line.contains(" unreachable since ") && line.endsWith(", serving the last config"), line);
    assertTrue(ready.body().contains(line), ready::body);
    assertEquals(503, admin.ready(true).code(), "strict readiness fails while the API server is unreachable");
    assertSame(served, pipeline.latest(), "the last config is served");
    assertTrue(registry.scrape().contains("\nshardgate_source_kubernetes_connected 0.0"), registry::scrape);

    KUBE.startApiServer();
    await("every watch open again", () -> source.connected() && source.health().isEmpty());
    assertEquals(200, admin.ready(true).code(), () -> admin.ready(true).body());
    assertBarrierIsTheOnlyDelivery(delivered);
    assertSame(served.input().documents().get(0), last().documents().get(0), "nothing was re-read as new");
  }

  @Test
  void aChangeMadeWhileTheSourceWasAwayArrivesExactlyOnceAfterThe410Relist() throws Exception {
    int delivered = inputs.size();
    SourceDocument service = document("shop-web-80");
    KUBE.duringOutage(second -> {
      second.discovery().v1().endpointSlices().inNamespace("shop").withName("web-1").edit(s -> {
        s.getEndpoints().add(new EndpointBuilder()
            .withAddresses("192.0.2.2").build());
        return s;
      });
      KUBE.compactEtcd();
    });
    await("the gap's change", () -> last().endpoints().of("shop", "web").of(80).size() == 2);
    assertEquals(delivered + 1, inputs.size(), "the change arrives once");
    assertTrue(gone() > 0, "the informers' watches answered 410 Gone and they listed again");
    assertSame(service, document("shop-web-80"), "the relist kept the unchanged documents");
    assertBarrierIsTheOnlyDelivery(delivered + 1);
  }

  @Test
  void a410RelistThatFindsNothingChangedDeliversNothing() throws Exception {
    int delivered = inputs.size();
    KUBE.duringOutage(second -> KUBE.compactEtcd());
    // Every informer watches from a compacted version: each answers 410 Gone and lists again.
    await("a 410 Gone relist of every informer", () -> gone() >= 11);
    await("every watch open again", source::connected);
    assertBarrierIsTheOnlyDelivery(delivered);
  }

  // ---- helpers ----

  /** Makes one change and waits for it; then exactly one delivery more than {@code delivered} has happened. */
  private void assertBarrierIsTheOnlyDelivery(int delivered) throws InterruptedException {
    String name = "barrier-" + ++barrier;
    KUBE.client().services().inNamespace("shop").resource(new ServiceBuilder().withNewMetadata().withName(name)
        .endMetadata().withNewSpec().addNewPort().withPort(80).endPort().endSpec().build()).create();
    await("the barrier change", () -> document("shop-" + name + "-80") != null);
    assertEquals(delivered + 1, inputs.size(), () -> "deliveries: " + inputs.size() + ", expected only the barrier's");
  }

  private ConfigInput last() {
    return inputs.get(inputs.size() - 1);
  }

  private void await(String what, BooleanSupplier condition) throws InterruptedException {
    KubeWaits.await(BOUND, what, () -> inputs.size() + " deliveries; health " + source.health() + "; connected "
        + source.connected() + "; last: " + (inputs.isEmpty() ? "-" : last().documents().stream()
        .map(SourceDocument::origin).toList() + " " + last().endpoints().services()), condition);
  }

  @SuppressWarnings("unchecked")
  private SourceDocument document(String name) {
    return last().documents().stream()
        .filter(d -> name.equals(((Map<String, Object>) d.content().get("metadata")).get("name")))
        .findFirst().orElse(null);
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
