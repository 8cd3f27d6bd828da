package io.shardgate.controlplane.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real server or tool that one of the repository's {@code tools/*.sh} scripts builds from the Go module proxy into a
 * cache outside the work tree (kube-apiserver and etcd, Consul, the HCL2 parser). The first {@link #path()} runs the
 * script's {@code path} command, which builds only when the cache lacks the binaries and prints where they are as its
 * last stdout line, and streams its progress (stderr) to stdout, so a CI log shows a cold build's minutes; later calls
 * reuse the answer.
 *
 * <p>Stateful (one answer per instance; callers keep one static instance, so one build attempt per JVM), thread-safe.
 * A build that fails fails every caller with the same reason: a test that skipped would look green while proving
 * nothing.
 */
public final class ScriptBuiltTool {

  /** A cold build is minutes of two cores; a machine busy with other builds can take several times it. */
  private static final Duration BUILD_BOUND = Duration.ofMinutes(90);
  private static final int KEPT_LINES = 40;

  private final String script;
  private final String purpose;
  private final String needs;
  private final String label;
  private Path path;
  private String failure;

  /**
   * @param script the script, relative to the repository root ({@code tools/kube-test-servers.sh})
   * @param purpose what the tests run, for the failure message ({@code The Consul tests run a real Consul agent})
   * @param needs what the build needs ({@code Go 1.24+ and the Go module proxy})
   */
  public ScriptBuiltTool(String script, String purpose, String needs) {
    this.script = script;
    this.purpose = purpose;
    this.needs = needs;
    String file = Paths.get(script).getFileName().toString();
    this.label = file.endsWith(".sh") ? file.substring(0, file.length() - 3) : file;
  }

  /** The script, relative to the repository root. */
  public String script() {
    return script;
  }

  /** What the script's {@code path} printed (a binary or a folder of binaries), building it first if needed. */
  public synchronized Path path() {
    if (path == null && failure == null) {
      try {
        path = buildOrFind();
      } catch (AssertionError | RuntimeException e) {
        failure = e.getMessage();
        throw e;
      }
    }
    if (failure != null) {
      // One attempt per JVM: every later test class fails at once with the same reason instead of building again.
      throw new AssertionError(failure);
    }
    return path;
  }

  private Path buildOrFind() {
    Path root = ExampleConfig.repoRoot();
    List<String> command = List.of("bash", root.resolve(script).toString(), "path");
    Deque<String> progress = new ArrayDeque<>();
    long began = System.nanoTime();
    Path out;
    Process process;
    try {
      out = Files.createTempFile(label + "-path", ".txt");
      process = new ProcessBuilder(command)
          .directory(root.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
          .redirectOutput(out.toFile())
          .start();
    } catch (IOException e) {
      throw new AssertionError("cannot run " + String.join(" ", command) + ": " + e, e);
    }
    // The script's progress (stderr) is streamed as it comes; stdout carries only the path.
    Thread streamer = new Thread(() -> stream(process, progress), label + "-progress");
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
      throw new AssertionError("interrupted while waiting for " + script, e);
    }
    if (process.exitValue() != 0 || printed.isEmpty()) {
      throw new AssertionError(purpose + ", and " + String.join(" ", command) + " could not provide it (exit status "
          + process.exitValue() + "). It needs " + needs + "; run it by hand to see more: bash " + script
          + " build. Its last lines:\n" + lines(progress));
    }
    Path found = Path.of(printed.lines().reduce((first, second) -> second).orElseThrow());
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - began);
    System.out.println("[" + label + "] " + found + " (" + seconds + " s to build or find it)");
    return found;
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
