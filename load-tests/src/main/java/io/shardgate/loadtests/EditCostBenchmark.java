package io.shardgate.loadtests;

import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.pipeline.TranslationEngine;
import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.sharding.decode.SourceDocument;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The in-process cost of translation: a full pass from scratch, and one VirtualService edit through the long-lived
 * engine the pipeline uses, as CPU time of the translating thread. Configurations are generated like
 * {@link TranslationBenchmark}'s with 16 shards. Prints one Markdown row per size. Source reads, publishing and
 * persistence are not included here (the serve benchmark measures the whole path).
 *
 * <p>Usage: {@code EditCostBenchmark [vsPerShard routesPerTable]...}; default 16x20 (about 10k routes) and 40x40
 * (about 50k routes).
 */
public final class EditCostBenchmark {

  private static final int SHARDS = 16;

  private EditCostBenchmark() {}

  public static void main(String[] args) throws Exception {
    List<int[]> sizes = new ArrayList<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      sizes.add(new int[] {Integer.parseInt(args[i]), Integer.parseInt(args[i + 1])});
    }
    if (sizes.isEmpty()) {
      sizes.add(new int[] {16, 20});
      sizes.add(new int[] {40, 40});
    }
    System.out.println("| shards | routes | documents | full pass CPU p50 (ms) | one-VS edit CPU p50 (ms) | p90 (ms) | max (ms)"
        + " | shards xDS-translated per edit | heap after (MiB) |");
    System.out.println("|---|---|---|---|---|---|---|---|---|");
    for (int[] size : sizes) {
      run(size[0], size[1]);
    }
  }

  private static void run(int vsPerShard, int routesPerTable) throws Exception {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    String yaml = TranslationBenchmark.generate(SHARDS, vsPerShard, routesPerTable);
    List<SourceDocument> docs = new YamlDocumentReader().read("generated.yaml", yaml);
    ConfigInput input = new ConfigInput("generated", docs, List.of());
    // The JIT needs a few dozen passes before a full pass reaches its steady cost; the first pass (start-up) is
    // measured by the serve benchmark.
    for (int i = 0; i < 20; i++) {
      Translation.of(input);
    }
    long[] full = new long[10];
    Translation last = null;
    for (int i = 0; i < full.length; i++) {
      long start = threads.getCurrentThreadCpuTime();
      last = Translation.of(input);
      full[i] = threads.getCurrentThreadCpuTime() - start;
    }
    Arrays.sort(full);
    // One VirtualService's domain changes back and forth; the other documents stay the very same objects, as the
    // directory source hands them over.
    int edited = -1;
    for (int i = 0; i < docs.size(); i++) {
      if (docs.get(i).content().get("kind").equals("VirtualService")) {
        edited = i;
        break;
      }
    }
    String text = yaml.replace("domains: [api-0-0.example.com]", "domains: [api-0-0.example.com, edited.example.com]");
    List<SourceDocument> reparsed = new YamlDocumentReader().read("generated.yaml", text);
    List<SourceDocument> editedDocs = new ArrayList<>(docs);
    editedDocs.set(edited, reparsed.get(edited));
    ConfigInput editedInput = new ConfigInput("edited", editedDocs, List.of());
    TranslationEngine engine = new TranslationEngine();
    Translation base = engine.translate(input, last.gateway().lastGood());
    int iterations = 200;
    long[] cpu = new long[iterations];
    int translated = 0;
    for (int i = 0; i < iterations; i++) {
      ConfigInput next = i % 2 == 0 ? editedInput : input;
      long start = threads.getCurrentThreadCpuTime();
      base = engine.translate(next, base.gateway().lastGood());
      cpu[i] = threads.getCurrentThreadCpuTime() - start;
      translated = Math.max(translated, base.translated().size());
    }
    Arrays.sort(cpu);
    System.gc();
    long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / (1024 * 1024);
    int routes = SHARDS * vsPerShard * 2 * routesPerTable;
    System.out.printf("| %d | %,d | %,d | %.1f | %.2f | %.2f | %.2f | %d | %d |%n", SHARDS, routes, docs.size(),
        full[full.length / 2] / 1e6, cpu[iterations / 2] / 1e6, cpu[iterations * 9 / 10] / 1e6,
        cpu[iterations - 1] / 1e6, translated, heap);
  }
}
