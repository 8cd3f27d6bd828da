package io.shardgate.loadtests;

import io.shardgate.controlplane.local.LocalLayout;
import io.shardgate.loadtests.LoadIsolationBenchmark.Options;
import io.shardgate.loadtests.LoadIsolationBenchmark.RunResult;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;
import org.HdrHistogram.Histogram;

/**
 * The load-isolation experiment's outputs from its runs: {@code results.csv} (one row per run), {@code results.json}
 * (the same plus percentile curves), {@code report.md} (machine, versions, command, placement, a table per layout with
 * medians, spread and ratios to the solo baseline, every run with its load average) and {@code latency.png}
 * (percentile curves per layout and phase, drawn here with Java2D). Pure apart from writing the files; headless.
 */
final class LoadIsolationReport {

  static final int PLOT_WIDTH = 1000;
  static final int PLOT_HEIGHT = 600;
  /** The percentiles of the curves, the table and the JSON. */
  static final double[] PERCENTILES = {0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99};

  /** Where the outputs went. */
  record Outputs(Path markdown, Path csv, Path json, Path png) {}

  private LoadIsolationReport() {}

  static Outputs write(Options options, String pinning, List<String> placement, List<RunResult> results,
      String envoyVersion, String wrkVersion) throws IOException {
    Path out = options.out();
    Outputs files = new Outputs(out.resolve("report.md"), out.resolve("results.csv"), out.resolve("results.json"),
        out.resolve("latency.png"));
    Files.writeString(files.csv(), csv(results), StandardCharsets.UTF_8);
    Files.writeString(files.json(), json(pinning, placement, results), StandardCharsets.UTF_8);
    ImageIO.write(plot(results), "png", files.png().toFile());
    Files.writeString(files.markdown(), markdown(options, pinning, placement, results, envoyVersion,
        wrkVersion), StandardCharsets.UTF_8);
    return files;
  }

  static double ms(Histogram h, double percentile) {
    return h.getValueAtPercentile(percentile) / 1e6;
  }

  static String csv(List<RunResult> results) {
    StringBuilder sb = new StringBuilder("round,layout,phase,load_average,rate,sent,ok,errors,p50_ms,p90_ms,p99_ms,"
        + "p999_ms,max_ms,noisy_rps,noisy_requests,noisy_errors,cpu_s\n");
    for (RunResult r : results) {
      Histogram h = r.protectedResult().histogram();
      sb.append(String.format(Locale.ROOT, "%d,%s,%s,%s,%.1f,%d,%d,%d,%.3f,%.3f,%.3f,%.3f,%.3f,%.1f,%d,%d,%s%n",
          r.round(), r.layout().label(), r.phase(), r.loadAverage(), r.rate(), r.protectedResult().sent(),
          r.protectedResult().ok(), r.protectedResult().errors(), ms(h, 50), ms(h, 90), ms(h, 99), ms(h, 99.9),
          h.getMaxValue() / 1e6, r.noisy().requestsPerSecond(), r.noisy().requests(), r.noisy().errors(),
          cpu(r.cpuSeconds(), ";")));
    }
    return sb.toString();
  }

  private static String cpu(Map<String, Double> cpu, String separator) {
    List<String> parts = new ArrayList<>();
    cpu.forEach((name, seconds) -> parts.add(name + "=" + String.format(Locale.ROOT, "%.2f", seconds)));
    return String.join(separator, parts);
  }

  static String json(String pinning, List<String> placement, List<RunResult> results) {
    StringBuilder sb = new StringBuilder("{\n  \"machine\": ").append(quote(BenchmarkMachine.describe().summary()))
        .append(",\n  \"pinning\": ").append(quote(pinning)).append(",\n  \"placement\": [");
    for (int i = 0; i < placement.size(); i++) {
      sb.append(i == 0 ? "" : ", ").append(quote(placement.get(i)));
    }
    sb.append("],\n  \"runs\": [");
    for (int i = 0; i < results.size(); i++) {
      RunResult r = results.get(i);
      Histogram h = r.protectedResult().histogram();
      sb.append(i == 0 ? "\n" : ",\n").append(String.format(Locale.ROOT, "    {\"round\": %d, \"layout\": %s, "
              + "\"phase\": %s, \"loadAverage\": %s, \"rate\": %.1f, \"sent\": %d, \"ok\": %d, \"errors\": %d, "
              + "\"errorSample\": %s, \"noisyRps\": %.1f, \"noisyRequests\": %d, \"noisyErrors\": %d, "
              + "\"maxMs\": %.3f, \"percentilesMs\": {",
          r.round(), quote(r.layout().label()), quote(r.phase()), quote(r.loadAverage()), r.rate(),
          r.protectedResult().sent(), r.protectedResult().ok(), r.protectedResult().errors(),
          quote(r.protectedResult().errorSample()), r.noisy().requestsPerSecond(), r.noisy().requests(),
          r.noisy().errors(), h.getMaxValue() / 1e6));
      for (int p = 0; p < PERCENTILES.length; p++) {
        sb.append(p == 0 ? "" : ", ").append(String.format(Locale.ROOT, "\"%s\": %.3f", label(PERCENTILES[p]),
            ms(h, PERCENTILES[p])));
      }
      sb.append("}, \"cpuSeconds\": {");
      int n = 0;
      for (Map.Entry<String, Double> e : r.cpuSeconds().entrySet()) {
        sb.append(n++ == 0 ? "" : ", ").append(quote(e.getKey())).append(": ")
            .append(String.format(Locale.ROOT, "%.2f", e.getValue()));
      }
      sb.append("}}");
    }
    return sb.append("\n  ]\n}\n").toString();
  }

  private static String label(double percentile) {
    return percentile == Math.rint(percentile) ? Long.toString((long) percentile) : Double.toString(percentile);
  }

  private static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) {
            sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"').toString();
  }

  /** The runs of one layout and phase, in round order. */
  private static List<RunResult> runs(List<RunResult> results, LocalLayout layout, String phase) {
    return results.stream().filter(r -> r.layout() == layout && r.phase().equals(phase)).toList();
  }

  static double median(List<RunResult> runs, ToDoubleFunction<RunResult> value) {
    double[] v = runs.stream().mapToDouble(value).sorted().toArray();
    if (v.length == 0) {
      return Double.NaN;
    }
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  private static String spread(List<RunResult> runs, ToDoubleFunction<RunResult> value) {
    double min = runs.stream().mapToDouble(value).min().orElse(Double.NaN);
    double max = runs.stream().mapToDouble(value).max().orElse(Double.NaN);
    return String.format(Locale.ROOT, "%.3f–%.3f", min, max);
  }

  /** The baseline the ratios divide by: the sharded layout's solo runs, else the first layout's. */
  private static List<RunResult> baseline(List<RunResult> results) {
    List<RunResult> sharded = runs(results, LocalLayout.SHARDED, "solo");
    return sharded.isEmpty() ? runs(results, results.get(0).layout(), "solo") : sharded;
  }

  static String markdown(Options options, String pinning, List<String> placement, List<RunResult> results,
      String envoyVersion, String wrkVersion) {
    BenchmarkMachine machine = BenchmarkMachine.describe();
    List<RunResult> baseline = baseline(results);
    double baseP99 = median(baseline, r -> ms(r.protectedResult().histogram(), 99));
    double baseP999 = median(baseline, r -> ms(r.protectedResult().histogram(), 99.9));
    StringBuilder sb = new StringBuilder("# Load isolation").append(options.smoke() ? " (smoke run: not a result)" : "")
        .append("\n\n");
    sb.append("- machine: ").append(machine.summary()).append('\n');
    sb.append("- Envoy: ").append(envoyVersion).append(", --concurrency ").append(options.concurrency()).append('\n');
    sb.append("- noisy load: ").append(options.noisyLoad(wrkVersion)).append('\n');
    sb.append(String.format(Locale.ROOT, "- protected load: OpenLoopDriver, %.0f req/s open loop over %d keep-alive"
            + " connections, latency from each request's due time (no coordinated omission), HdrHistogram%n",
        options.rate(), options.connections()));
    sb.append("- runs: ").append(options.repeats()).append(" round(s) of ")
        .append(options.layouts().stream().map(LocalLayout::label).toList()).append(", each layout solo then with")
        .append(" the noisy load; ").append(options.warmupSeconds()).append(" s warm-up, ")
        .append(options.durationSeconds()).append(" s measured per run\n");
    sb.append("- command: `").append(System.getProperty("shardgate.bench.command", "(in-process)")).append("`\n");
    sb.append("- pinning: ").append(pinning).append("\n\n");
    sb.append("## Protected API latency (medians over rounds, ms)\n\n");
    sb.append(String.format(Locale.ROOT, "Ratios divide by the baseline: the protected API solo in the %s layout"
        + " (median p99 %.3f ms, p99.9 %.3f ms).%n%n", baseline.get(0).layout().label(), baseP99, baseP999));
    sb.append("| layout | phase | p50 | p99 | p99 spread | p99.9 | errors / sent | noisy req/s | p99 × baseline |"
        + " p99.9 × baseline |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for (LocalLayout layout : options.layouts()) {
      for (String phase : LoadIsolationBenchmark.PHASES) {
        List<RunResult> runs = runs(results, layout, phase);
        if (runs.isEmpty()) {
          continue;
        }
        double p99 = median(runs, r -> ms(r.protectedResult().histogram(), 99));
        double p999 = median(runs, r -> ms(r.protectedResult().histogram(), 99.9));
        long errors = runs.stream().mapToLong(r -> r.protectedResult().errors()).sum();
        long sent = runs.stream().mapToLong(r -> r.protectedResult().sent()).sum();
        sb.append(String.format(Locale.ROOT, "| %s | %s | %.3f | %.3f | %s | %.3f | %d / %d | %.0f | %.2f | %.2f |%n",
            layout.label(), phase, median(runs, r -> ms(r.protectedResult().histogram(), 50)), p99,
            spread(runs, r -> ms(r.protectedResult().histogram(), 99)), p999, errors, sent,
            median(runs, r -> r.noisy().requestsPerSecond()), p99 / baseP99, p999 / baseP999));
      }
    }
    sb.append("\n![protected API latency percentiles per layout](latency.png)\n\n");
    sb.append("## Every run\n\n| round | layout | phase | load average (1, 5, 15 min) | sent | errors | p50 | p99 |"
        + " p99.9 | max | noisy req/s | noisy errors | CPU s (Envoys, backends) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (RunResult r : results) {
      Histogram h = r.protectedResult().histogram();
      sb.append(String.format(Locale.ROOT, "| %d | %s | %s | %s | %d | %d | %.3f | %.3f | %.3f | %.3f | %.0f | %d |"
              + " %s |%n", r.round(), r.layout().label(), r.phase(), r.loadAverage(), r.protectedResult().sent(),
          r.protectedResult().errors(), ms(h, 50), ms(h, 99), ms(h, 99.9), h.getMaxValue() / 1e6,
          r.noisy().requestsPerSecond(), r.noisy().errors(), cpu(r.cpuSeconds(), ", ")));
    }
    sb.append("\n## Placement\n\n").append(pinning).append("\n\n```\n");
    placement.forEach(line -> sb.append(line).append('\n'));
    sb.append("```\n\nRaw results: results.csv, results.json (percentile curves per run).\n");
    return sb.toString();
  }

  private static final Color[] LAYOUT_COLORS = {new Color(0xd62728), new Color(0x1f77b4), new Color(0x2ca02c)};

  /**
   * Percentile curves of the protected API per layout and phase (histograms merged over rounds): x is the percentile
   * on a "nines" scale (0, 90, 99, 99.9, 99.99), y the latency in ms on a log scale; solid with the noisy load, dashed
   * solo.
   */
  static BufferedImage plot(List<RunResult> results) {
    BufferedImage image = new BufferedImage(PLOT_WIDTH, PLOT_HEIGHT, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, PLOT_WIDTH, PLOT_HEIGHT);
    int left = 80;
    int right = PLOT_WIDTH - 220;
    int top = 50;
    int bottom = PLOT_HEIGHT - 60;
    Map<String, Histogram> curves = new LinkedHashMap<>();
    Map<String, Integer> colors = new LinkedHashMap<>();
    for (RunResult r : results) {
      String key = r.layout().label() + " " + r.phase();
      curves.computeIfAbsent(key, k -> new Histogram(1_000, 60_000_000_000L, 3)).add(r.protectedResult().histogram());
      colors.put(key, r.layout().ordinal());
    }
    double maxNines = 4;
    double minMs = Double.MAX_VALUE;
    double maxMs = 0;
    for (Histogram h : curves.values()) {
      minMs = Math.min(minMs, Math.max(0.01, h.getMinValue() / 1e6));
      maxMs = Math.max(maxMs, h.getMaxValue() / 1e6);
    }
    if (curves.isEmpty()) {
      minMs = 0.1;
      maxMs = 1;
    }
    double logMin = Math.floor(Math.log10(minMs));
    double logMax = Math.max(logMin + 1, Math.ceil(Math.log10(Math.max(maxMs, minMs * 10))));
    g.setColor(Color.BLACK);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
    g.drawString("Protected API latency by percentile (merged over rounds)", left, 30);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    g.setColor(new Color(0xdddddd));
    for (int n = 0; n <= (int) maxNines; n++) {
      int x = left + (int) Math.round((right - left) * n / maxNines);
      g.drawLine(x, top, x, bottom);
    }
    for (double e = logMin; e <= logMax; e++) {
      int y = bottom - (int) Math.round((bottom - top) * (e - logMin) / (logMax - logMin));
      g.drawLine(left, y, right, y);
    }
    g.setColor(Color.BLACK);
    g.drawRect(left, top, right - left, bottom - top);
    String[] xLabels = {"0", "90", "99", "99.9", "99.99"};
    for (int n = 0; n <= (int) maxNines; n++) {
      int x = left + (int) Math.round((right - left) * n / maxNines);
      g.drawString(xLabels[n], x - 10, bottom + 18);
    }
    g.drawString("percentile", (left + right) / 2 - 25, bottom + 40);
    for (double e = logMin; e <= logMax; e++) {
      int y = bottom - (int) Math.round((bottom - top) * (e - logMin) / (logMax - logMin));
      g.drawString(String.format(Locale.ROOT, "%s ms", Math.pow(10, e) >= 1 ? Long.toString((long) Math.pow(10, e))
          : Double.toString(Math.pow(10, e))), 10, y + 4);
    }
    int legendY = top + 10;
    for (Map.Entry<String, Histogram> curve : curves.entrySet()) {
      Color color = LAYOUT_COLORS[colors.get(curve.getKey()) % LAYOUT_COLORS.length];
      boolean solo = curve.getKey().endsWith(" solo");
      g.setColor(color);
      g.setStroke(solo ? new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 1f, new float[] {6f, 4f}, 0f)
          : new BasicStroke(2.5f));
      int prevX = -1;
      int prevY = -1;
      for (int step = 0; step <= 400; step++) {
        double nines = maxNines * step / 400;
        double percentile = 100 * (1 - Math.pow(10, -nines));
        double value = Math.max(minMs, curve.getValue().getValueAtPercentile(percentile) / 1e6);
        int x = left + (int) Math.round((right - left) * nines / maxNines);
        int y = bottom - (int) Math.round((bottom - top) * (Math.log10(value) - logMin) / (logMax - logMin));
        if (prevX >= 0) {
          g.drawLine(prevX, prevY, x, y);
        }
        prevX = x;
        prevY = y;
      }
      g.drawLine(right + 20, legendY, right + 60, legendY);
      g.setColor(Color.BLACK);
      g.drawString(curve.getKey(), right + 68, legendY + 4);
      legendY += 22;
    }
    g.dispose();
    return image;
  }
}
