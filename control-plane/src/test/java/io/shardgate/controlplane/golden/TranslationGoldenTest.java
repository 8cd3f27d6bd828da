package io.shardgate.controlplane.golden;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.render.TranslationOutput;
import io.shardgate.controlplane.render.Trees;
import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.translate.LastGood;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Golden translation tests: each {@code golden/translation/<case>.in.yaml} (multi-document Gloo Edge YAML) is
 * translated end to end (decode, gateway translation, xDS translation) and compared with {@code <case>.out.yaml}:
 * the status of every resource, each shard's Proxy, and each shard's xDS resources by type.
 *
 * <p>Each case also runs on its documents in three shuffled orders and must produce byte-identical output.
 * Regenerate with {@code ./mvnw -pl control-plane -am test -Dtest=TranslationGoldenTest -Dsurefire.failIfNoSpecifiedTests=false -Dgolden.update=true} and review
 * the diff; the same run deletes outputs whose input is gone.
 */
class TranslationGoldenTest {

  private static final String DIR = "golden/translation";
  private static final String REGENERATE =
      "./mvnw -pl control-plane -am test -Dtest=TranslationGoldenTest -Dsurefire.failIfNoSpecifiedTests=false -Dgolden.update=true";

  @TestFactory
  Stream<DynamicTest> cases() throws IOException {
    Path dir = sourceDir();
    boolean update = Boolean.getBoolean("golden.update");
    if (update) {
      try (Stream<Path> outs = Files.list(dir)) {
        for (Path out : outs.filter(p -> p.toString().endsWith(".out.yaml")).toList()) {
          Path in = Path.of(out.toString().replace(".out.yaml", ".in.yaml"));
          if (!Files.exists(in)) {
            Files.delete(out);
          }
        }
      }
    }
    List<Path> inputs;
    try (Stream<Path> s = Files.list(dir)) {
      inputs = s.filter(p -> p.getFileName().toString().endsWith(".in.yaml")).sorted().toList();
    }
    assertTrue(inputs.size() >= 10, "expected the golden cases under " + dir);
    return inputs.stream()
        .map(in -> DynamicTest.dynamicTest(in.getFileName().toString().replace(".in.yaml", ""), () -> run(in, update)));
  }

  private static void run(Path in, boolean update) throws Exception {
    String caseName = in.getFileName().toString().replace(".in.yaml", "");
    List<SourceDocument> docs =
        new YamlDocumentReader().read(caseName + ".in.yaml", Files.readString(in, StandardCharsets.UTF_8));
    String actual = render(docs);
    for (long seed = 1; seed <= 3; seed++) {
      List<SourceDocument> shuffled = new ArrayList<>(docs);
      Collections.shuffle(shuffled, new Random(seed));
      assertEquals(actual, render(shuffled), caseName + ": output depends on input order (seed " + seed + ")");
    }
    Path out = in.resolveSibling(caseName + ".out.yaml");
    if (update) {
      Files.writeString(out, actual, StandardCharsets.UTF_8);
      return;
    }
    if (!Files.exists(out)) {
      fail(caseName + ": no expected output " + out + "; create it with: " + REGENERATE);
    }
    String expected = Files.readString(out, StandardCharsets.UTF_8);
    if (!expected.equals(actual)) {
      fail(caseName + " differs from " + out.getFileName() + " (regenerate with: " + REGENERATE + ")\n"
          + Diff.unified(expected, actual));
    }
  }

  /**
   * Translates the case's documents with the Service endpoints its test-only {@code ServiceEndpoints} documents
   * describe (what the Kubernetes source reads from EndpointSlices; see {@link GoldenEndpoints}) and the TLS secrets
   * its Secret documents describe (see {@link GoldenSecrets}), and renders what the shards serve, load assignments
   * included.
   */
  static String render(List<SourceDocument> docs) {
    GoldenSecrets.Split secrets = GoldenSecrets.split(docs);
    GoldenEndpoints.Split split = GoldenEndpoints.split(secrets.documents());
    Translation t = Translation.of(new ConfigInput("golden", split.documents(), List.of(), split.endpoints()),
        LastGood.EMPTY, secrets.secrets());
    return Trees.yaml(TranslationOutput.full(t.gateway(), t.xds()));
  }

  private static Path sourceDir() {
    String basedir = System.getProperty("project.basedir", System.getProperty("user.dir"));
    return Path.of(basedir, "src", "test", "resources", DIR);
  }
}
