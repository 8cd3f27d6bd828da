package io.shardgate.loadtests;

import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.TranslationEngine;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.sharding.decode.SourceDocument;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Measures the whole pure translation (decode, gateway translation, xDS translation for every shard) on generated
 * Gloo Edge configurations of growing size, and prints a Markdown table for docs/benchmarks.md.
 *
 * <p>Workload per size: S shards, each with one Gateway selecting its VirtualServices by label; V VirtualServices per
 * shard, each delegating two prefixes to RouteTables with R routes each, to one static Upstream per VirtualService.
 * Run with {@code bash load-tests/run-translation-benchmark.sh}.
 */
public final class TranslationBenchmark {

  private TranslationBenchmark() {}

  public static void main(String[] args) throws Exception {
    int[][] sizes = {{2, 10, 5}, {4, 50, 10}, {8, 125, 10}, {10, 250, 20}};
    System.out.println("| shards | VirtualServices | RouteTables | routes | upstreams | documents | full translation p50 (ms) | full max (ms) | one-VS edit p50 (ms) | shards re-translated per edit | heap after (MiB) |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
    for (int[] size : sizes) {
      run(size[0], size[1], size[2]);
    }
  }

  private static void run(int shards, int vsPerShard, int routesPerTable) throws Exception {
    String yaml = generate(shards, vsPerShard, routesPerTable);
    List<SourceDocument> docs = new YamlDocumentReader().read("generated.yaml", yaml);
    ConfigInput input = new ConfigInput("generated", docs, List.of());
    for (int i = 0; i < 5; i++) {
      Translation.of(input); // warm up the JIT
    }
    int iterations = 15;
    long[] times = new long[iterations];
    Translation last = null;
    for (int i = 0; i < iterations; i++) {
      long start = System.nanoTime();
      last = Translation.of(input);
      times[i] = System.nanoTime() - start;
    }
    Arrays.sort(times);
    // Steady state, as the running pipeline does it: one VirtualService edit, with the last good state and the
    // previous translation, so only the edited shard is translated to xDS again.
    String edited = yaml.replace("domains: [api-0-0.example.com]", "domains: [api-0-0.example.com, edited.example.com]");
    // The directory source hands over the same document objects for unchanged files: so does this benchmark.
    List<SourceDocument> editedDocs = new ArrayList<>(docs);
    List<SourceDocument> reparsed = new YamlDocumentReader().read("generated.yaml", edited);
    for (int i = 0; i < docs.size(); i++) {
      if (!docs.get(i).equals(reparsed.get(i))) {
        editedDocs.set(i, reparsed.get(i));
      }
    }
    ConfigInput editedInput = new ConfigInput("edited", editedDocs, List.of());
    TranslationEngine engine = new TranslationEngine();
    Translation base = engine.translate(input, last.gateway().lastGood());
    long[] editTimes = new long[iterations];
    int retranslated = 0;
    for (int i = 0; i < iterations; i++) {
      ConfigInput next = i % 2 == 0 ? editedInput : input;
      long start = System.nanoTime();
      Translation t = engine.translate(next, base.gateway().lastGood());
      editTimes[i] = System.nanoTime() - start;
      retranslated = t.translated().size();
      base = t;
    }
    Arrays.sort(editTimes);
    System.gc();
    long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / (1024 * 1024);
    int vs = shards * vsPerShard;
    System.out.printf(
        "| %d | %d | %d | %d | %d | %d | %.1f | %.1f | %.1f | %d | %d |%n",
        shards, vs, vs * 2, vs * 2 * routesPerTable, vs, docs.size(),
        times[iterations / 2] / 1e6, times[iterations - 1] / 1e6, editTimes[iterations / 2] / 1e6, retranslated, heap);
    if (last.xds().size() != shards) {
      throw new IllegalStateException("expected " + shards + " shards, got " + last.xds().keySet());
    }
  }

  static String generate(int shards, int vsPerShard, int routesPerTable) {
    StringBuilder sb = new StringBuilder();
    List<String> docs = new ArrayList<>();
    for (int s = 0; s < shards; s++) {
      docs.add("""
          apiVersion: gateway.solo.io/v1
          kind: Gateway
          metadata: {name: shard-%1$d, namespace: gloo-system}
          spec:
            bindPort: 8080
            proxyNames: [shard-%1$d]
            httpGateway: {virtualServiceSelector: {shard: "s%1$d"}}
          """.formatted(s));
      for (int v = 0; v < vsPerShard; v++) {
        String ns = "team-" + s + "-" + v;
        docs.add("""
            apiVersion: gateway.solo.io/v1
            kind: VirtualService
            metadata: {name: api, namespace: %1$s, labels: {shard: "s%2$d"}}
            spec:
              virtualHost:
                domains: [api-%2$d-%3$d.example.com]
                routes:
                - matchers: [{prefix: /a}]
                  delegateAction: {ref: {name: a, namespace: %1$s}}
                - matchers: [{prefix: /b}]
                  delegateAction: {selector: {labels: {table: b}}}
            """.formatted(ns, s, v));
        for (String t : List.of("a", "b")) {
          StringBuilder routes = new StringBuilder();
          for (int r = 0; r < routesPerTable; r++) {
            routes.append("  - matchers: [{prefix: /").append(t).append("/r").append(r).append(", methods: [GET]}]\n")
                .append("    routeAction: {single: {upstream: {name: backend}}}\n")
                .append("    options: {timeout: 5s, retries: {retryOn: 5xx, numRetries: 2}}\n");
          }
          docs.add("apiVersion: gateway.solo.io/v1\nkind: RouteTable\nmetadata: {name: " + t + ", namespace: " + ns
              + ", labels: {table: " + t + "}}\nspec:\n  routes:\n" + routes);
        }
        docs.add("""
            apiVersion: gloo.solo.io/v1
            kind: Upstream
            metadata: {name: backend, namespace: %s}
            spec: {static: {hosts: [{addr: 10.0.%d.%d, port: 8080}]}}
            """.formatted(ns, s, v % 250 + 1));
      }
    }
    for (String d : docs) {
      sb.append("---\n").append(d);
    }
    return sb.toString();
  }
}
