package io.shardgate.loadtests;

import io.shardgate.controlplane.source.DirectorySource;
import io.shardgate.loadtests.GlooConfigGenerator.Workload;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Command-line options (see serve-benchmark-usage.txt). */
record ServeBenchmarkOptions(List<Workload> sizes, int clients, int otherClients, boolean delta, int warmup, int edits,
    int heapEdits, int profileEdits, Duration settle, Duration timeout, int jstatIntervalMs, List<String> serveJvm,
    Path jar, Path out, boolean keep, String command) {

  /** The options, or null for --help. */
  static ServeBenchmarkOptions parse(String[] args) {
    BenchmarkArgs values = BenchmarkArgs.parse(args, List.of("--delta", "--keep", "--help"),
        List.of("--sizes", "--shards", "--clients", "--other-clients", "--warmup", "--edits", "--heap-edits",
            "--profile-edits", "--settle-ms", "--timeout-s", "--jstat-interval-ms", "--serve-jvm", "--jar", "--out"));
    if (values.has("--help")) {
      return null;
    }
    int shards = values.positive("--shards", 16);
    List<Workload> sizes = new ArrayList<>();
    for (String s : values.get("--sizes", "10k,50k").split(",")) {
      if (!s.isBlank()) {
        sizes.add(Workload.parse(s.trim(), shards));
      }
    }
    if (sizes.isEmpty()) {
      throw new IllegalArgumentException("--sizes names no size");
    }
    int edits = values.positive("--edits", 50);
    String jvm = values.get("--serve-jvm", "-Xms512m -Xmx2g");
    return new ServeBenchmarkOptions(sizes, values.positive("--clients", 100),
        values.atLeastZero("--other-clients", 5),
        values.has("--delta"), values.atLeastZero("--warmup", 10), edits,
        values.atLeastZero("--heap-edits", 20), values.atLeastZero("--profile-edits", 20),
        Duration.ofMillis(values.atLeastZero("--settle-ms", 500)),
        Duration.ofSeconds(values.positive("--timeout-s", 120)), values.positive("--jstat-interval-ms", 10),
        jvm.isBlank() ? List.of() : List.of(jvm.trim().split("\\s+")),
        Path.of(values.get("--jar", "control-plane/target/shardgate.jar")).toAbsolutePath(),
        Path.of(values.get("--out", "load-tests/target/serve-benchmark")).toAbsolutePath(),
        values.has("--keep"),
        System.getProperty("shardgate.bench.command", "ServeBenchmark " + String.join(" ", args)));
  }

  /** The debounce serve runs with: the directory source's default, which serve does not change. */
  Duration debounce() {
    return DirectorySource.DEFAULT_DEBOUNCE;
  }
}
