package io.shardgate.sharding.translate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.sharding.decode.DecodedResources;
import io.shardgate.sharding.decode.ResourceDecoder;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.ir.ProxyFilterChain;
import io.shardgate.sharding.ir.ProxyListener;
import io.shardgate.sharding.ir.ProxyVirtualHost;
import io.shardgate.sharding.ir.SecretUse;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.report.Contribution;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.report.ResourceStatus;
import io.shardgate.sharding.secret.TlsSecretLookup;
import io.shardgate.sharding.secret.TlsSecretLookup.TlsSecretView;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * SSL Gateways in gateway translation: filter chains per distinct TLS settings (consolidated as Gloo does), SNI
 * names from sniDomains or the domains, SNI overlaps rejected at translation (never reaching Envoy, also through
 * last good output), and the secret views: what a VirtualService's chain may reference, and when a proxy is
 * translated again. The secret lookups here are plain maps of views: what tls-secrets' catalog answers.
 */
class SslGatewayTranslationTest {

  private static final String SSL_GATEWAY = """
      apiVersion: gateway.solo.io/v1
      kind: Gateway
      metadata: {name: ssl, namespace: gloo-system}
      spec: {bindPort: 8443, ssl: true, httpGateway: {}}
      """;

  private static ResourceKey vs(String ns, String name) {
    return new ResourceKey(Kind.VIRTUAL_SERVICE, ns, name);
  }

  /** A VirtualService {@code ns/name} with {@code sslConfig} (flow YAML, or null) and {@code domains}. */
  private static String virtualService(String ns, String name, String sslConfig, String domains) {
    return "apiVersion: gateway.solo.io/v1\nkind: VirtualService\nmetadata: {name: " + name + ", namespace: " + ns
        + "}\nspec:\n" + (sslConfig == null ? "" : "  sslConfig: " + sslConfig + "\n")
        + "  virtualHost: {domains: " + domains + ", routes: [{directResponseAction: {status: 200}}]}\n";
  }

  @SuppressWarnings("unchecked")
  private static DecodedResources decode(String... docs) {
    List<SourceDocument> out = new ArrayList<>();
    for (String d : docs) {
      out.add(new SourceDocument("in.yaml", 1, (Map<String, Object>) new Yaml().load(d), Map.of()));
    }
    return ResourceDecoder.decode(out);
  }

  /** Every secret in {@code servable} is valid (with a root CA when its value is true); the rest are missing. */
  private static TlsSecretLookup secrets(Map<String, Boolean> servable) {
    return ref -> servable.containsKey(ref.toString()) ? TlsSecretView.valid(servable.get(ref.toString()))
        : TlsSecretView.missing(ref);
  }

  private record Run(GatewayTranslationCache.Pass pass, GatewayTranslation translation) {
    ProxyListener listener() {
      return translation.shards().get("gateway-proxy").proxy().listeners().stream()
          .filter(l -> l.bindPort() == 8443).findFirst().orElse(null);
    }

    ResourceStatus status(ResourceKey key) {
      return translation.statuses().get(key);
    }
  }

  private static Run run(GatewayTranslationCache cache, DecodedResources in, LastGood previous,
      TlsSecretLookup secrets) {
    GatewayTranslationCache.Pass p =
        cache.translate(in, null, previous, InvalidRoutePolicy.of(in.snapshot().settings()), secrets);
    return new Run(p, p.translation(Contribution.EMPTY));
  }

  private static Run run(TlsSecretLookup secrets, String... docs) {
    return run(new GatewayTranslationCache(), decode(docs), LastGood.EMPTY, secrets);
  }

  private static void assertError(Run r, ResourceKey key, String... parts) {
    ResourceStatus s = r.status(key);
    assertEquals(ResourceState.REJECTED, s.state(), key + ": " + s);
    assertTrue(s.errors().stream().anyMatch(e -> List.of(parts).stream().allMatch(e::contains)),
        key + " has no error with " + List.of(parts) + ": " + s.errors());
  }

  // ------------------------------------------------------------------ consolidation and SNI

  @Test
  void equalTlsSettingsShareOneChainMatchingTheUnionOfTheirNamesAndOneThatMatchesAllMakesItMatchAll() {
    String shared = "{secretRef: {name: wild, namespace: certs}}";
    Run r = run(secrets(Map.of("certs/wild", false, "team-c/api", false)), SSL_GATEWAY,
        virtualService("team-a", "shop", shared, "[shop.example.com]"),
        virtualService("team-b", "blog", shared, "[blog.example.com]"),
        virtualService("team-c", "api", "{secretRef: {name: api}}", "[api.example.com]"));
    List<ProxyFilterChain> chains = r.listener().filterChains();
    assertEquals(2, chains.size(), chains.toString());
    assertEquals(List.of("api.example.com"), chains.get(0).serverNames());
    assertEquals(List.of("blog.example.com", "shop.example.com"), chains.get(1).serverNames());
    assertEquals(List.of(vs("team-a", "shop"), vs("team-b", "blog")), chains.get(1).virtualServices());
    // The secret's namespace defaults to the VirtualService's, as in Gloo.
    assertEquals(new ResourceRef("team-c", "api"), chains.get(0).sslConfig().secretRef());

    Run all = run(secrets(Map.of("certs/wild", false)), SSL_GATEWAY,
        virtualService("team-a", "shop", shared, "[shop.example.com]"),
        virtualService("team-b", "fallback", shared, "['*']"));
    assertEquals(1, all.listener().filterChains().size());
    assertEquals(List.of(), all.listener().filterChains().get(0).serverNames(), "matches every SNI");
  }

  @Test
  void chainsAreTheSameWhateverOrderTheHostsComeIn() {
    List<ProxyVirtualHost> hosts = run(secrets(Map.of("a/x", false, "a/y", false)), SSL_GATEWAY,
        virtualService("a", "one", "{secretRef: {name: x}}", "[one.example.com]"),
        virtualService("a", "two", "{secretRef: {name: y}}", "[two.example.com]"),
        virtualService("a", "three", "{secretRef: {name: x}}", "[three.example.com]")).listener().virtualHosts();
    List<ProxyVirtualHost> reversed = new ArrayList<>(hosts);
    Collections.reverse(reversed);
    assertEquals(ProxyFilterChain.of(hosts), ProxyFilterChain.of(reversed));
  }

  @Test
  void sniNamesComeFromSniDomainsElseFromTheDomainsWithoutPortLowerCased() {
    Run r = run(secrets(Map.of("a/x", false)), SSL_GATEWAY,
        virtualService("a", "ports", "{secretRef: {name: x}}", "['Shop.Example.COM:8443', shop.example.com]"),
        virtualService("a", "explicit", "{secretRef: {name: x}, sniDomains: ['*.Apps.example.com']}",
            "[apps.example.com]"),
        virtualService("a", "suffix", "{secretRef: {name: x}}", "[good.example.com, 'good.*']"),
        virtualService("a", "suffix-only", "{secretRef: {name: x}}", "['legacy.*']"));
    Map<ResourceKey, List<String>> names = new HashMap<>();
    r.listener().virtualHosts().forEach(vh -> names.put(vh.virtualService(), vh.sslConfig().sniDomains()));
    assertEquals(List.of("shop.example.com"), names.get(vs("a", "ports")));
    assertEquals(List.of("*.apps.example.com"), names.get(vs("a", "explicit")));
    assertEquals(List.of("good.example.com"), names.get(vs("a", "suffix")));
    assertTrue(r.status(vs("a", "suffix")).warnings().stream()
        .anyMatch(w -> w.contains("spec.virtualHost.domains[1]") && w.contains("'good.*' is left out")),
        r.status(vs("a", "suffix")).toString());
    assertError(r, vs("a", "suffix-only"), "no filter chain can match", "sniDomains");
    assertNull(names.get(vs("a", "suffix-only")), "no host, no chain");
  }

  // ------------------------------------------------------------------ overlap

  @Test
  void anSniOverlapRejectsTheLaterVirtualServiceNamingBothAndTheGateway() {
    Run r = run(secrets(Map.of("a/x", false, "a/y", false)), SSL_GATEWAY,
        virtualService("a", "first", "{secretRef: {name: x}}", "[shop.example.com]"),
        virtualService("a", "second", "{secretRef: {name: y}, sniDomains: [shop.example.com, b.example.com]}",
            "[b.example.com]"),
        // The same settings as first's: it shares first's chain, no overlap.
        virtualService("a", "same", "{secretRef: {name: x}, sniDomains: [shop.example.com]}", "[c.example.com]"));
    assertError(r, vs("a", "second"), "SNI overlap", "'shop.example.com'", "VirtualService a/first",
        "Gateway gloo-system/ssl");
    assertEquals(ResourceState.WARNING, r.status(vs("a", "first")).state());
    assertEquals(ResourceState.ACCEPTED, r.status(vs("a", "same")).state());
    assertEquals(1, r.listener().filterChains().size(), r.listener().filterChains().toString());
    assertEquals(List.of(vs("a", "first"), vs("a", "same")), r.listener().filterChains().get(0).virtualServices());
  }

  @Test
  void aClaimAlreadyServedWinsOverAnEarlierNameAndALastGoodHostThatNowOverlapsIsNotServed() {
    GatewayTranslationCache cache = new GatewayTranslationCache();
    TlsSecretLookup secrets = secrets(Map.of("a/x", false, "a/y", false));
    // Step 1: only b-late serves shop.example.com.
    Run one = run(cache, decode(SSL_GATEWAY,
        virtualService("a", "b-late", "{secretRef: {name: x}}", "[shop.example.com]")), LastGood.EMPTY, secrets);
    // Step 2: a-early, first in name order, claims the same name with other settings: it is the new claim, so it
    // loses.
    Run two = run(cache, decode(SSL_GATEWAY,
        virtualService("a", "b-late", "{secretRef: {name: x}}", "[shop.example.com]"),
        virtualService("a", "a-early", "{secretRef: {name: y}, sniDomains: [shop.example.com]}",
            "[early.example.com]")), one.translation().lastGood(), secrets);
    assertError(two, vs("a", "a-early"), "SNI overlap", "VirtualService a/b-late");
    assertEquals(List.of(vs("a", "b-late")), two.listener().filterChains().get(0).virtualServices());
    // The same from scratch with that last good state.
    Run scratch = run(new GatewayTranslationCache(), decode(SSL_GATEWAY,
        virtualService("a", "b-late", "{secretRef: {name: x}}", "[shop.example.com]"),
        virtualService("a", "a-early", "{secretRef: {name: y}, sniDomains: [shop.example.com]}",
            "[early.example.com]")), one.translation().lastGood(), secrets);
    assertEquals(two.translation(), scratch.translation());

    // Step 3: b-late breaks, once in translation (a route without an action) and once while decoding (a field Gloo
    // does not have): either way it serves its last good host, whose claim stays first, and a-early is rejected again.
    for (String broken : List.of("routes: [{matchers: [{prefix: /}]}]",
        "routes: [{directResponseAction: {status: 200}}], notAField: 1")) {
      Run three = run(cache, decode(SSL_GATEWAY,
          virtualService("a", "b-late", "{secretRef: {name: x}}", "[shop.example.com]").replace(
              "routes: [{directResponseAction: {status: 200}}]", broken),
          virtualService("a", "a-early", "{secretRef: {name: y}, sniDomains: [shop.example.com]}",
              "[early.example.com]")), two.translation().lastGood(), secrets);
      assertEquals(ResourceState.REJECTED, three.status(vs("a", "b-late")).state(), broken);
      assertError(three, vs("a", "a-early"), "SNI overlap", "VirtualService a/b-late");
      assertEquals(List.of(vs("a", "b-late")), three.listener().filterChains().get(0).virtualServices(), broken);
      assertNoOverlap(three.listener());
    }
  }

  /**
   * The last good assembly is the last line: a last accepted host that was not served last time (so it claims no
   * name while the VirtualServices are checked) and would now overlap an accepted chain is left out, with an error.
   */
  @Test
  void aLastGoodHostThatWouldOverlapAnAcceptedChainIsLeftOutWithAnError() {
    TlsSecretLookup secrets = secrets(Map.of("a/x", false, "a/y", false));
    DecodedResources in = decode(SSL_GATEWAY,
        virtualService("a", "new", "{secretRef: {name: y}, sniDomains: [shop.example.com]}", "[new.example.com]"),
        virtualService("a", "old", "{secretRef: {name: x}}", "[old.example.com]").replace("virtualHost:",
            "notAField: 1\n  virtualHost:"));
    Run accepted = run(secrets, SSL_GATEWAY,
        virtualService("a", "old", "{secretRef: {name: x}, sniDomains: [shop.example.com]}", "[old.example.com]"));
    ProxyVirtualHost oldHost = accepted.listener().virtualHosts().get(0);
    assertEquals(List.of("shop.example.com"), oldHost.sslConfig().sniDomains());
    // a/old's host is kept as its last good one, but was not on the listener last time.
    ProxyListener servedBefore = accepted.listener().withVirtualHosts(List.of());
    LastGood previous = new LastGood(new TreeMap<>(Map.of("gateway-proxy", new ProxyLastGood(
        new TreeMap<>(Map.of(ProxyLastGood.listenerKey(servedBefore.gateway()), servedBefore)),
        new TreeMap<>(Map.of(ProxyLastGood.virtualHostKey(servedBefore.name(), oldHost.virtualService()),
            oldHost)),
        new TreeMap<>()))));
    Run r = run(new GatewayTranslationCache(), in, previous, secrets);
    assertEquals(List.of(vs("a", "new")), r.listener().filterChains().get(0).virtualServices());
    assertNoOverlap(r.listener());
    assertError(r, vs("a", "old"), "its last accepted virtual host is not served", "'shop.example.com'",
        "VirtualService a/new");
  }

  private static void assertNoOverlap(ProxyListener l) {
    Map<String, ProxyFilterChain> seen = new HashMap<>();
    for (ProxyFilterChain c : l.filterChains()) {
      for (String name : c.serverNames().isEmpty() ? List.of("*") : c.serverNames()) {
        ProxyFilterChain other = seen.put(name, c);
        assertNull(other, "two chains match " + name + ": " + l.filterChains());
      }
    }
  }

  // ------------------------------------------------------------------ secrets

  @Test
  void aSecretThatCannotBeServedRejectsOnlyItsVirtualServiceAndItsHostGetsNoChain() {
    Run r = run(secrets(Map.of("a/good", false)), SSL_GATEWAY,
        virtualService("a", "good", "{secretRef: {name: good}}", "[good.example.com]"),
        virtualService("a", "bad", "{secretRef: {name: gone}}", "[bad.example.com]"));
    assertError(r, vs("a", "bad"), "spec.sslConfig.secretRef", "secret a/gone not found", "no filter chain");
    assertEquals(List.of(vs("a", "good")),
        r.listener().virtualHosts().stream().map(ProxyVirtualHost::virtualService).toList());
    assertEquals(List.of(new SecretUse(new ResourceRef("a", "good"), true, false)), r.listener().secretUses());
  }

  @Test
  void aRootCaRequiresClientCertificatesUnlessOneWayTlsAlsoFromSettings() {
    String settings = """
        apiVersion: gloo.solo.io/v1
        kind: Settings
        metadata: {name: default, namespace: gloo-system}
        spec: {gateway: {virtualServiceOptions: {oneWayTls: true}}}
        """;
    TlsSecretLookup withCa = secrets(Map.of("a/ca", true));
    Run mtls = run(withCa, SSL_GATEWAY, virtualService("a", "m", "{secretRef: {name: ca}}", "[m.example.com]"));
    assertTrue(mtls.listener().filterChains().get(0).requiresClientCertificate());
    assertEquals(List.of(new SecretUse(new ResourceRef("a", "ca"), true, true)), mtls.listener().secretUses());

    Run byDefault = run(withCa, settings, SSL_GATEWAY,
        virtualService("a", "m", "{secretRef: {name: ca}}", "[m.example.com]"));
    assertEquals(List.of(new SecretUse(new ResourceRef("a", "ca"), true, false)), byDefault.listener().secretUses());
    Run overridden = run(withCa, settings, SSL_GATEWAY,
        virtualService("a", "m", "{secretRef: {name: ca}, oneWayTls: false}", "[m.example.com]"));
    assertTrue(overridden.listener().filterChains().get(0).requiresClientCertificate());
  }

  @Test
  void aRotationThatAnswersTheSameViewTranslatesNothingAgainAndAChangedViewDoes() {
    GatewayTranslationCache cache = new GatewayTranslationCache();
    DecodedResources in = decode(SSL_GATEWAY,
        virtualService("a", "m", "{secretRef: {name: s}}", "[m.example.com]"));
    Run first = run(cache, in, LastGood.EMPTY, secrets(Map.of("a/s", false)));
    long translations = cache.proxyTranslations();
    // A new lookup object (a new input) whose view of a/s is the same: a valid-to-valid rotation.
    Run rotated = run(cache, in, first.translation().lastGood(), secrets(Map.of("a/s", false, "a/other", true)));
    assertEquals(translations, cache.proxyTranslations(), "the rotation translated the proxy again");
    assertEquals(first.translation().shards(), rotated.translation().shards());
    // The secret gains a root CA: the view changes, and the chain now verifies client certificates.
    Run withCa = run(cache, in, rotated.translation().lastGood(), secrets(Map.of("a/s", true)));
    assertEquals(translations + 1, cache.proxyTranslations());
    assertTrue(withCa.listener().filterChains().get(0).requiresClientCertificate());
  }

  @Test
  void aSecretServingItsLastGoodContentRejectsItsVirtualServiceWhichKeepsItsLastGoodHost() {
    GatewayTranslationCache cache = new GatewayTranslationCache();
    DecodedResources in = decode(SSL_GATEWAY,
        virtualService("a", "m", "{secretRef: {name: s}}", "[m.example.com]"));
    Run first = run(cache, in, LastGood.EMPTY, secrets(Map.of("a/s", false)));
    TlsSecretLookup expired = ref -> new TlsSecretView(true, true, false, "secret a/s: tls.crt expired");
    Run bad = run(cache, in, first.translation().lastGood(), expired);
    assertError(bad, vs("a", "m"), "spec.sslConfig.secretRef", "expired", "last good certificate");
    assertEquals(first.listener().filterChains(), bad.listener().filterChains(), "the last good chain serves");
    assertEquals(first.translation().shards(), run(new GatewayTranslationCache(), in,
        first.translation().lastGood(), expired).translation().shards(), "as from scratch");

    // Then the secret goes away entirely: the last good host's chain would name an SDS resource nobody serves, so
    // it is not served, and with no chain left the listener is not either.
    Run gone = run(cache, in, bad.translation().lastGood(), TlsSecretLookup.NONE);
    assertNull(gone.listener(), "an SSL listener without a chain is not served");
    assertError(gone, vs("a", "m"), "not found");
    assertNotNull(gone.translation().lastGood().of("gateway-proxy").virtualHosts().values().iterator().next()
        .sslConfig(), "the last good host is kept for when the secret comes back");
  }

  @Test
  void aSecretHoldingOnlyARootCaRejectsItsVirtualServiceAndItsLastGoodHostIsNotServedAgain() {
    TlsSecretLookup caOnly = ref -> ref.toString().equals("a/s") ? TlsSecretView.rootCaOnly()
        : TlsSecretView.missing(ref);
    DecodedResources in = decode(SSL_GATEWAY,
        virtualService("a", "m", "{secretRef: {name: s}}", "[m.example.com]"),
        virtualService("a", "n", "{secretRef: {name: t}}", "[n.example.com]"));
    Run r = run(new GatewayTranslationCache(), in, LastGood.EMPTY, ref -> ref.toString().equals("a/t")
        ? TlsSecretView.valid(false) : caOnly.find(ref));
    assertError(r, vs("a", "m"), "spec.sslConfig.secretRef",
        "secret a/s holds only a root CA; a VirtualService needs a certificate and key");
    assertEquals(List.of(List.of("n.example.com")), r.listener().filterChains().stream()
        .map(ProxyFilterChain::serverNames).toList(), "only the host with a certificate has a chain");
    assertEquals(List.of(new SecretUse(new ResourceRef("a", "t"), true, false)),
        List.copyOf(r.translation().shards().get("gateway-proxy").secretUses()));

    // A host served with a full secret whose secret now holds only a root CA: its last good host cannot serve again.
    GatewayTranslationCache cache = new GatewayTranslationCache();
    DecodedResources one = decode(SSL_GATEWAY, virtualService("a", "m", "{secretRef: {name: s}}", "[m.example.com]"));
    Run first = run(cache, one, LastGood.EMPTY, secrets(Map.of("a/s", false)));
    assertEquals(1, first.listener().filterChains().size());
    Run after = run(cache, one, first.translation().lastGood(), caOnly);
    assertNull(after.listener(), "no chain would have a certificate to present");
    assertError(after, vs("a", "m"), "holds only a root CA");
    assertTrue(after.translation().shards().get("gateway-proxy").secretUses().isEmpty());
  }
}
