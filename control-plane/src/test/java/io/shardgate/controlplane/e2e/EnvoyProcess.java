package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One real Envoy process for end-to-end tests: started from a bootstrap file, its stdout and stderr going to a log
 * file (never a pipe, which a chatty Envoy could fill and block on), stopped and reaped by {@link #close()}.
 *
 * <p>A missing binary fails the test rather than skipping it: a skipped end-to-end test looks green while proving
 * nothing.
 */
final class EnvoyProcess implements AutoCloseable {

  static final String INSTALL_COMMAND = "bash tools/install-envoy.sh 1.40.0";

  private static final long POLL_MS = 50;

  final String name;
  final Path log;
  final int adminPort;
  private final Process process;

  private EnvoyProcess(String name, Process process, Path log, int adminPort) {
    this.name = name;
    this.process = process;
    this.log = log;
    this.adminPort = adminPort;
  }

  /** The binary Surefire names in {@code shardgate.envoy.bin}, or fails the calling test. */
  static Path binary() {
    String configured = System.getProperty("shardgate.envoy.bin");
    Path bin = configured != null && !configured.isBlank()
        ? Path.of(configured)
        : ExampleConfig.repoRoot().resolve(".tools/envoy-1.40.0/envoy/_bin/envoy");
    if (!Files.isExecutable(bin)) {
      fail("No Envoy binary at " + bin + ". This test runs the real Envoy; install it from the repository root"
          + " with:\n  " + INSTALL_COMMAND);
    }
    return bin;
  }

  /**
   * Starts Envoy with a bootstrap whose admin listener is on 127.0.0.1:{@code adminPort}. Hot restart is disabled
   * so that Envoys on one host share no memory (a base id is then not needed); one worker thread is plenty here.
   */
  static EnvoyProcess start(String name, Path bootstrap, Path log, int adminPort) throws IOException {
    List<String> command = List.of(binary().toString(), "-c", bootstrap.toString(), "--disable-hot-restart",
        "--concurrency", "1", "--log-level", "warn");
    Process process = new ProcessBuilder(command)
        .directory(log.getParent().toFile())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
    return new EnvoyProcess(name, process, log, adminPort);
  }

  /** Polls the admin {@code /ready} until Envoy reports LIVE (its initial xDS fetch is done). */
  void awaitReady(Duration liveness) throws InterruptedException {
    long deadline = System.nanoTime() + liveness.toNanos();
    String last = "no answer";
    while (System.nanoTime() - deadline < 0) {
      checkAlive();
      try {
        RawHttp.Response r = RawHttp.get(adminPort, "127.0.0.1:" + adminPort, "/ready");
        if (r.status() == 200) {
          return;
        }
        last = r.toString();
      } catch (IOException notYet) {
        last = notYet.toString(); // the admin listener is not bound yet
      }
      Thread.sleep(POLL_MS);
    }
    fail("Envoy " + name + " was not ready on admin port " + adminPort + " within " + liveness + " (last: " + last
        + "). Log:\n" + logTail());
  }

  /** Polls a listener on 127.0.0.1 until it answers an HTTP request with any status. */
  void awaitListener(int port, String host, String path, Duration liveness) throws InterruptedException {
    long deadline = System.nanoTime() + liveness.toNanos();
    String last = "no answer";
    while (System.nanoTime() - deadline < 0) {
      checkAlive();
      try {
        RawHttp.get(port, host, path);
        return;
      } catch (IOException notYet) {
        last = notYet.toString();
      }
      Thread.sleep(POLL_MS);
    }
    fail("Envoy " + name + " did not answer HTTP on 127.0.0.1:" + port + " within " + liveness + " (last: " + last
        + "). Log:\n" + logTail());
  }

  void checkAlive() {
    if (!process.isAlive()) {
      fail("Envoy " + name + " exited with " + process.exitValue() + ". Log:\n" + logTail());
    }
  }

  String logTail() {
    return ExampleConfig.tail(log, 60);
  }

  /** Ends the process and waits for it, forcibly if it does not stop within ten seconds. */
  @Override
  public void close() {
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
