package io.shardgate.controlplane.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.render.TranslationOutput;
import io.shardgate.controlplane.render.Trees;
import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.plan.EdgePlan;
import io.shardgate.sharding.plan.ShardPlan;
import io.shardgate.snapshot.ShardResources;
import io.shardgate.templates.TestPki;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Golden tests of the edge shard: each {@code golden/edge/<case>.in.yaml} is translated end to end and compared with
 * {@code <case>.out.yaml}: the statuses (edge conflicts and Settings warnings included), the edge plan, and the edge's
 * xDS resources. Each case also runs on shuffled input, and the real Envoy must accept the edge's resources
 * ({@code envoy --mode validate}). Regenerate with the same flag as the translation goldens:
 * {@code -Dtest=EdgeXdsGoldenTest -Dgolden.update=true}.
 */
class EdgeXdsGoldenTest {

  @TempDir Path work;

  @TestFactory
  Stream<DynamicTest> cases() throws IOException {
    boolean update = Boolean.getBoolean("golden.update");
    List<Path> inputs;
    try (Stream<Path> s = Files.list(dir())) {
      inputs = s.filter(p -> p.getFileName().toString().endsWith(".in.yaml")).sorted().toList();
    }
    assertTrue(inputs.size() >= 2, "expected the edge golden cases under " + dir());
    return inputs.stream()
        .map(in -> DynamicTest.dynamicTest(in.getFileName().toString().replace(".in.yaml", ""), () -> run(in, update)));
  }

  private void run(Path in, boolean update) throws Exception {
    String caseName = in.getFileName().toString().replace(".in.yaml", "");
    List<SourceDocument> docs =
        new YamlDocumentReader().read(caseName + ".in.yaml", Files.readString(in, StandardCharsets.UTF_8));
    Translation t = translate(docs);
    String actual = Trees.yaml(render(t));
    for (long seed = 1; seed <= 3; seed++) {
      List<SourceDocument> shuffled = new ArrayList<>(docs);
      Collections.shuffle(shuffled, new Random(seed));
      assertEquals(actual, Trees.yaml(render(translate(shuffled))), caseName + ": depends on input order");
    }
    Path out = in.resolveSibling(caseName + ".out.yaml");
    if (update) {
      Files.writeString(out, actual, StandardCharsets.UTF_8);
    } else if (!Files.exists(out)) {
      fail(caseName + ": no expected output " + out + "; create it with -Dtest=EdgeXdsGoldenTest -Dgolden.update=true");
    } else {
      assertEquals(Files.readString(out, StandardCharsets.UTF_8), actual,
          caseName + " differs from " + out.getFileName() + " (regenerate with -Dtest=EdgeXdsGoldenTest"
              + " -Dgolden.update=true)");
    }
    envoyAccepts(caseName, t.xds().get(t.plan().edge().role()));
  }

  private static Translation translate(List<SourceDocument> docs) {
    return Translation.of(new ConfigInput("golden", docs, List.of()));
  }

  /** Statuses, the edge plan (without fingerprints, which golden files need not pin) and the edge's xDS. */
  static Map<String, Object> render(Translation t) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("statuses", Trees.statuses(t.gateway().statuses().values()));
    ShardPlan plan = t.plan();
    Map<String, Object> p = new LinkedHashMap<>();
    if (!plan.domainConflicts().isEmpty()) {
      p.put("domainConflicts", Trees.tree(plan.domainConflicts()));
    }
    EdgePlan edge = plan.edge();
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("role", edge.role());
    e.put("http", edge.httpListener().toString());
    e.put("tls", edge.hasTlsListener() ? edge.tlsListener().toString() : "none");
    e.put("tlsMode", edge.tlsMode().settingName());
    if (!edge.secretUses().isEmpty()) {
      e.put("secretUses", Trees.tree(List.copyOf(edge.secretUses())));
    }
    e.put("targets", Trees.tree(edge.targets()));
    p.put("edge", e);
    out.put("plan", p);
    ShardResources xds = t.xds().get(edge.role());
    out.put("xds", TranslationOutput.xds(xds));
    return out;
  }

  /**
   * Envoy accepts the edge's resources, with the certificate files its terminating chains name (relative paths, made
   * here by a test CA: a {@code .crt} with a {@code .key} of the same name is a leaf, a lone {@code .crt} a CA).
   */
  private void envoyAccepts(String caseName, ShardResources edge) throws Exception {
    String text = Trees.yaml(TranslationOutput.xds(edge));
    Matcher m = Pattern.compile("filename: (\\S+)").matcher(text);
    SortedSet<String> files = new TreeSet<>();
    while (m.find()) {
      files.add(m.group(1));
    }
    TestPki pki = TestPki.create("edge-golden-ca");
    for (String f : files) {
      if (!f.endsWith(".crt")) {
        continue;
      }
      String base = f.substring(0, f.length() - ".crt".length());
      if (files.contains(base + ".key")) {
        pki.leaf(base).sans("DNS:" + Path.of(base).getFileName()).writeTo(work.resolve(f), work.resolve(base + ".key"));
      } else {
        pki.writeCertificate(work.resolve(f));
      }
    }
    Path config = EnvoyValidation.write(work, caseName, EnvoyValidation.bootstrap(edge));
    EnvoyValidation.Run run = EnvoyValidation.validate(config, work);
    assertEquals(0, run.exitCode(), caseName + ": envoy --mode validate rejected the edge:\n" + run.output()
        + "\n--- bootstrap\n" + Files.readString(config));
  }

  private static Path moduleDir() {
    return Path.of(System.getProperty("project.basedir", System.getProperty("user.dir"))).toAbsolutePath();
  }

  private static Path dir() {
    return moduleDir().resolve(Path.of("src", "test", "resources", "golden", "edge"));
  }
}
