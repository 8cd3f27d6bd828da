package io.shardgate.controlplane.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.image.ProjectVersionTest;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code --version} and {@code shardgate version}: the line from the build's version resource, and what it says when
 * the build could not fill it (no git, an IDE without Maven's resource filtering). The packaged jar and the image
 * are checked by PackagedJarVersionIT and ImageRunIT.
 */
class BuildVersionTest {

  @Test
  void linesNameTheVersionAndTheShortCommit() {
    assertEquals("shardgate 0.1.0 (commit 1a2b3c4d5e6f)",
        BuildVersion.of(props("0.1.0", "1a2b3c4d5e6f00112233445566778899aabbccdd", "false")).line());
    assertEquals("shardgate 0.1.0 (commit 1a2b3c4d5e6f+dirty)",
        BuildVersion.of(props("0.1.0", "1a2b3c4d5e6f00112233445566778899aabbccdd", "true")).line());
  }

  @Test
  void placeholdersTheBuildDidNotFillAreUnknown() {
    assertEquals("shardgate 0.1.0 (commit unknown)",
        BuildVersion.of(props("0.1.0", "${git.commit.id}", "${git.dirty}")).line());
    assertEquals("shardgate (development build)",
        BuildVersion.of(props("${project.version}", "${git.commit.id}", "${git.dirty}")).line());
    assertEquals("shardgate (development build)", BuildVersion.of(new Properties()).line());
  }

  @Test
  void theFilteredResourceCarriesThePomVersionAndACommit() throws Exception {
    BuildVersion current = BuildVersion.current();
    assertEquals(ProjectVersionTest.rootPomVersion(), current.version(), "Maven filtered version.properties");
    assertTrue(current.commit() != null && current.commit().matches("[0-9a-f]{40}"), "the commit: " + current);
  }

  @Test
  void versionFlagAndVersionSubcommandPrintTheSameLine() {
    String expected = BuildVersion.current().line() + "\n";
    assertEquals(expected, run("--version"));
    assertEquals(expected, run("version"));
  }

  private static String run(String... args) {
    StringWriter out = new StringWriter();
    CommandLine cli = new CommandLine(new ShardgateCli());
    cli.setOut(new PrintWriter(out, true));
    assertEquals(0, cli.execute(args), String.join(" ", args));
    return out.toString();
  }

  private static Properties props(String version, String commit, String dirty) {
    Properties p = new Properties();
    p.setProperty("version", version);
    p.setProperty("commit", commit);
    p.setProperty("dirty", dirty);
    return p;
  }
}
