package io.shardgate.controlplane.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.shardgate.controlplane.golden.GoldenSecrets;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.ir.SecretUse;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.translate.LastGood;
import io.shardgate.snapshot.ShardResources;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The SDS names a shard's listeners and clusters reference over ADS are exactly those its
 * {@link ShardConfig#secretUses()} names:
 * the secrets work serves one Secret resource per use, and a reference no resource backs would block the listener's
 * warming in Envoy forever. Checked on every {@code ssl-gateway-*} and {@code upstream-tls-*} golden case.
 */
class SecretUsesMatchSdsNamesTest {

  @TestFactory
  Stream<DynamicTest> listenersReferenceExactlyTheSecretUses() throws Exception {
    Path dir = Path.of(System.getProperty("project.basedir", System.getProperty("user.dir"))).toAbsolutePath()
        .resolve(Path.of("src", "test", "resources", "golden", "translation"));
    List<Path> inputs;
    try (Stream<Path> s = Files.list(dir)) {
      inputs = s.filter(p -> p.getFileName().toString().matches("(ssl-gateway|upstream-tls)-.*\\.in\\.yaml")).sorted()
          .toList();
    }
    assertTrue(inputs.size() >= 6, "expected the ssl-gateway-* golden cases under " + dir);
    return inputs.stream().map(in -> DynamicTest.dynamicTest(in.getFileName().toString(), () -> check(in)));
  }

  private static void check(Path in) throws Exception {
    List<SourceDocument> docs =
        new YamlDocumentReader().read(in.getFileName().toString(), Files.readString(in, StandardCharsets.UTF_8));
    GoldenSecrets.Split split = GoldenSecrets.split(docs);
    Translation t = Translation.of(new ConfigInput("secret-uses", split.documents(), List.of()), LastGood.EMPTY,
        split.secrets());
    for (ShardConfig shard : t.gateway().shards().values()) {
      SortedSet<String> expected = new TreeSet<>();
      for (SecretUse u : shard.secretUses()) {
        if (u.certificate()) {
          expected.add(XdsNames.certificateSecret(u.secret()));
        }
        if (u.validation()) {
          expected.add(XdsNames.validationSecret(u.secret()));
        }
      }
      assertEquals(expected, adsSdsNames(t.xds().get(shard.proxy().role())), in.getFileName() + ", shard "
          + shard.proxy().role());
    }
  }

  private static SortedSet<String> adsSdsNames(ShardResources resources) throws Exception {
    SortedSet<String> out = new TreeSet<>();
    for (Listener l : resources.listeners()) {
      for (FilterChain c : l.getFilterChainsList()) {
        if (!c.hasTransportSocket()) {
          continue;
        }
        adsNames(c.getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class).getCommonTlsContext(), out);
      }
    }
    // Clusters too (Upstream TLS): the default transport socket and each host's own.
    for (Cluster cl : resources.clusters()) {
      List<TransportSocket> sockets = new ArrayList<>();
      if (cl.hasTransportSocket()) {
        sockets.add(cl.getTransportSocket());
      }
      cl.getTransportSocketMatchesList().forEach(m -> sockets.add(m.getTransportSocket()));
      for (TransportSocket ts : sockets) {
        adsNames(ts.getTypedConfig().unpack(UpstreamTlsContext.class).getCommonTlsContext(), out);
      }
    }
    return out;
  }

  private static void adsNames(CommonTlsContext common, SortedSet<String> out) {
    List<SdsSecretConfig> configs = new ArrayList<>(common.getTlsCertificateSdsSecretConfigsList());
    if (common.hasValidationContextSdsSecretConfig()) {
      configs.add(common.getValidationContextSdsSecretConfig());
    }
    if (common.hasCombinedValidationContext()) {
      configs.add(common.getCombinedValidationContext().getValidationContextSdsSecretConfig());
    }
    configs.stream().filter(s -> s.getSdsConfig().hasAds()).forEach(s -> out.add(s.getName()));
  }
}
