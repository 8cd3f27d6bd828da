package io.shardgate.loadtests;

import io.shardgate.controlplane.source.DirectorySource;
import io.shardgate.loadtests.GlooConfigGenerator.Workload;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Command-line options (see serve-benchmark-usage.txt). */
record ServeBenchmarkOptions(List<Workload> sizes, int clients, int otherClients, boolean delta, int warmup, int edits,
    int heapEdits, int profileEdits, Duration settle, Duration timeout, int jstatIntervalMs, List<String> serveJvm,
    Path jar, Path out, boolean keep, String command) {

  /** The options, or null for --help. */
  static ServeBenchmarkOptions parse(String[] args) {
    Map<String, String> values = new LinkedHashMap<>();
    List<String> flags = List.of("--delta", "--keep", "--help");
    List<String> known = List.of("--sizes", "--shards", "--clients", "--other-clients", "--warmup", "--edits",
        "--heap-edits", "--profile-edits", "--settle-ms", "--timeout-s", "--jstat-interval-ms", "--serve-jvm",
        "--jar", "--out");
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String value = null;
      int eq = a.indexOf('=');
      if (a.startsWith("--") && eq > 0) {
        value = a.substring(eq + 1);
        a = a.substring(0, eq);
      }
      if (flags.contains(a)) {
        values.put(a, "true");
      } else if (known.contains(a)) {
        if (value == null) {
          if (i + 1 >= args.length) {
            throw new IllegalArgumentException(a + " needs a value");
          }
          value = args[++i];
        }
        values.put(a, value);
      } else {
        throw new IllegalArgumentException("unknown option '" + args[i] + "'");
      }
    }
    if (values.containsKey("--help")) {
      return null;
    }
    int shards = positive(values, "--shards", 16);
    List<Workload> sizes = new ArrayList<>();
    for (String s : values.getOrDefault("--sizes", "10k,50k").split(",")) {
      if (!s.isBlank()) {
        sizes.add(Workload.parse(s.trim(), shards));
      }
    }
    if (sizes.isEmpty()) {
      throw new IllegalArgumentException("--sizes names no size");
    }
    int edits = positive(values, "--edits", 50);
    String jvm = values.getOrDefault("--serve-jvm", "-Xms512m -Xmx2g");
    return new ServeBenchmarkOptions(sizes, positive(values, "--clients", 100),
        atLeastZero(values, "--other-clients", 5),
        values.containsKey("--delta"), atLeastZero(values, "--warmup", 10), edits,
        atLeastZero(values, "--heap-edits", 20), atLeastZero(values, "--profile-edits", 20),
        Duration.ofMillis(atLeastZero(values, "--settle-ms", 500)),
        Duration.ofSeconds(positive(values, "--timeout-s", 120)), positive(values, "--jstat-interval-ms", 10),
        jvm.isBlank() ? List.of() : List.of(jvm.trim().split("\\s+")),
        Path.of(values.getOrDefault("--jar", "control-plane/target/shardgate.jar")).toAbsolutePath(),
        Path.of(values.getOrDefault("--out", "load-tests/target/serve-benchmark")).toAbsolutePath(),
        values.containsKey("--keep"),
        System.getProperty("shardgate.bench.command", "ServeBenchmark " + String.join(" ", args)));
  }

  private static int positive(Map<String, String> values, String name, int otherwise) {
    int v = atLeastZero(values, name, otherwise);
    if (v < 1) {
      throw new IllegalArgumentException(name + " must be at least 1");
    }
    return v;
  }

  private static int atLeastZero(Map<String, String> values, String name, int otherwise) {
    String v = values.get(name);
    if (v == null) {
      return otherwise;
    }
    try {
      int n = Integer.parseInt(v.trim());
      if (n < 0) {
        throw new IllegalArgumentException(name + " must not be negative: " + v);
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " takes a whole number, got '" + v + "'", e);
    }
  }

  /** The debounce serve runs with: the directory source's default, which serve does not change. */
  Duration debounce() {
    return DirectorySource.DEFAULT_DEBOUNCE;
  }
}
