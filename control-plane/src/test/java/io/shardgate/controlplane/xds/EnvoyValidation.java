package io.shardgate.controlplane.xds;

import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.shardgate.controlplane.render.Trees;
import io.shardgate.snapshot.ShardResources;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Runs the real Envoy in {@code --mode validate} on a shard's xDS resources written as a static bootstrap: how the
 * xDS tests prove Envoy accepts what Shardgate emits without starting a control plane.
 */
final class EnvoyValidation {

  private static final String INSTALL_COMMAND = "bash tools/install-envoy.sh 1.40.0";

  private EnvoyValidation() {}

  record Run(int exitCode, String output) {}

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

  /** Writes {@code bootstrap} as YAML (through the golden files' type registry) into {@code work}. */
  static Path write(Path work, String name, Bootstrap bootstrap) throws IOException {
    Path file = work.resolve(name + ".yaml");
    Files.writeString(file, Trees.yaml(Trees.proto(bootstrap)), StandardCharsets.UTF_8);
    return file;
  }

  /** {@code envoy --mode validate -c config}, run in {@code work}. */
  static Run validate(Path config, Path work) throws Exception {
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
            : Path.of(System.getProperty("project.basedir", System.getProperty("user.dir"))).toAbsolutePath()
                .getParent().resolve(".tools/envoy-1.40.0/envoy/_bin/envoy");
    if (!Files.isExecutable(bin)) {
      fail("No Envoy binary at " + bin + ". This test runs the real Envoy; install it from the repository root"
          + " with:\n  " + INSTALL_COMMAND);
    }
    return bin;
  }
}
