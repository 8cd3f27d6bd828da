package io.shardgate.controlplane.kube;

import static io.shardgate.controlplane.kube.StatusStack.BOUND;
import static io.shardgate.controlplane.kube.StatusStack.namespacedStatus;
import static io.shardgate.controlplane.kube.StatusStack.resources;
import static io.shardgate.controlplane.kube.StatusStack.status;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The status writer against the real kube-apiserver, fed by the real Kubernetes source and pipeline: Accepted,
 * Warning and Rejected statuses with per-proxy sub-statuses land on the objects through the status subresource, a
 * pass that changes no status writes nothing, a real 409 Conflict is retried by re-reading the object, and Proxy
 * objects are written only with Settings {@code gateway.persistProxySpec}, compressed as Gloo does with
 * {@code gateway.compressedProxySpec}, and deleted when no longer asked for.
 */
class KubernetesStatusWriterTest {

  private static final String SUB = "*v1.Proxy.gateway-proxy-a_gloo-system";

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension();

  private static final String[][] OBJECTS = {
      {"Gateway", "gloo-system", "gw-a"}, {"Upstream", "team", "echo"}, {"VirtualService", "team", "good"},
      {"VirtualService", "team", "warned"}, {"VirtualService", "team", "broken"}};

  private StatusStack stack;

  @BeforeAll
  static void installCrdsAndObjects() throws Exception {
    KubernetesClient client = KUBE.client();
    KubeCrdSchemaTest.install(client);
    StatusStack.createTeam(client);
    StatusStack.create(client, StatusStack.vs("good", "good.example.com", ""));
    StatusStack.create(client, StatusStack.vs("warned", "warned.example.com", """
                options:
                  retries: {retryOn: 5xx}
            """));
    // The schema leaves oneofs to the decoder: both a prefix and an exact path is stored, then rejected.
    StatusStack.create(client, """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: broken, namespace: team, labels: {shard: a}}
        spec:
          virtualHost:
            domains: [broken.example.com]
            routes:
            - matchers: [{prefix: /b, exact: /b}]
              directResponseAction: {status: 200}
        """);
  }

  @AfterEach
  void closeStack() {
    if (stack != null) {
      stack.close();
    }
  }

  @Test
  void statusesLandOnTheObjectsAndAPassThatChangesNoStatusWritesNothing() throws Exception {
    KubernetesClient client = KUBE.client();
    // Whatever another test's writer left is wiped: this writer must write every status itself.
    for (String[] o : OBJECTS) {
      GenericKubernetesResource r = resources(client, o[0]).inNamespace(o[1]).withName(o[2]).get();
      r.getAdditionalProperties().remove("status");
      resources(client, o[0]).inNamespace(o[1]).resource(r).updateStatus();
    }
    stack = StatusStack.active(KUBE.kubeconfig());
    KubeWaits.await(BOUND, "the statuses of the three VirtualServices", () -> statuses(client),
        () -> "Accepted".equals(state(client, "good")) && "Warning".equals(state(client, "warned"))
            && "Rejected".equals(state(client, "broken")));

    Map<String, Object> good = status(client, "VirtualService", "team", "good");
    assertEquals("Accepted", good.get("state"), "the printer column's state");
    assertEquals(List.of("gateway-proxy-a"), good.get("proxies"), "the printer column's shards");
    Map<String, Object> ns = namespacedStatus(client, "VirtualService", "team", "good", "gloo-system");
    assertEquals("gateway", ns.get("reportedBy"));
    assertEquals(Map.of(SUB, Map.of("state", "Accepted", "reportedBy", "gloo")), ns.get("subresourceStatuses"));
    Map<String, Object> warned = namespacedStatus(client, "VirtualService", "team", "warned", "gloo-system");
    assertTrue(String.valueOf(warned.get("reason")).contains("retries"), warned::toString);
    assertTrue(((Map<?, ?>) warned.get("subresourceStatuses")).containsKey(SUB), warned::toString);
    Map<String, Object> broken = namespacedStatus(client, "VirtualService", "team", "broken", "gloo-system");
    assertTrue(String.valueOf(broken.get("reason")).contains("exact"), broken::toString);
    KubeWaits.await(BOUND, "the Upstream's and the Gateway's statuses", () -> statuses(client),
        () -> "gloo".equals(namespacedStatus(client, "Upstream", "team", "echo", "gloo-system").get("reportedBy"))
            && "gateway".equals(
                namespacedStatus(client, "Gateway", "gloo-system", "gw-a", "gloo-system").get("reportedBy")));

    KubeWaits.await(BOUND, "every write counted (once its API call returned)", () -> "writes "
        + stack.writer.writes(), () -> stack.writer.writes() >= OBJECTS.length);

    // A metadata edit: a new resourceVersion and a new pass, but no status changes, so nothing is written.
    awaitWriterCaughtUp();
    long writes = stack.writer.writes();
    resources(client, "VirtualService").inNamespace("team").withName("good").edit(r -> {
      r.getMetadata().setAnnotations(Map.of("edited", "yes"));
      return r;
    });
    KubeWaits.await(BOUND, "a pass with the edited VirtualService", () -> originOfGood(),
        () -> originOfGood().equals("VirtualService team/good@" + resourceVersion(client, "good")));
    awaitWriterCaughtUp();
    assertEquals(writes, stack.writer.writes(), "a pass that changes no status writes nothing");
    assertEquals(0, stack.writer.failures());
  }

  @Test
  void aConflictIsRetriedByReReadingTheObject() throws Exception {
    stack = StatusStack.active(KUBE.kubeconfig());
    KubernetesClient client = KUBE.client();
    AtomicInteger interfered = new AtomicInteger();
    ResourceKey contested = new ResourceKey(Kind.VIRTUAL_SERVICE, "team", "contested");
    // Between the writer's read and its write, someone else updates the object: the write carries a stale
    // resourceVersion and the API server answers 409 Conflict.
    stack.writer.beforeWrite((key, read) -> {
      if (key.equals(contested) && interfered.getAndIncrement() == 0) {
        resources(client, "VirtualService").inNamespace("team").withName("contested").edit(r -> {
          r.getMetadata().setAnnotations(Map.of("touched-by", "someone-else"));
          return r;
        });
      }
    });
    long conflicts = stack.writer.conflicts();
    StatusStack.create(client, StatusStack.vs("contested", "contested.example.com", ""));
    KubeWaits.await(BOUND, "the contested VirtualService's status", () -> statuses(client),
        () -> "Accepted".equals(state(client, "contested")));
    assertTrue(interfered.get() >= 1, "the hook ran");
    assertTrue(stack.writer.conflicts() > conflicts, () -> "conflicts " + stack.writer.conflicts());
    System.out.printf("status writer: %d conflict(s) retried, %d writes%n", stack.writer.conflicts(),
        stack.writer.writes());
  }

  @Test
  void proxiesAreWrittenOnlyWithPersistProxySpecCompressedWhenAskedAndDeletedWhenStale() throws Exception {
    stack = StatusStack.active(KUBE.kubeconfig());
    KubernetesClient client = KUBE.client();
    awaitWriterCaughtUp();
    assertNull(proxy(client), "no Proxy object without gateway.persistProxySpec");
    assertEquals(0, stack.writer.proxyWrites());
    try {
      StatusStack.create(client, """
          apiVersion: gloo.solo.io/v1
          kind: Settings
          metadata: {name: default, namespace: gloo-system}
          spec:
            discoveryNamespace: gloo-system
            gateway: {persistProxySpec: true}
          """);
      KubeWaits.await(BOUND, "the Proxy object", () -> "" + proxy(client), () -> proxy(client) != null);
      GenericKubernetesResource plain = proxy(client);
      assertEquals("shardgate", plain.getMetadata().getLabels().get("created_by"));
      assertNull(plain.getMetadata().getAnnotations() == null ? null
          : plain.getMetadata().getAnnotations().get("gloo.solo.io/compress"));
      @SuppressWarnings("unchecked")
      Map<String, Object> spec = (Map<String, Object>) plain.getAdditionalProperties().get("spec");
      assertTrue(String.valueOf(spec.get("listeners")).contains("good.example.com"), spec::toString);

      editSettingsGateway(client, Map.of("persistProxySpec", true, "compressedProxySpec", true));
      KubeWaits.await(BOUND, "the compressed Proxy object", () -> "" + proxy(client), () -> {
        GenericKubernetesResource p = proxy(client);
        return p != null && p.getMetadata().getAnnotations() != null
            && "true".equals(p.getMetadata().getAnnotations().get("gloo.solo.io/compress"));
      });
      @SuppressWarnings("unchecked")
      Map<String, Object> compressed = (Map<String, Object>) proxy(client).getAdditionalProperties().get("spec");
      assertEquals(List.of("compressedSpec"), List.copyOf(compressed.keySet()));
      String json = inflate(Base64.getDecoder().decode(String.valueOf(compressed.get("compressedSpec"))));
      assertEquals(client.getKubernetesSerialization().unmarshal(client.getKubernetesSerialization().asJson(spec),
          Object.class), client.getKubernetesSerialization().unmarshal(json, Object.class),
          "the compressed spec is the zlib of the spec's JSON, in base64");

      editSettingsGateway(client, Map.of("persistProxySpec", false));
      KubeWaits.await(BOUND, "the stale Proxy object deleted", () -> "" + proxy(client), () -> proxy(client) == null);
      // Counted once the delete call returned, which can be after this test's client no longer finds the Proxy.
      KubeWaits.await(BOUND, "the delete counted", () -> "deletes " + stack.writer.proxyDeletes(),
          () -> stack.writer.proxyDeletes() >= 1);
      System.out.printf("Proxy objects: %d written, %d deleted; compressed spec %d bytes for %d bytes of JSON%n",
          stack.writer.proxyWrites(), stack.writer.proxyDeletes(), String.valueOf(compressed.get("compressedSpec"))
              .length(), json.length());
    } finally {
      resources(client, "Settings").inNamespace("gloo-system").withName("default").delete();
    }
  }

  // ---- helpers ----

  private static GenericKubernetesResource proxy(KubernetesClient client) {
    return client.genericKubernetesResources("gloo.solo.io/v1", "Proxy").inNamespace("gloo-system")
        .withName("gateway-proxy-a").get();
  }

  @SuppressWarnings("unchecked")
  private static void editSettingsGateway(KubernetesClient client, Map<String, Object> gateway) {
    resources(client, "Settings").inNamespace("gloo-system").withName("default").edit(r -> {
      ((Map<String, Object>) r.getAdditionalProperties().get("spec")).put("gateway", gateway);
      return r;
    });
  }

  private static String inflate(byte[] zlib) throws DataFormatException {
    Inflater inflater = new Inflater();
    try {
      inflater.setInput(zlib);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      while (!inflater.finished()) {
        out.write(buf, 0, inflater.inflate(buf));
      }
      return out.toString(StandardCharsets.UTF_8);
    } finally {
      inflater.end();
    }
  }

  private void awaitWriterCaughtUp() throws InterruptedException {
    KubeWaits.await(BOUND, "the writer to check the latest translation", () -> "writer rounds "
        + stack.writer.rounds(), () -> {
          Translation t = stack.pipeline.latest();
          return t != null && stack.writer.lastRound() == t;
        });
  }

  private String originOfGood() {
    Translation t = stack.pipeline.latest();
    return t == null ? "" : t.gateway().statuses().get(new ResourceKey(Kind.VIRTUAL_SERVICE, "team", "good"))
        .origin();
  }

  private static String resourceVersion(KubernetesClient client, String name) {
    return resources(client, "VirtualService").inNamespace("team").withName(name).get().getMetadata()
        .getResourceVersion();
  }

  private static String state(KubernetesClient client, String vs) {
    return String.valueOf(namespacedStatus(client, "VirtualService", "team", vs, "gloo-system").get("state"));
  }

  private static String statuses(KubernetesClient client) {
    StringBuilder out = new StringBuilder();
    for (String vs : List.of("good", "warned", "broken", "contested")) {
      out.append(vs).append('=').append(status(client, "VirtualService", "team", vs)).append("; ");
    }
    return out.toString();
  }
}
