package io.shardgate.controlplane.architecture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Keeps the layering of docs/architecture.md true by reading the sources' imports: translation stays free of
 * frameworks and I/O libraries, and the leaf modules do not reach into each other or into the control plane.
 */
class ArchitectureTest {

  private static final Pattern IMPORT = Pattern.compile("^import (?:static )?([\\w.]+)", Pattern.MULTILINE);

  /** Packages (under a source root) and the import prefixes they must not use. */
  private static final Map<String, List<String>> RULES = Map.of(
      "sharding/src/main/java/io/shardgate/sharding",
      List.of("io.envoyproxy", "io.grpc", "io.micronaut", "jakarta.inject", "io.micrometer", "io.fabric8",
          "org.yaml", "io.shardgate.snapshot", "io.shardgate.templates", "io.shardgate.controlplane",
          "java.nio.file", "java.net"),
      "snapshot-cache/src/main/java/io/shardgate/snapshot",
      List.of("io.micronaut", "jakarta.inject", "io.micrometer", "io.shardgate.sharding", "io.shardgate.templates",
          "io.shardgate.controlplane"),
      "proxy-templates/src/main/java/io/shardgate/templates",
      List.of("io.envoyproxy", "io.grpc", "io.micronaut", "io.shardgate.sharding", "io.shardgate.snapshot",
          "io.shardgate.controlplane"),
      "control-plane/src/main/java/io/shardgate/controlplane/xds",
      List.of("io.micronaut", "io.grpc", "jakarta.inject", "io.micrometer", "io.shardgate.sharding.decode",
          "java.nio.file", "java.net"),
      "control-plane/src/main/java/io/shardgate/controlplane/pipeline",
      List.of("io.micronaut", "io.grpc", "jakarta.inject", "io.micrometer"),
      "control-plane/src/main/java/io/shardgate/controlplane/render",
      List.of("io.micronaut", "io.grpc", "jakarta.inject", "io.micrometer", "java.nio.file"),
      "control-plane/src/main/java/io/shardgate/controlplane/source",
      List.of("io.micronaut", "io.grpc", "jakarta.inject", "io.envoyproxy"),
      "control-plane/src/main/java/io/shardgate/controlplane/security",
      List.of("io.micronaut", "jakarta.inject", "io.micrometer"));

  @Test
  void layersImportOnlyWhatTheyMay() throws IOException {
    Path root = repoRoot();
    List<String> violations = new ArrayList<>();
    int files = 0;
    for (var rule : RULES.entrySet()) {
      Path dir = root.resolve(rule.getKey());
      assertTrue(Files.isDirectory(dir), "no such source folder: " + dir);
      try (Stream<Path> sources = Files.walk(dir)) {
        for (Path source : sources.filter(p -> p.toString().endsWith(".java")).toList()) {
          files++;
          Matcher m = IMPORT.matcher(Files.readString(source));
          while (m.find()) {
            String imported = m.group(1);
            for (String forbidden : rule.getValue()) {
              if (imported.equals(forbidden) || imported.startsWith(forbidden + ".")) {
                violations.add(root.relativize(source) + " imports " + imported);
              }
            }
          }
        }
      }
    }
    assertTrue(files > 50, "read too few sources (" + files + "): is the repository root right?");
    assertEquals(List.of(), violations, "layering broken (see docs/architecture.md)");
  }

  private static Path repoRoot() {
    String configured = System.getProperty("shardgate.repo.root");
    Path p = configured != null ? Path.of(configured) : Path.of("").toAbsolutePath();
    while (p != null && !Files.isDirectory(p.resolve("sharding"))) {
      p = p.getParent();
    }
    assertTrue(p != null, "cannot find the repository root from " + Path.of("").toAbsolutePath());
    return p;
  }
}
