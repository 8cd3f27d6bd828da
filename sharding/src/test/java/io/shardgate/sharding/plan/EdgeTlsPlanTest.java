package io.shardgate.sharding.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.sharding.decode.DecodedResources;
import io.shardgate.sharding.ir.ProxyFilterChain;
import io.shardgate.sharding.ir.SecretUse;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.Settings;
import io.shardgate.sharding.secret.TlsSecretLookup;
import io.shardgate.sharding.secret.TlsSecretLookup.TlsSecretView;
import io.shardgate.sharding.translate.GatewayTranslation;
import io.shardgate.sharding.translate.GatewayTranslator;
import io.shardgate.sharding.translate.InvalidRoutePolicy;
import io.shardgate.sharding.translate.LastGood;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The edge shard and the shards' TLS: passthrough sends exactly the SNI names the shards' TLS filter chains match
 * (not every domain they have), names two shards match go to neither, and {@code tlsMode: Terminate} terminates the
 * chains that do not verify client certificates (keeping the others passed through), with those chains' secrets as
 * the edge's SDS resources. The TLS here comes from sslFiles, so no secret lookup is needed.
 */
class EdgeTlsPlanTest {

  private static final ResourceKey SETTINGS = new ResourceKey(Kind.SETTINGS, "gloo-system", "default");

  private static String settings(String tlsMode) {
    return """
        apiVersion: gloo.solo.io/v1
        kind: Settings
        metadata: {name: default, namespace: gloo-system}
        spec:
          discoveryNamespace: gloo-system
          shardgate:
            edge:
              enabled: true
              shardAddresses: {team-a: 10.0.0.1:8080, team-b: 10.0.0.2:8080}
              shardTlsAddresses: {team-a: 10.0.0.1:8443, team-b: 10.0.0.2:8443}
        """ + (tlsMode == null ? "" : "      tlsMode: " + tlsMode + "\n");
  }

  private static String gateways(String shard) {
    return """
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata: {name: %1$s-http, namespace: gloo-system}
        spec: {bindPort: 8080, proxyNames: [%1$s], httpGateway: {virtualServiceNamespaces: [%1$s]}}
        ---
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata: {name: %1$s-https, namespace: gloo-system}
        spec: {bindPort: 8443, ssl: true, proxyNames: [%1$s], httpGateway: {virtualServiceNamespaces: [%1$s]}}
        """.formatted(shard);
  }

  private static String vs(String ns, String name, String domains, String ssl) {
    return """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: %s, namespace: %s}
        spec:
          %s
          virtualHost: {domains: %s, routes: [{directResponseAction: {status: 200}}]}
        """.formatted(name, ns, ssl == null ? "" : "sslConfig: " + ssl, domains);
  }

  private static final String FILES = "{sslFiles: {tlsCert: /etc/tls/a.crt, tlsKey: /etc/tls/a.key}}";
  private static final String MTLS =
      "{sslFiles: {tlsCert: /etc/tls/m.crt, tlsKey: /etc/tls/m.key, rootCa: /etc/tls/ca.crt}}";
  private static final String SECRET = "{secretRef: {name: web-tls}}";

  private static String input(String tlsMode, String... extra) {
    return ShardPlannerTest.config(settings(tlsMode), gateways("team-a"), gateways("team-b"),
        vs("team-a", "plain", "[plain.a.example.com]", null),
        vs("team-a", "web", "[web.a.example.com]", FILES),
        vs("team-a", "mtls", "[mtls.a.example.com]", MTLS),
        ShardPlannerTest.config(extra.length == 0 ? new String[] {vs("team-b", "shop", "[shop.b.example.com]", FILES)}
            : extra));
  }

  private static EdgePlan.Target target(EdgePlan edge, String shard) {
    return edge.targets().stream().filter(t -> t.shard().equals(shard)).findFirst().orElseThrow();
  }

  @Test
  void passthroughSendsExactlyTheNamesOfTheShardsTlsChains() {
    EdgePlan edge = Docs.plan(input(null)).edge();
    assertEquals(Settings.Edge.TlsMode.PASSTHROUGH, edge.tlsMode());
    EdgePlan.Target a = target(edge, "team-a");
    // Not plain.a.example.com: the shard's TLS listener has no chain for it.
    assertEquals(List.of("mtls.a.example.com", "web.a.example.com"), a.serverNames());
    assertTrue(a.tlsChains().isEmpty());
    assertEquals(List.of("shop.b.example.com"), target(edge, "team-b").serverNames());
    assertTrue(edge.hasTlsListener());
    assertTrue(edge.secretUses().isEmpty(), "passthrough: the edge holds no keys");
  }

  @Test
  void terminateTakesTheChainsWithoutClientCertificatesAndPassesTheOthers() {
    EdgePlan edge = Docs.plan(input("Terminate")).edge();
    assertEquals(Settings.Edge.TlsMode.TERMINATE, edge.tlsMode());
    EdgePlan.Target a = target(edge, "team-a");
    assertEquals(List.of("mtls.a.example.com"), a.serverNames(), "the edge cannot present the client's certificate");
    assertEquals(List.of(List.of("web.a.example.com")),
        a.tlsChains().stream().map(ProxyFilterChain::serverNames).toList());
    assertEquals(List.of("web.a.example.com"), a.tlsDomains());
    assertTrue(edge.hasTlsListener());
  }

  @Test
  void terminatedChainsOfASecretAreTheEdgesSdsResources() {
    String yaml = input("Terminate", vs("team-b", "shop", "[shop.b.example.com]", SECRET));
    DecodedResources decoded = Docs.decode(yaml);
    ResourceRef web = new ResourceRef("team-b", "web-tls");
    // No ca.crt: the chain verifies no client certificates, so the edge terminates it.
    TlsSecretLookup secrets = ref -> ref.equals(web) ? TlsSecretView.valid(false) : TlsSecretView.missing(ref);
    GatewayTranslation t = GatewayTranslator.translate(decoded, LastGood.EMPTY,
        InvalidRoutePolicy.of(decoded.snapshot().settings()), secrets);
    EdgePlan edge = ShardPlanner.plan(decoded.snapshot(), t, PlanSettings.of(decoded.snapshot().settings())).edge();
    // The same secret uses as the shard's chain: the certificate; no CA, since the chain does not verify clients.
    assertEquals(List.of(new SecretUse(web, true, false)), List.copyOf(edge.secretUses()));
    assertEquals(List.of(new SecretUse(web, true, false)), List.copyOf(t.shards().get("team-b").secretUses()));

    // Without the secret the VirtualService is rejected and has no chain on the shard, so none on the edge either:
    // the edge never references an SDS name its shard could not serve.
    EdgePlan none = Docs.plan(yaml).edge();
    assertTrue(none.targets().stream().noneMatch(x -> x.shard().equals("team-b")));
    assertTrue(none.secretUses().isEmpty());
  }

  @Test
  void anSniNameTwoShardsTerminateGoesToNeitherWithAWarning() {
    ShardPlan plan = Docs.plan(input(null, vs("team-b", "shop", "[shop.b.example.com]", FILES),
        vs("team-b", "copy", "[copy.b.example.com]", "{sslFiles: {tlsCert: /c.crt, tlsKey: /c.key},"
            + " sniDomains: [web.a.example.com]}")));
    EdgePlan edge = plan.edge();
    assertEquals(List.of("mtls.a.example.com"), target(edge, "team-a").serverNames());
    assertEquals(List.of("shop.b.example.com"), target(edge, "team-b").serverNames());
    List<String> warnings = plan.warnings().get(SETTINGS);
    assertTrue(warnings.stream().anyMatch(w -> w.contains("'web.a.example.com'") && w.contains("team-a and team-b")),
        warnings::toString);
  }

  @Test
  void aShardThatTerminatesTlsWithoutATlsAddressIsWarnedAbout() {
    ShardPlan plan = Docs.plan(input(null).replace("team-b: 10.0.0.2:8443", "team-c: 10.0.0.3:8443"));
    assertTrue(target(plan.edge(), "team-b").serverNames().isEmpty());
    assertTrue(plan.warnings().get(SETTINGS).stream().anyMatch(
        w -> w.contains("shardTlsAddresses: no address for shard team-b")), plan.warnings()::toString);
  }
}
