package io.shardgate.sharding.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.sharding.decode.DocumentIdentity.Result;
import io.shardgate.sharding.decode.DocumentIdentity.Verdict;
import io.shardgate.sharding.model.Kind;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DocumentIdentityTest {

  private static Result check(Object apiVersion, Object kind, Object metadata) {
    Map<String, Object> content = new HashMap<>();
    if (apiVersion != null) {
      content.put("apiVersion", apiVersion);
    }
    content.put("kind", kind);
    if (metadata != null) {
      content.put("metadata", metadata);
    }
    return DocumentIdentity.check(new SourceDocument("a.yaml", 1, content, Map.of()));
  }

  private static Result check(String apiVersion, String kind) {
    return check(apiVersion, kind, Map.of("name", "x", "namespace", "team"));
  }

  private static void assertError(Result r, String field, String messagePart) {
    assertEquals(Verdict.ERROR, r.verdict(), r.toString());
    assertEquals(field, r.field());
    assertTrue(r.message().contains(messagePart), r.message());
  }

  @Test
  void gloosKindsAreResources() {
    assertEquals(Kind.VIRTUAL_SERVICE, check("gateway.solo.io/v1", "VirtualService").kind());
    assertEquals(Kind.UPSTREAM_GROUP, check("gloo.solo.io/v1", "UpstreamGroup").kind());
    assertEquals(Kind.SETTINGS, check(null, "Settings").kind(), "the kind alone names it");
    assertEquals(Verdict.RESOURCE, check("gateway.solo.io/v1", "Gateway", Map.of("name", "a.b-c")).verdict(),
        "the namespace may be left out");
  }

  @Test
  void nearMissesOfGlooKindsAreErrors() {
    assertError(check("gateway.solo.io/v1", "VirtualServce"), "kind", "did you mean gateway.solo.io/v1 VirtualService?");
    assertError(check("gateway.solo.io/v1", "virtualservice"), "kind", "did you mean gateway.solo.io/v1 VirtualService?");
    assertError(check("gloo.solo.io/v1", "Upstreams"), "kind", "did you mean gloo.solo.io/v1 Upstream?");
    assertError(check("v1", "Upstreams"), "kind", "did you mean gloo.solo.io/v1 Upstream?");
    assertError(check("gateway.solo.io/v1", "Route"), "kind", "is not a Gloo kind (Gloo's kinds that Shardgate reads");
  }

  @Test
  void nearMissesOfGlooGroupsAndWrongVersionsAreErrors() {
    assertError(check("gatway.solo.io/v1", "VirtualService"), "apiVersion", "did you mean gateway.solo.io/v1?");
    assertError(check("gateway.solo.io/v1beta1", "Gateway"), "apiVersion", "is not a version of Gateway");
    assertError(check("gloo.solo.io/v2", "Upstream"), "apiVersion", "is not a version of Upstream");
    assertError(check("gloo.solo.io/v1", "RouteTable"), "apiVersion", "did you mean gateway.solo.io/v1?");
    assertError(check("glo.solo.io/v1", "Whatever"), "kind", "did you mean the group gloo.solo.io?");
    assertError(check("gloo.solo.iov1", "Upstream"), "apiVersion", "did you mean gloo.solo.io/v1?");
    assertError(check("gateway.solo.io.v1", "VirtualService"), "apiVersion", "did you mean gateway.solo.io/v1?");
  }

  @Test
  void aGlooKindUnderAnApiVersionOfNoApiIsAnError() {
    for (String apiVersion : new String[] {"gloo.sol", "", "v1", "2024-01-01", "some text", "gloo/v1", "x.y/1"}) {
      assertError(check(apiVersion, "Upstream"), "apiVersion", "is neither Gloo's nor another API's group/version;"
          + " Upstream is served as gloo.solo.io/v1");
    }
  }

  @Test
  void otherApisAndGloosUnreadKindsAreSkipped() {
    for (String[] id : new String[][] {
        {"v1", "Secret"}, {"v1", "Service"}, {"apps/v1", "Deployment"},
        {"networking.istio.io/v1beta1", "VirtualService"}, {"gateway.networking.k8s.io/v1", "Gateway"},
        {"gateway.solo.io/v1", "RouteOption"}, {"gateway.solo.io/v1", "VirtualHostOption"},
        {"gateway.solo.io/v1", "MatchableHttpGateway"}, {"enterprise.gloo.solo.io/v1", "AuthConfig"},
        {"ratelimit.solo.io/v1alpha1", "RateLimitConfig"}, {"gloo.solo.io/v1", "Proxy"}}) {
      Result r = check(id[0], id[1]);
      assertEquals(Verdict.SKIPPED, r.verdict(), id[0] + " " + id[1] + ": " + r);
      assertTrue(r.message().endsWith("skipped"), r.message());
    }
    assertEquals(Verdict.SKIPPED, check("v1", null, null).verdict(), "no kind at all");
  }

  @Test
  void namesAndNamespacesFollowKubernetes() {
    assertError(check("gloo.solo.io/v1", "Upstream", Map.of("name", "")), "metadata.name", "must not be empty");
    assertError(check("gloo.solo.io/v1", "Upstream", Map.of("name", "Echo")), "metadata.name",
        "metadata.name 'Echo' must be a DNS-1123 subdomain");
    assertError(check("gloo.solo.io/v1", "Upstream", Map.of("name", "a".repeat(254))), "metadata.name",
        "at most 253 characters, got 254");
    assertError(check("gloo.solo.io/v1", "Upstream", Map.of("name", 42)), "metadata.name", "must be a string, got a number");
    assertError(check("gloo.solo.io/v1", "Upstream", Map.of("name", "echo", "namespace", "team.a")),
        "metadata.namespace", "must be a DNS-1123 label");
    assertError(check("gloo.solo.io/v1", "Upstream", Map.of("name", "echo", "namespace", "")), "metadata.namespace",
        "must not be empty");
    assertError(check("gloo.solo.io/v1", "Upstream", Map.of("name", "echo", "namespace", "n".repeat(64))),
        "metadata.namespace", "at most 63 characters");
    assertError(check("gloo.solo.io/v1", "Upstream", null), "", "has no metadata");
    assertError(check("gloo.solo.io/v1", "Upstream", "echo"), "metadata", "must be a mapping, got a string");
    assertEquals(Verdict.RESOURCE, check("gloo.solo.io/v1", "Upstream", Map.of("name", "a".repeat(253))).verdict());
  }

  @Test
  void describeNamesTheLineOfTheField() {
    SourceDocument doc = new SourceDocument("a.yaml", 3,
        Map.of("apiVersion", "gateway.solo.io/v1", "kind", "Gatewy", "metadata", Map.of("name", "gw")),
        Map.of("kind", 4));
    assertEquals("a.yaml:4: gateway.solo.io/v1 Gatewy is not a Gloo kind; did you mean gateway.solo.io/v1 Gateway?",
        DocumentIdentity.check(doc).describe(doc));
  }
}
