package io.shardgate.templates;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Golden files of this module: where they live, whether to rewrite them, and how a mismatch is reported.
 *
 * <p>Cases are read from the source tree rather than the class path, so that an update writes the very files
 * the next run compares with, and a rerun without {@code mvn} resource copying sees edits at once.
 */
final class Golden {

  static final String UPDATE_COMMAND = "./mvnw -pl proxy-templates test -Dgolden.update=true";

  private Golden() {}

  static boolean updating() {
    return Boolean.getBoolean("golden.update");
  }

  /** {@code src/test/resources/<folder>} of this module; Surefire sets {@code project.basedir}, IDEs run in it. */
  static Path sourceDir(String folder) {
    Path base = Path.of(System.getProperty("project.basedir", ""));
    Path dir = base.resolve("src/test/resources").resolve(folder).toAbsolutePath();
    if (!Files.isDirectory(dir)) {
      throw new IllegalStateException("golden folder " + dir + " does not exist; run the tests from the module"
          + " folder or set -Dproject.basedir");
    }
    return dir;
  }

  /** Files in {@code dir} whose names end in {@code suffix}, sorted by name. */
  static List<Path> list(Path dir, String suffix) {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.getFileName().toString().endsWith(suffix)).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Compares {@code actual} with the expected file, or rewrites the file when updating. */
  static void check(Path expectedFile, String actual) {
    if (updating()) {
      try {
        Files.writeString(expectedFile, actual, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return;
    }
    if (!Files.exists(expectedFile)) {
      fail(expectedFile + " does not exist. Create it with:\n  " + UPDATE_COMMAND);
    }
    String expected = read(expectedFile);
    if (!expected.equals(actual)) {
      fail(expectedFile.getFileName() + " differs from the rendered output (- expected, + actual):\n"
          + diff(expected, actual)
          + "If the change is intended, regenerate the expected files and review them:\n  " + UPDATE_COMMAND);
    }
  }

  /** Lines of the two texts that differ, with two lines of context, in the style of {@code diff -u}. */
  static String diff(String expected, String actual) {
    List<String> a = expected.lines().toList();
    List<String> b = actual.lines().toList();
    // Longest common subsequence table; bootstraps are short enough for the quadratic version.
    int[][] lcs = new int[a.size() + 1][b.size() + 1];
    for (int i = a.size() - 1; i >= 0; i--) {
      for (int j = b.size() - 1; j >= 0; j--) {
        lcs[i][j] = a.get(i).equals(b.get(j)) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    List<String> ops = new ArrayList<>(); // each line prefixed by ' ', '-' or '+'
    List<Integer> expectedLineNumbers = new ArrayList<>();
    int i = 0;
    int j = 0;
    while (i < a.size() || j < b.size()) {
      if (i < a.size() && j < b.size() && a.get(i).equals(b.get(j))) {
        ops.add(" " + a.get(i));
        expectedLineNumbers.add(++i);
        j++;
      } else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) {
        ops.add("-" + a.get(i));
        expectedLineNumbers.add(++i);
      } else {
        ops.add("+" + b.get(j++));
        expectedLineNumbers.add(i);
      }
    }
    if (expected.endsWith("\n") != actual.endsWith("\n")) {
      ops.add("\\ only the " + (expected.endsWith("\n") ? "expected" : "actual") + " text ends with a newline");
      expectedLineNumbers.add(a.size());
    }
    // Show every change and the two lines around it; a gap in what is shown starts a new hunk.
    boolean[] shown = new boolean[ops.size()];
    for (int k = 0; k < ops.size(); k++) {
      if (ops.get(k).charAt(0) != ' ') {
        for (int m = Math.max(0, k - 2); m <= Math.min(ops.size() - 1, k + 2); m++) {
          shown[m] = true;
        }
      }
    }
    StringBuilder out = new StringBuilder();
    for (int k = 0; k < ops.size(); k++) {
      if (!shown[k]) {
        continue;
      }
      if (k == 0 || !shown[k - 1]) {
        out.append("@@ expected line ").append(Math.max(1, expectedLineNumbers.get(k))).append(" @@\n");
      }
      out.append(ops.get(k)).append('\n');
    }
    return out.toString();
  }
}
