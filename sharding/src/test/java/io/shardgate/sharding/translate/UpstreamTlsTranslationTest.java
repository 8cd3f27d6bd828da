package io.shardgate.sharding.translate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.sharding.decode.DecodedResources;
import io.shardgate.sharding.decode.ResourceDecoder;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.ir.SecretUse;
import io.shardgate.sharding.ir.UpstreamCluster;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.TlsParameters;
import io.shardgate.sharding.model.TlsSecretSource;
import io.shardgate.sharding.model.Upstream;
import io.shardgate.sharding.model.UpstreamSslConfig;
import io.shardgate.sharding.report.Contribution;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.report.ResourceStatus;
import io.shardgate.sharding.secret.TlsSecretLookup;
import io.shardgate.sharding.secret.TlsSecretLookup.TlsSecretView;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * An Upstream's {@code sslConfig} from YAML to the cluster gateway translation hands to xDS: decoded strictly with
 * the shared TLS decoder, its secret checked through the {@link TlsSecretLookup} (a hand-made lookup here: the real
 * catalog is the secrets stage's), the parts of the secret the cluster references ({@link SecretUse}), and an
 * Upstream whose secret cannot be served: an error on it, no cluster, a warning on the VirtualService whose route
 * reaches it, all of which go away when the secret becomes servable, in the incremental cache as from scratch.
 */
class UpstreamTlsTranslationTest {

  private static final ResourceKey UPSTREAM = new ResourceKey(Kind.UPSTREAM, "team", "billing");
  private static final ResourceKey VS = new ResourceKey(Kind.VIRTUAL_SERVICE, "team", "api");
  private static final ResourceRef SECRET = new ResourceRef("team", "billing-tls");

  private static final String GATEWAY_AND_VS = """
      apiVersion: gateway.solo.io/v1
      kind: Gateway
      metadata: {name: gateway-proxy, namespace: gloo-system}
      spec: {bindPort: 8080, httpGateway: {}}
      ---
      apiVersion: gateway.solo.io/v1
      kind: VirtualService
      metadata: {name: api, namespace: team}
      spec:
        virtualHost:
          domains: [api.example.com]
          routes:
          - routeAction: {single: {upstream: {name: billing}}}
      """;

  private static String upstream(String sslConfigYaml) {
    return """
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata: {name: billing, namespace: team}
        spec:
          static: {hosts: [{addr: billing.internal, port: 8443}]}
          sslConfig:
        """ + sslConfigYaml.indent(4);
  }

  @SuppressWarnings("unchecked")
  private static DecodedResources decode(String... texts) {
    List<SourceDocument> docs = new ArrayList<>();
    int line = 1;
    for (String text : String.join("---\n", texts).split("(?m)^---\n")) {
      docs.add(new SourceDocument("in.yaml", line, (Map<String, Object>) new Yaml().load(text), Map.of()));
      line += text.split("\n", -1).length;
    }
    return ResourceDecoder.decode(docs);
  }

  private static Upstream decodedUpstream(DecodedResources d) {
    return d.snapshot().upstreams().stream().filter(u -> u.key().equals(UPSTREAM)).findFirst().orElseThrow();
  }

  private static GatewayTranslation translate(DecodedResources d, TlsSecretLookup secrets) {
    return GatewayTranslator.translate(d, LastGood.EMPTY, InvalidRoutePolicy.of(d.snapshot().settings()), secrets);
  }

  private static UpstreamCluster clusterOf(GatewayTranslation t) {
    return t.shards().get("gateway-proxy").clusters().stream()
        .filter(c -> c.upstream().equals(UPSTREAM.ref())).findFirst().orElse(null);
  }

  private static TlsSecretLookup only(TlsSecretView view) {
    return ref -> ref.equals(SECRET) ? view : TlsSecretView.missing(ref);
  }

  @Test
  void everyFieldIsDecodedWithTheSharedTlsDecoder() {
    DecodedResources d = decode(upstream("""
        secretRef: {name: billing-tls}
        sni: billing.internal
        verifySubjectAltName: [billing.internal]
        parameters: {minimumProtocolVersion: TLSv1_2, cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256]}
        alpnProtocols: [h2, http/1.1]
        allowRenegotiation: true
        oneWayTls: true
        """));
    ResourceStatus status = d.statuses().get(UPSTREAM);
    assertEquals(ResourceState.ACCEPTED, status.state(), status.toString());
    UpstreamSslConfig ssl = decodedUpstream(d).sslConfig();
    // The secret's namespace defaults to the Upstream's, as in Gloo.
    assertEquals(new TlsSecretSource.SecretRef(SECRET), ssl.source());
    assertEquals("billing.internal", ssl.sni());
    assertEquals(List.of("billing.internal"), ssl.verifySubjectAltName());
    assertEquals(new TlsParameters("TLSv1_2", null, List.of("ECDHE-RSA-AES128-GCM-SHA256"), List.of()),
        ssl.parameters());
    assertEquals(List.of("h2", "http/1.1"), ssl.alpnProtocols());
    assertTrue(ssl.allowRenegotiation());
    assertTrue(ssl.oneWayTls());
  }

  @Test
  void badCombinationsAreErrorsOrWarningsNamingTheField() {
    DecodedResources noCa = decode(upstream("""
        sslFiles: {tlsCert: /etc/c.crt, tlsKey: /etc/c.key}
        verifySubjectAltName: [b]
        """));
    ResourceStatus s1 = noCa.statuses().get(UPSTREAM);
    assertEquals(ResourceState.REJECTED, s1.state());
    assertTrue(s1.errors().get(0).contains("spec.sslConfig.verifySubjectAltName"), s1.errors().toString());

    DecodedResources sdsOneWay = decode(upstream("""
        sds: {clusterName: sds-agent, certificatesSecretName: c, validationContextName: ca}
        oneWayTls: true
        """));
    ResourceStatus s2 = sdsOneWay.statuses().get(UPSTREAM);
    assertEquals(ResourceState.WARNING, s2.state());
    assertTrue(s2.warnings().get(0).contains("spec.sslConfig.oneWayTls") && s2.warnings().get(0).contains("sds"),
        s2.warnings().toString());
    assertFalse(decodedUpstream(sdsOneWay).sslConfig().oneWayTls(), "ignored with sds, as in Gloo");

    DecodedResources onlyCa = decode(upstream("sslFiles: {rootCa: /etc/ca.crt}"));
    assertEquals(ResourceState.ACCEPTED, onlyCa.statuses().get(UPSTREAM).state());
    assertEquals(new TlsSecretSource.Files(null, null, "/etc/ca.crt", null),
        decodedUpstream(onlyCa).sslConfig().source());
  }

  @Test
  void useTlsFalseLosesToAnSslConfigWithAWarningAndUseHttp2IsRead() {
    DecodedResources d = decode("""
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata: {name: billing, namespace: team}
        spec:
          static: {hosts: [{addr: 127.0.0.1, port: 8443}], useTls: false}
          sslConfig: {sni: billing.internal}
          useHttp2: true
        """);
    ResourceStatus s = d.statuses().get(UPSTREAM);
    assertTrue(s.warnings().get(0).contains("spec.static.useTls"), s.warnings().toString());
    UpstreamCluster c = GatewayTranslator.cluster(decodedUpstream(d), TlsSecretLookup.NONE).cluster();
    assertTrue(c.tls());
    assertTrue(c.http2());
    assertEquals("billing.internal", c.sni());
    assertTrue(c.secretUses().isEmpty());
  }

  @Test
  void aServableSecretGivesTheClusterItsClientCertificateAndRootCa() {
    DecodedResources d = decode(GATEWAY_AND_VS, upstream("secretRef: {name: billing-tls}"));
    GatewayTranslation withCa = translate(d, only(TlsSecretView.valid(true)));
    assertEquals(List.of(new SecretUse(SECRET, true, true)), clusterOf(withCa).secretUses());
    assertEquals(ResourceState.ACCEPTED, withCa.statuses().get(UPSTREAM).state());

    GatewayTranslation withoutCa = translate(d, only(TlsSecretView.valid(false)));
    assertEquals(List.of(new SecretUse(SECRET, true, false)), clusterOf(withoutCa).secretUses());
    assertEquals(List.of(new SecretUse(SECRET, true, false)),
        List.copyOf(withoutCa.shards().get("gateway-proxy").secretUses()));

    DecodedResources oneWay = decode(GATEWAY_AND_VS, upstream("{secretRef: {name: billing-tls}, oneWayTls: true}"));
    assertEquals(List.of(new SecretUse(SECRET, false, true)),
        clusterOf(translate(oneWay, only(TlsSecretView.valid(true)))).secretUses());
  }

  @Test
  void aSecretHoldingOnlyARootCaVerifiesTheBackendAndPresentsNoClientCertificate() {
    DecodedResources d = decode(GATEWAY_AND_VS,
        upstream("{secretRef: {name: billing-tls}, verifySubjectAltName: [billing.internal]}"));
    GatewayTranslation t = translate(d, only(TlsSecretView.rootCaOnly()));
    assertEquals(List.of(new SecretUse(SECRET, false, true)), clusterOf(t).secretUses(),
        "the root CA only, whatever oneWayTls says");
    assertEquals(List.of(new SecretUse(SECRET, false, true)),
        List.copyOf(t.shards().get("gateway-proxy").secretUses()));
    assertEquals(ResourceState.ACCEPTED, t.statuses().get(UPSTREAM).state(), t.statuses().get(UPSTREAM).toString());
    assertEquals(ResourceState.ACCEPTED, t.statuses().get(VS).state(), t.statuses().get(VS).toString());
  }

  @Test
  void aSecretThatCannotBeServedLeavesTheUpstreamWithoutACluster() {
    DecodedResources d = decode(GATEWAY_AND_VS, upstream("secretRef: {name: billing-tls}"));
    GatewayTranslation t = translate(d, TlsSecretLookup.NONE);
    assertNull(clusterOf(t), "no cluster waits for an SDS resource the shard does not serve");
    assertTrue(t.shards().get("gateway-proxy").secretUses().isEmpty());
    ResourceStatus us = t.statuses().get(UPSTREAM);
    assertEquals(ResourceState.REJECTED, us.state());
    assertTrue(us.errors().get(0).startsWith("spec.sslConfig.secretRef: secret team/billing-tls not found;"),
        us.errors().toString());
    ResourceStatus vs = t.statuses().get(VS);
    assertEquals(ResourceState.WARNING, vs.state());
    assertTrue(vs.warnings().get(0).contains("upstream team/billing has no cluster (spec.sslConfig.secretRef: secret"
        + " team/billing-tls not found); requests to this route get 503"), vs.warnings().toString());
    // The route stays: Envoy answers 503 for it, as for a route to a missing Upstream.
    assertEquals(1, t.shards().get("gateway-proxy").proxy().listeners().get(0).virtualHosts().get(0).routes().size());

    GatewayTranslation noCa = translate(
        decode(GATEWAY_AND_VS, upstream("{secretRef: {name: billing-tls}, verifySubjectAltName: [b]}")),
        only(TlsSecretView.valid(false)));
    assertNull(clusterOf(noCa));
    assertTrue(noCa.statuses().get(UPSTREAM).errors().get(0).startsWith("spec.sslConfig.verifySubjectAltName:"),
        noCa.statuses().get(UPSTREAM).errors().toString());
  }

  @Test
  void aSecretServingItsLastGoodContentKeepsTheClusterAndTheUpstreamSaysWhy() {
    DecodedResources d = decode(GATEWAY_AND_VS, upstream("secretRef: {name: billing-tls}"));
    TlsSecretView lastGood = new TlsSecretView(true, true, true,
        "secret team/billing-tls: certificate expired 2026-01-01T00:00:00Z; its last valid content keeps serving");
    GatewayTranslation t = translate(d, only(lastGood));
    assertEquals(List.of(new SecretUse(SECRET, true, true)), clusterOf(t).secretUses());
    ResourceStatus us = t.statuses().get(UPSTREAM);
    assertEquals(ResourceState.REJECTED, us.state());
    assertEquals(List.of("spec.sslConfig.secretRef: secret team/billing-tls: certificate expired"
        + " 2026-01-01T00:00:00Z; its last valid content keeps serving"), us.errors());
    // The route has its cluster: no warning on the VirtualService.
    assertEquals(ResourceState.ACCEPTED, t.statuses().get(VS).state(), t.statuses().get(VS).toString());
  }

  @Test
  void theCacheFollowsTheSecretViewLikeATranslationFromScratch() {
    DecodedResources d = decode(GATEWAY_AND_VS, upstream("secretRef: {name: billing-tls}"));
    GatewayTranslationCache cache = new GatewayTranslationCache();
    InvalidRoutePolicy policy = InvalidRoutePolicy.of(d.snapshot().settings());
    List<TlsSecretLookup> views = List.of(TlsSecretLookup.NONE, only(TlsSecretView.valid(true)),
        only(TlsSecretView.valid(true)), only(TlsSecretView.unservable("secret team/billing-tls: tls.key is"
            + " missing or empty")), TlsSecretLookup.NONE, only(TlsSecretView.valid(false)),
        only(new TlsSecretView(true, true, false, "secret team/billing-tls: tls.key is not a PEM private key; its last"
            + " valid content keeps serving")), only(TlsSecretView.valid(false)));
    for (TlsSecretLookup secrets : views) {
      GatewayTranslation cached = cache.translate(d, null, LastGood.EMPTY, policy, secrets)
          .translation(Contribution.EMPTY);
      GatewayTranslation scratch = translate(d, secrets);
      assertEquals(scratch.shards(), cached.shards());
      assertEquals(scratch.statuses(), cached.statuses());
    }
  }

  private static UpstreamCluster clusterOfStatic(String staticYaml, String extra) {
    DecodedResources d = decode("""
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata: {name: billing, namespace: team}
        spec:
          static: %s
        %s""".formatted(staticYaml, extra.indent(2)));
    return GatewayTranslator.cluster(decodedUpstream(d), TlsSecretLookup.NONE).cluster();
  }

  @Test
  void staticHostsSendTheirSniAsGlooDoesExceptIpAddressesAndAnExplicitSni() {
    // One DNS host: its name is the cluster's SNI (autoSniRewrite defaults to true).
    UpstreamCluster one = clusterOfStatic("{hosts: [{addr: api.internal, port: 443}]}", "");
    assertEquals("api.internal", one.sni());
    assertNull(one.hosts().get(0).sniAddr());

    // Several: each its own; an IP address is never an SNI (RFC 6066); sniAddr wins.
    UpstreamCluster many = clusterOfStatic("{hosts: [{addr: a.internal, port: 443}, {addr: 10.0.0.1, port: 443},"
        + " {addr: 10.0.0.2, port: 443, sniAddr: b.internal}]}", "");
    assertNull(many.sni());
    assertEquals(Arrays.asList("a.internal", null, "b.internal"),
        many.hosts().stream().map(Upstream.StaticHost::sniAddr).toList());

    // autoSniRewrite: false leaves only sniAddr; plaintext sends no SNI at all.
    UpstreamCluster off = clusterOfStatic("{hosts: [{addr: a.internal, port: 443}], autoSniRewrite: false}", "");
    assertNull(off.sni());
    UpstreamCluster plain = clusterOfStatic("{hosts: [{addr: a.internal, port: 80, sniAddr: x}]}", "");
    assertFalse(plain.tls());
    assertNull(plain.sni());

    // sslConfig.sni is the SNI of every host without an sniAddr (Gloo would send each host's name instead).
    UpstreamCluster named = clusterOfStatic("{hosts: [{addr: a.internal, port: 443}, {addr: b.internal, port: 443}]}",
        "sslConfig: {sni: api.example.com}");
    assertEquals("api.example.com", named.sni());
    assertTrue(named.hosts().stream().allMatch(h -> h.sniAddr() == null));
  }
}
