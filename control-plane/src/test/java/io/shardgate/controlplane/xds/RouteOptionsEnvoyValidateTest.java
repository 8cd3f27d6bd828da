package io.shardgate.controlplane.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.snapshot.ShardResources;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real Envoy accepts what the route options translate to: each {@code golden/translation/route-option-*.in.yaml}
 * is translated end to end, every shard's listeners and clusters are written as a static bootstrap (with the
 * RouteConfiguration inlined into the HttpConnectionManager instead of RDS, so Envoy checks the routes, their
 * typed per-filter configs and the clusters they name), and {@code envoy --mode validate} must exit 0.
 *
 * <p>A missing Envoy binary fails the test rather than skipping it: a skipped Envoy test looks green while proving
 * nothing. A control case checks that the harness does catch a configuration Envoy rejects.
 */
class RouteOptionsEnvoyValidateTest {


  @TempDir Path work;

  @TestFactory
  Stream<DynamicTest> envoyAcceptsEveryRouteOptionGolden() throws IOException {
    List<Path> inputs;
    try (Stream<Path> s = Files.list(goldenDir())) {
      inputs =
          s.filter(p -> p.getFileName().toString().matches("route-option-.*\\.in\\.yaml")).sorted().toList();
    }
    assertTrue(inputs.size() >= 12, "expected the route-option-* golden cases under " + goldenDir());
    return inputs.stream()
        .map(in -> DynamicTest.dynamicTest(in.getFileName().toString().replace(".in.yaml", ""), () -> validate(in)));
  }

  /** The harness is not vacuous: a path rewrite with a look-ahead, which RE2 cannot compile, is refused. */
  @Test
  void envoyRejectsARouteItCannotCompile() throws Exception {
    Path in = goldenDir().resolve("route-option-regex-rewrite.in.yaml");
    ShardResources shard = translate(in).xds().values().iterator().next();
    RouteConfiguration rc = shard.routes().get(0);
    RouteConfiguration broken =
        rc.toBuilder()
            .setVirtualHosts(
                0,
                rc.getVirtualHosts(0).toBuilder()
                    .setRoutes(
                        0,
                        rc.getVirtualHosts(0).getRoutes(0).toBuilder()
                            .setRoute(
                                rc.getVirtualHosts(0).getRoutes(0).getRoute().toBuilder()
                                    .setRegexRewrite(
                                        RegexMatchAndSubstitute.newBuilder()
                                            .setPattern(RegexMatcher.newBuilder().setRegex("^/(?=x)"))
                                            .setSubstitution("/")))))
            .build();
    ShardResources withBrokenRoute =
        new ShardResources(shard.clusters(), List.of(), shard.listeners(), List.of(broken), List.of());
    Path config = EnvoyValidation.write(work, "control-broken-regex", EnvoyValidation.bootstrap(withBrokenRoute));
    EnvoyValidation.Run run = EnvoyValidation.validate(config, work);
    assertNotEquals(0, run.exitCode(), "Envoy accepted a look-ahead regex; the validate harness proves nothing:\n" + run.output());
  }

  private void validate(Path in) throws Exception {
    Translation t = translate(in);
    assertFalse(t.xds().isEmpty(), in.getFileName() + " produced no shard");
    String caseName = in.getFileName().toString().replace(".in.yaml", "");
    for (Map.Entry<String, ShardResources> shard : t.xds().entrySet()) {
      assertFalse(shard.getValue().listeners().isEmpty(), caseName + ": shard " + shard.getKey() + " has no listener");
      Path config = EnvoyValidation.write(
          work, caseName + "-" + shard.getKey().replace('~', '-'), EnvoyValidation.bootstrap(shard.getValue()));
      EnvoyValidation.Run run = EnvoyValidation.validate(config, work);
      assertEquals(
          0,
          run.exitCode(),
          caseName + ", shard " + shard.getKey() + ": envoy --mode validate rejected " + config + "\n--- envoy output\n"
              + run.output() + "\n--- bootstrap\n" + Files.readString(config));
    }
  }

  private static Translation translate(Path in) throws Exception {
    List<SourceDocument> docs =
        new YamlDocumentReader().read(in.getFileName().toString(), Files.readString(in, StandardCharsets.UTF_8));
    return Translation.of(new ConfigInput("route-option-validate", docs, List.of()));
  }

  private static Path moduleDir() {
    return Path.of(System.getProperty("project.basedir", System.getProperty("user.dir"))).toAbsolutePath();
  }

  private static Path goldenDir() {
    return moduleDir().resolve(Path.of("src", "test", "resources", "golden", "translation"));
  }
}
