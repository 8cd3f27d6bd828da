package io.shardgate.templates;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real Envoy binary the build installs, for tests that must see what Envoy itself accepts.
 *
 * <p>A missing binary fails the test rather than skipping it: a skipped Envoy test looks green while proving
 * nothing, which is exactly how a broken bootstrap would reach CI and users.
 */
final class Envoy {

  static final String INSTALL_COMMAND = "bash tools/install-envoy.sh 1.40.0";

  /** Output of a finished Envoy run: exit code and everything it wrote to stdout and stderr. */
  record Run(int exitCode, String output) {}

  private Envoy() {}

  /** The binary Surefire names in {@code shardgate.envoy.bin}, or fails the calling test. */
  static Path binary() {
    String configured = System.getProperty("shardgate.envoy.bin");
    Path bin = configured != null
        ? Path.of(configured)
        // Outside Maven (an IDE run in the module folder), look where the install script puts it.
        : Path.of("..", ".tools", "envoy-1.40.0", "envoy", "_bin", "envoy").toAbsolutePath().normalize();
    if (!Files.isExecutable(bin)) {
      fail("No Envoy binary at " + bin + ". These tests run the real Envoy; install it from the repository root"
          + " with:\n  " + INSTALL_COMMAND);
    }
    return bin;
  }

  /** {@code envoy --mode validate -c config}, run in {@code workDir} so relative file paths resolve there. */
  static Run validate(Path config, Path workDir) {
    Path log = workDir.resolve(config.getFileName() + ".validate.log");
    Process process = start(List.of("--mode", "validate", "-c", config.toString(), "-l", "warn"), workDir, log);
    try {
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        fail("envoy --mode validate did not finish within 60 s for " + config + ":\n" + Golden.read(log));
      }
      return new Run(process.exitValue(), Golden.read(log));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while validating " + config, e);
    } finally {
      stop(process);
    }
  }

  /**
   * Starts Envoy with {@code args}, its stdout and stderr going to {@code log}; a file rather than a pipe, so a
   * chatty Envoy can never block on a full pipe buffer. The caller must {@link #stop} it.
   */
  static Process start(List<String> args, Path workDir, Path log) {
    List<String> command = new ArrayList<>();
    command.add(binary().toString());
    command.addAll(args);
    try {
      return new ProcessBuilder(command)
          .directory(workDir.toFile())
          .redirectErrorStream(true)
          .redirectOutput(log.toFile())
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
  }

  /** Ends the process and waits for it, so no Envoy outlives its test. */
  static void stop(Process process) {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
