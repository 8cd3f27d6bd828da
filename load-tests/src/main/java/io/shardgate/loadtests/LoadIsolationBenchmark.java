package io.shardgate.loadtests;

import io.shardgate.controlplane.local.ChildProcess;
import io.shardgate.controlplane.local.EnvoyBinary;
import io.shardgate.controlplane.local.LocalApi;
import io.shardgate.controlplane.local.LocalGateways;
import io.shardgate.controlplane.local.LocalLayout;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.Histogram;

/**
 * The load-isolation experiment (docs/load-isolation.md): a protected API under fixed-rate open-loop load
 * ({@link OpenLoopDriver}, no coordinated omission) while a noisy API is saturated closed-loop by wrk, in the layouts
 * shared, sharded and edge ({@link LocalGateways}, real Envoys from the project's bootstraps), each first solo (no
 * noisy load) and then with the noise; rounds repeat the layouts in turn (A B C A B C), the load average is read
 * before every run. Writes raw CSV and JSON, a Markdown report and a PNG of the latency percentiles per layout
 * ({@link LoadIsolationReport}).
 *
 * <p>Placement: each API's backend, load generator and shard Envoy on its own CPU with taskset when pinning is on and
 * taskset works (the report says which); the shared and edge Envoys on the union of the CPUs unless told otherwise;
 * the control plane, idle while measuring, unpinned. Stateful (a run); not thread-safe.
 */
final class LoadIsolationBenchmark implements BenchmarkLauncher.Run {

  static final String SCRIPT = "load-tests/run-load-isolation.sh";
  static final String PROTECTED = "protected";
  static final String NOISY = "noisy";
  static final List<String> PHASES = List.of("solo", NOISY);

  /** The options; {@link #parse} reads them from the command line. */
  record Options(List<LocalLayout> layouts, int repeats, int durationSeconds, int warmupSeconds, double rate,
      int connections, int noisyConnections, int noisyThreads, int concurrency, boolean pin, String protectedCpus,
      String noisyCpus, String edgeCpus, int basePort, Path out, Path envoy, Path wrk, boolean smoke,
      double noisyRate) {

    static Options parse(String[] args) {
      BenchmarkArgs a = BenchmarkArgs.parse(args, List.of("--smoke", "--no-pin", "--help"),
          List.of("--layouts", "--repeats", "--duration-s", "--warmup-s", "--rate", "--connections",
              "--noisy-connections", "--noisy-threads", "--concurrency", "--protected-cpus", "--noisy-cpus",
              "--edge-cpus", "--base-port", "--out", "--envoy", "--wrk", "--noisy-rate"));
      if (a.has("--help")) {
        return null;
      }
      boolean smoke = a.has("--smoke");
      List<LocalLayout> layouts = new ArrayList<>();
      for (String layout : a.get("--layouts", "shared,sharded,edge").split(",")) {
        LocalLayout parsed = LocalLayout.parse(layout);
        if (layouts.contains(parsed)) {
          throw new IllegalArgumentException("--layouts names " + parsed.label() + " twice");
        }
        layouts.add(parsed);
      }
      double rate = number(a, "--rate", smoke ? "50" : "1000");
      if (!(rate > 0)) {
        throw new IllegalArgumentException("--rate must be above 0");
      }
      double noisyRate = number(a, "--noisy-rate", "0");
      if (!(noisyRate >= 0)) {
        throw new IllegalArgumentException("--noisy-rate must be 0 (wrk, closed loop) or above");
      }
      String envoy = a.get("--envoy", null);
      String wrk = a.get("--wrk", null);
      return new Options(List.copyOf(layouts), a.positive("--repeats", smoke ? 1 : 3),
          a.positive("--duration-s", smoke ? 3 : 60), a.atLeastZero("--warmup-s", smoke ? 1 : 5), rate,
          a.positive("--connections", smoke ? 4 : 16), a.positive("--noisy-connections", smoke ? 4 : 64),
          a.positive("--noisy-threads", 1), a.positive("--concurrency", 1), !a.has("--no-pin"),
          a.get("--protected-cpus", "0"), a.get("--noisy-cpus", "1"), a.get("--edge-cpus", null),
          a.positive("--base-port", 24000), Path.of(a.get("--out", "load-tests/target/load-isolation")),
          envoy == null ? null : Path.of(envoy), wrk == null ? null : Path.of(wrk), smoke, noisyRate);
    }

    private static double number(BenchmarkArgs a, String name, String otherwise) {
      try {
        return Double.parseDouble(a.get(name, otherwise));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(name + " must be a number of requests per second");
      }
    }

    /** What drives the noisy API, for the report. */
    String noisyLoad(String wrkVersion) {
      return noisyRate > 0
          ? String.format(Locale.ROOT, "OpenLoopDriver, open-loop overload at %.0f req/s over %d connections",
              noisyRate, noisyConnections)
          : wrkVersion + ", closed loop, -t" + noisyThreads + " -c" + noisyConnections;
    }
  }

  /** What wrk reported for the noisy API during one run. */
  record NoisyResult(double requestsPerSecond, long requests, long errors) {
    static final NoisyResult NONE = new NoisyResult(0, 0, 0);
  }

  /** One measured run: a layout in a phase, in a round. */
  record RunResult(int round, LocalLayout layout, String phase, String loadAverage, double rate,
      OpenLoopDriver.Result protectedResult, NoisyResult noisy, Map<String, Double> cpuSeconds) {}

  private final Options options;
  private final Path envoy;
  private final Path wrk;
  private final boolean pinned;
  private final String pinning;
  private final List<RunResult> results = new ArrayList<>();
  private final List<String> placement = new ArrayList<>();
  private final List<ChildProcess> loadGenerators = new ArrayList<>();
  private volatile LocalGateways current;
  private LoadIsolationReport.Outputs written;

  LoadIsolationBenchmark(Options options) throws IOException {
    this.options = options;
    this.envoy = EnvoyBinary.find(options.envoy(), true, System.err);
    this.wrk = options.wrk() != null ? options.wrk() : WrkBinary.find();
    int cpus = Runtime.getRuntime().availableProcessors();
    if (!options.pin()) {
      pinned = false;
      pinning = "off (--no-pin): every process may run on any of the " + cpus + " CPUs";
    } else if (!ChildProcess.tasksetAvailable()) {
      pinned = false;
      pinning = "not available (taskset does not run here): every process may run on any of the " + cpus + " CPUs";
    } else if (!ChildProcess.tasksetRuns(options.protectedCpus()) || !ChildProcess.tasksetRuns(options.noisyCpus())
        || (options.edgeCpus() != null && !ChildProcess.tasksetRuns(options.edgeCpus()))) {
      pinned = false;
      pinning = "not possible: taskset refuses the CPU lists (protected " + options.protectedCpus() + ", noisy "
          + options.noisyCpus() + (options.edgeCpus() != null ? ", edge " + options.edgeCpus() : "") + ") on this"
          + " machine's " + cpus + " CPUs; every process may run on any of them";
    } else {
      pinned = true;
      pinning = "taskset -c per process: protected API (backend, load generator, its shard's Envoy) on CPUs "
          + options.protectedCpus() + ", noisy API (backend, load generator, its shard's Envoy) on CPUs " + options.noisyCpus()
          + "; the shared and edge Envoys on " + (options.edgeCpus() != null ? options.edgeCpus()
          : options.protectedCpus() + "," + options.noisyCpus()) + "; the control plane (idle while measuring) "
          + "unpinned; " + cpus + " CPUs online";
    }
  }

  public static void main(String[] args) {
    BenchmarkLauncher.main(args, "load-isolation experiment", SCRIPT, "load-isolation-usage.txt", Options::parse,
        LoadIsolationBenchmark::new);
  }

  List<LocalApi> apis() {
    return List.of(
        new LocalApi("payments", PROTECTED, "payments.example.com", "/", pinned ? options.protectedCpus() : null),
        new LocalApi("catalog", NOISY, "catalog.example.com", "/", pinned ? options.noisyCpus() : null));
  }

  @Override
  public void run() throws Exception {
    Files.createDirectories(options.out());
    System.out.println("Load isolation: layouts " + options.layouts().stream().map(LocalLayout::label).toList()
        + ", " + options.repeats() + " round(s), " + options.durationSeconds() + " s per run at " + options.rate()
        + " req/s; pinning " + pinning);
    for (int round = 1; round <= options.repeats(); round++) {
      for (LocalLayout layout : options.layouts()) {
        runLayout(round, layout);
      }
    }
    written = LoadIsolationReport.write(options, pinning, placement, results, envoyVersion(), wrkVersion());
    System.out.println("Report: " + written.markdown() + "\nCSV: " + written.csv() + "\nJSON: " + written.json()
        + "\nPlot: " + written.png());
  }

  private void runLayout(int round, LocalLayout layout) throws Exception {
    List<LocalApi> apis = apis();
    LocalApi protectedApi = apis.get(0);
    LocalApi noisyApi = apis.get(1);
    Path work = options.out().resolve("work").resolve("round-" + round + "-" + layout.label());
    LocalGateways.deleteTree(work);
    LocalGateways gateways = LocalGateways.start(new LocalGateways.Options(apis, layout, envoy, options.concurrency(),
        options.basePort(), work, pinned ? options.edgeCpus() : null), System.out);
    current = gateways;
    try {
      if (round == 1) {
        placement.add(layout.label() + ":");
        gateways.placement().forEach(line -> placement.add("  " + line));
        placement.add("  protected load generator (OpenLoopDriver) " + cpus(protectedApi) + ", " + options.connections()
            + " keep-alive connections to 127.0.0.1:" + gateways.entryPort(protectedApi));
        placement.add("  noisy load generator (" + options.noisyLoad("wrk") + ") " + cpus(noisyApi) + ", to 127.0.0.1:" + gateways.entryPort(noisyApi));
      }
      for (String phase : PHASES) {
        results.add(measure(round, layout, phase, gateways, protectedApi, noisyApi));
      }
    } finally {
      gateways.close();
      current = null;
    }
  }

  private static String cpus(LocalApi api) {
    return api.cpus() == null ? "unpinned" : "on CPUs " + api.cpus();
  }

  private RunResult measure(int round, LocalLayout layout, String phase, LocalGateways gateways, LocalApi protectedApi,
      LocalApi noisyApi) throws Exception {
    String loadAverage = BenchmarkMachine.loadAverage();
    Path logs = gateways.workDir().resolve("logs");
    Map<String, Double> cpuBefore = processCpu(gateways);
    ChildProcess noisy = null;
    long measuredMillis = TimeUnit.SECONDS.toMillis(options.durationSeconds());
    long warmupMillis = TimeUnit.SECONDS.toMillis(options.warmupSeconds());
    Path noisyFile = logs.resolve(phase + "-noisy.result");
    long noisyMillis = warmupMillis + measuredMillis + 2_000;
    if (phase.equals(NOISY)) {
      // the noise starts a second before the protected load and runs a second past it
      if (options.noisyRate() > 0) {
        noisy = start(ChildProcess.start("noisy open-loop driver", driverCommand(gateways.entryPort(noisyApi),
            noisyApi.domain(), options.noisyRate(), 0, noisyMillis, options.noisyConnections(), noisyFile),
            noisyApi.cpus(), logs.resolve(phase + "-noisy.log")));
      } else {
        noisy = start(ChildProcess.start("wrk", List.of(wrk.toString(), "-t" + options.noisyThreads(),
            "-c" + options.noisyConnections(), "-d" + TimeUnit.MILLISECONDS.toSeconds(noisyMillis) + "s", "-H",
            "Host: " + noisyApi.domain(), "http://127.0.0.1:" + gateways.entryPort(noisyApi) + "/"), noisyApi.cpus(),
            logs.resolve(phase + "-wrk.log")));
      }
      Thread.sleep(1_000);
      noisy.checkAlive("loading the noisy API");
    }
    Path resultFile = logs.resolve(phase + "-protected.result");
    ChildProcess driver = start(ChildProcess.start("open-loop driver", driverCommand(gateways.entryPort(protectedApi),
        protectedApi.domain(), options.rate(), warmupMillis, measuredMillis, options.connections(), resultFile),
        protectedApi.cpus(), logs.resolve(phase + "-protected.log")));
    long bound = TimeUnit.MILLISECONDS.toSeconds(warmupMillis + measuredMillis) + 120;
    int driverExit = driver.waitFor(bound);
    if (driverExit != 0) {
      throw new IllegalStateException("the open-loop driver " + (driverExit < 0 ? "did not finish within " + bound
          + " s" : "exited with " + driverExit) + "; the end of " + driver.log() + ":\n" + driver.logTail(30));
    }
    NoisyResult noisyResult = NoisyResult.NONE;
    if (noisy != null) {
      int noisyExit = noisy.waitFor(120);
      if (noisyExit != 0) {
        throw new IllegalStateException(noisy.name() + " " + (noisyExit < 0 ? "did not finish" : "exited with "
            + noisyExit) + "; the end of " + noisy.log() + ":\n" + noisy.logTail(30));
      }
      if (options.noisyRate() > 0) {
        OpenLoopDriver.Result n = OpenLoopDriver.Result.read(noisyFile);
        noisyResult = new NoisyResult(n.ok() * 1000.0 / noisyMillis, n.sent(), n.errors());
      } else {
        noisyResult = parseWrk(Files.readString(noisy.log(), StandardCharsets.UTF_8));
      }
    }
    loadGenerators.clear();
    Map<String, Double> cpu = new LinkedHashMap<>();
    processCpu(gateways).forEach((name, after) -> cpu.put(name, after - cpuBefore.getOrDefault(name, 0.0)));
    OpenLoopDriver.Result result = OpenLoopDriver.Result.read(resultFile);
    Histogram h = result.histogram();
    System.out.printf(Locale.ROOT, "round %d %-7s %-5s load %s: protected %d sent, %d ok, %d errors, p50 %.3f p99 %.3f"
            + " p99.9 %.3f ms; noisy %.0f req/s%n", round, layout.label(), phase, loadAverage, result.sent(),
        result.ok(), result.errors(), h.getValueAtPercentile(50) / 1e6, h.getValueAtPercentile(99) / 1e6,
        h.getValueAtPercentile(99.9) / 1e6, noisyResult.requestsPerSecond());
    return new RunResult(round, layout, phase, loadAverage, options.rate(), result, noisyResult, cpu);
  }

  /** An {@link OpenLoopDriver} child's command line. */
  private static List<String> driverCommand(int port, String host, double rate, long warmupMillis, long durationMillis,
      int connections, Path resultFile) {
    return List.of(ChildProcess.javaExecutable(), "-XX:+UseSerialGC", "-Xms256m", "-Xmx256m", "-XX:+AlwaysPreTouch",
        "-cp", System.getProperty("java.class.path"), OpenLoopDriver.class.getName(), Integer.toString(port), host, "/",
        Double.toString(rate), Long.toString(warmupMillis), Long.toString(durationMillis), Integer.toString(connections),
        resultFile.toString());
  }

  private ChildProcess start(ChildProcess child) {
    loadGenerators.add(child);
    return child;
  }

  /** CPU seconds so far of every Envoy and backend, by name: where the run's time went. */
  private static Map<String, Double> processCpu(LocalGateways gateways) {
    Map<String, Double> cpu = new LinkedHashMap<>();
    for (ChildProcess child : gateways.envoys()) {
      cpu.put(child.name(), child.cpuSeconds());
    }
    for (ChildProcess child : gateways.backends()) {
      cpu.put(child.name(), child.cpuSeconds());
    }
    return cpu;
  }

  private static final Pattern RPS = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
  private static final Pattern TOTAL = Pattern.compile("([0-9]+) requests in");
  private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses:\\s+([0-9]+)");
  private static final Pattern SOCKET = Pattern.compile(
      "Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)");

  /** The noisy throughput and errors from wrk's summary; fails when wrk printed none. */
  static NoisyResult parseWrk(String output) {
    Matcher rps = RPS.matcher(output);
    Matcher total = TOTAL.matcher(output);
    if (!rps.find() || !total.find()) {
      throw new IllegalStateException("wrk printed no summary:\n" + output);
    }
    long errors = 0;
    Matcher non2xx = NON_2XX.matcher(output);
    if (non2xx.find()) {
      errors += Long.parseLong(non2xx.group(1));
    }
    Matcher socket = SOCKET.matcher(output);
    if (socket.find()) {
      for (int g = 1; g <= 4; g++) {
        errors += Long.parseLong(socket.group(g));
      }
    }
    return new NoisyResult(Double.parseDouble(rps.group(1)), Long.parseLong(total.group(1)), errors);
  }

  private String envoyVersion() {
    String line = firstLine(List.of(envoy.toString(), "--version"));
    int at = line.indexOf("version: ");
    return at < 0 ? line : line.substring(at + "version: ".length()); // without the binary's path
  }

  private String wrkVersion() {
    return firstLine(List.of(wrk.toString(), "-v"));
  }

  private static String firstLine(List<String> command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      p.waitFor(30, TimeUnit.SECONDS);
      return out.lines().map(String::strip).filter(l -> !l.isEmpty()).findFirst().orElse("unknown");
    } catch (IOException e) {
      return "unknown (" + e.getMessage() + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "unknown";
    }
  }

  List<RunResult> results() {
    return List.copyOf(results);
  }

  List<String> placement() {
    return List.copyOf(placement);
  }

  String pinning() {
    return pinning;
  }

  LoadIsolationReport.Outputs written() {
    return written;
  }

  @Override
  public void cleanUp() {
    for (ChildProcess child : List.copyOf(loadGenerators)) {
      child.close();
    }
    LocalGateways gateways = current;
    if (gateways != null) {
      gateways.close();
    }
  }
}
