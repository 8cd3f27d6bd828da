package io.shardgate.controlplane.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.shardgate.sharding.decode.GlooApi;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The chart's committed CRDs are exactly what {@link CrdGenerator} makes of the Gloo field table: a field added to
 * the table without regenerating fails here. {@code -Dgolden.update=true} rewrites the folder (and deletes files no
 * kind produces); review the diff.
 */
class CrdsMatchTableTest {

  static final String REGENERATE = "./mvnw -pl control-plane -am test -Dtest=CrdsMatchTableTest"
      + " -Dsurefire.failIfNoSpecifiedTests=false -Dgolden.update=true";

  static Path crdDir() {
    return KubeApiServer.chartCrds();
  }

  @Test
  void committedCrdsAreTheGeneratedOnes() throws IOException {
    Map<String, String> generated = new CrdGenerator(GlooApi.table()).files();
    Path dir = crdDir();
    if (Boolean.getBoolean("golden.update")) {
      Files.createDirectories(dir);
      for (String stale : committedNames(dir)) {
        if (!generated.containsKey(stale)) {
          Files.delete(dir.resolve(stale));
        }
      }
      for (Map.Entry<String, String> e : generated.entrySet()) {
        Files.writeString(dir.resolve(e.getKey()), e.getValue(), StandardCharsets.UTF_8);
      }
    }
    assertEquals(List.copyOf(generated.keySet()), committedNames(dir),
        "the files in " + dir + " are not the generated ones; regenerate with " + REGENERATE);
    for (Map.Entry<String, String> e : generated.entrySet()) {
      assertEquals(e.getValue(), Files.readString(dir.resolve(e.getKey()), StandardCharsets.UTF_8),
          () -> dir.resolve(e.getKey()) + " differs from what the Gloo field table generates; regenerate with "
              + REGENERATE);
    }
  }

  private static List<String> committedNames(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yaml")).sorted().toList();
    }
  }
}
