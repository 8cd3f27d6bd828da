package io.shardgate.loadtests;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.source.DirectoryContents;
import io.shardgate.controlplane.source.DirectoryLoader;
import io.shardgate.controlplane.source.DirectorySource;
import io.shardgate.loadtests.GlooConfigGenerator.Edit;
import io.shardgate.loadtests.GlooConfigGenerator.Workload;
import io.shardgate.loadtests.RecordingAdsClient.Response;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The whole-path benchmark: the real {@code serve} process as a child, a generated Gloo-layout config directory of
 * 16 shards, raw ADS clients, and one VirtualService file rewritten again and again. Measures start-up, write to ACK,
 * the CPU of each pass (read, decode, translate, plan, xDS, publish, persist), pushes to other shards, the heap, and
 * the full translation; prints a Markdown report and writes raw CSV. Usage: {@code load-tests/run-serve-benchmark.sh
 * --help} (the text is {@code serve-benchmark-usage.txt}).
 *
 * <p>Robustness: every wait has a liveness bound and fails naming what did not happen (which client did not ACK which
 * edit, the end of the serve log when the process died); the child process, the jstat sampler and the temporary
 * directories are removed on every exit, a failure or Ctrl-C included.
 */
public final class ServeBenchmark implements BenchmarkLauncher.Run {

  /** The thread that reads the config directory and runs every pass (DirectorySource calls the pipeline on it). */
  static final String PIPELINE_THREAD = DirectorySource.THREAD_NAME;

  /** Its name as the kernel shows it: the first 15 characters. */
  static final String PIPELINE_THREAD_KERNEL_NAME =
      PIPELINE_THREAD.substring(0, Math.min(15, PIPELINE_THREAD.length()));

  private static final Duration POLL = Duration.ofMillis(5);
  private static final Duration IDLE_WINDOW = Duration.ofSeconds(5);
  private static final int IN_PROCESS_PASSES = 10;
  private static final String EDITED_SHARD_NAME = GlooConfigGenerator.proxyName(0);

  private final ServeBenchmarkOptions options;
  private final Deque<AutoCloseable> cleanup = new ArrayDeque<>();
  private final CsvFile edits;
  private final CsvFile acks;
  private final CsvFile startup;
  private final CsvFile heap;
  private final CsvFile responses;

  private ServeBenchmark(ServeBenchmarkOptions options) throws IOException {
    this.options = options;
    Files.createDirectories(options.out());
    this.edits = new CsvFile(options.out().resolve("edits.csv"), "size,phase,edit,kind,write_epoch_ms,passes,"
        + "pass_cpu_ms,pipeline_thread_cpu_ms,source_reads,translation_ms,write_to_pass_done_ms,process_cpu_ms,"
        + "window_ms,ack_p50_ms,ack_max_ms,pushes_other_shards,"
        + "pushes_other_shards_server,extra_pushes_edited_shard,rds_version");
    this.acks = new CsvFile(options.out().resolve("acks.csv"), "size,phase,edit,client,write_to_response_ms,"
        + "write_to_ack_ms");
    this.startup = new CsvFile(options.out().resolve("startup.csv"), "size,event,ms_since_process_start");
    this.heap = new CsvFile(options.out().resolve("heap.csv"), "size,ms_since_burst_start,used_kib,committed_kib,"
        + "eden_used_kib,old_used_kib,young_gcs,full_gcs");
    this.responses = new CsvFile(options.out().resolve("responses.csv"), "size,client,shard,type,version,nonce,"
        + "arrival_ms_since_process_start,ack_ms_since_process_start,resources,bytes");
  }

  public static void main(String[] args) {
    BenchmarkLauncher.main(args, "serve benchmark", "load-tests/run-serve-benchmark.sh", "serve-benchmark-usage.txt",
        ServeBenchmarkOptions::parse, ServeBenchmark::new);
  }

  static String usage() {
    return BenchmarkLauncher.usage("serve-benchmark-usage.txt");
  }

  // ---- the run

  @Override
  public void run() throws Exception {
    BenchmarkMachine machine = BenchmarkMachine.describe();
    warmUpClientClasses();
    System.err.println("serve benchmark: " + machine.summary());
    List<SizeResult> results = new ArrayList<>();
    for (Workload w : options.sizes()) {
      results.add(runSize(w));
    }
    String report = ServeBenchmarkReport.markdown(options, machine, results);
    Path file = options.out().resolve("report.md");
    Files.writeString(file, report, StandardCharsets.UTF_8);
    System.out.println(report);
    System.err.println("report: " + file.toAbsolutePath() + "; raw samples: " + options.out().toAbsolutePath());
  }

  /**
   * Loads this JVM's gRPC, Netty and Envoy API classes with a client that cannot connect, so that at start-up the
   * clients connect as soon as serve's port opens instead of after the benchmark's own class loading.
   */
  private static void warmUpClientClasses() throws IOException {
    int closedPort = ServeProcess.freePorts(1)[0];
    try (RecordingAdsClient c = RecordingAdsClient.create(false, "warm-up", 0, "warm-up", closedPort, false);
        RecordingAdsClient d = RecordingAdsClient.create(true, "warm-up", 0, "warm-up", closedPort, false)) {
      c.start();
      d.start();
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while ((c.error() == null || d.error() == null) && System.nanoTime() < deadline) {
        sleep(POLL);
      }
    }
    RecordingAdsClient.routeNamesOf(List.of());
    RouteConfiguration.getDefaultInstance();
  }

  private SizeResult runSize(Workload w) throws Exception {
    String size = sizeName(w);
    SizeResult r = new SizeResult(w, size);
    r.loadBefore = BenchmarkMachine.loadAverage();
    Path work = Files.createTempDirectory("shardgate-serve-bench-");
    AutoCloseable removeWork = () -> {
      if (options.keep()) {
        System.err.println("kept " + work);
      } else {
        deleteTree(work);
      }
    };
    cleanup.push(removeWork);
    Path config = work.resolve("config");
    Path state = work.resolve("state");
    GlooConfigGenerator.writeTo(config, w);
    r.stateDirFs = BenchmarkMachine.fileSystemOf(work);
    System.err.printf(Locale.ROOT, "[%s] %s in %s%n", size, w.describe(), config);

    ServeProcess serve = ServeProcess.start(options.jar(), options.serveJvm(), config, state,
        options.out().resolve("serve-" + size + ".log"));
    cleanup.push(serve);
    r.serveCommand = String.join(" ", serve.command());
    List<RecordingAdsClient> clients = new ArrayList<>();
    cleanup.push(() -> clients.forEach(RecordingAdsClient::close));
    try {
      startUp(r, serve, clients);
      EditLoop loop = new EditLoop(r, serve, clients, config);
      loop.run("warmup", options.warmup(), null);
      idleCpu(r, serve);
      r.loopStartCpuTicks = serve.cpuTicks();
      Map<String, Double> before = serve.metrics();
      loop.run("measure", options.edits(), r.measured);
      Map<String, Double> after = serve.metrics();
      r.passCpuMaxGaugeMs = PrometheusText.value(after, "shardgate_pass_cpu_seconds_max") * 1e3;
      r.allocatedPerEditMiB = (PrometheusText.value(after, "jvm_gc_memory_allocated_bytes_total")
          - PrometheusText.value(before, "jvm_gc_memory_allocated_bytes_total")) / 1048576.0 / options.edits();
      if (options.heapEdits() > 0) {
        heapPhase(r, serve, loop);
      }
      if (options.profileEdits() > 0) {
        profilePhase(r, serve, loop);
      }
      recordResponses(size, serve, clients);
      r.stateDirBytes = treeSize(state);
    } finally {
      clients.forEach(RecordingAdsClient::close);
      serve.close();
      cleanup.remove(serve);
    }
    r.loadAfter = BenchmarkMachine.loadAverage();
    inProcessTranslation(r, config);
    removeWork.close();
    cleanup.remove(removeWork);
    return r;
  }

  /** Process start to the xDS port, to /ready, to every shard's first full config at its clients. */
  private void startUp(SizeResult r, ServeProcess serve, List<RecordingAdsClient> clients) throws Exception {
    long[] ready = {0};
    Thread readyPoller = new Thread(() -> {
      while (ready[0] == 0 && serveAlive(serve)) {
        try {
          if (serve.get("/ready").statusCode() == 200) {
            synchronized (ready) {
              ready[0] = System.nanoTime();
            }
            return;
          }
        } catch (IOException notYet) {
          // the admin port is not open yet
        }
        sleep(Duration.ofMillis(10));
      }
    }, "serve-benchmark-ready-poller");
    readyPoller.setDaemon(true);
    readyPoller.start();

    long port = await(() -> ServeProcess.accepts(serve.xdsPort()), serve, "the xDS port " + serve.xdsPort()
        + " to accept connections");
    r.startup.put("xDS port accepts connections", serve.sinceStartMs(port));
    for (int s = 0; s < r.workload.shards(); s++) {
      int n = s == 0 ? options.clients() : options.otherClients();
      for (int i = 0; i < n; i++) {
        String id = (s == 0 ? "edited" : "other") + "-" + GlooConfigGenerator.proxyName(s) + "-" + i;
        RecordingAdsClient c = RecordingAdsClient.create(options.delta(), id, s, GlooConfigGenerator.role(s),
            serve.xdsPort(), s == 0 && i == 0);
        clients.add(c);
        c.start();
      }
    }
    r.startup.put("all clients opened their streams", serve.sinceStartMs(System.nanoTime()));
    await(() -> clients.stream().allMatch(RecordingAdsClient::hasInitialConfig), serve,
        "every client's first CDS, LDS and RDS responses", () -> describeMissingInitial(clients));
    readyPoller.join(options.timeout().toMillis());
    synchronized (ready) {
      if (ready[0] == 0) {
        serve.checkAlive("/ready");
        throw new IllegalStateException("GET /ready did not answer 200 within " + options.timeout());
      }
      r.startup.put("GET /ready answers 200", serve.sinceStartMs(ready[0]));
    }
    double[] shardFirst = new double[r.workload.shards()];
    Arrays.fill(shardFirst, Double.MAX_VALUE);
    double allClients = 0;
    for (RecordingAdsClient c : clients) {
      failOnStreamError(c);
      double full = serve.sinceStartMs(initialConfigNanos(c));
      shardFirst[c.shard()] = Math.min(shardFirst[c.shard()], full);
      allClients = Math.max(allClients, full);
    }
    r.startup.put("every shard's first client has CDS+LDS+RDS", Arrays.stream(shardFirst).max().orElse(0));
    r.startup.put("every client has CDS+LDS+RDS", allClients);
    Map<String, Double> m = serve.metrics();
    r.firstPassCount = PrometheusText.value(m, "shardgate_pass_cpu_seconds_count");
    r.firstPassCpuMs = PrometheusText.value(m, "shardgate_pass_cpu_seconds_sum") * 1e3;
    r.firstTranslationMs = PrometheusText.value(m, "shardgate_translation_seconds_sum") * 1e3;
    ServeLog.startup(serve, r);
    for (Map.Entry<String, Double> e : r.startup.entrySet()) {
      startup.row(r.size, e.getKey(), fmt(e.getValue()));
    }
    System.err.printf(Locale.ROOT, "[%s] start-up: %s%n", r.size, r.startup);
  }

  private static long initialConfigNanos(RecordingAdsClient c) {
    long cds = 0;
    long lds = 0;
    long rds = 0;
    for (Response x : c.responses()) {
      switch (x.typeUrl()) {
        case RecordingAdsClient.CDS -> cds = cds == 0 ? x.arrivalNanos() : cds;
        case RecordingAdsClient.LDS -> lds = lds == 0 ? x.arrivalNanos() : lds;
        case RecordingAdsClient.RDS -> rds = rds == 0 ? x.arrivalNanos() : rds;
        default -> { }
      }
    }
    return Math.max(cds, Math.max(lds, rds));
  }

  private static String describeMissingInitial(List<RecordingAdsClient> clients) {
    List<String> missing = new ArrayList<>();
    for (RecordingAdsClient c : clients) {
      if (!c.hasInitialConfig()) {
        missing.add(c.id() + " has " + c.responses().stream().map(x -> shortType(x.typeUrl())).toList()
            + (c.error() != null ? " (stream failed: " + c.error() + ")" : ""));
      }
    }
    return missing.size() + " clients without CDS+LDS+RDS, e.g. " + missing.subList(0, Math.min(5, missing.size()));
  }

  /** Process CPU of serve while nothing happens: what every edit's window contains besides the edit. */
  private void idleCpu(SizeResult r, ServeProcess serve) {
    long t0 = System.nanoTime();
    long c0 = serve.cpuTicks();
    sleep(IDLE_WINDOW);
    long c1 = serve.cpuTicks();
    r.idleCpuMsPerS = ticksToMs(c1 - c0) / ((System.nanoTime() - t0) / 1e9);
  }

  /** One VirtualService of shard 0 rewritten edit after edit; each waits for every edited-shard client's ACK. */
  private final class EditLoop {
    private final SizeResult r;
    private final ServeProcess serve;
    private final List<RecordingAdsClient> edited;
    private final List<RecordingAdsClient> others;
    private final RecordingAdsClient probe;
    private final Path config;
    private int next;
    private Map<String, Double> lastMetrics;

    EditLoop(SizeResult r, ServeProcess serve, List<RecordingAdsClient> clients, Path config) {
      this.r = r;
      this.serve = serve;
      this.edited = clients.stream().filter(c -> c.shard() == 0).toList();
      this.others = clients.stream().filter(c -> c.shard() != 0).toList();
      this.probe = edited.get(0);
      this.config = config;
    }

    void run(String phase, int count, List<EditSample> into) throws IOException {
      for (int i = 0; i < count; i++) {
        EditSample s = once(phase);
        if (into != null) {
          into.add(s);
        }
      }
    }

    EditSample once(String phase) throws IOException {
      int n = next++;
      Edit edit = GlooConfigGenerator.edit(0, 0, n);
      Map<String, Double> before = lastMetrics != null ? lastMetrics : serve.metrics();
      int[] editedBefore = counts(edited);
      int[] othersBefore = counts(others);
      String[] rdsBefore = new String[edited.size()];
      for (int i = 0; i < edited.size(); i++) {
        rdsBefore[i] = lastVersion(edited.get(i), RecordingAdsClient.RDS);
      }
      int passesBefore = serve.passesLogged();
      long cpuBefore = serve.cpuTicks();
      Map<Long, ServeProcess.ThreadCpu> threadsBefore = serve.threadCpu();
      long writeEpoch = System.currentTimeMillis();
      long t0 = System.nanoTime();
      write(config.resolve(edit.path()), edit.content());
      await(() -> {
        for (int i = 0; i < edited.size(); i++) {
          if (newRds(edited.get(i), editedBefore[i], rdsBefore[i]) == null) {
            return false;
          }
        }
        return true;
      }, serve, "edit " + n + " (" + edit.path() + ") to be ACKed by all " + edited.size() + " clients of "
          + EDITED_SHARD_NAME, () -> describeMissingAck(editedBefore, rdsBefore));
      long allAcked = System.nanoTime();
      // The pass goes on after publishing (it persists): the edit is done when the pass is, so the next one starts
      // on an idle pipeline.
      long passDone = await(() -> serve.passesLogged() > passesBefore, serve, "the pass of edit " + n
          + " to finish (its '" + ServeProcess.PASS_LOGGED.trim() + "' log line)");
      sleep(options.settle());
      Map<Long, ServeProcess.ThreadCpu> threadsAfter = serve.threadCpu();
      long cpuAfter = serve.cpuTicks();
      long windowEnd = System.nanoTime();
      Map<String, Double> after = serve.metrics();
      lastMetrics = after;

      EditSample s = new EditSample(phase, n, n % 2 == 0 ? "domain" : "body");
      double[] ackMs = new double[edited.size()];
      String version = null;
      for (int i = 0; i < edited.size(); i++) {
        RecordingAdsClient c = edited.get(i);
        Response x = newRds(c, editedBefore[i], rdsBefore[i]);
        if (version == null) {
          version = x.version();
        } else if (!version.equals(x.version())) {
          throw new IllegalStateException("edit " + n + ": clients of one shard got different RDS versions: "
              + version + " and " + x.version() + " (" + c.id() + ")");
        }
        ackMs[i] = (x.ackNanos() - t0) / 1e6;
        s.ackMs.add(ackMs[i]);
        acks.row(r.size, phase, n, c.id(), fmt((x.arrivalNanos() - t0) / 1e6), fmt(ackMs[i]));
        s.extraPushesEdited += c.responses().size() - editedBefore[i] - 1;
      }
      for (int i = 0; i < others.size(); i++) {
        s.pushesOthers += others.get(i).responses().size() - othersBefore[i];
      }
      s.pushesOthersServer = serverPushesToOthers(after) - serverPushesToOthers(before);
      checkServed(edit, n);
      s.passes = PrometheusText.value(after, "shardgate_pass_cpu_seconds_count")
          - PrometheusText.value(before, "shardgate_pass_cpu_seconds_count");
      s.passCpuMs = (PrometheusText.value(after, "shardgate_pass_cpu_seconds_sum")
          - PrometheusText.value(before, "shardgate_pass_cpu_seconds_sum")) * 1e3;
      s.translationMs = (PrometheusText.value(after, "shardgate_translation_seconds_sum")
          - PrometheusText.value(before, "shardgate_translation_seconds_sum")) * 1e3;
      s.processCpuMs = ticksToMs(cpuAfter - cpuBefore);
      for (Map.Entry<Long, ServeProcess.ThreadCpu> t : threadsAfter.entrySet()) {
        ServeProcess.ThreadCpu was = threadsBefore.get(t.getKey());
        double ms = (t.getValue().nanos() - (was == null ? 0 : was.nanos())) / 1e6;
        if (ms > 0) {
          s.threadGroupsMs.merge(threadGroup(t.getValue().name()), ms, Double::sum);
        }
        if (t.getValue().name().equals(PIPELINE_THREAD_KERNEL_NAME)) {
          s.pipelineThreadCpuMs += ms;
        }
      }
      s.sourceReads = PrometheusText.value(after, "shardgate_source_reads_total")
          - PrometheusText.value(before, "shardgate_source_reads_total");
      s.windowMs = (windowEnd - t0) / 1e6;
      s.passDoneMs = (passDone - t0) / 1e6;
      double[] sorted = ackMs.clone();
      Arrays.sort(sorted);
      edits.row(r.size, phase, n, s.kind, writeEpoch, fmt(s.passes), fmt(s.passCpuMs), fmt(s.pipelineThreadCpuMs),
          fmt(s.sourceReads), fmt(s.translationMs), fmt(s.passDoneMs),
          fmt(s.processCpuMs), fmt(s.windowMs), fmt(Percentiles.percentile(sorted, 50)), fmt(sorted[sorted.length - 1]),
          s.pushesOthers, fmt(s.pushesOthersServer), s.extraPushesEdited, version);
      if (s.pushesOthers != 0) {
        System.err.printf(Locale.ROOT, "[%s] edit %d: %d pushes reached clients of other shards%n", r.size, n,
            s.pushesOthers);
      }
      long lastAckMs = (allAcked - t0) / 1_000_000;
      if (n % 10 == 0) {
        System.err.printf(Locale.ROOT, "[%s] %s edit %d: all ACKed %d ms after the write, pass done after %.0f ms,"
            + " pass CPU %.1f ms%n", r.size, phase, n, lastAckMs, s.passDoneMs, s.passCpuMs);
      }
      return s;
    }

    private void checkServed(Edit edit, int n) {
      List<String> texts = new ArrayList<>();
      for (Any any : probe.lastRoutes()) {
        try {
          texts.add(any.unpack(RouteConfiguration.class).toString());
        } catch (InvalidProtocolBufferException e) {
          throw new IllegalStateException("an RDS resource that does not parse: " + e.getMessage(), e);
        }
      }
      if (texts.stream().noneMatch(t -> t.contains(edit.marker()))) {
        throw new IllegalStateException("edit " + n + " was ACKed, but the RouteConfiguration " + probe.id()
            + " got does not show it ('" + edit.marker() + "' is missing)");
      }
    }

    private double serverPushesToOthers(Map<String, Double> m) {
      return PrometheusText.sum(m, "shardgate_shard_pushes_total")
          - PrometheusText.sum(m, "shardgate_shard_pushes_total", "shard=\"" + GlooConfigGenerator.role(0) + "\"");
    }

    private String describeMissingAck(int[] before, String[] rdsBefore) {
      List<String> missing = new ArrayList<>();
      for (int i = 0; i < edited.size(); i++) {
        RecordingAdsClient c = edited.get(i);
        if (newRds(c, before[i], rdsBefore[i]) == null) {
          List<Response> since = c.responses();
          missing.add(c.id() + " (RDS version before the edit " + rdsBefore[i] + "; since the write got "
              + since.subList(before[i], since.size()).stream().map(x -> shortType(x.typeUrl()) + " " + x.version())
                  .toList() + (c.error() != null ? "; stream failed: " + c.error() : "") + ")");
        }
      }
      return missing.size() + " of " + edited.size() + " clients did not ACK a new RDS version: "
          + missing.subList(0, Math.min(5, missing.size()));
    }
  }

  /** The first RDS response after index {@code from} whose version differs from {@code before}, or null. */
  private static Response newRds(RecordingAdsClient c, int from, String before) {
    List<Response> all = c.responses();
    for (int i = from; i < all.size(); i++) {
      Response x = all.get(i);
      if (x.typeUrl().equals(RecordingAdsClient.RDS) && !x.version().equals(before)) {
        return x;
      }
    }
    return null;
  }

  private static String lastVersion(RecordingAdsClient c, String typeUrl) {
    List<Response> all = c.responses();
    for (int i = all.size() - 1; i >= 0; i--) {
      if (all.get(i).typeUrl().equals(typeUrl)) {
        return all.get(i).version();
      }
    }
    return "";
  }

  private static int[] counts(List<RecordingAdsClient> clients) {
    int[] n = new int[clients.size()];
    for (int i = 0; i < n.length; i++) {
      n[i] = clients.get(i).responses().size();
    }
    return n;
  }

  /** As an editor or {@code kubectl cp} would: a hidden temporary file moved over the original. */
  private static void write(Path file, String content) throws IOException {
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
    Files.writeString(tmp, content, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** Live set after a full GC at idle, then jstat samples during a burst of edits, then the live set again. */
  private void heapPhase(SizeResult r, ServeProcess serve, EditLoop loop) throws Exception {
    r.liveBeforeKiB = liveHeapKiB(serve);
    List<String> cmd = List.of(ServeProcess.jdkTool("jstat"), "-J-Duser.language=en", "-J-Duser.country=US", "-gc",
        Long.toString(serve.pid()), Integer.toString(options.jstatIntervalMs()));
    Process jstat = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    AutoCloseable stopJstat = () -> {
      jstat.toHandle().destroy();
      jstat.waitFor();
    };
    cleanup.push(stopJstat);
    List<long[]> samples = new ArrayList<>();
    long[] start = {0};
    Thread reader = new Thread(() -> readJstat(jstat, samples, start), "serve-benchmark-jstat");
    reader.setDaemon(true);
    reader.start();
    await(() -> {
      synchronized (samples) {
        return samples.size() >= 2;
      }
    }, serve, "the first jstat samples (" + String.join(" ", cmd) + ")");
    List<EditSample> burst = new ArrayList<>();
    loop.run("heap", options.heapEdits(), burst);
    stopJstat.close();
    cleanup.remove(stopJstat);
    reader.join(10_000);
    synchronized (samples) {
      long firstYgc = samples.get(0)[5];
      long firstFgc = samples.get(0)[6];
      long[] previous = null;
      long edenAllocatedKiB = 0;
      for (long[] s : samples) {
        // Eden grows only by allocation and shrinks only in a GC, after which it starts from empty (jstat's GC count
        // can lag the drop by a sample, so the drop itself marks the GC). What was allocated between the last sample
        // and a GC is missed, so this is a lower bound; humongous objects, allocated in old regions, are missed too.
        if (previous != null) {
          edenAllocatedKiB += s[3] >= previous[3] ? s[3] - previous[3] : s[3];
        }
        previous = s;
        heap.row(r.size, fmt((s[0] - start[0]) / 1e6), s[1], s[2], s[3], s[4], s[5] - firstYgc, s[6] - firstFgc);
        r.peakKiB = Math.max(r.peakKiB, s[1]);
        r.peakCommittedKiB = Math.max(r.peakCommittedKiB, s[2]);
        r.maxEdenUsedKiB = Math.max(r.maxEdenUsedKiB, s[3]);
      }
      long[] last = samples.get(samples.size() - 1);
      r.burstYoungGcs = last[5] - firstYgc;
      r.burstFullGcs = last[6] - firstFgc;
      r.heapSamples = samples.size();
      r.edenAllocatedPerEditMiB = edenAllocatedKiB / 1024.0 / Math.max(1, burst.size());
    }
    r.liveAfterKiB = liveHeapKiB(serve);
  }

  /** Rows of {@code jstat -gc}: nanoTime, used, committed, eden used, old used (KiB), young GCs, full GCs. */
  private static void readJstat(Process jstat, List<long[]> samples, long[] start) {
    try (BufferedReader in =
        new BufferedReader(new InputStreamReader(jstat.getInputStream(), StandardCharsets.UTF_8))) {
      List<String> header = null;
      String line;
      while ((line = in.readLine()) != null) {
        String[] f = line.trim().split("\\s+");
        if (f.length > 0 && f[0].equals("S0C")) {
          header = List.of(f);
          continue;
        }
        if (header == null || f.length != header.size()) {
          continue;
        }
        double s0u = col(header, f, "S0U");
        double s1u = col(header, f, "S1U");
        double eu = col(header, f, "EU");
        double ou = col(header, f, "OU");
        double committed = col(header, f, "S0C") + col(header, f, "S1C") + col(header, f, "EC") + col(header, f, "OC");
        long[] s = {System.nanoTime(), Math.round(s0u + s1u + eu + ou), Math.round(committed), Math.round(eu),
            Math.round(ou), Math.round(col(header, f, "YGC")), Math.round(col(header, f, "FGC"))};
        synchronized (samples) {
          if (samples.isEmpty()) {
            start[0] = s[0];
          }
          samples.add(s);
        }
      }
    } catch (IOException | NumberFormatException e) {
      // jstat was stopped, or printed something else: the samples so far stand
    }
  }

  private static double col(List<String> header, String[] f, String name) {
    int i = header.indexOf(name);
    return i < 0 ? 0 : Double.parseDouble(f[i]);
  }

  private static final Pattern HEAP_USED = Pattern.compile("heap\\s+total \\d+K, used (\\d+)K");

  /** Heap used right after a full GC ({@code jcmd GC.run}, then {@code GC.heap_info}), in KiB. */
  static long liveHeapKiB(ServeProcess serve) throws IOException, InterruptedException {
    serve.jcmd("GC.run");
    String info = serve.jcmd("GC.heap_info");
    Matcher m = HEAP_USED.matcher(info);
    if (!m.find()) {
      throw new IllegalStateException("cannot read the heap use from jcmd GC.heap_info: " + info);
    }
    return Long.parseLong(m.group(1));
  }

  /** A JFR recording (profile settings) of a burst of edits, summarized. */
  private void profilePhase(SizeResult r, ServeProcess serve, EditLoop loop) throws Exception {
    Path jfr = options.out().resolve("serve-" + r.size + ".jfr").toAbsolutePath();
    Files.deleteIfExists(jfr);
    serve.jcmd("JFR.start", "name=serve-benchmark", "settings=profile");
    List<EditSample> burst = new ArrayList<>();
    try {
      loop.run("profile", options.profileEdits(), burst);
      serve.jcmd("JFR.dump", "name=serve-benchmark", "filename=" + jfr);
    } finally {
      serve.jcmd("JFR.stop", "name=serve-benchmark");
    }
    r.profile = JfrSummary.of(jfr, PIPELINE_THREAD);
    r.profiledPasses = (int) Math.round(burst.stream().mapToDouble(s -> s.passes).sum());
    r.profileFile = jfr;
  }

  private void recordResponses(String size, ServeProcess serve, List<RecordingAdsClient> clients) {
    for (RecordingAdsClient c : clients) {
      for (Response x : c.responses()) {
        responses.row(size, c.id(), c.shard(), shortType(x.typeUrl()), x.version(), x.nonce(),
            fmt(serve.sinceStartMs(x.arrivalNanos())), fmt(serve.sinceStartMs(x.ackNanos())), x.resources(),
            x.bytes());
      }
    }
  }

  /** The full translation of the same directory in this JVM, serve stopped: cold first pass, then warm ones. */
  private static void inProcessTranslation(SizeResult r, Path config) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long t = System.nanoTime();
    DirectoryContents contents = new DirectoryLoader().load(config);
    r.inProcessReadMs = (System.nanoTime() - t) / 1e6;
    ConfigInput input = ConfigInput.of(config.toString(), contents);
    t = System.nanoTime();
    Translation first = Translation.of(input);
    r.inProcessColdMs = (System.nanoTime() - t) / 1e6;
    if (first.xds().size() != r.workload.shards()) {
      throw new IllegalStateException("in-process translation made " + first.xds().size() + " shards, expected "
          + r.workload.shards());
    }
    for (int i = 0; i < 3; i++) {
      Translation.of(input);
    }
    double[] wall = new double[IN_PROCESS_PASSES];
    double[] cpu = new double[IN_PROCESS_PASSES];
    for (int i = 0; i < IN_PROCESS_PASSES; i++) {
      long c = threads.getCurrentThreadCpuTime();
      t = System.nanoTime();
      Translation.of(input);
      wall[i] = (System.nanoTime() - t) / 1e6;
      cpu[i] = (threads.getCurrentThreadCpuTime() - c) / 1e6;
    }
    Arrays.sort(wall);
    Arrays.sort(cpu);
    r.inProcessWarmP50Ms = Percentiles.percentile(wall, 50);
    r.inProcessWarmMaxMs = wall[wall.length - 1];
    r.inProcessWarmCpuP50Ms = Percentiles.percentile(cpu, 50);
  }

  // ---- waiting

  private long await(BooleanSupplier condition, ServeProcess serve, String what) {
    return await(condition, serve, what, () -> "");
  }

  /** Polls until {@code condition}; returns the nanoTime it was first seen true. Fails after the liveness bound. */
  private long await(BooleanSupplier condition, ServeProcess serve, String what,
      Supplier<String> lastSeen) {
    long deadline = System.nanoTime() + options.timeout().toNanos();
    while (!condition.getAsBoolean()) {
      serve.checkAlive(what);
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("timed out after " + options.timeout() + " waiting for " + what + ". "
            + lastSeen.get());
      }
      sleep(POLL);
    }
    return System.nanoTime();
  }

  private static boolean serveAlive(ServeProcess serve) {
    try {
      serve.checkAlive("");
      return true;
    } catch (IllegalStateException e) {
      return false;
    }
  }

  private static void failOnStreamError(RecordingAdsClient c) {
    if (c.error() != null) {
      throw new IllegalStateException("the stream of " + c.id() + " failed: " + c.error(), c.error());
    }
  }

  static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  // ---- clean-up and helpers

  /** Closes whatever is still open, newest first: clients, jstat, the serve process, temporary directories. */
  @Override
  public synchronized void cleanUp() {
    while (!cleanup.isEmpty()) {
      AutoCloseable c = cleanup.pop();
      try {
        c.close();
      } catch (Exception e) {
        System.err.println("clean-up: " + e);
      }
    }
  }

  @Override
  public void finish() {
    for (CsvFile c : List.of(edits, acks, startup, heap, responses)) {
      c.close();
    }
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static long treeSize(Path root) throws IOException {
    if (!Files.exists(root)) {
      return 0;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      return paths.filter(Files::isRegularFile).mapToLong(p -> {
        try {
          return Files.size(p);
        } catch (IOException e) {
          return 0;
        }
      }).sum();
    }
  }

  private static double ticksToMs(long ticks) {
    return ticks * 1000.0 / BenchmarkMachine.CLOCK_TICKS_PER_SECOND;
  }

  /** Threads of one kind together: digits folded, so "GC Thread#0" and "GC Thread#1" are "GC Thread##". */
  static String threadGroup(String kernelName) {
    return kernelName.replaceAll("[0-9]", "#");
  }

  static String shortType(String typeUrl) {
    return switch (typeUrl) {
      case RecordingAdsClient.CDS -> "CDS";
      case RecordingAdsClient.LDS -> "LDS";
      case RecordingAdsClient.RDS -> "RDS";
      default -> typeUrl;
    };
  }

  static String sizeName(Workload w) {
    return String.format(Locale.ROOT, "%dx%dx%d", w.shards(), w.vsPerShard(), w.routesPerTable());
  }

  static String fmt(double v) {
    return String.format(Locale.ROOT, "%.3f", v);
  }

  // ---- data

  /** One edit as measured. */
  static final class EditSample {
    final String phase;
    final int edit;
    final String kind;
    final List<Double> ackMs = new ArrayList<>();
    double passes;
    double passCpuMs;
    double pipelineThreadCpuMs;
    double passDoneMs;
    double sourceReads;
    final Map<String, Double> threadGroupsMs = new TreeMap<>();
    double translationMs;
    double processCpuMs;
    double windowMs;
    int pushesOthers;
    double pushesOthersServer;
    int extraPushesEdited;

    EditSample(String phase, int edit, String kind) {
      this.phase = phase;
      this.edit = edit;
      this.kind = kind;
    }
  }

  /** Everything measured for one size. */
  static final class SizeResult {
    final Workload workload;
    final String size;
    final Map<String, Double> startup = new LinkedHashMap<>();
    final List<EditSample> measured = new ArrayList<>();
    String loadBefore;
    String loadAfter;
    String stateDirFs;
    String serveCommand;
    double firstPassCount;
    double firstPassCpuMs;
    double firstTranslationMs;
    double firstPassLogMs = Double.NaN;
    double idleCpuMsPerS;
    long loopStartCpuTicks;
    double passCpuMaxGaugeMs;
    double allocatedPerEditMiB;
    double edenAllocatedPerEditMiB;
    long liveBeforeKiB;
    long liveAfterKiB;
    long peakKiB;
    long peakCommittedKiB;
    long maxEdenUsedKiB;
    long burstYoungGcs;
    long burstFullGcs;
    int heapSamples;
    JfrSummary profile;
    int profiledPasses;
    Path profileFile;
    long stateDirBytes;
    double inProcessReadMs;
    double inProcessColdMs;
    double inProcessWarmP50Ms;
    double inProcessWarmMaxMs;
    double inProcessWarmCpuP50Ms;

    SizeResult(Workload workload, String size) {
      this.workload = workload;
      this.size = size;
    }
  }

  /** Start-up moments the serve log shows: the first directory read and the first translation pass. */
  static final class ServeLog {
    private static final Pattern TIME = Pattern.compile("^(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) ");
    private static final Pattern PASS = Pattern.compile(" Translated .* in (\\d+) ms$");

    private ServeLog() {}

    static void startup(ServeProcess serve, SizeResult r) throws IOException {
      LocalTime start = LocalTime.ofInstant(Instant.ofEpochMilli(serve.startEpochMillis()), ZoneId.systemDefault());
      boolean read = false;
      for (String line : Files.readAllLines(serve.log(), StandardCharsets.UTF_8)) {
        Matcher t = TIME.matcher(line);
        if (!t.find()) {
          continue;
        }
        double at;
        try {
          long ms = Duration.between(start, LocalTime.parse(t.group(1))).toMillis();
          at = ms < -12 * 3600_000L ? ms + 24 * 3600_000L : ms; // the run crossed midnight
        } catch (DateTimeParseException e) {
          continue;
        }
        if (!read && line.contains("[initial read")) {
          r.startup.put("log: first directory read done", at);
          read = true;
        }
        Matcher p = PASS.matcher(line);
        if (p.find()) {
          r.startup.put("log: first translation pass done", at);
          r.firstPassLogMs = Double.parseDouble(p.group(1));
          return;
        }
      }
    }
  }

}
