package io.shardgate.controlplane.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.e2e.ExampleConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Test support for the integration tests of what {@code package} builds (they run in failsafe's integration-test
 * phase, after the jar and the image exist): where the artifacts are, the project version the build passed in, and
 * the commit git says the work tree is at. Stateless.
 */
final class BuiltArtifacts {

  private BuiltArtifacts() {}

  static Path repoRoot() {
    return ExampleConfig.repoRoot();
  }

  /** The pom's version, which failsafe passes as {@code project.version}. */
  static String projectVersion() {
    String v = System.getProperty("project.version");
    assertTrue(v != null && !v.isBlank(), "run by failsafe, which sets project.version from the pom");
    return v;
  }

  static Path imageTarball() {
    return existing(System.getProperty("shardgate.image.tar", "target/shardgate-image.tar"));
  }

  static Path shadedJar() {
    return existing(System.getProperty("shardgate.jar", "target/shardgate.jar"));
  }

  private static Path existing(String path) {
    Path p = Path.of(path).toAbsolutePath();
    assertTrue(Files.isRegularFile(p), p + " does not exist: it is built by `./mvnw -pl control-plane -am package`");
    return p;
  }

  /** {@code git rev-parse HEAD} in the repository root: the commit the build must have stamped. */
  static String gitHead() throws IOException, InterruptedException {
    String head = run(repoRoot(), List.of("git", "rev-parse", "HEAD"), 60).trim();
    assertTrue(head.matches("[0-9a-f]{40}"), "git rev-parse HEAD printed: " + head);
    return head;
  }

  /** Runs a command to completion (bounded) and returns its stdout; fails with its output on a non-zero exit. */
  static String run(Path dir, List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
    Path out = Files.createTempFile("shardgate-it-", ".out");
    Path err = Files.createTempFile("shardgate-it-", ".err");
    try {
      Process p = new ProcessBuilder(command).directory(dir.toFile())
          .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
      boolean finished = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
      if (!finished) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      String stdout = Files.readString(out, StandardCharsets.UTF_8);
      String output = "stdout: " + stdout + "\nstderr: " + Files.readString(err, StandardCharsets.UTF_8);
      assertTrue(finished, command + " did not finish in " + timeoutSeconds + " s; " + output);
      assertEquals(0, p.exitValue(), command + " failed; " + output);
      return stdout;
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }
}
