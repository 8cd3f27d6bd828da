package io.shardgate.controlplane.kube;

import io.shardgate.controlplane.e2e.ExampleConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real kube-apiserver, kube-controller-manager and etcd binaries, built from the Go module proxy by
 * {@code tools/kube-test-servers.sh} into a cache outside the work tree. The first call in a JVM runs the script
 * ({@code path}: it builds only when the cache lacks them), streaming its progress to stdout so a CI log shows a
 * cold build's minutes; later calls reuse the answer.
 *
 * <p>Stateful (one answer per JVM), thread-safe. A build that fails fails the calling test: a skipped Kubernetes
 * test would look green while proving nothing.
 */
final class KubeTestServers {

  static final String SCRIPT = "tools/kube-test-servers.sh";

  /** A cold build is about ten minutes of two cores; a machine busy with other builds can take several times it. */
  private static final Duration BUILD_BOUND = Duration.ofMinutes(90);
  private static final int KEPT_LINES = 40;

  private static Path binDir;
  private static String failure;

  private KubeTestServers() {
  }

  static synchronized Path binDir() {
    if (binDir == null && failure == null) {
      try {
        binDir = buildOrFind();
      } catch (AssertionError | RuntimeException e) {
        failure = e.getMessage();
        throw e;
      }
    }
    if (failure != null) {
      // One attempt per JVM: every later test class fails at once with the same reason instead of building again.
      throw new AssertionError(failure);
    }
    return binDir;
  }

  static Path binary(String name) {
    Path bin = binDir().resolve(name);
    if (!Files.isExecutable(bin)) {
      throw new AssertionError(SCRIPT + " reported " + binDir() + " but " + bin + " is not an executable. Rebuild"
          + " with:\n  bash " + SCRIPT + " build --force");
    }
    return bin;
  }

  private static Path buildOrFind() {
    Path root = ExampleConfig.repoRoot();
    Path script = root.resolve(SCRIPT);
    List<String> command = List.of("bash", script.toString(), "path");
    Deque<String> progress = new ArrayDeque<>();
    long began = System.nanoTime();
    Path out;
    Process process;
    try {
      out = Files.createTempFile("kube-test-servers-path", ".txt");
      process = new ProcessBuilder(command)
          .directory(root.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
          .redirectOutput(out.toFile())
          .start();
    } catch (IOException e) {
      throw new AssertionError("cannot run " + String.join(" ", command) + ": " + e, e);
    }
    // The script's progress (stderr) is streamed as it comes; stdout carries only the bin dir.
    Thread streamer = new Thread(() -> stream(process, progress), "kube-test-servers-progress");
    streamer.setDaemon(true);
    streamer.start();
    String printed;
    try {
      if (!process.waitFor(BUILD_BOUND.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
        throw new AssertionError(String.join(" ", command) + " did not finish within " + BUILD_BOUND
            + ". Its last lines:\n" + lines(progress));
      }
      streamer.join(TimeUnit.SECONDS.toMillis(10));
      printed = Files.readString(out, StandardCharsets.UTF_8).trim();
      Files.deleteIfExists(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      process.destroy();
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while waiting for " + SCRIPT, e);
    }
    if (process.exitValue() != 0 || printed.isEmpty()) {
      throw new AssertionError("The Kubernetes tests run a real kube-apiserver and etcd, and "
          + String.join(" ", command) + " could not provide them (exit status " + process.exitValue() + "). It needs"
          + " Go 1.24+ and the Go module proxy; run it by hand to see more: bash " + SCRIPT + " build. Its last"
          + " lines:\n" + lines(progress));
    }
    Path dir = Path.of(printed.lines().reduce((first, second) -> second).orElseThrow());
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - began);
    System.out.println("[kube-test-servers] binaries in " + dir + " (" + seconds + " s to build or find them)");
    return dir;
  }

  private static void stream(Process process, Deque<String> kept) {
    try (BufferedReader err = new BufferedReader(
        new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
      for (String line = err.readLine(); line != null; line = err.readLine()) {
        System.out.println(line);
        synchronized (kept) {
          kept.addLast(line);
          if (kept.size() > KEPT_LINES) {
            kept.removeFirst();
          }
        }
      }
    } catch (IOException ended) {
      // the process is gone; its exit status says the rest
    }
  }

  private static String lines(Deque<String> kept) {
    synchronized (kept) {
      return kept.isEmpty() ? "(none)" : String.join("\n", kept);
    }
  }
}
