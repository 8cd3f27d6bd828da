package io.shardgate.sharding.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.sharding.decode.DecodedResources;
import io.shardgate.sharding.decode.ResourceDecoder;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.ir.UpstreamCluster;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.translate.GatewayTranslation;
import io.shardgate.sharding.translate.GatewayTranslator;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;
import org.junit.jupiter.api.Test;

class ShardPlannerTest {

  static final String PROTECTED = "gateway-proxy-protected";
  static final String NOISY = "gateway-proxy-noisy";

  static final String SETTINGS = """
      apiVersion: gloo.solo.io/v1
      kind: Settings
      metadata: {name: default, namespace: gloo-system}
      spec:
        discoveryNamespace: gloo-system
      """;

  static final String GATEWAYS = """
      apiVersion: gateway.solo.io/v1
      kind: Gateway
      metadata: {name: protected, namespace: gloo-system}
      spec:
        bindPort: 8080
        proxyNames: [gateway-proxy-protected]
        httpGateway:
          virtualServiceSelector: {shard: protected}
      ---
      apiVersion: gateway.solo.io/v1
      kind: Gateway
      metadata: {name: noisy, namespace: gloo-system}
      spec:
        bindPort: 8090
        proxyNames: [gateway-proxy-noisy]
        httpGateway:
          virtualServiceSelector: {shard: noisy}
      """;

  static final String PAYMENTS_VS = """
      apiVersion: gateway.solo.io/v1
      kind: VirtualService
      metadata: {name: payments, namespace: payments, labels: {shard: protected}}
      spec:
        virtualHost:
          domains: [payments.example.com]
          routes:
          - matchers: [{prefix: /payments}]
            delegateAction: {ref: {name: payments-api, namespace: payments}}
          - matchers: [{exact: /healthz}]
            directResponseAction: {status: 200, body: ok}
      """;

  static final String PAYMENTS_RT = """
      apiVersion: gateway.solo.io/v1
      kind: RouteTable
      metadata: {name: payments-api, namespace: payments}
      spec:
        routes:
        - matchers: [{prefix: /payments/v1}]
          routeAction: {single: {upstream: {name: payments}}}
        - matchers: [{prefix: /payments/refunds}]
          routeAction: {upstreamGroup: {name: refunds, namespace: payments}}
      """;

  static final String REFUNDS_UG = """
      apiVersion: gloo.solo.io/v1
      kind: UpstreamGroup
      metadata: {name: refunds, namespace: payments}
      spec:
        destinations:
        - weight: 1
          destination: {upstream: {name: payments-a, namespace: payments}}
        - weight: 1
          destination: {upstream: {name: payments, namespace: payments}}
      """;

  static final String CATALOG_VS = """
      apiVersion: gateway.solo.io/v1
      kind: VirtualService
      metadata: {name: catalog, namespace: catalog, labels: {shard: noisy}}
      spec:
        virtualHost:
          domains: [catalog.example.com]
          routes:
          - matchers: [{prefix: /}]
            routeAction: {single: {upstream: {name: catalog}}}
            options:
              shadowing: {upstream: {name: catalog-shadow}, percentage: 10}
      """;

  static final String UPSTREAMS = """
      apiVersion: gloo.solo.io/v1
      kind: Upstream
      metadata: {name: payments, namespace: payments}
      spec: {static: {hosts: [{addr: 127.0.0.1, port: 9101}]}}
      ---
      apiVersion: gloo.solo.io/v1
      kind: Upstream
      metadata: {name: payments-a, namespace: payments}
      spec: {static: {hosts: [{addr: 127.0.0.1, port: 9103}]}}
      ---
      apiVersion: gloo.solo.io/v1
      kind: Upstream
      metadata: {name: catalog, namespace: catalog}
      spec: {static: {hosts: [{addr: 127.0.0.1, port: 9102}]}}
      ---
      apiVersion: gloo.solo.io/v1
      kind: Upstream
      metadata: {name: catalog-shadow, namespace: catalog}
      spec: {static: {hosts: [{addr: 127.0.0.1, port: 9104}]}}
      ---
      apiVersion: gloo.solo.io/v1
      kind: Upstream
      metadata: {name: unused, namespace: other}
      spec: {static: {hosts: [{addr: 127.0.0.1, port: 9199}]}}
      """;

  static String config(String... parts) {
    return String.join("---\n", parts);
  }

  static String base() {
    return config(SETTINGS, GATEWAYS, PAYMENTS_VS, PAYMENTS_RT, REFUNDS_UG, CATALOG_VS, UPSTREAMS);
  }

  static SortedMap<String, String> fingerprints(String yaml) {
    return Docs.plan(yaml).fingerprints();
  }

  // ------------------------------------------------------------------ what a shard is made of

  @Test
  void eachShardListsWhatItServesAndReaches() {
    ShardPlan plan = Docs.plan(base());
    assertEquals(Set.of(PROTECTED, NOISY), plan.shards().keySet());

    ShardPlan.Shard p = plan.shards().get(PROTECTED);
    assertEquals("gloo-system~" + PROTECTED, p.role());
    assertEquals(List.of(new ResourceKey(Kind.GATEWAY, "gloo-system", "protected")), p.gateways());
    assertEquals(1, p.virtualHosts().size());
    assertEquals(List.of("payments.example.com"), p.virtualHosts().get(0).domains());
    assertEquals(3, p.routes());
    assertEquals(
        Set.of(new ResourceRef("payments", "payments"), new ResourceRef("payments", "payments-a")), p.upstreams());
    assertTrue(p.missingUpstreams().isEmpty());
    assertEquals(List.of(new ResourceKey(Kind.ROUTE_TABLE, "payments", "payments-api")), p.routeTables());
    assertEquals(List.of(new ResourceKey(Kind.UPSTREAM_GROUP, "payments", "refunds")), p.upstreamGroups());
    assertEquals(64, p.fingerprint().length());

    ShardPlan.Shard n = plan.shards().get(NOISY);
    // The shadowing target is reached too: mirrored requests need its cluster.
    assertEquals(
        Set.of(new ResourceRef("catalog", "catalog"), new ResourceRef("catalog", "catalog-shadow")), n.upstreams());
    assertTrue(plan.domainConflicts().isEmpty());
    assertNull(plan.edge());
  }

  @Test
  void eachShardKeepsOnlyTheClustersItsRoutesReachUnlessAllUpstreamsPerShard() {
    DecodedResources decoded = Docs.decode(base());
    GatewayTranslation t = GatewayTranslator.translate(decoded);
    ShardPlan plan = ShardPlanner.plan(decoded.snapshot(), t, PlanSettings.of(decoded.snapshot().settings()));
    ShardConfig protectedShard = plan.withReachedClusters(t.shards().get(PROTECTED));
    assertEquals(
        List.of(new ResourceRef("payments", "payments"), new ResourceRef("payments", "payments-a")),
        protectedShard.clusters().stream().map(UpstreamCluster::upstream).toList());
    ShardConfig noisyShard = plan.withReachedClusters(t.shards().get(NOISY));
    assertEquals(
        List.of(new ResourceRef("catalog", "catalog"), new ResourceRef("catalog", "catalog-shadow")),
        noisyShard.clusters().stream().map(UpstreamCluster::upstream).toList());

    DecodedResources all = Docs.decode(base().replace(
        "  discoveryNamespace: gloo-system\n",
        "  discoveryNamespace: gloo-system\n  shardgate: {allUpstreamsPerShard: true}\n"));
    GatewayTranslation ta = GatewayTranslator.translate(all);
    ShardPlan allPlan = ShardPlanner.plan(all.snapshot(), ta, PlanSettings.of(all.snapshot().settings()));
    assertTrue(allPlan.allUpstreamsPerShard());
    assertEquals(5, allPlan.withReachedClusters(ta.shards().get(PROTECTED)).clusters().size());
    // The setting is an input of every shard.
    assertNotEquals(plan.fingerprintOf("gloo-system~" + PROTECTED), allPlan.fingerprintOf("gloo-system~" + PROTECTED));
  }

  // ------------------------------------------------------------------ fingerprints

  @Test
  void fingerprintsAreDeterministicAndIndependentOfDocumentOrder() {
    List<SourceDocument> docs = Docs.parse("config.yaml", base(), 0);
    SortedMap<String, String> expected = Docs.plan(ResourceDecoder.decode(docs)).fingerprints();
    assertEquals(expected, fingerprints(base()));
    for (long seed = 1; seed <= 3; seed++) {
      List<SourceDocument> shuffled = new ArrayList<>(docs);
      Collections.shuffle(shuffled, new Random(seed));
      assertEquals(expected, Docs.plan(ResourceDecoder.decode(shuffled)).fingerprints());
    }
  }

  @Test
  void aLabelNoSelectorReadsDoesNotChangeAnyFingerprint() {
    String labelled = base().replace("labels: {shard: protected}", "labels: {shard: protected, team: payments}");
    assertNotEquals(base(), labelled);
    assertEquals(fingerprints(base()), fingerprints(labelled));
    String rtLabelled = base().replace(
        "metadata: {name: payments-api, namespace: payments}",
        "metadata: {name: payments-api, namespace: payments, labels: {owner: payments-team}}");
    assertEquals(fingerprints(base()), fingerprints(rtLabelled));
  }

  @Test
  void anAnnotationDoesNotChangeAnyFingerprint() {
    String annotated = base().replace(
        "metadata: {name: catalog, namespace: catalog, labels: {shard: noisy}}",
        "metadata: {name: catalog, namespace: catalog, labels: {shard: noisy},"
            + " annotations: {kubectl.kubernetes.io/last-applied-configuration: '{}'}}");
    assertNotEquals(base(), annotated);
    assertEquals(fingerprints(base()), fingerprints(annotated));
  }

  @Test
  void movingResourcesWithinTheirFileDoesNotChangeAnyFingerprint() {
    SortedMap<String, String> before = Docs.plan(ResourceDecoder.decode(Docs.parse("config.yaml", base(), 0)))
        .fingerprints();
    // Every document starts 40 lines further down: new origins and route locations.
    DecodedResources moved = ResourceDecoder.decode(Docs.parse("config.yaml", base(), 40));
    DecodedResources original = ResourceDecoder.decode(Docs.parse("config.yaml", base(), 0));
    assertNotEquals(
        original.snapshot().virtualServices().get(0).meta().origin(),
        moved.snapshot().virtualServices().get(0).meta().origin());
    assertNotEquals(
        original.snapshot().routeTables().get(0).routes().get(0).field(),
        moved.snapshot().routeTables().get(0).routes().get(0).field());
    assertEquals(before, Docs.plan(moved).fingerprints());
    // Another file name, too (the resource moved to another file of the same directory).
    assertEquals(before, Docs.plan(ResourceDecoder.decode(Docs.parse("elsewhere.yaml", base(), 3))).fingerprints());
  }

  @Test
  void aSpecChangeOfAVirtualServiceChangesOnlyItsShard() {
    SortedMap<String, String> before = fingerprints(base());
    SortedMap<String, String> after = fingerprints(base().replace("body: ok", "body: fine"));
    assertNotEquals(before.get("gloo-system~" + PROTECTED), after.get("gloo-system~" + PROTECTED));
    assertEquals(before.get("gloo-system~" + NOISY), after.get("gloo-system~" + NOISY));
  }

  @Test
  void aNewVirtualServiceThatOneShardSelectsChangesOnlyThatShard() {
    String extra = """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: invoices, namespace: payments, labels: {shard: protected}}
        spec:
          virtualHost:
            domains: [invoices.example.com]
            routes:
            - directResponseAction: {status: 200, body: invoices}
        """;
    SortedMap<String, String> before = fingerprints(base());
    SortedMap<String, String> after = fingerprints(config(base(), extra));
    assertNotEquals(before.get("gloo-system~" + PROTECTED), after.get("gloo-system~" + PROTECTED));
    assertEquals(before.get("gloo-system~" + NOISY), after.get("gloo-system~" + NOISY));

    // A VirtualService no Gateway selects changes nothing.
    String unselected = extra.replace("shard: protected", "shard: nobody");
    assertEquals(before, fingerprints(config(base(), unselected)));
  }

  @Test
  void changesToWhatAShardReachesChangeOnlyThatShard() {
    SortedMap<String, String> before = fingerprints(base());
    String p = "gloo-system~" + PROTECTED;
    String n = "gloo-system~" + NOISY;
    // A RouteTable the protected shard delegates to.
    SortedMap<String, String> rt = fingerprints(base().replace("prefix: /payments/v1", "prefix: /payments/v2"));
    assertNotEquals(before.get(p), rt.get(p));
    assertEquals(before.get(n), rt.get(n));
    // An Upstream reached only through the protected shard's UpstreamGroup.
    SortedMap<String, String> up = fingerprints(base().replace("port: 9103", "port: 9113"));
    assertNotEquals(before.get(p), up.get(p));
    assertEquals(before.get(n), up.get(n));
    // The noisy shard's shadowing target.
    SortedMap<String, String> shadow = fingerprints(base().replace("port: 9104", "port: 9114"));
    assertEquals(before.get(p), shadow.get(p));
    assertNotEquals(before.get(n), shadow.get(n));
    // An Upstream nobody reaches.
    assertEquals(before, fingerprints(base().replace("port: 9199", "port: 9198")));
    // A label change that moves a VirtualService from one shard to the other changes both.
    SortedMap<String, String> moved =
        fingerprints(base().replace("labels: {shard: noisy}", "labels: {shard: protected}"));
    assertNotEquals(before.get(p), moved.get(p));
    assertNotEquals(before.get(n), moved.get(n));
  }

  @Test
  void creatingAMissingUpstreamChangesTheShardThatNamesIt() {
    String withoutShadow = base().replace("""
        ---
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata: {name: catalog-shadow, namespace: catalog}
        spec: {static: {hosts: [{addr: 127.0.0.1, port: 9104}]}}
        """, "");
    assertNotEquals(base(), withoutShadow);
    ShardPlan missing = Docs.plan(withoutShadow);
    assertEquals(Set.of(new ResourceRef("catalog", "catalog-shadow")),
        missing.shards().get(NOISY).missingUpstreams());
    ShardPlan present = Docs.plan(base());
    assertNotEquals(missing.fingerprintOf("gloo-system~" + NOISY), present.fingerprintOf("gloo-system~" + NOISY));
    assertEquals(missing.fingerprintOf("gloo-system~" + PROTECTED), present.fingerprintOf("gloo-system~" + PROTECTED));
  }

  @Test
  void settingsTheShardsReadChangeEveryShardButTheEdgeBlockDoesNot() {
    SortedMap<String, String> before = fingerprints(base());
    SortedMap<String, String> watch = fingerprints(base().replace(
        "  discoveryNamespace: gloo-system\n",
        "  discoveryNamespace: gloo-system\n  watchNamespaces: [gloo-system, payments, catalog]\n"));
    assertNotEquals(before.get("gloo-system~" + PROTECTED), watch.get("gloo-system~" + PROTECTED));
    assertNotEquals(before.get("gloo-system~" + NOISY), watch.get("gloo-system~" + NOISY));

    SortedMap<String, String> edge = fingerprints(base().replace(
        "  discoveryNamespace: gloo-system\n",
        "  discoveryNamespace: gloo-system\n  shardgate: {edge: {enabled: true, bindPort: 9000}}\n"));
    assertEquals(before.get("gloo-system~" + PROTECTED), edge.get("gloo-system~" + PROTECTED));
    assertEquals(before.get("gloo-system~" + NOISY), edge.get("gloo-system~" + NOISY));
    assertTrue(edge.containsKey("gloo-system~gateway-proxy-edge"));
  }

  // ------------------------------------------------------------------ edge

  static String withEdge(String yaml, String edgeBlock) {
    return yaml.replace(
        "  discoveryNamespace: gloo-system\n", "  discoveryNamespace: gloo-system\n  shardgate:\n" + edgeBlock);
  }

  static final String EDGE = """
          edge:
            enabled: true
            bindAddress: 127.0.0.1
            bindPort: 8000
            tlsBindPort: 8443
            shardAddresses:
              gateway-proxy-protected: 10.0.0.1:8080
              gateway-proxy-noisy: noisy.internal:8090
            shardTlsAddresses:
              gateway-proxy-protected: 10.0.0.1:8443
      """;

  @Test
  void theEdgeRoutesEachShardsDomainsToItsAddress() {
    ShardPlan plan = Docs.plan(withEdge(base(), EDGE));
    EdgePlan edge = plan.edge();
    assertEquals("gloo-system~gateway-proxy-edge", edge.role());
    assertEquals("127.0.0.1", edge.bindAddress());
    assertEquals(8000, edge.bindPort());
    assertEquals(2, edge.targets().size());
    EdgePlan.Target noisy = edge.targets().get(0);
    assertEquals(NOISY, noisy.shard());
    assertEquals("noisy.internal:8090", noisy.http().toString());
    assertNull(noisy.tls());
    assertEquals(List.of("catalog.example.com"), noisy.domains());
    assertTrue(noisy.serverNames().isEmpty());
    EdgePlan.Target prot = edge.targets().get(1);
    assertEquals("10.0.0.1:8443", prot.tls().toString());
    // A TLS address alone passes nothing through: the shard terminates no TLS (EdgeTlsPlanTest for those that do).
    assertTrue(prot.serverNames().isEmpty());
    assertFalse(edge.hasTlsListener());
    assertTrue(plan.errors().isEmpty(), plan.errors()::toString);
    assertTrue(plan.warnings().isEmpty(), plan.warnings()::toString);
  }

  @Test
  void aShardWithoutAnAddressIsNotRoutedAndSettingsSaysSo() {
    String edge = """
            edge:
              enabled: true
              shardAddresses:
                gateway-proxy-protected: 10.0.0.1:8080
                gateway-proxy-gone: 10.0.0.9:8080
        """;
    ShardPlan plan = Docs.plan(withEdge(base(), edge));
    assertEquals(List.of(PROTECTED), plan.edge().targets().stream().map(EdgePlan.Target::shard).toList());
    assertFalse(plan.edge().hasTlsListener());
    ResourceKey settings = new ResourceKey(Kind.SETTINGS, "gloo-system", "default");
    List<String> warnings = plan.warnings().get(settings);
    assertEquals(2, warnings.size(), warnings::toString);
    assertTrue(warnings.stream().anyMatch(w -> w.contains("no address for shard gateway-proxy-noisy")));
    assertTrue(warnings.stream().anyMatch(w -> w.contains("gateway-proxy-gone")));

    // Kubernetes mode: the gateway-proxy Service of each shard.
    DecodedResources decoded = Docs.decode(withEdge(base(), edge));
    ShardPlan k8s = ShardPlanner.plan(decoded.snapshot(), GatewayTranslator.translate(decoded),
        PlanSettings.of(decoded.snapshot().settings(), PlanSettings.AddressDefault.KUBERNETES_SERVICE));
    assertEquals("gateway-proxy-noisy.gloo-system.svc.cluster.local:80",
        k8s.edge().targets().get(0).http().toString());
  }

  @Test
  void aDomainTwoShardsClaimIsAnErrorOnEveryClaimantAndIsNotRoutedByTheEdge() {
    String thief = """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: thief, namespace: catalog, labels: {shard: noisy}}
        spec:
          virtualHost:
            domains: [PAYMENTS.example.com, shop.example.com]
            routes:
            - directResponseAction: {status: 200, body: mine}
        """;
    DecodedResources decoded = Docs.decode(config(withEdge(base(), EDGE), thief));
    GatewayTranslation t = GatewayTranslator.translate(decoded);
    ShardPlan plan = ShardPlanner.plan(decoded.snapshot(), t, PlanSettings.of(decoded.snapshot().settings()));

    assertEquals(1, plan.domainConflicts().size());
    ShardPlan.DomainConflict c = plan.domainConflicts().get(0);
    assertEquals("payments.example.com", c.domain());
    assertEquals(Set.of(PROTECTED, NOISY), c.claimants().keySet());

    ResourceKey payments = new ResourceKey(Kind.VIRTUAL_SERVICE, "payments", "payments");
    ResourceKey thiefKey = new ResourceKey(Kind.VIRTUAL_SERVICE, "catalog", "thief");
    assertEquals(Set.of(payments, thiefKey), plan.errors().keySet());
    assertTrue(plan.errors().get(thiefKey).get(0).contains("edge routing conflict"));

    // Neither shard gets the domain at the edge; the thief's other domain is still routed.
    assertFalse(plan.edge().targets().stream().anyMatch(tg -> tg.domains().contains("payments.example.com")));
    assertTrue(plan.edge().targets().stream()
        .anyMatch(tg -> tg.shard().equals(NOISY) && tg.domains().contains("shop.example.com")));

    var statuses = plan.withStatuses(t.statuses());
    assertEquals(ResourceState.REJECTED, statuses.get(payments).state());
    assertEquals(ResourceState.REJECTED, statuses.get(thiefKey).state());
    assertTrue(statuses.containsKey(new ResourceKey(Kind.PROXY, "gloo-system", "gateway-proxy-edge")));

    // Without an edge the same config is ordinary Gloo usage: listed, but no error.
    ShardPlan noEdge = Docs.plan(config(base(), thief));
    assertEquals(1, noEdge.domainConflicts().size());
    assertTrue(noEdge.errors().isEmpty());
  }

  @Test
  void anEdgeNamedLikeAShardIsNotBuilt() {
    ShardPlan plan = Docs.plan(withEdge(base(), "    edge: {enabled: true, proxyName: gateway-proxy-noisy}\n"));
    assertNull(plan.edge());
    assertTrue(plan.warnings().values().iterator().next().get(0).contains("is also the proxy name"));
  }
}
