package io.shardgate.loadtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.local.ChildProcess;
import io.shardgate.controlplane.local.LocalLayout;
import io.shardgate.loadtests.LoadIsolationBenchmark.RunResult;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code run-load-isolation.sh --smoke} end to end, in-process: every layout (shared, sharded, edge) started with real
 * Envoys, real {@code serve} and echo backends, the protected API under open-loop load solo and while the real wrk
 * saturates the noisy API; the report, CSV, JSON and PNG written. Asserts that the harness works, never how fast
 * anything is (the machine may be loaded): every layout and phase ran, every protected request was answered 200, wrk
 * got answers, the files are there and the PNG decodes at its size, the placement is reported.
 */
class LoadIsolationSmokeTest {

  @TempDir Path out;

  @Test
  void smokeRunsEveryLayoutAndWritesTheReport() throws Exception {
    LoadIsolationBenchmark.Options options = LoadIsolationBenchmark.Options.parse(
        new String[] {"--smoke", "--out", out.toString(), "--base-port", "25000"});
    LoadIsolationBenchmark benchmark = new LoadIsolationBenchmark(options);
    try {
      benchmark.run();
    } finally {
      benchmark.cleanUp();
    }
    List<RunResult> results = benchmark.results();
    assertEquals(LocalLayout.values().length * LoadIsolationBenchmark.PHASES.size(), results.size(),
        "one run per layout and phase: " + results);
    for (LocalLayout layout : LocalLayout.values()) {
      for (String phase : LoadIsolationBenchmark.PHASES) {
        RunResult run = results.stream().filter(r -> r.layout() == layout && r.phase().equals(phase)).findFirst()
            .orElseThrow(() -> new AssertionError(layout + " " + phase + " did not run: " + results));
        OpenLoopDriver.Result p = run.protectedResult();
        assertTrue(p.sent() > 0, layout + " " + phase + ": no protected request sent");
        assertEquals(p.sent(), p.ok(), layout + " " + phase + ": protected requests failed, e.g. " + p.errorSample());
        assertEquals(p.sent(), p.histogram().getTotalCount(), "every sent request is in the histogram");
        if (phase.equals(LoadIsolationBenchmark.NOISY)) {
          assertTrue(run.noisy().requests() > 0, layout + ": wrk got no answers");
          assertEquals(0, run.noisy().errors(), layout + ": wrk saw errors");
        }
        int envoys = layout == LocalLayout.SHARED ? 1 : layout == LocalLayout.EDGE ? 3 : 2;
        assertEquals(envoys + 2, run.cpuSeconds().size(), layout + " Envoys and backends: " + run.cpuSeconds());
      }
    }
    LoadIsolationReport.Outputs files = benchmark.written();
    assertNotNull(files, "no report written");
    String report = Files.readString(files.markdown(), StandardCharsets.UTF_8);
    for (LocalLayout layout : LocalLayout.values()) {
      assertTrue(report.contains("| " + layout.label() + " | noisy |"), "no row for " + layout + ":\n" + report);
    }
    assertTrue(report.contains("## Placement") && report.contains("- pinning: " + benchmark.pinning()), report);
    assertTrue(ChildProcess.tasksetAvailable() ? report.contains("on CPUs 0") : report.contains("unpinned"), report);
    List<String> csv = Files.readAllLines(files.csv(), StandardCharsets.UTF_8);
    assertEquals(results.size() + 1, csv.size(), String.join("\n", csv));
    assertTrue(Files.readString(files.json(), StandardCharsets.UTF_8).contains("\"percentilesMs\""));
    BufferedImage png = ImageIO.read(files.png().toFile());
    assertNotNull(png, files.png() + " does not decode as an image");
    assertEquals(LoadIsolationReport.PLOT_WIDTH, png.getWidth());
    assertEquals(LoadIsolationReport.PLOT_HEIGHT, png.getHeight());
  }

  @Test
  void wrkSummaryIsRead() {
    LoadIsolationBenchmark.NoisyResult r = LoadIsolationBenchmark.parseWrk("""
        Running 5s test @ http://127.0.0.1:25001/
          1 threads and 4 connections
          55012 requests in 5.00s, 7.1MB read
          Socket errors: connect 0, read 2, write 0, timeout 1
          Non-2xx or 3xx responses: 4
        Requests/sec:  11002.40
        Transfer/sec:      1.42MB
        """);
    assertEquals(new LoadIsolationBenchmark.NoisyResult(11002.40, 55012, 7), r);
  }
}
