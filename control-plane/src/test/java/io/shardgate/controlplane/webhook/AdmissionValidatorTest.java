package io.shardgate.controlplane.webhook;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.source.SourceException;
import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.snapshot.ShardSnapshotCache;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The webhook's decisions as a function of the control plane's input and one AdmissionReview: each request goes
 * through {@link AdmissionReviewCodec} from the JSON the API server sends, so the objects are the documents the
 * Kubernetes source makes.
 */
class AdmissionValidatorTest {

  private static final String PROTECTED = "gloo-system~gateway-proxy-protected";
  private static final String NOISY = "gloo-system~gateway-proxy-noisy";

  private static final String GATEWAYS = """
      apiVersion: gateway.solo.io/v1
      kind: Gateway
      metadata: {name: gateway-proxy-protected, namespace: gloo-system}
      spec:
        bindAddress: 127.0.0.1
        bindPort: 8080
        proxyNames: [gateway-proxy-protected]
        httpGateway: {virtualServiceSelector: {shard: protected}}
      ---
      apiVersion: gateway.solo.io/v1
      kind: Gateway
      metadata: {name: gateway-proxy-noisy, namespace: gloo-system}
      spec:
        bindAddress: 127.0.0.1
        bindPort: 8081
        proxyNames: [gateway-proxy-noisy]
        httpGateway: {virtualServiceSelector: {shard: noisy}}
      """;

  private static final String PAYMENTS = """
      apiVersion: gateway.solo.io/v1
      kind: VirtualService
      metadata: {name: payments, namespace: payments, labels: {shard: protected}}
      spec:
        virtualHost:
          domains: [payments.example.com]
          routes:
          - matchers: [{prefix: /payments}]
            delegateAction: {ref: {name: payments-api, namespace: payments}}
      """;

  private static final String PAYMENTS_API = """
      apiVersion: gateway.solo.io/v1
      kind: RouteTable
      metadata: {name: payments-api, namespace: payments}
      spec:
        routes:
        - matchers: [{prefix: /payments/v1}]
          routeAction: {single: {upstream: {name: payments, namespace: payments}}}
      """;

  private static final String UPSTREAMS = """
      apiVersion: gloo.solo.io/v1
      kind: Upstream
      metadata: {name: payments, namespace: payments}
      spec: {static: {hosts: [{addr: 127.0.0.1, port: 9101}]}}
      ---
      apiVersion: gloo.solo.io/v1
      kind: Upstream
      metadata: {name: catalog, namespace: catalog}
      spec: {static: {hosts: [{addr: 127.0.0.1, port: 9102}]}}
      """;

  private static final String CATALOG = """
      apiVersion: gateway.solo.io/v1
      kind: VirtualService
      metadata: {name: catalog, namespace: catalog, labels: {shard: noisy}}
      spec:
        virtualHost:
          domains: [catalog.example.com]
          routes:
          - matchers: [{prefix: /}]
            routeAction: {single: {upstream: {name: catalog, namespace: catalog}}}
      """;

  private static final String BASE = String.join("---\n", GATEWAYS, PAYMENTS, PAYMENTS_API, UPSTREAMS, CATALOG);

  private static final KubernetesSerialization JSON = new KubernetesSerialization();

  private final AtomicLong clock = new AtomicLong();
  private final AdmissionValidator validator = new AdmissionValidator(clock::get);

  private static ConfigInput input(String yaml) {
    try {
      return new ConfigInput("test", new YamlDocumentReader().read("config.yaml", yaml), List.of());
    } catch (SourceException e) {
      throw new AssertionError(e);
    }
  }

  private void source(String yaml) {
    validator.sourceChanged(input(yaml), null);
  }

  private static String settings(String validation) {
    return """
        apiVersion: gloo.solo.io/v1
        kind: Settings
        metadata: {name: default, namespace: gloo-system}
        spec:
          discoveryNamespace: gloo-system
          gateway:
            validation: %s
        """.formatted(validation);
  }

  /** The AdmissionReview the API server would send, read back by the codec. */
  static AdmissionRequest review(String operation, String object, String oldObject, boolean dryRun) {
    Map<String, Object> obj = object == null ? null : new Yaml().load(object);
    Map<String, Object> old = oldObject == null ? null : new Yaml().load(oldObject);
    Map<?, ?> any = obj != null ? obj : old;
    Map<?, ?> meta = (Map<?, ?>) any.get("metadata");
    String apiVersion = String.valueOf(any.get("apiVersion"));
    Map<String, Object> request = new LinkedHashMap<>();
    request.put("uid", "uid-1");
    request.put("kind", Map.of("group", apiVersion.substring(0, apiVersion.indexOf('/')), "version", "v1",
        "kind", any.get("kind")));
    request.put("name", meta.get("name"));
    request.put("namespace", meta.get("namespace"));
    request.put("operation", operation);
    request.put("object", obj);
    request.put("oldObject", old);
    request.put("dryRun", dryRun);
    Map<String, Object> review = new LinkedHashMap<>();
    review.put("apiVersion", "admission.k8s.io/v1");
    review.put("kind", "AdmissionReview");
    review.put("request", request);
    try {
      return AdmissionReviewCodec.read(JSON.asJson(review).getBytes(UTF_8));
    } catch (AdmissionReviewCodec.BadReviewException e) {
      throw new AssertionError(e);
    }
  }

  private AdmissionVerdict create(String yaml) {
    return validator.decide(review("CREATE", yaml, null, false));
  }

  private AdmissionVerdict update(String yaml, String old) {
    return validator.decide(review("UPDATE", yaml, old, false));
  }

  private static String virtualService(String namespace, String name, String shard, String domain) {
    return """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: %s, namespace: %s, labels: {shard: %s}}
        spec:
          virtualHost:
            domains: [%s]
            routes:
            - matchers: [{prefix: /}]
              routeAction: {single: {upstream: {name: payments, namespace: payments}}}
        """.formatted(name, namespace, shard, domain);
  }

  /** payments-api delegating to payments-loop, which delegates back: a cycle through two RouteTables. */
  private static final String LOOP = """
      apiVersion: gateway.solo.io/v1
      kind: RouteTable
      metadata: {name: payments-loop, namespace: payments}
      spec:
        routes:
        - matchers: [{prefix: /payments/v1/loop}]
          delegateAction: {ref: {name: payments-api, namespace: payments}}
      """;

  private static final String PAYMENTS_API_INTO_LOOP = """
      apiVersion: gateway.solo.io/v1
      kind: RouteTable
      metadata: {name: payments-api, namespace: payments}
      spec:
        routes:
        - matchers: [{prefix: /payments/v1}]
          delegateAction: {ref: {name: payments-loop, namespace: payments}}
      """;

  @Test
  void beforeTheFirstInputEveryRequestIsNotReady() {
    AdmissionVerdict v = create(virtualService("team", "orders", "protected", "orders.example.com"));
    assertFalse(v.allowed());
    assertEquals(AdmissionVerdict.NOT_READY, v.result());
    assertTrue(v.message().contains("not ready"), v.message());
  }

  @Test
  void aValidVirtualServiceIsAdmittedTranslatingOnlyTheShardItJoins() {
    source(BASE);
    AdmissionVerdict v = create(virtualService("team", "orders", "protected", "orders.example.com"));
    assertTrue(v.allowed(), v.message());
    assertEquals(AdmissionVerdict.ADMITTED, v.result());
    assertEquals(List.of(), v.warnings());
    assertEquals(List.of(PROTECTED), v.shards(), "only the shard whose Gateway selects it is translated");
  }

  @Test
  void aDelegationCycleIsRefusedNamingTheResourcesAndTheField() {
    source(BASE + "---\n" + LOOP);
    AdmissionVerdict v = update(PAYMENTS_API_INTO_LOOP, PAYMENTS_API);
    assertFalse(v.allowed());
    assertEquals(AdmissionVerdict.REFUSED, v.result());
    assertTrue(v.message().startsWith("RouteTable payments/payments-api: delegation cycle detected: [VirtualService"
        + " payments/payments] -> [RouteTable payments/payments-api] -> [RouteTable payments/payments-loop] ->"
        + " [RouteTable payments/payments-api]"), v.message());
    assertTrue(v.message().contains("closed by the delegateAction of RouteTable payments/payments-loop"
        + " spec.routes[0] (config.yaml:"), v.message());
    // The VirtualService on top loses the delegated routes (a warning on it): a consequence the refusal covers.
    assertEquals(List.of(), v.warnings());
    assertEquals(List.of(PROTECTED), v.shards());
  }

  @Test
  void aDomainConflictIsRefusedNamingBothVirtualServices() {
    source(BASE);
    AdmissionVerdict v = create(virtualService("payments", "payments-copy", "protected", "payments.example.com"));
    assertFalse(v.allowed());
    assertTrue(v.message().startsWith("VirtualService payments/payments-copy: spec.virtualHost.domains: domain"
        + " conflict: the domain 'payments.example.com' is also claimed by VirtualService payments/payments"),
        v.message());
    // The change rejects the VirtualService that was there first, too: that counts against it.
    assertTrue(v.message().contains("VirtualService payments/payments: spec.virtualHost.domains: domain"
        + " conflict"), v.message());
    // The same domain on the other shard's Gateway is no conflict.
    AdmissionVerdict other = create(virtualService("payments", "payments-copy", "noisy", "payments.example.com"));
    assertTrue(other.allowed(), other.message());
  }

  @Test
  void rejectionsThatWereThereBeforeDoNotBlockAnUnrelatedChange() {
    source(BASE + "---\n" + virtualService("catalog", "catalog-copy", "noisy", "catalog.example.com"));
    assertEquals(ResourceState.REJECTED,
        validator.viewStatuses().get(new ResourceKey(Kind.VIRTUAL_SERVICE, "catalog", "catalog")).state());
    AdmissionVerdict v = create(virtualService("team", "orders", "noisy", "orders.example.com"));
    assertTrue(v.allowed(), v.message());
  }

  @Test
  void theObjectsOwnDecodeErrorsRefuseItEvenWhenNoShardReachesIt() {
    source(BASE);
    AdmissionVerdict v = create(virtualService("team", "orders", "nobody", "orders.example.com")
        .replace("    routes:\n", "    rutes: []\n    routes:\n"));
    assertFalse(v.allowed());
    assertTrue(v.message().startsWith("VirtualService team/orders: "), v.message());
    assertTrue(v.message().contains("rutes"), v.message());
    assertEquals(List.of(), v.shards());
    AdmissionVerdict upstream = create("""
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata: {name: spare, namespace: payments}
        spec: {static: {hosts: [{addr: 127.0.0.1, port: 99999}]}}
        """);
    assertFalse(upstream.allowed());
    assertTrue(upstream.message().contains("Upstream payments/spare: "), upstream.message());
    assertTrue(upstream.message().contains("port"), upstream.message());
  }

  @Test
  void warningsAreReturnedAndRefuseOnlyWithoutAllowWarnings() {
    source(BASE);
    AdmissionVerdict v = create(virtualService("team", "orders", "nobody", "orders.example.com"));
    assertTrue(v.allowed(), v.message());
    assertEquals(1, v.warnings().size(), v.warnings()::toString);
    assertTrue(v.warnings().get(0).startsWith("VirtualService team/orders: no Gateway selects this VirtualService"),
        v.warnings()::toString);

    source(BASE + "---\n" + settings("{allowWarnings: false}"));
    AdmissionVerdict strict = create(virtualService("team", "orders2", "nobody", "orders2.example.com"));
    assertFalse(strict.allowed());
    assertTrue(strict.message().contains("VirtualService team/orders2: no Gateway selects this VirtualService"),
        strict.message());
    assertTrue(strict.message().contains("allowWarnings is false"), strict.message());
  }

  @Test
  void alwaysAcceptAdmitsWithTheReasonsAsWarnings() {
    source(BASE + "---\n" + LOOP + "---\n" + settings("{alwaysAccept: true}"));
    AdmissionVerdict v = update(PAYMENTS_API_INTO_LOOP, PAYMENTS_API);
    assertTrue(v.allowed());
    assertEquals(AdmissionVerdict.ADMITTED, v.result());
    assertTrue(v.warnings().stream().anyMatch(w -> w.contains("alwaysAccept") && w.contains("delegation cycle")),
        v.warnings()::toString);
  }

  @Test
  void serverEnabledFalseAdmitsEverythingWithAWarning() {
    source(BASE + "---\n" + LOOP + "---\n" + settings("{serverEnabled: false}"));
    AdmissionVerdict v = update(PAYMENTS_API_INTO_LOOP, PAYMENTS_API);
    assertTrue(v.allowed());
    assertTrue(v.warnings().get(0).contains("serverEnabled: false"), v.warnings()::toString);
  }

  @Test
  void aTypoInTheValidationSettingsIsRefusedByTheFieldTable() {
    source(BASE + "---\n" + settings("{allowWarnings: true}"));
    AdmissionVerdict v = update(settings("{alwaysAccep: true}"), settings("{allowWarnings: true}"));
    assertFalse(v.allowed());
    assertTrue(v.message().contains("Settings gloo-system/default: "), v.message());
    assertTrue(v.message().contains("alwaysAccep"), v.message());
  }

  @Test
  void theSkipAnnotationAndStatusOnlyUpdatesAreNotValidated() {
    source(BASE + "---\n" + LOOP);
    String skipped = PAYMENTS_API_INTO_LOOP.replace("namespace: payments}\nspec",
        "namespace: payments, annotations: {gateway.solo.io/skip_validation: \"true\"}}\nspec");
    AdmissionVerdict v = update(skipped, PAYMENTS_API);
    assertTrue(v.allowed());
    assertEquals(AdmissionVerdict.SKIPPED, v.result());

    // An update that changes only the status (or server-side fields): the documents are equal.
    String withStatus = PAYMENTS_API_INTO_LOOP + "status: {statuses: {gloo-system: {state: Rejected}}}\n";
    AdmissionVerdict status = update(withStatus, PAYMENTS_API_INTO_LOOP);
    assertTrue(status.allowed());
    assertEquals(AdmissionVerdict.SKIPPED, status.result());
  }

  @Test
  void aDryRunIsValidatedButChangesNothingAndAppliedChangesValidateAgainstEachOther() {
    source(BASE);
    AdmissionVerdict dry = validator.decide(review("CREATE",
        virtualService("team", "orders", "protected", "orders.example.com"), null, true));
    assertTrue(dry.allowed(), dry.message());
    assertEquals(0, validator.pendingChanges());
    AdmissionVerdict badDry = validator.decide(review("CREATE",
        virtualService("team", "payments-copy", "protected", "payments.example.com"), null, true));
    assertFalse(badDry.allowed(), "a dry run is refused as the real request would be");

    // The dry run left nothing behind: the same domain is still free.
    assertTrue(create(virtualService("team", "orders2", "protected", "orders.example.com")).allowed());
    // That one was applied to the view: a second claim of its domain, before the source shows either, is refused.
    assertEquals(1, validator.pendingChanges());
    AdmissionVerdict second = create(virtualService("team", "orders3", "protected", "orders.example.com"));
    assertFalse(second.allowed());
    assertTrue(second.message().contains("also claimed by VirtualService team/orders2"), second.message());
  }

  @Test
  void theViewConvergesToTheSourceOnceItShowsTheChangeOrAfterTheTtl() {
    source(BASE);
    String orders = virtualService("team", "orders", "protected", "orders.example.com");
    assertTrue(create(orders).allowed());
    assertEquals(1, validator.pendingChanges());
    source(BASE + "---\n" + orders); // the source caught up
    assertEquals(documentsOf(BASE + "---\n" + orders), contentsOf(validator.viewDocuments()));
    assertEquals(0, validator.pendingChanges());

    // An admitted change the API server never stored (another webhook refused it) stops counting after the TTL.
    assertTrue(create(virtualService("team", "lost", "protected", "lost.example.com")).allowed());
    source(BASE + "---\n" + orders + "---\n" + CATALOG.replace("catalog.example.com", "shop.example.com"));
    assertEquals(1, validator.pendingChanges());
    clock.addAndGet(AdmissionValidator.PENDING_TTL.toNanos() + 1);
    String latest = BASE + "---\n" + orders;
    source(latest);
    assertEquals(0, validator.pendingChanges());
    assertEquals(documentsOf(latest), contentsOf(validator.viewDocuments()));
  }

  @Test
  void deletingARouteTableThatIsDelegatedToIsReportedAndRefusedOnlyUnderStrictWarnings() {
    source(BASE);
    AdmissionVerdict v = validator.decide(review("DELETE", null, PAYMENTS_API, true));
    assertTrue(v.allowed(), v.message());
    assertTrue(v.warnings().stream().anyMatch(w -> w.startsWith("VirtualService payments/payments: ")
        && w.contains("payments-api")), v.warnings()::toString);

    source(BASE + "---\n" + settings("{allowWarnings: false}"));
    AdmissionVerdict strict = validator.decide(review("DELETE", null, PAYMENTS_API, false));
    assertFalse(strict.allowed());
    assertTrue(strict.message().contains("VirtualService payments/payments: "), strict.message());

    AdmissionVerdict upstream = validator.decide(review("DELETE", null, UPSTREAMS.split("---\n")[0], true));
    assertFalse(upstream.allowed(), "a route's Upstream would be gone");
    assertTrue(upstream.message().contains("RouteTable payments/payments-api: "), upstream.message());
  }

  @Test
  void aRequestNeverTouchesWhatThePipelineServesOrReports() {
    ShardSnapshotCache cache = new ShardSnapshotCache();
    ShardPipeline pipeline = new ShardPipeline(cache);
    pipeline.accept(input(BASE + "---\n" + LOOP));
    Translation served = pipeline.latest();
    validator.sourceChanged(served.input(), served.gateway().lastGood());
    String listeners = cache.versionOf(PROTECTED, "type.googleapis.com/" + Listener.getDescriptor().getFullName())
        .orElseThrow();

    assertFalse(update(PAYMENTS_API_INTO_LOOP, PAYMENTS_API).allowed());
    assertTrue(create(virtualService("team", "orders", "protected", "orders.example.com")).allowed());
    assertTrue(validator.decide(review("DELETE", null, PAYMENTS, false)).allowed());

    assertSame(served, pipeline.latest());
    assertEquals(listeners, cache.versionOf(PROTECTED, "type.googleapis.com/"
        + Listener.getDescriptor().getFullName()).orElseThrow());
    assertEquals(ResourceState.ACCEPTED,
        served.gateway().statuses().get(new ResourceKey(Kind.ROUTE_TABLE, "payments", "payments-api")).state());
    cache.close();
  }

  private static List<Object> documentsOf(String yaml) {
    return contentsOf(input(yaml).documents());
  }

  private static List<Object> contentsOf(List<SourceDocument> documents) {
    List<Object> out = new ArrayList<>();
    documents.stream().map(SourceDocument::content).map(Object::toString).sorted().forEach(out::add);
    return out;
  }
}
