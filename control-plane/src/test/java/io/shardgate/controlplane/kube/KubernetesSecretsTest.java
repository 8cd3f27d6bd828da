package io.shardgate.controlplane.kube;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.shardgate.controlplane.metrics.ShardgateMetrics;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.PipelineObserver;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.pipeline.TranslationEngine;
import io.shardgate.controlplane.source.KubernetesSource;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.secret.KubeSecret;
import io.shardgate.sharding.secret.SecretState;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * The Kubernetes source's Secrets on the real kube-apiserver: {@code kubernetes.io/tls} Secrets and Gloo's own TLS
 * secrets (Opaque, annotated {@code resource_kind: '*v1.Secret'}, a {@code tls} entry) reach
 * {@link ConfigInput#secrets()}; an unrelated Opaque Secret, a service-account token, a Helm release and Gloo's
 * non-TLS secrets do not. Create, rotation and delete are one delivery each, with the very documents and endpoints of
 * the delivery before, and the real pipeline translates nothing for them. A labels-only update or a resync keeps the
 * Secret's object and delivers nothing. The key material appears in no log line (everything the source and fabric8
 * log at DEBUG is captured) and in no {@code toString}.
 */
class KubernetesSecretsTest {

  private static final Duration BOUND = Duration.ofSeconds(30);
  /** Short, so that the test sees resyncs re-announce every object. */
  private static final Duration RESYNC = Duration.ofSeconds(1);
  private static final String MARK = "KEY-MATERIAL-" + UUID.randomUUID();

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension();

  private final List<ConfigInput> inputs = new CopyOnWriteArrayList<>();
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  private final List<Logger> debugged = List.of((Logger) LoggerFactory.getLogger("io.shardgate"),
      (Logger) LoggerFactory.getLogger("io.fabric8"));
  /** Their configured levels (logback-test.xml sets some), restored after each test for the tests that follow. */
  private final Map<Logger, Level> configuredLevels = new HashMap<>();
  private final List<String> material = new ArrayList<>();
  private KubernetesSource source;
  private static int barrier;

  @BeforeAll
  static void installCrdsAndNamespaces() throws Exception {
    KubernetesClient client = KUBE.client();
    KubeCrdSchemaTest.install(client);
    for (String ns : List.of("gloo-system", "shop", "inside", "outside")) {
      client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
          .create();
    }
  }

  @AfterEach
  void stop() {
    if (source != null) {
      source.close();
    }
    root.detachAppender(logs);
    configuredLevels.forEach(Logger::setLevel);
    configuredLevels.clear();
  }

  @Test
  void tlsAndGlooTlsSecretsAreDeliveredOthersAreNotAndSecretOnlyChangesTranslateNothing() throws Exception {
    startCapturingLogs();
    tlsSecret("shop", "web-tls", "v1");
    String glooTls = "certChain: |\n  -----BEGIN CERTIFICATE-----\n  " + mark("gloo-cert")
        + "\n  -----END CERTIFICATE-----\nprivateKey: |\n  " + mark("gloo-key") + "\n";
    material.add(Base64.getEncoder().encodeToString(glooTls.getBytes(StandardCharsets.UTF_8)));
    secret("shop", "gloo-tls", "Opaque", Map.of(KubernetesSource.GLOO_KIND_ANNOTATION, "*v1.Secret"),
        Map.of("tls", glooTls));
    secret("shop", "db-password", "Opaque", Map.of(), Map.of("password", mark("db")));
    secret("shop", "gloo-aws", "Opaque", Map.of(KubernetesSource.GLOO_KIND_ANNOTATION, "*v1.Secret"),
        Map.of("aws_access_key_id", mark("aws-id"), "aws_secret_access_key", mark("aws-key")));
    secret("shop", "builder-token", "kubernetes.io/service-account-token",
        Map.of("kubernetes.io/service-account.name", "builder"), Map.of("token", mark("token")));
    secret("shop", "sh.helm.release.v1.web.v1", "helm.sh/release.v1", Map.of(), Map.of("release", mark("helm")));

    TranslationEngine engine = new TranslationEngine();
    ShardPipeline pipeline = new ShardPipeline(new ShardSnapshotCache(), null, PipelineObserver.NONE, engine);
    source = new KubernetesSource(KUBE.client(), RESYNC, input -> {
      inputs.add(input);
      pipeline.accept(input);
    });
    source.start();
    await("the first delivery", () -> !inputs.isEmpty());
    SecretState first = last().secrets();
    assertEquals(Set.of("shop/gloo-tls", "shop/web-tls"), Set.copyOf(first.secrets().keySet().stream()
        .filter(k -> k.startsWith("shop/")).toList()), "only the TLS Secret and Gloo's TLS secret are kept");
    KubeSecret web = first.of("shop", "web-tls");
    assertEquals("kubernetes.io/tls", web.type());
    assertEquals(Set.of("ca.crt", "tls.crt", "tls.key"), web.keys());
    assertArrayEquals(pem("v1", "tls.key").getBytes(StandardCharsets.UTF_8), web.value("tls.key"));
    assertTrue(web.origin().startsWith("Secret shop/web-tls@"), web.origin());
    assertEquals(glooTls, first.of("shop", "gloo-tls").text("tls"));
    assertEquals("Opaque", first.of("shop", "gloo-tls").type());
    int elsewhere = first.secrets().size() - 2; // the other test's, when it ran first
    assertEquals(first.secrets().size(), source.objectCounts().get("Secret"));
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new ShardgateMetrics(registry, new ShardSnapshotCache()).bindSource(source);
    assertTrue(registry.scrape().contains("\nshardgate_source_kubernetes_objects{kind=\"Secret\"} "
        + first.secrets().size() + ".0"),
        registry::scrape);

    // Labels on a kept Secret, labels on an unrelated one, a few resyncs: nothing is delivered, the object stays.
    long unchanged = source.unchangedUpdates();
    int delivered = inputs.size();
    KUBE.client().secrets().inNamespace("shop").withName("web-tls").edit(s -> {
      s.getMetadata().setLabels(Map.of("team", "web"));
      return s;
    });
    KUBE.client().secrets().inNamespace("shop").withName("db-password").edit(s -> {
      s.getMetadata().setLabels(Map.of("team", "db"));
      return s;
    });
    await("resyncs of the kept Secrets", () -> source.unchangedUpdates() >= unchanged + 6);
    assertBarrierIsTheOnlyDelivery(delivered);
    assertSame(web, last().secrets().of("shop", "web-tls"), "a labels-only update keeps the Secret's object");

    // A rotation: one delivery, the same documents and endpoints; the pipeline translates nothing.
    ConfigInput before = last();
    long fullPasses = engine.fullPasses();
    tlsSecretData("web-tls", "v2");
    await("the rotated certificate", () -> pem("v2", "tls.crt").equals(last().secrets().of("shop", "web-tls")
        .text("tls.crt")));
    ConfigInput rotated = last();
    assertEquals(before.documents().size(), rotated.documents().size());
    for (int i = 0; i < before.documents().size(); i++) {
      assertSame(before.documents().get(i), rotated.documents().get(i), "a Secret change leaves the documents");
    }
    assertEquals(Set.of(), rotated.endpoints().changedSince(before.endpoints()));
    assertEquals(Set.of("shop/web-tls"), rotated.secrets().changedSince(before.secrets()));
    assertSame(before.secrets().of("shop", "gloo-tls"), rotated.secrets().of("shop", "gloo-tls"));
    assertNotSame(web, rotated.secrets().of("shop", "web-tls"));
    await("the pipeline's pass over the rotation", () -> pipeline.latest().input() == rotated);
    assertEquals(fullPasses, engine.fullPasses(), "a Secret-only change runs no full translation");
    assertTrue(pipeline.latest().endpointsOnly());
    assertEquals(Set.of(), pipeline.latest().translated(), "no shard is translated or pushed");
    assertBarrierIsTheOnlyDelivery(inputs.size());

    // A Gloo secret that loses its annotation is no longer one; a deleted TLS Secret is gone.
    KUBE.client().secrets().inNamespace("shop").withName("gloo-tls").edit(s -> {
      s.getMetadata().setAnnotations(Map.of());
      return s;
    });
    KUBE.client().secrets().inNamespace("shop").withName("web-tls").delete();
    await("both gone", () -> last().secrets().secrets().keySet().stream().noneMatch(
        k -> k.equals("shop/web-tls") || k.equals("shop/gloo-tls")));
    assertEquals(elsewhere + countBarriers(), source.objectCounts().get("Secret"));

    assertNoMaterialIn("the toString of every delivered input", inputs.toString());
    assertNoMaterialIn("the toString of a Secret", rotated.secrets().toString() + web);
    assertTrue(web.toString().contains("tls.key=<"), web::toString);
    List<String> lines = new ArrayList<>();
    for (ILoggingEvent e : List.copyOf(logs.list)) {
      lines.add(e.getFormattedMessage());
      if (e.getThrowableProxy() != null) {
        lines.add(ThrowableProxyUtil.asString(e.getThrowableProxy()));
      }
    }
    assertTrue(lines.stream().anyMatch(l -> l.contains("TLS Secrets [delivery")), "the source's logs were captured");
    assertNoMaterialIn(lines.size() + " log lines", String.join("\n", lines));
  }

  @Test
  void secretsAreReadOnlyInTheWatchedNamespaces() throws Exception {
    tlsSecret("outside", "elsewhere", "v1");
    tlsSecret("inside", "scoped", "v1");
    create("""
        apiVersion: gloo.solo.io/v1
        kind: Settings
        metadata:
          name: default
          namespace: gloo-system
        spec:
          watchNamespaces: [inside]
        """);
    try {
      source = new KubernetesSource(KUBE.client(), inputs::add);
      source.start();
      await("the scoped Secret", () -> !inputs.isEmpty() && last().secrets().of("inside", "scoped") != null);
      assertNull(last().secrets().of("outside", "elsewhere"), () -> last().secrets().secrets().keySet().toString());
    } finally {
      KUBE.client().genericKubernetesResources(KubernetesSource.KINDS.get(5).context()).inNamespace("gloo-system")
          .withName("default").delete();
    }
  }

  // ---- helpers ----

  private void startCapturingLogs() {
    logs.start();
    root.addAppender(logs);
    debugged.forEach(l -> {
      configuredLevels.putIfAbsent(l, l.getLevel());
      l.setLevel(Level.DEBUG);
    });
  }

  /** A marker for key material, remembered so that the test can look for it (and its base64) everywhere. */
  private String mark(String what) {
    String m = MARK + "-" + what;
    material.add(m);
    material.add(Base64.getEncoder().encodeToString(m.getBytes(StandardCharsets.UTF_8)));
    return m;
  }

  private void assertNoMaterialIn(String where, String text) {
    assertFalse(material.isEmpty());
    assertFalse(text.contains(MARK), () -> where + " show key material");
    for (String m : material) {
      assertFalse(text.contains(m), () -> where + " show key material (" + m.length() + " characters)");
    }
  }

  private static String pem(String version, String key) {
    return "-----BEGIN " + key + "-----\n" + MARK + "-" + version + "-" + key + "\n-----END " + key + "-----\n";
  }

  private void tlsSecret(String ns, String name, String version) {
    for (String key : List.of("tls.crt", "tls.key", "ca.crt")) {
      String p = pem(version, key);
      material.add(Base64.getEncoder().encodeToString(p.getBytes(StandardCharsets.UTF_8)));
    }
    secret(ns, name, "kubernetes.io/tls", Map.of(), Map.of("tls.crt", pem(version, "tls.crt"),
        "tls.key", pem(version, "tls.key"), "ca.crt", pem(version, "ca.crt")));
  }

  private void tlsSecretData(String name, String version) {
    for (String key : List.of("tls.crt", "tls.key", "ca.crt")) {
      material.add(Base64.getEncoder().encodeToString(pem(version, key).getBytes(StandardCharsets.UTF_8)));
    }
    KUBE.client().secrets().inNamespace("shop").withName(name).edit(s -> {
      s.setData(null);
      s.setStringData(Map.of("tls.crt", pem(version, "tls.crt"), "tls.key", pem(version, "tls.key"),
          "ca.crt", pem(version, "ca.crt")));
      return s;
    });
  }

  private static void secret(String ns, String name, String type, Map<String, String> annotations,
      Map<String, String> data) {
    KUBE.client().secrets().inNamespace(ns).resource(new SecretBuilder().withNewMetadata().withName(name)
        .withAnnotations(annotations).endMetadata().withType(type).withStringData(data).build()).create();
  }

  /** Makes one change (a new TLS Secret) and waits for it; then exactly one delivery more has happened. */
  private void assertBarrierIsTheOnlyDelivery(int delivered) throws InterruptedException {
    String name = "barrier-" + ++barrier;
    tlsSecret("shop", name, "barrier");
    await("the barrier Secret", () -> last().secrets().of("shop", name) != null);
    assertEquals(delivered + 1, inputs.size(), () -> "deliveries: " + inputs.size() + ", expected only the barrier's");
  }

  private int countBarriers() {
    return (int) last().secrets().secrets().keySet().stream().filter(k -> k.startsWith("shop/barrier-")).count();
  }

  private ConfigInput last() {
    return inputs.get(inputs.size() - 1);
  }

  private void await(String what, BooleanSupplier condition) throws InterruptedException {
    KubeWaits.await(BOUND, what, () -> inputs.size() + " deliveries; last: " + (inputs.isEmpty() ? "-"
        : last().documents().stream().map(SourceDocument::origin).toList() + " " + last().secrets()), condition);
  }

  private static void create(String yaml) {
    GenericKubernetesResource r = KUBE.client().getKubernetesSerialization().unmarshal(yaml,
        GenericKubernetesResource.class);
    KUBE.client().genericKubernetesResources(KubernetesSource.KINDS.get(5).context())
        .inNamespace(r.getMetadata().getNamespace()).resource(r).create();
  }
}
