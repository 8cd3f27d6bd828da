package io.shardgate.controlplane.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code serve --kubernetes} and {@code --kubeconfig} on the command line: documented by {@code --help}, and one
 * clear {@code error:} line (exit 2, before anything starts) for combinations that cannot work.
 */
class KubernetesOptionsTest {

  @TempDir Path dir;

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new ShardgateCli()).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
        .execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void helpDocumentsTheKubernetesSource() {
    Run r = run("serve", "--help");
    assertEquals(0, r.exit(), r::toString);
    String help = r.out().replaceAll("\\s+", " "); // picocli wraps descriptions at its own width
    assertTrue(help.contains("--kubernetes Read the Gloo resources"), r::out);
    assertTrue(help.contains("--kubeconfig=FILE"), r::out);
    assertTrue(help.contains("Cannot be combined with --config-dir"), r::out);
  }

  @Test
  void kubernetesAndAConfigDirectoryAreMutuallyExclusive() {
    Run r = run("serve", "--kubernetes", "--config-dir", dir.toString());
    assertEquals(2, r.exit(), r::toString);
    assertEquals("error: --kubernetes and --config-dir are mutually exclusive: serve either the Kubernetes API"
        + " server's resources or a directory of YAML.", r.err().strip());
  }

  @Test
  void aKubeconfigNeedsKubernetesAndMustBeReadable() {
    Run without = run("serve", "--kubeconfig", dir.resolve("config").toString());
    assertEquals(2, without.exit(), without::toString);
    assertEquals("error: --kubeconfig is only read with --kubernetes.", without.err().strip());
    Run missing = run("serve", "--kubernetes", "--kubeconfig", dir.resolve("missing").toString());
    assertEquals(2, missing.exit(), missing::toString);
    assertEquals("error: kubeconfig " + dir.resolve("missing").toAbsolutePath() + " is not a readable file.",
        missing.err().strip());
  }
}
