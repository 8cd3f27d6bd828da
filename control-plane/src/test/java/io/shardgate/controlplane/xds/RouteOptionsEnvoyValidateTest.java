package io.shardgate.controlplane.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.render.Trees;
import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.snapshot.ShardResources;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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

  private static final String INSTALL_COMMAND = "bash tools/install-envoy.sh 1.40.0";

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
    Path config = write("control-broken-regex", bootstrap(withBrokenRoute));
    Run run = envoyValidate(config);
    assertNotEquals(0, run.exitCode(), "Envoy accepted a look-ahead regex; the validate harness proves nothing:\n" + run.output());
  }

  private void validate(Path in) throws Exception {
    Translation t = translate(in);
    assertFalse(t.xds().isEmpty(), in.getFileName() + " produced no shard");
    String caseName = in.getFileName().toString().replace(".in.yaml", "");
    for (Map.Entry<String, ShardResources> shard : t.xds().entrySet()) {
      assertFalse(shard.getValue().listeners().isEmpty(), caseName + ": shard " + shard.getKey() + " has no listener");
      Path config = write(caseName + "-" + shard.getKey().replace('~', '-'), bootstrap(shard.getValue()));
      Run run = envoyValidate(config);
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

  /** A static bootstrap with the shard's listeners and clusters; each listener's routes inlined instead of RDS. */
  static Bootstrap bootstrap(ShardResources shard) throws InvalidProtocolBufferException {
    Bootstrap.StaticResources.Builder sr = Bootstrap.StaticResources.newBuilder().addAllClusters(shard.clusters());
    for (Listener l : shard.listeners()) {
      Listener.Builder lb = l.toBuilder();
      for (FilterChain.Builder chain : lb.getFilterChainsBuilderList()) {
        for (Filter.Builder filter : chain.getFiltersBuilderList()) {
          if (!filter.getTypedConfig().is(HttpConnectionManager.class)) {
            continue;
          }
          HttpConnectionManager hcm = filter.getTypedConfig().unpack(HttpConnectionManager.class);
          String name = hcm.getRds().getRouteConfigName();
          RouteConfiguration rc =
              shard.routes().stream()
                  .filter(r -> r.getName().equals(name))
                  .findFirst()
                  .orElseThrow(() -> new AssertionError("listener " + l.getName() + " names route configuration "
                      + name + ", which the shard does not have"));
          filter.setTypedConfig(Any.pack(hcm.toBuilder().clearRds().setRouteConfig(rc).build()));
        }
      }
      sr.addListeners(lb);
    }
    return Bootstrap.newBuilder().setStaticResources(sr).build();
  }

  /** The bootstrap as YAML, printed through the same type registry as the golden files. */
  private Path write(String name, Bootstrap bootstrap) throws IOException {
    Path file = work.resolve(name + ".yaml");
    Files.writeString(file, Trees.yaml(Trees.proto(bootstrap)), StandardCharsets.UTF_8);
    return file;
  }

  record Run(int exitCode, String output) {}

  private Run envoyValidate(Path config) throws Exception {
    Path log = work.resolve(config.getFileName() + ".log");
    Process p =
        new ProcessBuilder(envoyBinary().toString(), "--mode", "validate", "-c", config.toString(), "-l", "warn")
            .directory(work.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        fail("envoy --mode validate did not finish within 60 s for " + config + ":\n" + Files.readString(log));
      }
      return new Run(p.exitValue(), Files.readString(log));
    } finally {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** The binary Surefire names in {@code shardgate.envoy.bin}, or fails the calling test. */
  private static Path envoyBinary() {
    String configured = System.getProperty("shardgate.envoy.bin");
    Path bin =
        configured != null && !configured.isBlank()
            ? Path.of(configured)
            : moduleDir().getParent().resolve(".tools/envoy-1.40.0/envoy/_bin/envoy");
    if (!Files.isExecutable(bin)) {
      fail("No Envoy binary at " + bin + ". This test runs the real Envoy; install it from the repository root"
          + " with:\n  " + INSTALL_COMMAND);
    }
    return bin;
  }

  private static Path moduleDir() {
    return Path.of(System.getProperty("project.basedir", System.getProperty("user.dir"))).toAbsolutePath();
  }

  private static Path goldenDir() {
    return moduleDir().resolve(Path.of("src", "test", "resources", "golden", "translation"));
  }
}
