package io.shardgate.controlplane.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.shardgate.controlplane.golden.GoldenSecrets;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.translate.LastGood;
import io.shardgate.snapshot.ShardResources;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real Envoy accepts the SSL listeners Shardgate emits: each {@code golden/translation/ssl-gateway-*.in.yaml} is
 * translated end to end and every shard with a listener is checked by {@code envoy --mode validate}, filter chains,
 * SNI matches, TLS contexts and all.
 *
 * <p>Validate mode has no control plane, so what Envoy would fetch is made static: every SDS name served over ADS
 * becomes a static secret of that name holding a certificate and key (or CA) this test makes with openssl, file
 * paths of {@code sslFiles} point at those files, and an external SDS server's bootstrap cluster is given as a stub.
 * The names, matches and contexts are Shardgate's, unchanged. A control case shows the harness catches what Envoy
 * refuses: two chains matching one SNI name, which translation never emits.
 */
class SslGatewayEnvoyValidateTest {

  @TempDir Path work;

  private Path cert;
  private Path key;

  @TestFactory
  Stream<DynamicTest> envoyAcceptsEverySslGatewayGolden() throws IOException {
    List<Path> inputs;
    try (Stream<Path> s = Files.list(goldenDir())) {
      inputs = s.filter(p -> p.getFileName().toString().matches("ssl-gateway-.*\\.in\\.yaml")).sorted().toList();
    }
    assertTrue(inputs.size() >= 6, "expected the ssl-gateway-* golden cases under " + goldenDir());
    return inputs.stream()
        .map(in -> DynamicTest.dynamicTest(in.getFileName().toString().replace(".in.yaml", ""), () -> validate(in)));
  }

  @Test
  void envoyRejectsTwoChainsMatchingOneSniName() throws Exception {
    ShardResources shard =
        tlsShard(translate(goldenDir().resolve("ssl-gateway-chains-shared-by-equal-tls-settings.in.yaml")));
    Listener l = shard.listeners().get(0);
    FilterChain first = l.getFilterChains(0);
    Listener overlapping = l.toBuilder().addFilterChains(first.toBuilder()
        .setFilterChainMatch(first.getFilterChainMatch().toBuilder().clearServerNames()
            .addServerNames(first.getFilterChainMatch().getServerNames(0)).addServerNames("other.example.com")))
        .build();
    ShardResources broken = new ShardResources(shard.clusters(), List.of(), List.of(overlapping), shard.routes(),
        List.of());
    EnvoyValidation.Run run = EnvoyValidation.validate(write("control-overlap", broken), work);
    assertNotEquals(0, run.exitCode(), "Envoy accepted two chains for one SNI name; the harness proves nothing:\n"
        + run.output());
    assertTrue(run.output().contains("overlapping matching rules") || run.output().contains("same matching rules"),
        run.output());
  }

  private void validate(Path in) throws Exception {
    Translation t = translate(in);
    String caseName = in.getFileName().toString().replace(".in.yaml", "");
    int validated = 0;
    for (Map.Entry<String, ShardResources> shard : t.xds().entrySet()) {
      if (shard.getValue().listeners().isEmpty()) {
        continue; // an SSL Gateway with nothing servable builds no listener: nothing for Envoy to check
      }
      Path config = write(caseName + "-" + shard.getKey().replace('~', '-'), shard.getValue());
      EnvoyValidation.Run run = EnvoyValidation.validate(config, work);
      assertEquals(0, run.exitCode(), caseName + ", shard " + shard.getKey() + ": envoy --mode validate rejected "
          + config + "\n--- envoy output\n" + run.output() + "\n--- bootstrap\n" + Files.readString(config));
      validated++;
    }
    boolean expectsListener = !caseName.equals("ssl-gateway-selects-only-virtual-services-with-ssl-config");
    assertTrue(!expectsListener || validated > 0, caseName + ": no shard with a listener to validate");
  }

  private static ShardResources tlsShard(Translation t) {
    return t.xds().values().stream().filter(s -> !s.listeners().isEmpty()).findFirst()
        .orElseThrow(() -> new AssertionError("no shard with a listener"));
  }

  private Path write(String name, ShardResources shard) throws Exception {
    makeCertificate();
    Bootstrap b = EnvoyValidation.bootstrap(shard);
    Bootstrap.StaticResources.Builder sr = b.getStaticResources().toBuilder();
    TreeSet<String> certificates = new TreeSet<>();
    TreeSet<String> cas = new TreeSet<>();
    TreeSet<String> sdsClusters = new TreeSet<>();
    for (Listener.Builder l : sr.getListenersBuilderList()) {
      for (FilterChain.Builder chain : l.getFilterChainsBuilderList()) {
        if (!chain.hasTransportSocket()) {
          continue;
        }
        DownstreamTlsContext tls = chain.getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class);
        CommonTlsContext.Builder common = tls.getCommonTlsContext().toBuilder();
        for (SdsSecretConfig.Builder s : common.getTlsCertificateSdsSecretConfigsBuilderList()) {
          staticOrStub(s, certificates, sdsClusters);
        }
        if (common.hasValidationContextSdsSecretConfig()) {
          staticOrStub(common.getValidationContextSdsSecretConfigBuilder(), cas, sdsClusters);
        }
        if (common.hasCombinedValidationContext()) {
          staticOrStub(common.getCombinedValidationContextBuilder().getValidationContextSdsSecretConfigBuilder(), cas,
              sdsClusters);
        }
        for (TlsCertificate.Builder c : common.getTlsCertificatesBuilderList()) {
          c.setCertificateChain(file(cert)).setPrivateKey(file(key));
        }
        if (common.hasValidationContext()) {
          common.getValidationContextBuilder().setTrustedCa(file(cert));
        }
        chain.getTransportSocketBuilder().setTypedConfig(Any.pack(tls.toBuilder().setCommonTlsContext(common).build()));
      }
    }
    String certPem = Files.readString(cert);
    String keyPem = Files.readString(key);
    for (String n : certificates) {
      sr.addSecrets(Secret.newBuilder().setName(n).setTlsCertificate(TlsCertificate.newBuilder()
          .setCertificateChain(DataSource.newBuilder().setInlineString(certPem))
          .setPrivateKey(DataSource.newBuilder().setInlineString(keyPem))));
    }
    for (String n : cas) {
      sr.addSecrets(Secret.newBuilder().setName(n).setValidationContext(CertificateValidationContext.newBuilder()
          .setTrustedCa(DataSource.newBuilder().setInlineString(certPem))));
    }
    for (String c : sdsClusters) {
      sr.addClusters(Cluster.newBuilder().setName(c).setType(Cluster.DiscoveryType.STATIC)
          .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance())
          .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(c).addEndpoints(
              LocalityLbEndpoints.newBuilder().addLbEndpoints(XdsTranslator.lbEndpoint("127.0.0.1", 1)))));
    }
    // An external SDS subscription names its node, as a real gateway-proxy bootstrap does.
    return EnvoyValidation.write(work, name, b.toBuilder().setStaticResources(sr)
        .setNode(Node.newBuilder().setId("validate").setCluster("gateway-proxy")).build());
  }

  /** An SDS name served over ADS becomes a static secret's; an external server's cluster gets a stub. */
  private static void staticOrStub(SdsSecretConfig.Builder s, TreeSet<String> names, TreeSet<String> clusters) {
    // EnvoyValidation.bootstrap already made ADS references static (no sds_config): those need a static secret too.
    if (s.getSdsConfig().hasAds() || !s.hasSdsConfig()) {
      names.add(s.getName());
      s.clearSdsConfig();
      return;
    }
    s.getSdsConfig().getApiConfigSource().getGrpcServicesList().stream()
        .filter(g -> g.hasEnvoyGrpc()).forEach(g -> clusters.add(g.getEnvoyGrpc().getClusterName()));
  }

  private static DataSource file(Path p) {
    return DataSource.newBuilder().setFilename(p.toString()).build();
  }

  /** A throw-away self-signed certificate and key, made by openssl for this test only. */
  private void makeCertificate() throws Exception {
    if (cert != null) {
      return;
    }
    cert = work.resolve("test-cert.pem");
    key = work.resolve("test-key.pem");
    Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=shardgate-validate-test", "-keyout", key.toString(), "-out", cert.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      fail("openssl could not make the test certificate:\n" + out);
    }
  }

  private static Translation translate(Path in) throws Exception {
    List<SourceDocument> docs =
        new YamlDocumentReader().read(in.getFileName().toString(), Files.readString(in, StandardCharsets.UTF_8));
    GoldenSecrets.Split split = GoldenSecrets.split(docs);
    Translation t = Translation.of(new ConfigInput("ssl-gateway-validate", split.documents(), List.of()),
        LastGood.EMPTY, split.secrets());
    assertFalse(t.xds().isEmpty(), in.getFileName() + " produced no shard");
    return t;
  }

  private static Path goldenDir() {
    return Path.of(System.getProperty("project.basedir", System.getProperty("user.dir"))).toAbsolutePath()
        .resolve(Path.of("src", "test", "resources", "golden", "translation"));
  }
}
