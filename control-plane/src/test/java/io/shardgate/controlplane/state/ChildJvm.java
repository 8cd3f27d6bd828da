package io.shardgate.controlplane.state;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real second JVM running {@link StateStoreChild} on the test classpath, reaped by {@link #close()}. Its stdout
 * and stderr go to files, not pipes: {@code Process.destroyForcibly()} closes the parent's end of the pipes, which
 * throws away whatever the child wrote that the parent had not read yet, and the crash test needs every line the
 * child wrote before the kill. A file has them the moment the child's write returns.
 */
final class ChildJvm implements AutoCloseable {

  private static final long POLL_MS = 20;

  private final Process process;
  private final Path stdout;
  private final Path stderr;

  private ChildJvm(Process process, Path stdout, Path stderr) {
    this.process = process;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  /** Starts {@code StateStoreChild args}, writing to {@code <output>.out} and {@code <output>.err}. */
  static ChildJvm start(Path output, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m", "-XX:TieredStopAtLevel=1",
        "-cp", System.getProperty("java.class.path"), StateStoreChild.class.getName()));
    command.addAll(List.of(args));
    Path out = output.resolveSibling(output.getFileName() + ".out");
    Path err = output.resolveSibling(output.getFileName() + ".err");
    Process process = new ProcessBuilder(command)
        .redirectOutput(out.toFile())
        .redirectError(err.toFile())
        .start();
    return new ChildJvm(process, out, err);
  }

  long pid() {
    return process.pid();
  }

  /** Waits for a line starting with {@code prefix}; fails with what the child wrote if it ends or is slow. */
  String await(String prefix, Duration bound) throws InterruptedException {
    long deadline = System.nanoTime() + bound.toNanos();
    while (true) {
      boolean ended = !process.isAlive();
      for (String line : lines()) {
        if (line.startsWith(prefix)) {
          return line;
        }
      }
      if (ended || System.nanoTime() - deadline > 0) {
        fail("the child wrote no '" + prefix + "' line within " + bound + " (alive: " + !ended + "); stdout "
            + lines() + "; stderr:\n" + stderr());
      }
      Thread.sleep(POLL_MS);
    }
  }

  /** SIGKILL, then every whole line the child wrote before it died. */
  List<String> kill() throws InterruptedException {
    process.destroyForcibly();
    reap();
    return lines();
  }

  /** Closes the child's stdin (the signal for {@code hold} to finish) and returns its exit code. */
  int finish() throws InterruptedException, IOException {
    process.getOutputStream().close();
    reap();
    return process.exitValue();
  }

  private void reap() throws InterruptedException {
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      fail("the child did not end within 60 s; stderr:\n" + stderr());
    }
  }

  int exitValue() {
    return process.exitValue();
  }

  /** The lines written so far; a last line without its newline is not whole yet and left out. */
  private List<String> lines() {
    try {
      String text = Files.readString(stdout, StandardCharsets.UTF_8);
      int end = text.lastIndexOf('\n');
      return end < 0 ? List.of() : List.of(text.substring(0, end).split("\n", -1));
    } catch (IOException e) {
      return List.of();
    }
  }

  String stderr() {
    try {
      return Files.readString(stderr);
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroyForcibly();
      process.waitFor(60, TimeUnit.SECONDS);
    }
  }
}
