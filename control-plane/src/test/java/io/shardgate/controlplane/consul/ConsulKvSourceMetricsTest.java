package io.shardgate.controlplane.consul;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.metrics.ShardgateMetrics;
import io.shardgate.controlplane.source.ConsulKvClient;
import io.shardgate.controlplane.source.ConsulKvSource;
import io.shardgate.controlplane.source.ConsulKvWriter;
import io.shardgate.controlplane.source.DirectoryLoader;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Consul KV source's metrics ({@link ShardgateMetrics#bindSource(ConsulKvSource)}) against a real Consul 1.16.1
 * dev agent: every {@code shardgate_source_consul_*} metric docs/metrics.md lists is served; the keys, index, value
 * reads and deliveries follow a push and an edit; a stopped agent moves the watch errors and the connected gauge to
 * 0, and its restart back to 1.
 */
class ConsulKvSourceMetricsTest {

  private static final Duration BOUND = Duration.ofSeconds(60);
  private static final String ROOT = "gloo";
  private static final String RT_KEY = "gloo/gateway.solo.io/v1/RouteTable/payments/payments-api";

  @RegisterExtension static final ConsulAgent CONSUL = new ConsulAgent();

  private ConsulKvSource source;

  @AfterEach
  void closeSource() {
    if (source != null) {
      source.close();
    }
  }

  @Test
  void theDocumentedConsulMetricsFollowPushesEditsAndAnOutage() throws Exception {
    ConsulKvClient kv = new ConsulKvClient(ConsulKvClient.Options.of(CONSUL.address()));
    ConsulKvWriter.Result pushed = new ConsulKvWriter(kv, ROOT)
        .push(new DirectoryLoader().load(ExampleConfig.repoRoot().resolve("docs/examples/sharded")), false);
    int keys = pushed.written().size();
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    source = new ConsulKvSource(kv, ConsulKvSource.quick(ROOT), input -> { });
    new ShardgateMetrics(registry, new ShardSnapshotCache()).bindSource(source);
    source.start();

    Map<String, Double> first = await(registry, "the first delivery",
        m -> m.get("shardgate_source_deliveries_total") == 1.0);
    Matcher documented = Pattern.compile("^\\| `(shardgate_source_consul_[a-z_]+)`", Pattern.MULTILINE)
        .matcher(Files.readString(ExampleConfig.repoRoot().resolve("docs/metrics.md")));
    int names = 0;
    while (documented.find()) {
      String name = documented.group(1);
      names++;
      assertTrue(first.containsKey(name), () -> name + " is documented but not served: " + first);
    }
    assertTrue(names >= 7, "docs/metrics.md lists the Consul source's metrics");
    assertEquals(keys, first.get("shardgate_source_consul_keys"));
    assertEquals(keys, first.get("shardgate_source_consul_value_reads_total"), "each pushed value parsed once");
    assertEquals(1.0, first.get("shardgate_source_consul_connected"));
    assertEquals(0.0, first.get("shardgate_source_consul_watch_errors_total"));
    assertEquals(0.0, first.get("shardgate_source_consul_index_resets_total"));
    long index = kv.list(ROOT + "/", 0, Duration.ZERO).index();
    assertEquals(index, first.get("shardgate_source_consul_index"), "the index of the last listing");

    kv.put(RT_KEY, ("metadata: {name: payments-api, namespace: payments}\nroutes:\n- matchers: [{prefix: /v2}]\n"
        + "  routeAction: {single: {upstream: {name: payments, namespace: payments}}}\n")
        .getBytes(StandardCharsets.UTF_8));
    Map<String, Double> edited = await(registry, "the edit's delivery",
        m -> m.get("shardgate_source_deliveries_total") == 2.0);
    assertEquals(keys + 1.0, edited.get("shardgate_source_consul_value_reads_total"), "only the edited key parsed");
    assertEquals(keys, edited.get("shardgate_source_consul_keys"));
    assertTrue(edited.get("shardgate_source_consul_index") > index, edited::toString);
    assertTrue(edited.get("shardgate_source_consul_queries_total") >= 2, edited::toString);

    CONSUL.stop();
    Map<String, Double> down = await(registry, "the outage to be seen",
        m -> m.get("shardgate_source_consul_connected") == 0.0);
    assertTrue(down.get("shardgate_source_consul_watch_errors_total") >= 1, down::toString);
    CONSUL.restart(false);
    await(registry, "Consul reachable again", m -> m.get("shardgate_source_consul_connected") == 1.0);
  }

  /** Scrapes until {@code condition} holds; returns the samples (name to value, tags dropped: none here). */
  private static Map<String, Double> await(PrometheusMeterRegistry registry, String what,
      Predicate<Map<String, Double>> condition) throws InterruptedException {
    long deadline = System.nanoTime() + BOUND.toNanos();
    Map<String, Double> m = samples(registry.scrape());
    while (!condition.test(m)) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("waited " + BOUND + " for " + what + "; last scrape: " + m);
      }
      Thread.sleep(50);
      m = samples(registry.scrape());
    }
    return m;
  }

  private static Map<String, Double> samples(String scrape) {
    Map<String, Double> out = new TreeMap<>();
    for (String line : scrape.split("\n")) {
      if (line.startsWith("shardgate_source_")) {
        int space = line.lastIndexOf(' ');
        out.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
      }
    }
    out.putIfAbsent("shardgate_source_deliveries_total", -1.0);
    return out;
  }
}
