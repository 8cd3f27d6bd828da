package io.shardgate.controlplane.kube;

import io.shardgate.controlplane.e2e.ExampleConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One real server process a test tier starts (etcd, kube-apiserver): its output goes to a log file (never a pipe,
 * which a chatty server could fill and block on) and it is stopped by its own pid, gently first.
 *
 * <p>Stateful; {@link #stop()} may be called from any thread, more than once (a test's afterAll and the JVM's
 * shutdown hook).
 */
public final class ServerProcess {

  private static final Duration GRACE = Duration.ofSeconds(15);

  final String name;
  final Path log;
  private final Process process;

  private ServerProcess(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    this.log = log;
  }

  public static ServerProcess start(String name, List<String> command, Path log) throws IOException {
    Process process = new ProcessBuilder(command)
        .directory(log.getParent().toFile())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
        .start();
    return new ServerProcess(name, process, log);
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** Why the process is gone, for failure messages; empty while it runs. */
  public String exitDescription() {
    return process.isAlive() ? "" : name + " exited with status " + process.exitValue();
  }

  /** Resident memory in MiB from /proc, or -1 when it cannot be read (the process is gone). */
  public long residentMib() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
        }
      }
    } catch (IOException | RuntimeException gone) {
      // the process ended between the check and the read
    }
    return -1;
  }

  /** Whether the log contains {@code text} (used to tell a port taken by someone else from other failures). */
  public boolean logContains(String text) {
    try {
      return Files.readString(log, StandardCharsets.UTF_8).contains(text);
    } catch (IOException e) {
      return false;
    }
  }

  public String logTail(int lines) {
    return ExampleConfig.tail(log, lines);
  }

  /** SIGTERM to this pid, then SIGKILL when it has not ended within the grace period; waits for it either way. */
  public void stop() {
    if (!process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly().waitFor(GRACE.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
