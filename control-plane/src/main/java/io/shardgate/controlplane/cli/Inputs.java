package io.shardgate.controlplane.cli;

import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.source.DirectoryLoader;
import io.shardgate.controlplane.source.SourceProblem;
import io.shardgate.sharding.report.ResourceState;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/** Shared by the one-shot commands: load a directory once and translate it. */
final class Inputs {

  private Inputs() {}

  /** The translation of {@code dir}, or null (after printing why) when the directory cannot be read at all. */
  static Translation translate(Path dir, PrintWriter err) {
    if (!Files.isDirectory(dir)) {
      err.println("error: config directory " + dir.toAbsolutePath() + " does not exist or is not a directory");
      err.flush();
      return null;
    }
    Path root = dir.toAbsolutePath().normalize();
    return Translation.of(ConfigInput.of(root.toString(), new DirectoryLoader().load(root)));
  }

  static void printProblemSummary(Translation t, PrintWriter err) {
    long rejected =
        t.gateway().statuses().values().stream().filter(s -> s.state() == ResourceState.REJECTED).count();
    long fileErrors = t.input().problems().stream().filter(p -> p.severity() == SourceProblem.Severity.ERROR).count();
    if (rejected > 0 || fileErrors > 0) {
      err.printf("%d resources rejected, %d file errors: run 'validate' for details%n", rejected, fileErrors);
      err.flush();
    }
  }
}
