package io.shardgate.controlplane.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.shardgate.controlplane.ads.DeltaClient;
import io.shardgate.controlplane.ads.ServedExample;
import io.shardgate.controlplane.ads.SotwClient;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /metrics} of the {@code serve} command running in-process on a copy of {@code docs/examples/sharded},
 * with a state-of-the-world Envoy of the protected shard and a delta Envoy of the noisy shard attached over real
 * gRPC: the format, every metric {@code docs/metrics.md} documents, the shard tags, and counters that move after an
 * edit exactly on the edited shard.
 */
class MetricsEndpointTest {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;
  private static final String PROTECTED = ExampleConfig.PROTECTED_ROLE;
  private static final String NOISY = ExampleConfig.NOISY_ROLE;
  /** Documented metrics that only appear once their event happens, which a healthy run never triggers. */
  private static final Set<String> EVENT_ONLY =
      Set.of("shardgate_shard_publish_failures_total", "shardgate_shard_endpoint_updates_total");
  /** Served with serve --kubernetes only; KubernetesSourceOutageTest checks them against the real API server. */
  static final String KUBERNETES_ONLY = "shardgate_source_kubernetes_";
  /** Served with serve --consul only; ConsulKvSourceMetricsTest checks them against a real Consul agent. */
  static final String CONSUL_ONLY = "shardgate_source_consul_";
  private static final Pattern DOCUMENTED = Pattern.compile("^\\| `((?:shardgate|jvm|process|system)_[a-z_]+)`",
      Pattern.MULTILINE);

  @TempDir Path work;

  private ServedExample served;
  private SotwClient protectedEnvoy;
  private DeltaClient noisyEnvoy;

  @BeforeEach
  void start() throws IOException {
    served = ServedExample.start(work);
    protectedEnvoy = new SotwClient(served.channel(), "envoy-protected", PROTECTED);
    protectedEnvoy.subscribeAndAck(CDS, List.of(), ServedExample.LIVENESS);
    protectedEnvoy.subscribeAndAck(LDS, List.of(), ServedExample.LIVENESS);
    protectedEnvoy.subscribeAndAck(RDS, List.of(ExampleConfig.routeConfigName(served.config().protectedPort())),
        ServedExample.LIVENESS);
    protectedEnvoy.autoAck();
    noisyEnvoy = new DeltaClient(served.channel(), "envoy-noisy", NOISY);
    noisyEnvoy.subscribeAndAck(CDS, List.of(), ServedExample.LIVENESS);
    noisyEnvoy.subscribeAndAck(LDS, List.of(), ServedExample.LIVENESS);
    noisyEnvoy.autoAck();
  }

  @AfterEach
  void stop() throws InterruptedException {
    if (protectedEnvoy != null) {
      protectedEnvoy.close();
    }
    if (noisyEnvoy != null) {
      noisyEnvoy.close();
    }
    if (served != null) {
      served.close();
    }
  }

  @Test
  void servesThePrometheusTextFormatWithEveryDocumentedMetric() throws IOException {
    // one rejected response, so that the NACK counter exists too
    SotwClient nacking = new SotwClient(served.channel(), "envoy-noisy-nacking", NOISY);
    try {
      nacking.subscribe(CDS, List.of());
      nacking.nack(nacking.next(ServedExample.LIVENESS, "CDS"), "", "pretend Envoy dislikes it");
      awaitSample("shardgate_shard_nacks_total{shard=\"" + NOISY + "\",type_url=\"" + CDS + "\"}", 1.0);
    } finally {
      nacking.close();
    }
    HttpResponse<String> response = served.get("/metrics");
    assertEquals("text/plain; version=0.0.4; charset=utf-8",
        response.headers().firstValue("content-type").orElse(""));
    Map<String, Double> m = samples(response.body());

    Set<String> documented = documentedMetrics();
    assertTrue(documented.size() >= 16, () -> "docs/metrics.md lists the metrics: " + documented);
    Set<String> missing = new TreeSet<>();
    for (String name : documented) {
      if (!EVENT_ONLY.contains(name) && !name.startsWith(KUBERNETES_ONLY) && !name.startsWith(CONSUL_ONLY)
          && m.keySet().stream().noneMatch(s -> isSampleOf(s, name))) {
        missing.add(name);
      }
    }
    assertEquals(Set.of(), missing, "documented in docs/metrics.md but not served");

    // per-shard metrics carry the role as their shard tag
    assertEquals(1.0, m.get("shardgate_shard_connected_streams{shard=\"" + PROTECTED + "\"}"));
    awaitSample("shardgate_shard_connected_streams{shard=\"" + NOISY + "\"}", 1.0); // the NACKing stream closed
    assertEquals(0.0, m.get("shardgate_shard_connected_streams{shard=\"misconfigured-node\"}"));
    assertEquals(1.0, m.get("shardgate_shard_translations_total{shard=\"" + PROTECTED + "\"}"));
    assertEquals(1.0, m.get("shardgate_shard_pushes_total{shard=\"" + PROTECTED + "\",type_url=\"" + RDS + "\"}"));
    assertEquals(2.0, m.get("shardgate_shard_pushes_total{shard=\"" + NOISY + "\",type_url=\"" + CDS + "\"}"),
        "one to the delta Envoy, one to the NACKing one");
    assertEquals(1.0, m.get("shardgate_shard_ack_latency_seconds_count{shard=\"" + PROTECTED + "\",type_url=\""
        + LDS + "\"}"));
    ShardSnapshotCache cache = served.context().getBean(ShardSnapshotCache.class);
    assertEquals(ShardgateMetrics.versionValue(cache.versionOf(PROTECTED, RDS).orElseThrow()),
        m.get("shardgate_shard_snapshot_version{shard=\"" + PROTECTED + "\",type_url=\"" + RDS + "\"}"));
    assertEquals(1.0, m.get("shardgate_translation_passes_total"));
    assertEquals(1.0, m.get("shardgate_source_deliveries_total"));
  }

  @Test
  void countersMoveAfterAnEditOnlyForTheEditedShard() throws IOException {
    Map<String, Double> before = samples(served.get("/metrics").body());
    int protectedPushesBefore = protectedEnvoy.received().size();

    served.editAndAwaitTranslation("virtualservices/payments/payments.yaml", "payments gateway ok",
        "payments gateway fine");
    awaitAck(before, "shardgate_shard_ack_latency_seconds_count{shard=\"" + PROTECTED + "\",type_url=\"" + RDS
        + "\"}");
    Map<String, Double> after = samples(served.get("/metrics").body());

    assertEquals(1.0, delta(before, after, "shardgate_translation_passes_total"));
    assertEquals(1.0, delta(before, after, "shardgate_source_deliveries_total"));
    assertTrue(delta(before, after, "shardgate_source_events_total") >= 1);
    assertTrue(delta(before, after, "shardgate_source_batches_total") >= 1);
    assertTrue(delta(before, after, "shardgate_source_reads_total") >= 1);
    assertEquals(1.0, delta(before, after, "shardgate_translation_seconds_count"));

    assertEquals(1.0, delta(before, after, "shardgate_shard_translations_total{shard=\"" + PROTECTED + "\"}"));
    assertEquals(1.0, delta(before, after, "shardgate_shard_snapshot_updates_total{shard=\"" + PROTECTED + "\"}"));
    assertEquals(1.0, delta(before, after, "shardgate_shard_pushes_total{shard=\"" + PROTECTED + "\",type_url=\""
        + RDS + "\"}"));
    assertEquals(0.0, delta(before, after, "shardgate_shard_pushes_total{shard=\"" + PROTECTED + "\",type_url=\""
        + LDS + "\"}"));
    String rdsVersion = "shardgate_shard_snapshot_version{shard=\"" + PROTECTED + "\",type_url=\"" + RDS + "\"}";
    assertTrue(!before.get(rdsVersion).equals(after.get(rdsVersion)), "the protected shard's RDS version moved");

    // the noisy shard was neither translated again nor pushed
    assertEquals(0.0, delta(before, after, "shardgate_shard_translations_total{shard=\"" + NOISY + "\"}"));
    assertEquals(0.0, delta(before, after, "shardgate_shard_snapshot_updates_total{shard=\"" + NOISY + "\"}"));
    for (String key : after.keySet()) {
      if (key.startsWith("shardgate_shard_pushes_total{shard=\"" + NOISY + "\"")) {
        assertEquals(0.0, delta(before, after, key), key);
      }
    }
    assertEquals(protectedPushesBefore + 1, protectedEnvoy.received().size(), "what the Envoy saw agrees");

    // an Envoy of a role nobody feeds is counted, under one tag for all such roles
    SotwClient stranger = new SotwClient(served.channel(), "envoy-stranger", "gloo-system~nobody-feeds-me");
    try {
      DiscoveryResponse empty = stranger.subscribeAndAck(CDS, List.of(), ServedExample.LIVENESS);
      assertEquals(0, empty.getResourcesCount());
      Map<String, Double> withStranger = samples(served.get("/metrics").body());
      assertEquals(1.0, withStranger.get("shardgate_shard_connected_streams{shard=\"unknown-role\"}"));
      assertEquals(1.0, withStranger.get("shardgate_shard_pushes_total{shard=\"unknown-role\",type_url=\"" + CDS
          + "\"}"));
      assertTrue(withStranger.keySet().stream().noneMatch(k -> k.contains("nobody-feeds-me")));
    } finally {
      stranger.close();
    }
  }

  private void awaitSample(String key, double value) {
    long deadline = System.nanoTime() + ServedExample.LIVENESS.toNanos();
    while (!Double.valueOf(value).equals(samples(served.get("/metrics").body()).get(key))) {
      if (System.nanoTime() > deadline) {
        fail(key + " did not reach " + value + " within " + ServedExample.LIVENESS);
      }
      ServedExample.sleep(Duration.ofMillis(50));
    }
  }

  private void awaitAck(Map<String, Double> before, String ackCount) {
    long deadline = System.nanoTime() + ServedExample.LIVENESS.toNanos();
    while (delta(before, samples(served.get("/metrics").body()), ackCount) < 1) {
      if (System.nanoTime() > deadline) {
        fail(ackCount + " did not move within " + ServedExample.LIVENESS);
      }
      ServedExample.sleep(Duration.ofMillis(50));
    }
  }

  private static double delta(Map<String, Double> before, Map<String, Double> after, String key) {
    return after.getOrDefault(key, 0.0) - before.getOrDefault(key, 0.0);
  }

  /** {@code name{labels}} to value, for every sample line of a Prometheus text exposition. */
  static Map<String, Double> samples(String exposition) {
    Map<String, Double> out = new TreeMap<>();
    for (String line : exposition.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int space = line.lastIndexOf(' ');
      String value = line.substring(space + 1);
      out.put(line.substring(0, space), switch (value) {
        case "NaN" -> Double.NaN;
        case "+Inf" -> Double.POSITIVE_INFINITY;
        case "-Inf" -> Double.NEGATIVE_INFINITY;
        default -> Double.parseDouble(value);
      });
    }
    return out;
  }

  /** Whether a sample key belongs to a metric: the name itself, or a histogram's _bucket, _count, _sum, _max. */
  private static boolean isSampleOf(String sample, String metric) {
    for (String suffix : List.of("", "_bucket", "_count", "_sum", "_max")) {
      String name = metric + suffix;
      if (sample.equals(name) || sample.startsWith(name + "{")) {
        return true;
      }
    }
    return false;
  }

  private static Set<String> documentedMetrics() throws IOException {
    String doc = Files.readString(ExampleConfig.repoRoot().resolve("docs/metrics.md"), StandardCharsets.UTF_8);
    Set<String> names = new TreeSet<>();
    Matcher m = DOCUMENTED.matcher(doc);
    while (m.find()) {
      names.add(m.group(1));
    }
    return names;
  }
}
