package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The mutation generator of {@link MutationE2ETest} on the example's files: seeded, varied, saying what it did. */
class YamlMutatorTest {

  private static final int SAMPLE = 3_000;
  private static SortedMap<String, String> files;

  @BeforeAll
  static void readExample() throws IOException {
    Path root = ExampleConfig.repoRoot().resolve(ExampleConfig.EXAMPLE);
    files = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path f : walk.filter(Files::isRegularFile).toList()) {
        files.put(root.relativize(f).toString().replace('\\', '/'), Files.readString(f, StandardCharsets.UTF_8));
      }
    }
  }

  @Test
  void aMutationDependsOnItsSeedAndNumberAlone() {
    for (int n : new int[] {0, 1, 17, 999}) {
      YamlMutator.Mutation a = YamlMutator.mutation(7, n, files);
      YamlMutator.Mutation b = YamlMutator.mutation(7, n, files);
      assertEquals(a.description(), b.description());
      assertArrayEquals(a.content(), b.content());
    }
    assertNotEquals(YamlMutator.mutation(7, 3, files).description(), YamlMutator.mutation(8, 3, files).description());
  }

  @Test
  void everyMutationChangesItsFileAndSaysWhereInWords() {
    Pattern where = Pattern.compile("[a-z]+/[a-z-]+/[a-z-]+\\.yaml:\\d+: .+");
    for (int n = 0; n < SAMPLE; n++) {
      YamlMutator.Mutation m = YamlMutator.mutation(1, n, files);
      assertFalse(m.text().equals(files.get(m.file())), () -> "no change: " + m);
      assertTrue(where.matcher(m.description()).matches(), m::description);
      assertTrue(m.description().startsWith(m.file() + ":"), m::description);
    }
  }

  @Test
  void everyKindOccursAndEveryFileIsMutated() {
    Map<YamlMutator.Kind, Integer> kinds = new EnumMap<>(YamlMutator.Kind.class);
    Map<String, Integer> mutatedFiles = new TreeMap<>();
    for (int n = 0; n < SAMPLE; n++) {
      YamlMutator.Mutation m = YamlMutator.mutation(2, n, files);
      kinds.merge(m.kind(), 1, Integer::sum);
      mutatedFiles.merge(m.file(), 1, Integer::sum);
    }
    for (YamlMutator.Kind k : YamlMutator.Kind.values()) {
      // Kinds are drawn uniformly: far fewer than half the expected count would mean one rarely finds its spot.
      int expected = SAMPLE / YamlMutator.Kind.values().length;
      assertTrue(kinds.getOrDefault(k, 0) > expected / 2, () -> k + " occurred " + kinds.get(k) + " times: " + kinds);
    }
    assertEquals(files.keySet(), mutatedFiles.keySet());
  }

  @Test
  void aSecretMutationWritesItsSecretAndNamesIt() {
    int secrets = 0;
    for (int n = 0; n < SAMPLE; n++) {
      YamlMutator.Mutation m = YamlMutator.mutation(3, n, files);
      if (m.kind() == YamlMutator.Kind.SECRET_VALUE) {
        secrets++;
        assertTrue(m.secret() != null && m.secret().startsWith("AKIA") && m.secret().length() > 64, m::toString);
        assertTrue(m.text().contains(m.secret()), m::toString);
      } else {
        assertEquals(null, m.secret(), m::toString);
      }
    }
    assertTrue(secrets > 0);
  }

  @Test
  void typosChangeExactlyOneCharacterOrSwapTwoNeighbours() {
    SplittableRandom r = new SplittableRandom(5);
    for (int i = 0; i < 1_000; i++) {
      String s = "VirtualService";
      String t = YamlMutator.typo(s, r);
      assertNotEquals(s, t);
      assertTrue(Math.abs(s.length() - t.length()) <= 1, t);
    }
  }

  @Test
  void movingAKeyUpAndDownKeepsItsBlockTogether() {
    String vs = files.get("virtualservices/catalog/catalog.yaml");
    YamlMutator.Text text = YamlMutator.Text.of("vs.yaml", vs);
    // "single:" (line 16) has one parent, "routeAction:", and "upstream:" below it.
    YamlMutator.Line single = text.lineAt(15);
    assertEquals("single", single.key);
    assertEquals("routeAction", text.parentOf(15).key);
    assertEquals(List.of("        single:", "          upstream:", "            name: catalog"), text.block(15));
    YamlMutator.Line spec = text.lineAt(7);
    assertEquals("spec", spec.key);
    assertEquals(null, text.parentOf(7));
  }
}
