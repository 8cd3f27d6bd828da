package io.shardgate.controlplane.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters.TlsProtocol;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.shardgate.sharding.ir.SecretUse;
import io.shardgate.sharding.ir.UpstreamCluster;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.TlsParameters;
import io.shardgate.sharding.model.TlsSecretSource;
import io.shardgate.sharding.model.Upstream;
import io.shardgate.sharding.model.UpstreamSslConfig;
import io.shardgate.sharding.secret.TlsSecretContent;
import io.shardgate.snapshot.ShardResources;
import io.shardgate.templates.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An Upstream's {@code sslConfig} as Envoy gets it: the cluster's {@code UpstreamTlsContext} for every source
 * (secretRef over SDS, sslFiles, an external SDS server), {@code oneWayTls}, {@code verifySubjectAltName}, TLS
 * parameters, ALPN and renegotiation, on static and EDS clusters, and {@code useHttp2}; each checked field by field
 * and, all together, accepted by the real Envoy ({@code envoy --mode validate}) with the SDS names backed by secrets
 * made by the test.
 */
class UpstreamTlsTranslatorTest {

  private static final ResourceRef UPSTREAM = new ResourceRef("team", "billing");
  private static final ResourceRef SECRET = new ResourceRef("team", "billing-client");
  private static final ResourceRef CA_ONLY = new ResourceRef("team", "backend-ca");
  private static final List<Upstream.StaticHost> HOSTS = List.of(new Upstream.StaticHost("127.0.0.1", 8443, null));

  @TempDir Path work;

  private static UpstreamCluster staticCluster(ResourceRef ref, UpstreamSslConfig ssl, SecretUse use) {
    return new UpstreamCluster(ref, HOSTS, true, ssl.sni(), Duration.ofSeconds(2), null, ssl, use, false);
  }

  private static UpstreamSslConfig ssl(TlsSecretSource source, String sni, List<String> sans, boolean oneWay) {
    return new UpstreamSslConfig(source, sni, sans, null, List.of(), false, oneWay);
  }

  private static UpstreamTlsContext tlsOf(Cluster c) throws InvalidProtocolBufferException {
    assertEquals("envoy.transport_sockets.tls", c.getTransportSocket().getName());
    return c.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
  }

  @Test
  void secretRefWithCertificateAndRootCaIsMutualTlsOverAds() throws Exception {
    UpstreamSslConfig ssl = ssl(new TlsSecretSource.SecretRef(SECRET), "billing.internal", List.of(), false);
    UpstreamCluster u = staticCluster(UPSTREAM, ssl, new SecretUse(SECRET, true, true));
    UpstreamTlsContext tls = tlsOf(XdsTranslator.cluster(u));

    assertEquals("billing.internal", tls.getSni());
    CommonTlsContext common = tls.getCommonTlsContext();
    assertEquals(1, common.getTlsCertificateSdsSecretConfigsCount());
    assertEquals("billing-client_team", common.getTlsCertificateSdsSecretConfigs(0).getName());
    assertTrue(common.getTlsCertificateSdsSecretConfigs(0).getSdsConfig().hasAds(), "SDS over ADS");
    assertEquals("billing-client_team-ca", common.getValidationContextSdsSecretConfig().getName());
    assertTrue(common.getValidationContextSdsSecretConfig().getSdsConfig().hasAds());
    assertEquals(0, common.getTlsCertificatesCount(), "never inline certificates");
    assertEquals(List.of(new SecretUse(SECRET, true, true)), u.secretUses());
  }

  @Test
  void oneWayTlsPresentsNoClientCertificateButStillVerifies() throws Exception {
    UpstreamSslConfig ssl = ssl(new TlsSecretSource.SecretRef(SECRET), null, List.of(), true);
    UpstreamCluster u = staticCluster(UPSTREAM, ssl, new SecretUse(SECRET, false, true));
    CommonTlsContext common = tlsOf(XdsTranslator.cluster(u)).getCommonTlsContext();

    assertEquals(0, common.getTlsCertificateSdsSecretConfigsCount());
    assertEquals("billing-client_team-ca", common.getValidationContextSdsSecretConfig().getName());
    assertEquals(List.of(new SecretUse(SECRET, false, true)), u.secretUses());
  }

  @Test
  void secretWithoutRootCaPresentsTheCertificateAndVerifiesNothing() throws Exception {
    UpstreamSslConfig ssl = ssl(new TlsSecretSource.SecretRef(SECRET), null, List.of(), false);
    UpstreamCluster u = staticCluster(UPSTREAM, ssl, new SecretUse(SECRET, true, false));
    CommonTlsContext common = tlsOf(XdsTranslator.cluster(u)).getCommonTlsContext();

    assertEquals("billing-client_team", common.getTlsCertificateSdsSecretConfigs(0).getName());
    assertEquals(CommonTlsContext.ValidationContextTypeCase.VALIDATIONCONTEXTTYPE_NOT_SET,
        common.getValidationContextTypeCase());
  }

  @Test
  void verifySubjectAltNameCombinesTheSdsRootCaWithTypedMatchers() throws Exception {
    UpstreamSslConfig ssl =
        ssl(new TlsSecretSource.SecretRef(SECRET), null, List.of("billing.internal", "spiffe://td/billing"), false);
    UpstreamCluster u = staticCluster(UPSTREAM, ssl, new SecretUse(SECRET, true, true));
    CommonTlsContext common = tlsOf(XdsTranslator.cluster(u)).getCommonTlsContext();

    CommonTlsContext.CombinedCertificateValidationContext combined = common.getCombinedValidationContext();
    assertEquals("billing-client_team-ca", combined.getValidationContextSdsSecretConfig().getName());
    List<SubjectAltNameMatcher> sans = combined.getDefaultValidationContext().getMatchTypedSubjectAltNamesList();
    // Typed by the name's form, as on the listeners (TlsContexts): a DNS name, a URI.
    assertEquals(2, sans.size());
    assertEquals("billing.internal", sans.get(0).getMatcher().getExact());
    assertEquals(SubjectAltNameMatcher.SanType.DNS, sans.get(0).getSanType());
    assertEquals(SubjectAltNameMatcher.SanType.URI, sans.get(1).getSanType());
    assertEquals("spiffe://td/billing", sans.get(1).getMatcher().getExact());
    assertEquals(0, combined.getDefaultValidationContext().getMatchSubjectAltNamesCount(), "not the deprecated form");
  }

  @Test
  void sslFilesStayFileNamesAndOneWayTlsDropsTheClientPair() throws Exception {
    TlsSecretSource.Files files = new TlsSecretSource.Files("/etc/tls/c.crt", "/etc/tls/c.key", "/etc/tls/ca.crt", null);
    CommonTlsContext mutual =
        tlsOf(XdsTranslator.cluster(staticCluster(UPSTREAM, ssl(files, null, List.of("b"), false), null)))
            .getCommonTlsContext();
    assertEquals("/etc/tls/c.crt", mutual.getTlsCertificates(0).getCertificateChain().getFilename());
    assertEquals("/etc/tls/c.key", mutual.getTlsCertificates(0).getPrivateKey().getFilename());
    assertEquals("/etc/tls/ca.crt", mutual.getValidationContext().getTrustedCa().getFilename());
    assertEquals(1, mutual.getValidationContext().getMatchTypedSubjectAltNamesCount());

    CommonTlsContext oneWay =
        tlsOf(XdsTranslator.cluster(staticCluster(UPSTREAM, ssl(files, null, List.of(), true), null)))
            .getCommonTlsContext();
    assertEquals(0, oneWay.getTlsCertificatesCount());
    assertEquals("/etc/tls/ca.crt", oneWay.getValidationContext().getTrustedCa().getFilename());
    assertTrue(staticCluster(UPSTREAM, ssl(files, null, List.of(), false), null).secretUses().isEmpty(),
        "files are not SDS resources of the shard");
  }

  @Test
  void externalSdsIsEnvoyGrpcToItsClusterElseGoogleGrpcToItsTarget() throws Exception {
    TlsSecretSource.Sds byCluster = new TlsSecretSource.Sds("unused:1", "sds-agent", "cert", "ca", null);
    CommonTlsContext c1 =
        tlsOf(XdsTranslator.cluster(staticCluster(UPSTREAM, ssl(byCluster, null, List.of(), true), null)))
            .getCommonTlsContext();
    // oneWayTls does not apply to an external SDS server, as in Gloo.
    assertEquals("cert", c1.getTlsCertificateSdsSecretConfigs(0).getName());
    assertEquals("sds-agent", c1.getTlsCertificateSdsSecretConfigs(0).getSdsConfig().getApiConfigSource()
        .getGrpcServices(0).getEnvoyGrpc().getClusterName());
    assertEquals("ca", c1.getValidationContextSdsSecretConfig().getName());

    TlsSecretSource.Sds byTarget = new TlsSecretSource.Sds("127.0.0.1:8234", null, null, "ca",
        new TlsSecretSource.CallCredentials("/var/run/token", "authorization"));
    CommonTlsContext c2 =
        tlsOf(XdsTranslator.cluster(staticCluster(UPSTREAM, ssl(byTarget, null, List.of("x"), false), null)))
            .getCommonTlsContext();
    assertEquals(0, c2.getTlsCertificateSdsSecretConfigsCount());
    var google = c2.getCombinedValidationContext().getValidationContextSdsSecretConfig().getSdsConfig()
        .getApiConfigSource().getGrpcServices(0).getGoogleGrpc();
    assertEquals("127.0.0.1:8234", google.getTargetUri());
    assertEquals("envoy.grpc_credentials.file_based_metadata", google.getCallCredentials(0).getFromPlugin().getName());
  }

  @Test
  void parametersAlpnAndRenegotiation() throws Exception {
    UpstreamSslConfig ssl = new UpstreamSslConfig(null, "b", List.of(),
        new TlsParameters("TLSv1_2", "TLSv1_3", List.of("ECDHE-ECDSA-AES128-GCM-SHA256"), List.of("P-256")),
        List.of("h2", "http/1.1"), true, false);
    UpstreamTlsContext tls = tlsOf(XdsTranslator.cluster(staticCluster(UPSTREAM, ssl, null)));
    assertTrue(tls.getAllowRenegotiation());
    assertEquals(TlsProtocol.TLSv1_2, tls.getCommonTlsContext().getTlsParams().getTlsMinimumProtocolVersion());
    assertEquals(TlsProtocol.TLSv1_3, tls.getCommonTlsContext().getTlsParams().getTlsMaximumProtocolVersion());
    assertEquals(List.of("ECDHE-ECDSA-AES128-GCM-SHA256"), tls.getCommonTlsContext().getTlsParams().getCipherSuitesList());
    assertEquals(List.of("P-256"), tls.getCommonTlsContext().getTlsParams().getEcdhCurvesList());
    assertEquals(List.of("h2", "http/1.1"), tls.getCommonTlsContext().getAlpnProtocolsList());
  }

  @Test
  void edsClusterGetsTheSameTransportSocket() throws Exception {
    UpstreamSslConfig ssl = ssl(new TlsSecretSource.SecretRef(SECRET), "billing.team.svc", List.of(), false);
    UpstreamCluster u = new UpstreamCluster(UPSTREAM, List.of(), true, ssl.sni(), null,
        new Upstream.KubeSpec("team", "billing", 443, new TreeMap<>()), ssl, new SecretUse(SECRET, true, true), false);
    Cluster c = XdsTranslator.cluster(u);
    assertEquals(Cluster.DiscoveryType.EDS, c.getType());
    assertEquals("billing.team.svc", tlsOf(c).getSni());
    assertEquals("billing-client_team", tlsOf(c).getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName());
  }

  @Test
  void useHttp2IsExplicitHttp2EvenWithAlpnOffered() throws Exception {
    UpstreamSslConfig ssl = new UpstreamSslConfig(null, null, List.of(), null, List.of("h2", "http/1.1"), false, false);
    UpstreamCluster u = new UpstreamCluster(UPSTREAM, HOSTS, true, null, null, null, ssl, null, true);
    Cluster c = XdsTranslator.cluster(u);
    HttpProtocolOptions o = c.getTypedExtensionProtocolOptionsOrThrow(XdsTranslator.HTTP_PROTOCOL_OPTIONS)
        .unpack(HttpProtocolOptions.class);
    assertTrue(o.getExplicitHttpConfig().hasHttp2ProtocolOptions());
    UpstreamCluster plain = new UpstreamCluster(UPSTREAM, HOSTS, false, null, null);
    assertFalse(XdsTranslator.cluster(plain).containsTypedExtensionProtocolOptions(XdsTranslator.HTTP_PROTOCOL_OPTIONS));
  }

  @Test
  void aSecretUseMustBeTheClustersOwnSecretRef() {
    UpstreamSslConfig ssl = ssl(new TlsSecretSource.Files(null, null, "/ca", null), null, List.of(), false);
    assertThrows(IllegalArgumentException.class, () -> staticCluster(UPSTREAM, ssl, new SecretUse(SECRET, true, true)));
  }

  @Test
  void aHostWithItsOwnSniGetsATransportSocketMatchedByItsMetadata() throws Exception {
    UpstreamSslConfig ssl = ssl(new TlsSecretSource.SecretRef(SECRET), null, List.of(), false);
    List<Upstream.StaticHost> hosts = List.of(new Upstream.StaticHost("a.internal", 443, "a.internal"),
        new Upstream.StaticHost("10.0.0.1", 443, null));
    UpstreamCluster u = new UpstreamCluster(UPSTREAM, hosts, true, null, null, null, ssl,
        new SecretUse(SECRET, true, true), false);
    Cluster c = XdsTranslator.cluster(u);
    assertEquals(1, c.getTransportSocketMatchesCount());
    Cluster.TransportSocketMatch m = c.getTransportSocketMatches(0);
    assertEquals("a.internal;a.internal:443", m.getName());
    UpstreamTlsContext hostTls = m.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    assertEquals("a.internal", hostTls.getSni());
    assertEquals("billing-client_team", hostTls.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName());
    var endpoints = c.getLoadAssignment().getEndpoints(0).getLbEndpointsList();
    assertTrue(endpoints.get(0).getMetadata().getFilterMetadataOrThrow(UpstreamTlsTranslator.TRANSPORT_SOCKET_MATCH)
        .getFieldsOrThrow("a.internal;a.internal:443").getBoolValue());
    assertFalse(endpoints.get(1).hasMetadata(), "the IP host uses the cluster's socket");
    assertEquals("", tlsOf(c).getSni());
  }

  /** Every form above together, with its SDS names backed by secrets made here: the real Envoy accepts them. */
  @Test
  void envoyAcceptsEveryUpstreamTlsForm() throws Exception {
    List<UpstreamCluster> clusters = new ArrayList<>();
    int i = 0;
    for (SecretUse use : List.of(new SecretUse(SECRET, true, true), new SecretUse(SECRET, false, true),
        new SecretUse(SECRET, true, false))) {
      List<String> sans = use.validation() ? List.of("billing.internal") : List.of();
      clusters.add(staticCluster(new ResourceRef("team", "ref-" + i++),
          new UpstreamSslConfig(new TlsSecretSource.SecretRef(SECRET), "b", sans,
              new TlsParameters("TLSv1_2", "TLSv1_3", List.of(), List.of()), List.of("h2", "http/1.1"), true,
              !use.certificate()), use));
    }
    TestPki pki = TestPki.create("test-ca");
    TestPki.Issued leaf = pki.leaf("client").sans("DNS:client").writeTo(work, "client");
    Path ca = pki.writeCertificate(work.resolve("ca.crt"));
    clusters.add(staticCluster(new ResourceRef("team", "files"), ssl(new TlsSecretSource.Files(
        leaf.certificateFile().toString(), leaf.keyFile().toString(), ca.toString(), null), null,
        List.of("b"), false), null));
    clusters.add(staticCluster(new ResourceRef("team", "sds-cluster"),
        ssl(new TlsSecretSource.Sds(null, "sds-agent", "cert", "ca", null), null, List.of("b"), false), null));
    // Not a Google gRPC SDS server (targetUri): Envoy 1.40's --mode validate reports such a bootstrap OK and then
    // crashes on exit (a running Envoy accepts it and connects); its fields are checked in the test above.
    clusters.add(new UpstreamCluster(new ResourceRef("team", "per-host-sni"),
        List.of(new Upstream.StaticHost("127.0.0.1", 8443, "a.internal"), new Upstream.StaticHost("127.0.0.2", 8443, null)),
        true, "b.internal", null, null, ssl(new TlsSecretSource.SecretRef(SECRET), "b.internal", List.of(), false),
        new SecretUse(SECRET, true, true), false));
    clusters.add(new UpstreamCluster(new ResourceRef("team", "kube"), List.of(), true, "k", null,
        new Upstream.KubeSpec("team", "k", 443, new TreeMap<>()),
        ssl(new TlsSecretSource.SecretRef(SECRET), "k", List.of(), false), new SecretUse(SECRET, true, true), true));
    // A secret holding only a root CA: the cluster verifies with it and presents nothing; SecretTranslator serves
    // only its validation secret, and nothing else backs the cluster.
    SecretUse caOnlyUse = new SecretUse(CA_ONLY, false, true);
    clusters.add(staticCluster(new ResourceRef("team", "ca-only"), ssl(new TlsSecretSource.SecretRef(CA_ONLY), "b",
        List.of("billing.internal"), false), caOnlyUse));
    List<Cluster> protos = new ArrayList<>(clusters.stream().map(XdsTranslator::cluster).toList());
    protos.add(EnvoyValidation.staticCluster("sds-agent", "127.0.0.1", 8234, true));
    TlsSecretContent caOnlyContent = new TlsSecretContent(null, null, Files.readAllBytes(ca), null);
    List<Secret> caOnlySecrets = SecretTranslator.translate(List.of(caOnlyUse), ref -> Optional.of(caOnlyContent));
    assertEquals(List.of(XdsNames.validationSecret(CA_ONLY)), caOnlySecrets.stream().map(Secret::getName).toList());

    List<Secret> secrets = new ArrayList<>(caOnlySecrets);
    secrets.addAll(List.of(
        Secret.newBuilder().setName(XdsNames.certificateSecret(SECRET))
            .setTlsCertificate(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate.newBuilder()
                .setCertificateChain(inline(Files.readString(leaf.certificateFile())))
                .setPrivateKey(inline(Files.readString(leaf.keyFile()))))
            .build(),
        Secret.newBuilder().setName(XdsNames.validationSecret(SECRET))
            .setValidationContext(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext
                .newBuilder().setTrustedCa(inline(Files.readString(ca))))
            .build()));
    ShardResources shard = new ShardResources(protos, List.of(), List.of(), List.of(), secrets);
    Path config = EnvoyValidation.write(work, "upstream-tls", EnvoyValidation.bootstrap(shard));
    EnvoyValidation.Run run = EnvoyValidation.validate(config, work);
    assertEquals(0, run.exitCode(), "envoy --mode validate rejected the upstream TLS clusters:\n" + run.output()
        + "\n--- bootstrap\n" + Files.readString(config));

    // Not vacuous: without the validation secret the same clusters are refused.
    ShardResources missing = new ShardResources(protos, List.of(), List.of(), List.of(), secrets.subList(0, 2));
    Path broken = EnvoyValidation.write(work, "upstream-tls-missing-ca", EnvoyValidation.bootstrap(missing));
    EnvoyValidation.Run refused = EnvoyValidation.validate(broken, work);
    assertNotEquals(0, refused.exitCode(), "Envoy accepted a cluster whose validation secret does not exist:\n"
        + refused.output());
  }

  private static DataSource inline(String pem) {
    return DataSource.newBuilder().setInlineString(pem).build();
  }
}
