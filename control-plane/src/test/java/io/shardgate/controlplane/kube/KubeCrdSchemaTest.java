package io.shardgate.controlplane.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.shardgate.controlplane.e2e.ExampleConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.yaml.snakeyaml.Yaml;

/**
 * The chart's CRDs ({@code helm/shardgate/crds/}) on the real kube-apiserver: they are accepted and become
 * Established; every Gloo document of {@code docs/examples/} and the Gloo Edge manifests under
 * {@code kube/gloo-edge/} are accepted and stored as written (nothing pruned); documents with a wrong type where the
 * table types a field are refused with 422 naming the field; the status subresource keeps status and spec apart; and
 * {@code kubectl get}'s table shows the State and Shards columns.
 */
class KubeCrdSchemaTest {

  private static final Duration BOUND = Duration.ofSeconds(60);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> NAMESPACES = new HashSet<>();

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension();

  @BeforeAll
  static void installCrds() throws Exception {
    install(KUBE.client());
  }

  /** Creates the chart's CRDs, one per kind, and waits until the API server serves every one of them. */
  static void install(KubernetesClient client) throws Exception {
    List<String> names = KubeApiServer.installCrds(client, CrdsMatchTableTest.crdDir());
    assertEquals(CrdGenerator.KINDS.size(), names.size(), () -> "CRDs: " + names);
  }

  @Test
  void everyDocsExampleIsAcceptedAndStoredUnpruned() throws Exception {
    Path examples = ExampleConfig.repoRoot().resolve("docs/examples");
    List<Path> files;
    try (Stream<Path> s = Files.walk(examples)) {
      files = s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
    }
    int applied = 0;
    for (Path file : files) {
      // The directory layout is <kind plural>/<namespace>/<name>.yaml: a flat document takes its kind from there.
      String folder = file.getParent().getParent().getFileName().toString();
      CrdGenerator.Kind flatKind = CrdGenerator.KINDS.stream().filter(k -> k.plural().equals(folder)).findFirst()
          .orElse(null);
      applied += applyAll(Files.readString(file), examples.relativize(file).toString(), flatKind, "");
    }
    assertEquals(files.size(), applied, "every file of docs/examples holds one Gloo document");
  }

  @Test
  void realGlooEdgeManifestsAreAcceptedAndStoredUnpruned() throws Exception {
    int applied = 0;
    for (String name : List.of("virtualservices.yaml", "routetables.yaml", "upstreams.yaml",
        "settings-gateway-proxy.yaml")) {
      applied += applyAll(resource("/kube/gloo-edge/" + name), "kube/gloo-edge/" + name, null, "edge-");
    }
    assertEquals(10, applied);
  }

  /** One document per row: a value of the wrong type (or outside its enum or range) where the table types it. */
  @Test
  void wrongTypesAreRefusedNamingTheField() {
    record Case(String yaml, String field) {
    }
    List<Case> cases = List.of(
        new Case(gateway("bindPort: eighty"), "spec.bindPort"),
        new Case(gateway("bindPort: -1"), "spec.bindPort"),
        new Case(gateway("proxyNames: gateway-proxy"), "spec.proxyNames"),
        new Case(gateway("ssl: maybe"), "spec.ssl"),
        new Case(gateway("httpGateway: {virtualServices: [{name: {a: b}}]}"), "spec.httpGateway.virtualServices[0].name"),
        new Case(gateway("httpGateway: {virtualServiceExpressions: {expressions: [{key: a, operator: Near}]}}"),
            "spec.httpGateway.virtualServiceExpressions.expressions[0].operator"),
        new Case(virtualService("domains: api.example.com"), "spec.virtualHost.domains"),
        new Case(virtualService("routes: {}"), "spec.virtualHost.routes"),
        new Case(virtualService("routes: [{matchers: {prefix: /}}]"), "spec.virtualHost.routes[0].matchers"),
        new Case(virtualService("routes: [{matchers: [{prefix: /}], directResponseAction: {status: ok}}]"),
            "spec.virtualHost.routes[0].directResponseAction.status"),
        new Case(virtualService("routes: [{matchers: [{prefix: /}], options: {timeout: 5}}]"),
            "spec.virtualHost.routes[0].options.timeout"),
        new Case(virtualService("routes: [{matchers: [{prefix: /}], redirectAction: {responseCode: MOVED}}]"),
            "spec.virtualHost.routes[0].redirectAction.responseCode"),
        new Case(doc("gloo.solo.io/v1", "Upstream", "static: {hosts: [{addr: a, port: \"x\"}]}"),
            "spec.static.hosts[0].port"),
        new Case(doc("gloo.solo.io/v1", "Upstream", "static: {hosts: [{addr: a, port: 70000}], useTls: yes-please}"),
            "spec.static.useTls"),
        new Case(doc("gateway.solo.io/v1", "RouteTable", "weight: heavy"), "spec.weight"),
        new Case(doc("gloo.solo.io/v1", "UpstreamGroup", "destinations: [{weight: [1]}]"),
            "spec.destinations[0].weight"),
        new Case(doc("gloo.solo.io/v1", "Settings", "watchNamespaces: {a: b}"), "spec.watchNamespaces"),
        new Case(doc("gloo.solo.io/v1", "Settings", "gloo: {invalidConfigPolicy: {invalidRouteResponseCode: \"404\"}}"),
            "spec.gloo.invalidConfigPolicy.invalidRouteResponseCode"));
    String ns = namespace("wrong-types");
    List<String> problems = new ArrayList<>();
    int i = 0;
    for (Case c : cases) {
      GenericKubernetesResource r = parse(c.yaml().replace("NAME", "wrong-" + i++));
      try {
        resources(r).inNamespace(ns).resource(r).create();
        problems.add("accepted: " + c.yaml());
      } catch (KubernetesClientException refused) {
        if (refused.getCode() != 422 || !refused.getMessage().contains(c.field())) {
          problems.add("expected 422 naming " + c.field() + " for " + c.yaml() + ", got " + refused.getCode() + ": "
              + refused.getMessage());
        }
      }
    }
    assertEquals(List.of(), problems);
    assertEquals(0, resources(parse(gateway("bindPort: 1"))).inNamespace(ns).list().getItems().size());
  }

  @Test
  void statusIsWrittenThroughTheSubresourceOnlyAndShownInTheTable() throws Exception {
    String ns = namespace("status");
    GenericKubernetesResource vs = parse(virtualService("domains: [status.example.com]").replace("NAME", "with-status"));
    Resource<GenericKubernetesResource> resource = resources(vs).inNamespace(ns).resource(vs);
    resource.create();
    Resource<GenericKubernetesResource> named = resources(vs).inNamespace(ns).withName("with-status");

    named.subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE),
        "{\"status\":{\"state\":\"Accepted\",\"proxies\":[\"gateway-proxy\"],\"reportedBy\":\"shardgate\"},"
            + "\"spec\":{\"displayName\":\"changed through status\"}}");
    GenericKubernetesResource afterStatus = named.get();
    assertEquals("Accepted", afterStatus.get("status", "state"));
    assertEquals(List.of("gateway-proxy"), afterStatus.get("status", "proxies"));
    assertNull(afterStatus.get("spec", "displayName"), "the status subresource changed the spec");

    named.patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\":{\"state\":\"Rejected\"}}");
    assertEquals("Accepted", named.get().get("status", "state"), "the main resource changed the status");

    // What kubectl get vs shows: the server's table with the CRD's printer columns.
    JsonNode table = JSON.readTree(get(ns, "virtualservices", "with-status",
        "application/json;as=Table;v=v1;g=meta.k8s.io"));
    List<String> columns = new ArrayList<>();
    table.get("columnDefinitions").forEach(c -> columns.add(c.get("name").asText()));
    assertEquals(List.of("Name", "State", "Shards", "Age"), columns, table::toString);
    JsonNode cells = table.get("rows").get(0).get("cells");
    assertEquals("with-status", cells.get(0).asText());
    assertEquals("Accepted", cells.get(1).asText());
    assertTrue(cells.get(2).asText().contains("gateway-proxy"), table::toString);
  }

  /** What docs/kubernetes.md says of fields the schema lacks: kubectl's strict validation refuses, others prune. */
  @Test
  void unknownFieldIsRefusedUnderStrictValidationAndPrunedWithout() throws Exception {
    String ns = namespace("unknown-fields");
    String body = "{\"apiVersion\":\"gateway.solo.io/v1\",\"kind\":\"Gateway\",\"metadata\":{\"name\":\"NAME\"},"
        + "\"spec\":{\"bindPort\":8080,\"bind_address\":\"::\"}}";
    HttpResponse<String> strict = post(ns, "gateways?fieldValidation=Strict", body.replace("NAME", "strict"));
    assertEquals(400, strict.code(), strict::body);
    assertTrue(strict.body().contains("unknown field \\\"spec.bind_address\\\""), strict::body);

    HttpResponse<String> lax = post(ns, "gateways?fieldValidation=Ignore", body.replace("NAME", "lax"));
    assertEquals(201, lax.code(), lax::body);
    assertEquals(Map.of("bindPort", 8080), resources(parse(gateway("bindPort: 1"))).inNamespace(ns).withName("lax")
        .get().getAdditionalProperties().get("spec"));
  }

  @Test
  void proxyHasNoStatusSubresource() {
    KubernetesClient client = KUBE.client();
    CustomResourceDefinition proxy = client.apiextensions().v1().customResourceDefinitions()
        .withName("proxies.gloo.solo.io").get();
    assertNull(proxy.getSpec().getVersions().get(0).getSubresources());
    CustomResourceDefinition vs = client.apiextensions().v1().customResourceDefinitions()
        .withName("virtualservices.gateway.solo.io").get();
    assertTrue(vs.getSpec().getVersions().get(0).getSubresources().getStatus() != null);
    assertEquals(List.of("vs", "gvs"), vs.getSpec().getNames().getShortNames());
  }

  // ------------------------------------------------------------------ helpers

  /**
   * Creates every Gloo document of {@code text} and checks that the server stored its spec as written. A document in
   * Gloo's flat directory form (metadata beside the spec fields, no kind) becomes a {@code flatKind} resource. The
   * namespace gets {@code nsPrefix}, so that the test methods' documents do not collide.
   */
  private static int applyAll(String text, String origin, CrdGenerator.Kind flatKind, String nsPrefix)
      throws Exception {
    int count = 0;
    int index = 0;
    for (Object loaded : new Yaml().loadAll(text)) {
      index++;
      if (!(loaded instanceof Map<?, ?> raw)) {
        continue;
      }
      Map<?, ?> doc = raw.containsKey("kind") || flatKind == null ? raw : resourceOf(flatKind, raw);
      if (!String.valueOf(doc.get("apiVersion")).matches("(gateway|gloo)\\.solo\\.io/v1")) {
        continue;
      }
      GenericKubernetesResource r = KUBE.client().getKubernetesSerialization().convertValue(doc,
          GenericKubernetesResource.class);
      String ns = namespace(nsPrefix + (r.getMetadata().getNamespace() == null ? "default"
          : r.getMetadata().getNamespace()));
      r.getMetadata().setNamespace(ns);
      String where = origin + " document " + index + " (" + r.getKind() + " " + ns + "/" + r.getMetadata().getName()
          + ")";
      GenericKubernetesResource stored;
      try {
        stored = resources(r).inNamespace(ns).resource(r).create();
      } catch (KubernetesClientException refused) {
        return fail("the API server refused " + where + ": " + refused.getMessage());
      }
      assertEquals(JSON.valueToTree(doc.get("spec")), JSON.valueToTree(stored.getAdditionalProperties().get("spec")),
          () -> "the API server did not store the spec of " + where + " as written (a field the schema lacks is"
              + " pruned)");
      count++;
    }
    return count;
  }

  private static Map<String, Object> resourceOf(CrdGenerator.Kind kind, Map<?, ?> flat) {
    Map<String, Object> spec = new LinkedHashMap<>();
    flat.forEach((k, v) -> {
      if (!"metadata".equals(k)) {
        spec.put(String.valueOf(k), v);
      }
    });
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("apiVersion", kind.group() + "/v1");
    doc.put("kind", kind.kind());
    doc.put("metadata", flat.get("metadata"));
    doc.put("spec", spec);
    return doc;
  }

  private static MixedOperation<GenericKubernetesResource, GenericKubernetesResourceList,
      Resource<GenericKubernetesResource>> resources(GenericKubernetesResource r) {
    return KUBE.client().genericKubernetesResources(r.getApiVersion(), r.getKind());
  }

  private static GenericKubernetesResource parse(String yaml) {
    return KUBE.client().getKubernetesSerialization().unmarshal(yaml, GenericKubernetesResource.class);
  }

  private static String doc(String apiVersion, String kind, String spec) {
    return "apiVersion: " + apiVersion + "\nkind: " + kind + "\nmetadata: {name: NAME}\nspec: {" + spec + "}\n";
  }

  private static String gateway(String spec) {
    return doc("gateway.solo.io/v1", "Gateway", spec);
  }

  private static String virtualService(String virtualHost) {
    return doc("gateway.solo.io/v1", "VirtualService", "virtualHost: {" + virtualHost + "}");
  }

  private static synchronized String namespace(String name) {
    if (NAMESPACES.add(name) && KUBE.client().namespaces().withName(name).get() == null) {
      KUBE.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata()
          .build()).create();
    }
    return name;
  }

  private static String resource(String path) throws IOException {
    try (InputStream in = KubeCrdSchemaTest.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IOException("no test resource " + path);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** A GET with an Accept header, through the client's own HTTP client (its credentials, the server's CA). */
  private static String get(String ns, String plural, String name, String accept) throws Exception {
    KubernetesClient client = KUBE.client();
    HttpRequest request = client.getHttpClient().newHttpRequestBuilder()
        .uri(KUBE.serverUrl() + "/apis/gateway.solo.io/v1/namespaces/" + ns + "/" + plural + "/" + name)
        .header("Accept", accept).build();
    HttpResponse<String> response = client.getHttpClient().sendAsync(request, String.class)
        .get(BOUND.toSeconds(), TimeUnit.SECONDS);
    assertEquals(200, response.code(), response::body);
    return response.body();
  }

  private static HttpResponse<String> post(String ns, String pathAndQuery, String json) throws Exception {
    KubernetesClient client = KUBE.client();
    HttpRequest request = client.getHttpClient().newHttpRequestBuilder()
        .uri(KUBE.serverUrl() + "/apis/gateway.solo.io/v1/namespaces/" + ns + "/" + pathAndQuery)
        .post("application/json", json).build();
    return client.getHttpClient().sendAsync(request, String.class).get(BOUND.toSeconds(), TimeUnit.SECONDS);
  }

}
