package io.shardgate.loadtests;

import io.shardgate.loadtests.ServeBenchmark.EditSample;
import io.shardgate.loadtests.ServeBenchmark.SizeResult;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The Markdown report of a serve benchmark run: the machine and software, the exact command, the workloads, then
 * one table with a column per size and, for every target of the incremental-core issue, whether it is met and by how
 * much it is missed; then the profile of each size. Pure function of the results; thread-safe.
 */
final class ServeBenchmarkReport {

  /** Sizes up to this many routes are held to the 10k targets, larger ones to the 50k targets. */
  private static final int TEN_K_LIMIT = 30_000;

  private ServeBenchmarkReport() {}

  static String markdown(ServeBenchmarkOptions o, BenchmarkMachine m, List<SizeResult> results) {
    StringBuilder sb = new StringBuilder();
    sb.append("## Whole path through serve (").append(Instant.now().truncatedTo(ChronoUnit.SECONDS)).append(")\n\n");
    sb.append("- Machine: ").append(m.cpu()).append(", ").append(m.cores()).append(" cores, ")
        .append(String.format(Locale.ROOT, "%,d", m.memoryMiB())).append(" MiB; ").append(m.kernel()).append('\n');
    sb.append("- Load average (1, 5, 15 min) at the start and end of each size: ");
    for (SizeResult r : results) {
      sb.append(r.size).append(": ").append(r.loadBefore).append(" / ").append(r.loadAfter).append("; ");
    }
    sb.append("(2 cores: above 2 means other work was waiting for CPU)\n");
    sb.append("- JDK: ").append(m.jdk()).append("; serve JVM flags: `").append(String.join(" ", o.serveJvm()))
        .append("`; Micronaut core ").append(m.micronaut()).append(", grpc-java ").append(m.grpc())
        .append(", java-control-plane ").append(m.javaControlPlane()).append("; commit ").append(m.commit())
        .append('\n');
    sb.append("- Command: `").append(o.command()).append("`\n");
    if (!results.isEmpty()) {
      sb.append("- serve, as started (first size): `").append(results.get(0).serveCommand).append("`\n");
    }
    sb.append("- Workloads (GlooConfigGenerator, Gloo layout, one file per resource): ");
    for (SizeResult r : results) {
      sb.append(r.size).append(" = ").append(r.workload.describe()).append("; ");
    }
    sb.append("every route matches a prefix and methods and has a timeout; 3 in 10 add a header matcher, retries and a"
        + " prefix rewrite.\n");
    sb.append(String.format(Locale.ROOT, "- Clients: %d %s ADS clients on shard-0 (the edited shard) and %d on every"
            + " other shard, each its own connection, ACKing every response as Envoy does (CDS and LDS wildcard, RDS by"
            + " the names the listeners give).%n", o.clients(), o.delta() ? "delta" : "state-of-the-world",
        o.otherClients()));
    sb.append(String.format(Locale.ROOT, "- Edits: %d warm-up, then %d measured; each rewrites"
            + " `%s` (temporary file, then rename), alternately adding a new domain and changing the /healthz body, so"
            + " every edit is a change never served before. The next edit starts %d ms after the last client ACKed"
            + " and the edit's pass ended."
            + " Write to ACK: from just before the write to the moment the client sent its ACK of the new RDS"
            + " version. serve's debounce: %d ms.%n", o.warmup(), o.edits(),
        GlooConfigGenerator.virtualServicePath(0, 0), o.settle().toMillis(), o.debounce().toMillis()));
    sb.append("- Persistence: serve's own state directory, on ");
    for (SizeResult r : results) {
      sb.append(r.size).append(": ").append(r.stateDirFs).append(", ")
          .append(String.format(Locale.ROOT, "%,d", r.stateDirBytes)).append(" bytes at the end; ");
    }
    sb.append("persisted by every pass (part of its CPU).\n\n");

    sb.append("| measurement | target | ");
    results.forEach(r -> sb.append(r.size).append(" (").append(String.format(Locale.ROOT, "%,d", r.workload.routes()))
        .append(" routes) | "));
    sb.append("\n|---|---|");
    results.forEach(r -> sb.append("---|"));
    sb.append('\n');
    for (String key : results.isEmpty() ? List.<String>of() : List.copyOf(results.get(0).startup.keySet())) {
      row(sb, results, "start-up: process start to " + key + " (ms)",
          key.startsWith("xDS port") ? "<= 3,000 at 50k" : "",
          r -> {
            Double v = r.startup.get(key);
            if (v == null) {
              return "-";
            }
            String s = f0(v);
            return key.startsWith("xDS port") && !isTenK(r) ? s + " " + verdict(v, 3000, "ms") : s;
          });
    }
    row(sb, results, "first pass in serve: wall (log) / translation (metric) / CPU (metric) (ms)", "<= 250 at 10k",
        r -> f0(r.firstPassLogMs) + " / " + f0(r.firstTranslationMs) + " / " + f0(r.firstPassCpuMs)
            + (isTenK(r) ? " " + verdict(r.firstPassLogMs, 250, "ms") : ""));
    row(sb, results, "full translation in-process, warm p50 / max / CPU p50; cold first (ms)", "<= 250 at 10k",
        r -> f1(r.inProcessWarmP50Ms) + " / " + f1(r.inProcessWarmMaxMs) + " / " + f1(r.inProcessWarmCpuP50Ms)
            + "; " + f0(r.inProcessColdMs) + (isTenK(r) ? " " + verdict(r.inProcessWarmP50Ms, 250, "ms") : ""));
    row(sb, results, "directory read in-process, from scratch (ms)", "", r -> f0(r.inProcessReadMs));
    row(sb, results, "CPU of the whole pass per edit, directory read included: pipeline thread, /proc schedstat,"
        + " p50 / p99 / max (ms)", "<= 20 at 10k, <= 30 at 50k", r -> cpuCell(r, s -> s.pipelineThreadCpuMs));
    row(sb, results, "pass CPU per edit, `shardgate_pass_cpu_seconds` _sum/_count deltas (read excluded), p50 / p99"
        + " / max (ms)", "<= 20 at 10k, <= 30 at 50k", r -> cpuCell(r, s -> s.passCpuMs));
    row(sb, results, "`shardgate_pass_cpu_seconds_max` after the loop (ms; a decaying max over about 2 min, so it can"
        + " still hold the start-up pass)", "", r -> f1(r.passCpuMaxGaugeMs));
    row(sb, results, "edits whose window held more than one directory read (a periodic re-scan)", "",
        r -> Long.toString(r.measured.stream().filter(s -> s.sourceReads > 1).count()));
    row(sb, results, "passes per edit (all edits: 1 expected)", "1",
        r -> {
          long odd = r.measured.stream().filter(s -> s.passes != 1).count();
          return odd == 0 ? "1" : odd + " edits had another count";
        });
    row(sb, results, "translation per edit p50 / max (ms, `shardgate_translation_seconds`, wall, publish excluded)",
        "", r -> {
          double[] t = sorted(r, s -> s.translationMs);
          return f1(Percentiles.percentile(t, 50)) + " / " + f1(t[t.length - 1]);
        });
    row(sb, results, "write to ACK, every client of the edited shard, p50 / p99 / max (ms)",
        "p99 <= debounce + 50 = " + (o.debounce().toMillis() + 50),
        r -> {
          List<Double> all = new ArrayList<>();
          r.measured.forEach(s -> all.addAll(s.ackMs));
          double[] a = Percentiles.sorted(all);
          double p99 = Percentiles.percentile(a, 99);
          return f0(Percentiles.percentile(a, 50)) + " / " + f0(p99) + " / " + f0(a[a.length - 1]) + " (" + a.length
              + " samples) " + verdict(p99, o.debounce().toMillis() + 50, "ms");
        });
    row(sb, results, "fan-out: last minus first client's ACK of an edit, p50 / max (ms)", "",
        r -> {
          double[] d = sorted(r, s -> {
            double[] a = Percentiles.sorted(s.ackMs);
            return a[a.length - 1] - a[0];
          });
          return f1(Percentiles.percentile(d, 50)) + " / " + f1(d[d.length - 1]);
        });
    row(sb, results, "write to the end of the pass (published and persisted: its log line) p50 / max (ms)", "",
        r -> {
          double[] d = sorted(r, s -> s.passDoneMs);
          return f0(Percentiles.percentile(d, 50)) + " / " + f0(d[d.length - 1]);
        });
    row(sb, results, "pushes to clients of other shards during the measured edits (client count / server metric)",
        "0", r -> {
          int client = r.measured.stream().mapToInt(s -> s.pushesOthers).sum();
          double server = r.measured.stream().mapToDouble(s -> s.pushesOthersServer).sum();
          return client + " / " + f0(server) + (client == 0 && server == 0 ? " met" : " **missed**");
        });
    row(sb, results, "responses per edited-shard client per edit beyond the one RDS", "0",
        r -> Integer.toString(r.measured.stream().mapToInt(s -> s.extraPushesEdited).sum()));
    row(sb, results, "process CPU per edit p50 / p99 / mean (ms, /proc utime+stime, 10 ms ticks, whole window)", "",
        r -> {
          double[] p = sorted(r, s -> s.processCpuMs);
          double mean = r.measured.stream().mapToDouble(s -> s.processCpuMs).average().orElse(Double.NaN);
          double window = r.measured.stream().mapToDouble(s -> s.windowMs).average().orElse(Double.NaN);
          return f0(Percentiles.percentile(p, 50)) + " / " + f0(Percentiles.percentile(p, 99)) + " / " + f0(mean)
              + String.format(Locale.ROOT, " (window %.0f ms; idle %.1f ms/s)", window, r.idleCpuMsPerS);
        });
    row(sb, results, "process CPU per edit by thread, mean (ms; kernel thread names, digits as #)", "",
        ServeBenchmarkReport::threadGroups);
    row(sb, results, "allocated per edit, whole process (MiB): `jvm_gc_memory_allocated_bytes` / eden growth in"
        + " the jstat samples (a lower bound)", "",
        r -> f1(r.allocatedPerEditMiB) + " / " + (r.heapSamples == 0 ? "-" : f1(r.edenAllocatedPerEditMiB)));
    row(sb, results, "heap live after full GC, before / after the burst (MiB)", "<= 150 at 10k",
        r -> r.heapSamples == 0 ? "-" : f1(r.liveBeforeKiB / 1024.0) + " / " + f1(r.liveAfterKiB / 1024.0)
            + (isTenK(r) ? " " + verdict(r.liveBeforeKiB / 1024.0, 150, "MiB") : ""));
    row(sb, results, "heap peak used during the burst (MiB, jstat every " + o.jstatIntervalMs() + " ms) / ratio to"
        + " live",
        "<= 2x live", r -> r.heapSamples == 0 ? "-"
            : f1(r.peakKiB / 1024.0) + " / " + String.format(Locale.ROOT, "%.2fx", (double) r.peakKiB / r.liveBeforeKiB)
                + " " + verdict((double) r.peakKiB / r.liveBeforeKiB, 2, "x"));
    row(sb, results, "what bounds the peak: max eden used / heap committed (MiB); young / full GCs in the burst", "",
        r -> r.heapSamples == 0 ? "-" : f1(r.maxEdenUsedKiB / 1024.0) + " / " + f1(r.peakCommittedKiB / 1024.0)
            + "; " + r.burstYoungGcs + " / " + r.burstFullGcs);
    row(sb, results, "allocated per edit during the profile, whole process (MiB, JFR heap summaries) / the pipeline"
        + " thread's share", "", r -> r.profile == null ? "-" : f1(r.profile.allocatedPerPassMiB(r.profiledPasses))
            + String.format(Locale.ROOT, " / %.0f %%", 100 * r.profile.pipelineAllocationShare()));
    sb.append('\n');
    for (SizeResult r : results) {
      if (r.profile != null) {
        sb.append("### Profile of ").append(r.size).append(" during ").append(r.profiledPasses)
            .append(" edits (JFR `profile` settings, ").append(r.profileFile.getFileName()).append(")\n\n");
        sb.append(r.profile.markdown(r.profiledPasses));
      }
    }
    sb.append("Raw samples: edits.csv (one row per edit), acks.csv (one row per edit and client), startup.csv,"
        + " heap.csv (jstat), responses.csv (every response every client got); serve-<size>.log and .jfr beside"
        + " them.\n");
    return sb.toString();
  }

  private static String cpuCell(SizeResult r, Function<EditSample, Double> value) {
    double[] cpu = sorted(r, value);
    return f1(Percentiles.percentile(cpu, 50)) + " / " + f1(Percentiles.percentile(cpu, 99)) + " / "
        + f1(cpu[cpu.length - 1]) + " " + verdict(Percentiles.percentile(cpu, 99), isTenK(r) ? 20 : 30, "ms");
  }

  /** The thread groups that took the most CPU per measured edit, largest first. */
  private static String threadGroups(SizeResult r) {
    Map<String, Double> total = new TreeMap<>();
    r.measured.forEach(s -> s.threadGroupsMs.forEach((k, v) -> total.merge(k, v, Double::sum)));
    List<Map.Entry<String, Double>> top = new ArrayList<>(total.entrySet());
    top.sort(Map.Entry.<String, Double>comparingByValue().reversed());
    StringBuilder sb = new StringBuilder();
    for (Map.Entry<String, Double> e : top.subList(0, Math.min(7, top.size()))) {
      sb.append(sb.length() == 0 ? "" : ", ").append(e.getKey()).append(' ')
          .append(f1(e.getValue() / Math.max(1, r.measured.size())));
    }
    return sb.toString();
  }

  private static boolean isTenK(SizeResult r) {
    return r.workload.routes() <= TEN_K_LIMIT;
  }

  private static double[] sorted(SizeResult r, Function<EditSample, Double> value) {
    return Percentiles.sorted(r.measured.stream().map(value).toList());
  }

  private static void row(StringBuilder sb, List<SizeResult> results, String what, String target,
      Function<SizeResult, String> cell) {
    sb.append("| ").append(what).append(" | ").append(target).append(" | ");
    for (SizeResult r : results) {
      sb.append(cell.apply(r)).append(" | ");
    }
    sb.append('\n');
  }

  /** "met", or "**missed** by X unit (Y%)". */
  static String verdict(double value, double limit, String unit) {
    if (Double.isNaN(value)) {
      return "(not measured)";
    }
    if (value <= limit) {
      return "met";
    }
    return String.format(Locale.ROOT, "**missed** by %s %s (+%.0f%%)", unit.equals("x") ? String.format(Locale.ROOT,
        "%.2f", value - limit) : f1(value - limit), unit, 100 * (value - limit) / limit);
  }

  private static String f0(double v) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%,.0f", v);
  }

  private static String f1(double v) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%,.1f", v);
  }
}
