package io.shardgate.controlplane.local;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One child process of a local run (an Envoy, an echo backend, the control plane, a load generator): optionally pinned
 * with {@code taskset -c}, its stdout and stderr in a log file (never a pipe a chatty child could fill), stopped by
 * its pid.
 *
 * <p>Stateful edge; thread-safe. {@link #close()} is idempotent: SIGTERM, up to ten seconds, then SIGKILL.
 */
public final class ChildProcess implements AutoCloseable {

  private static final long STOP_SECONDS = 10;
  private static volatile Boolean tasksetWorks;

  private final String name;
  private final Process process;
  private final Path log;
  private final String cpus;

  private ChildProcess(String name, Process process, Path log, String cpus) {
    this.name = name;
    this.process = process;
    this.log = log;
    this.cpus = cpus;
  }

  /**
   * Starts {@code command} named {@code name}, pinned to {@code cpus} when that is not null (then {@code taskset}
   * must work: see {@link #tasksetAvailable()}), with its output in {@code log}.
   */
  public static ChildProcess start(String name, List<String> command, String cpus, Path log) throws IOException {
    List<String> full = new ArrayList<>();
    if (cpus != null) {
      if (!tasksetAvailable()) {
        throw new IllegalStateException("cannot pin " + name + " to CPUs " + cpus + ": taskset does not work here");
      }
      full.addAll(List.of("taskset", "-c", cpus)); // taskset execs the command: the pid stays the child's
    }
    full.addAll(command);
    Files.createDirectories(log.toAbsolutePath().getParent());
    Process p = new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    return new ChildProcess(name, p, log, cpus);
  }

  /** Whether {@code taskset -c 0 true} runs here (util-linux installed, affinity settable). */
  public static boolean tasksetAvailable() {
    Boolean works = tasksetWorks;
    if (works == null) {
      works = tasksetRuns("0");
      tasksetWorks = works;
    }
    return works;
  }

  /** Whether {@code taskset -c cpus true} runs here: taskset works and every CPU of the list is online. */
  public static boolean tasksetRuns(String cpus) {
    try {
      Process p = new ProcessBuilder("taskset", "-c", cpus, "true").redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** The java of this JVM, so children run the same JDK. */
  public static String javaExecutable() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  public String name() {
    return name;
  }

  public long pid() {
    return process.pid();
  }

  public Path log() {
    return log;
  }

  /** The {@code taskset -c} list it runs on, or null when not pinned. */
  public String cpus() {
    return cpus;
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** Waits up to {@code seconds} for it to end; its exit code, or -1 when it is still running. */
  public int waitFor(long seconds) throws InterruptedException {
    return process.waitFor(seconds, TimeUnit.SECONDS) ? process.exitValue() : -1;
  }

  /** Fails with the exit code and the log's end when it has exited; {@code during} says while doing what. */
  public void checkAlive(String during) {
    if (!process.isAlive()) {
      throw new IllegalStateException(name + " (pid " + pid() + ") exited with " + process.exitValue() + " while "
          + during + "; the end of " + log + ":\n" + logTail(30));
    }
  }

  /** User plus system CPU seconds it has used so far (from /proc/PID/stat), or -1 when it is gone. */
  public double cpuSeconds() {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid()), "stat"), StandardCharsets.US_ASCII);
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
      return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0; // utime, stime in USER_HZ (100)
    } catch (IOException | RuntimeException gone) {
      return -1;
    }
  }

  /** The last {@code lines} lines of its log. */
  public String logTail(int lines) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException | RuntimeException e) {
      return "(cannot read " + log + ": " + e + ")";
    }
  }

  /** One line for reports: name, pid and placement. */
  public String placement() {
    return name + " pid " + pid() + (cpus == null ? " unpinned" : " on CPUs " + cpus);
  }

  @Override
  public void close() {
    ProcessHandle handle = process.toHandle();
    if (!handle.isAlive()) {
      return;
    }
    handle.destroy();
    try {
      if (!process.waitFor(STOP_SECONDS, TimeUnit.SECONDS)) {
        handle.destroyForcibly();
        process.waitFor(STOP_SECONDS, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      handle.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
