package io.shardgate.controlplane.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code java -jar shardgate.jar --version} and {@code shardgate version}, of the jar {@code package} built: both
 * print the pom's version and the commit {@code git rev-parse HEAD} gives, not the development fallback.
 */
class PackagedJarVersionIT {

  @Test
  void versionFlagAndSubcommandPrintThePomVersionAndTheCommit() throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    String expected = "shardgate " + BuiltArtifacts.projectVersion() + " (commit "
        + BuiltArtifacts.gitHead().substring(0, 12);
    // "+dirty" when the jar was built from a work tree with uncommitted changes
    Pattern line = Pattern.compile(Pattern.quote(expected) + "(\\+dirty)?\\)\n");
    String flag = null;
    for (String arg : List.of("--version", "version")) {
      String out = BuiltArtifacts.run(BuiltArtifacts.repoRoot(),
          List.of(java.toString(), "-jar", BuiltArtifacts.shadedJar().toString(), arg), 120);
      assertTrue(line.matcher(out).matches(), "shardgate " + arg + " printed '" + out + "', expected " + expected
          + ")");
      if (flag == null) {
        flag = out;
      } else {
        assertEquals(flag, out, "the subcommand prints what --version prints");
      }
    }
  }
}
