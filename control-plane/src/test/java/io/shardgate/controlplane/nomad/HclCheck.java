package io.shardgate.controlplane.nomad;

import io.shardgate.controlplane.e2e.ScriptBuiltTool;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.yaml.snakeyaml.Yaml;

/**
 * HashiCorp's own HCL2 parser ({@code github.com/hashicorp/hcl/v2}), as the {@code hcl-check} binary that
 * {@code tools/hcl-check.sh} builds from the Go module proxy into a cache outside the work tree. The first call in a
 * JVM runs the script ({@link ScriptBuiltTool}: it builds only when the cache lacks the binary); a build that fails
 * fails the calling test, never skips it. Stateful (one answer per JVM), thread-safe.
 */
final class HclCheck {

  static final String SCRIPT = "tools/hcl-check.sh";

  private static final ScriptBuiltTool BUILD = new ScriptBuiltTool(SCRIPT,
      "The Nomad job tests parse with the real HCL2 parser", "Go 1.25+ and the Go module proxy");

  private HclCheck() {}

  /** What hcl-check printed and its exit status. */
  record Result(int exitCode, String stdout, String stderr) {
    /** The job summaries (see tools/hcl-check/main.go), when it parsed everything. */
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> jobs() {
      if (exitCode != 0) {
        throw new AssertionError("hcl-check refused the files (exit " + exitCode + "):\n" + stderr);
      }
      return (List<Map<String, Object>>) new Yaml().load(stdout);
    }
  }

  static Result check(List<Path> files) throws Exception {
    List<String> command = new ArrayList<>(List.of(binary().toString()));
    files.forEach(f -> command.add(f.toString()));
    return run(command);
  }

  /** A cold build downloads HCL and its few dependencies and compiles them: under a minute on a quiet machine. */
  private static Path binary() {
    return BUILD.path();
  }

  private static Result run(List<String> command) throws Exception {
    Path out = Files.createTempFile("hcl-check", ".out");
    Path err = Files.createTempFile("hcl-check", ".err");
    try {
      ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
      Process p = pb.start();
      if (!p.waitFor(30, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new AssertionError(String.join(" ", command) + " did not finish within 30 minutes:\n"
            + Files.readString(err, StandardCharsets.UTF_8));
      }
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      try {
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
      } catch (IOException ignored) {
        // temp files only
      }
    }
  }
}
