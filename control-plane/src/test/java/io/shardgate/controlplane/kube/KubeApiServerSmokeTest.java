package io.shardgate.controlplane.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.VersionInfo;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Kubernetes test tier's base, against the real kube-apiserver and etcd that {@link KubeApiServerExtension}
 * starts: the server is the version we built, and what later Kubernetes-mode tests rely on behaves as on a cluster:
 * namespaces and ConfigMaps, a CRD with a structural schema and a status subresource, schema violations refused by
 * the server, and an informer's add, update and delete events.
 */
class KubeApiServerSmokeTest {

  private static final Duration BOUND = Duration.ofSeconds(30);
  private static final String WIDGETS = "widgets.test.shardgate.io";

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension();

  @Test
  void serverIsTheVersionTheScriptBuilt() {
    VersionInfo version = KUBE.client().getKubernetesVersion();
    assertEquals("v1.34.4", version.getGitVersion(), version::toString);
    assertEquals("1", version.getMajor());
    assertEquals("34", version.getMinor());
  }

  @Test
  void namespaceAndConfigMapAreStoredAndUpdated() {
    KubernetesClient client = KUBE.client();
    String ns = createNamespace("smoke-configmaps");
    ConfigMap created = client.configMaps().inNamespace(ns).resource(new ConfigMapBuilder()
        .withNewMetadata().withName("settings").addToLabels("team", "payments").endMetadata()
        .addToData("mode", "sharded").build()).create();

    ConfigMap read = client.configMaps().inNamespace(ns).withName("settings").get();
    assertEquals(Map.of("mode", "sharded"), read.getData());
    assertEquals(Map.of("team", "payments"), read.getMetadata().getLabels());
    assertEquals(created.getMetadata().getUid(), read.getMetadata().getUid());

    ConfigMap updated = client.configMaps().inNamespace(ns).withName("settings")
        .edit(cm -> new ConfigMapBuilder(cm).addToData("mode", "edge").build());
    assertNotEquals(created.getMetadata().getResourceVersion(), updated.getMetadata().getResourceVersion());
    assertEquals(Map.of("mode", "edge"), client.configMaps().inNamespace(ns).withName("settings").get().getData());
    assertEquals(List.of("settings"), client.configMaps().inNamespace(ns).withLabel("team", "payments").list()
        .getItems().stream().map(cm -> cm.getMetadata().getName()).toList());
  }

  @Test
  void customResourceHasAStatusSubresourceAndTheServerEnforcesItsSchema() throws Exception {
    KubernetesClient client = KUBE.client();
    String ns = createNamespace("smoke-widgets");
    CustomResourceDefinition crd;
    try (InputStream yaml = getClass().getResourceAsStream("/kube/widget-crd.yaml")) {
      crd = client.apiextensions().v1().customResourceDefinitions().load(yaml).create();
    }
    awaitValue("CRD " + WIDGETS + " Established",
        () -> client.apiextensions().v1().customResourceDefinitions().withName(WIDGETS).get(),
        KubeApiServerSmokeTest::established);
    MixedOperation<GenericKubernetesResource, GenericKubernetesResourceList, Resource<GenericKubernetesResource>>
        widgets = client.genericKubernetesResources(CustomResourceDefinitionContext.fromCrd(crd));

    GenericKubernetesResource created = widgets.inNamespace(ns).resource(widget("w1", Map.of("size", 3))).create();
    assertEquals(1L, created.getMetadata().getGeneration());

    // Through the status subresource the status changes and the spec does not, nor does the generation.
    Resource<GenericKubernetesResource> w1 = widgets.inNamespace(ns).withName("w1");
    w1.subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE),
        "{\"spec\":{\"size\":9},\"status\":{\"phase\":\"Ready\",\"observedGeneration\":1}}");
    GenericKubernetesResource afterStatus = w1.get();
    assertEquals("Ready", afterStatus.get("status", "phase"));
    assertEquals(3, (Integer) afterStatus.get("spec", "size"));
    assertEquals(1L, afterStatus.getMetadata().getGeneration());

    // Through the main resource the spec changes (a new generation) and the status does not.
    w1.patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"size\":4},\"status\":{\"phase\":\"Broken\"}}");
    GenericKubernetesResource afterSpec = w1.get();
    assertEquals(4, (Integer) afterSpec.get("spec", "size"));
    assertEquals("Ready", afterSpec.get("status", "phase"));
    assertEquals(2L, afterSpec.getMetadata().getGeneration());

    assertRefused(widgets, ns, widget("wrong-type", Map.of("size", "three")), "spec.size", "must be of type integer");
    assertRefused(widgets, ns, widget("too-big", Map.of("size", 11)), "spec.size", "less than or equal to 10");
    assertRefused(widgets, ns, widget("no-size", Map.of("color", "red")), "spec.size", "Required value");
    assertRefused(widgets, ns, widget("odd-color", Map.of("size", 1, "color", "purple")), "spec.color",
        "Unsupported value");
    List<String> stored = widgets.inNamespace(ns).list().getItems().stream().map(w -> w.getMetadata().getName())
        .toList();
    assertEquals(List.of("w1"), stored, "a refused widget must not be stored");

    // A field the schema does not have is pruned by the server, not stored.
    widgets.inNamespace(ns).resource(widget("pruned", Map.of("size", 2, "weight", 5))).create();
    Map<String, Object> spec = widgets.inNamespace(ns).withName("pruned").get().get("spec");
    assertEquals(Map.of("size", 2), spec);
  }

  @Test
  void configMapInformerReceivesAddUpdateAndDelete() throws Exception {
    KubernetesClient client = KUBE.client();
    String ns = createNamespace("smoke-informer");
    BlockingQueue<String> events = new LinkedBlockingQueue<>();
    ResourceEventHandler<ConfigMap> handler = new ResourceEventHandler<>() {
      @Override
      public void onAdd(ConfigMap cm) {
        events.add("add " + describe(cm));
      }

      @Override
      public void onUpdate(ConfigMap before, ConfigMap after) {
        events.add("update " + describe(before) + " -> " + describe(after));
      }

      @Override
      public void onDelete(ConfigMap cm, boolean finalStateUnknown) {
        events.add("delete " + describe(cm) + (finalStateUnknown ? " (final state unknown)" : ""));
      }
    };
    try (SharedIndexInformer<ConfigMap> informer = client.configMaps().inNamespace(ns).inform(handler, 0)) {
      awaitValue("the informer's first list", informer::hasSynced, Boolean::booleanValue);

      client.configMaps().inNamespace(ns).resource(configMap("watched", "1")).create();
      assertEquals("add watched v=1", nextEvent(events, "watched"));

      client.configMaps().inNamespace(ns).withName("watched")
          .edit(cm -> new ConfigMapBuilder(cm).addToData("v", "2").build());
      assertEquals("update watched v=1 -> watched v=2", nextEvent(events, "watched"));

      assertFalse(client.configMaps().inNamespace(ns).withName("watched").delete().isEmpty());
      assertEquals("delete watched v=2", nextEvent(events, "watched"));
      assertTrue(informer.getStore().list().stream().noneMatch(cm -> "watched".equals(cm.getMetadata().getName())),
          "the informer's store still holds the deleted ConfigMap");
    }
  }

  private static String createNamespace(String name) {
    KUBE.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata()
        .build()).create();
    return name;
  }

  private static GenericKubernetesResource widget(String name, Map<String, Object> spec) {
    return new GenericKubernetesResourceBuilder().withApiVersion("test.shardgate.io/v1").withKind("Widget")
        .withNewMetadata().withName(name).endMetadata()
        .addToAdditionalProperties("spec", spec).build();
  }

  private static ConfigMap configMap(String name, String value) {
    return new ConfigMapBuilder().withNewMetadata().withName(name).endMetadata().addToData("v", value).build();
  }

  private static String describe(ConfigMap cm) {
    return cm.getMetadata().getName() + " v=" + cm.getData().get("v");
  }

  private static boolean established(CustomResourceDefinition crd) {
    return crd.getStatus() != null && crd.getStatus().getConditions() != null && crd.getStatus().getConditions().stream()
        .anyMatch(c -> "Established".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  /** Creating {@code widget} fails with 422 Unprocessable Entity and a message naming the field and the rule. */
  private static void assertRefused(
      MixedOperation<GenericKubernetesResource, GenericKubernetesResourceList, Resource<GenericKubernetesResource>>
          widgets, String ns, GenericKubernetesResource widget, String field, String rule) {
    KubernetesClientException refused = assertThrows(KubernetesClientException.class,
        () -> widgets.inNamespace(ns).resource(widget).create(),
        () -> "the server accepted " + widget.getMetadata().getName() + ": " + widget.getAdditionalProperties());
    assertEquals(422, refused.getCode(), refused::getMessage);
    assertTrue(refused.getMessage().contains(field) && refused.getMessage().contains(rule),
        () -> "expected '" + field + "' and '" + rule + "' in: " + refused.getMessage());
  }

  /** The next event about {@code name} within the bound (events about other ConfigMaps are passed over). */
  private static String nextEvent(BlockingQueue<String> events, String name) throws InterruptedException {
    long deadline = System.nanoTime() + BOUND.toNanos();
    List<String> passedOver = new ArrayList<>();
    while (System.nanoTime() - deadline < 0) {
      String event = events.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
      if (event != null && event.matches("\\w+ " + name + " .*")) {
        return event;
      }
      if (event != null) {
        passedOver.add(event);
      }
    }
    return fail("no informer event about " + name + " within " + BOUND + "; other events: " + passedOver);
  }

  /** Polls {@code probe} until {@code done} holds; fails with the last value seen after the bound. */
  private static <T> T awaitValue(String what, Supplier<T> probe, Predicate<T> done) throws InterruptedException {
    long deadline = System.nanoTime() + BOUND.toNanos();
    T last = null;
    while (System.nanoTime() - deadline < 0) {
      last = probe.get();
      if (last != null && done.test(last)) {
        return last;
      }
      Thread.sleep(100);
    }
    return fail("not reached within " + BOUND + ": " + what + "; last seen: " + last);
  }
}
