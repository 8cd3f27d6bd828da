package io.shardgate.controlplane.kube;

import static io.shardgate.controlplane.kube.StatusStack.BOUND;
import static io.shardgate.controlplane.kube.StatusStack.namespacedStatus;
import static io.shardgate.controlplane.kube.StatusStack.resources;
import static io.shardgate.controlplane.kube.StatusStack.status;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The status writer against the real kube-apiserver, fed by the real Kubernetes source and pipeline: Accepted,
 * Warning and Rejected statuses with per-proxy sub-statuses land on the objects through the status subresource, a
 * pass that changes no status writes nothing, and a real 409 Conflict is retried by re-reading the object.
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
    for (String ns : List.of("gloo-system", "team")) {
      client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
          .create();
    }
    StatusStack.create(client, StatusStack.GATEWAY);
    StatusStack.create(client, StatusStack.UPSTREAM);
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

    assertTrue(stack.writer.writes() >= OBJECTS.length, () -> "writes " + stack.writer.writes());

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

  // ---- helpers ----

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
