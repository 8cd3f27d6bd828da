package io.shardgate.sharding.translate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.sharding.decode.DecodedResources;
import io.shardgate.sharding.decode.ResourceDecoder;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.ir.ProxyRoute;
import io.shardgate.sharding.ir.RouteAction;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.Matcher;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.report.ResourceStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * Routes that use something Shardgate cannot serve (an unservable matcher or destination, an option that restricts
 * access) are left out with a warning on their resource; they never reject the VirtualService and never turn into a
 * route for '/' that would catch every request.
 */
class UnservableRoutesTest {

  private static final ResourceKey VS = new ResourceKey(Kind.VIRTUAL_SERVICE, "default", "api");

  private static final String GATEWAY = """
      apiVersion: gateway.solo.io/v1
      kind: Gateway
      metadata: {name: gateway-proxy, namespace: gloo-system}
      spec: {bindPort: 8080, httpGateway: {}}
      """;

  private static final String UPSTREAM = """
      apiVersion: gloo.solo.io/v1
      kind: Upstream
      metadata: {name: api, namespace: default}
      spec: {static: {hosts: [{addr: 127.0.0.1, port: 9000}]}}
      """;

  private record Result(List<ProxyRoute> routes, ResourceStatus status) {}

  /** Translates a VirtualService default/api whose virtual host is {@code virtualHostYaml}. */
  @SuppressWarnings("unchecked")
  private static Result translate(String virtualHostYaml, String settingsYaml) {
    List<SourceDocument> docs = new ArrayList<>();
    String vs = """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: api, namespace: default}
        spec:
          virtualHost:
        """ + virtualHostYaml.indent(4);
    List<String> texts = new ArrayList<>(List.of(GATEWAY, UPSTREAM, vs));
    if (settingsYaml != null) {
      texts.add(settingsYaml);
    }
    for (String text : texts) {
      docs.add(new SourceDocument("in.yaml", 1, (Map<String, Object>) new Yaml().load(text), Map.of()));
    }
    DecodedResources decoded = ResourceDecoder.decode(docs);
    GatewayTranslation t = GatewayTranslator.translate(
        decoded, LastGood.EMPTY, InvalidRoutePolicy.of(decoded.snapshot().settings()));
    List<ProxyRoute> routes = t.shards().get("gateway-proxy").proxy().listeners().get(0).virtualHosts().stream()
        .flatMap(h -> h.routes().stream()).toList();
    return new Result(routes, t.statuses().get(VS));
  }

  private static List<String> paths(List<ProxyRoute> routes) {
    return routes.stream().flatMap(r -> r.matchers().stream())
        .map(m -> m.path() == null ? "(none)" : m.path().value()).toList();
  }

  private static void assertDroppedWithWarning(Result r, String field) {
    assertEquals(ResourceState.WARNING, r.status().state(), r.status().reason());
    assertTrue(r.status().warnings().stream().anyMatch(w -> w.contains(field) && w.endsWith("the route is dropped")),
        r.status().warnings().toString());
  }

  @Test
  void aConnectMatcherDropsItsRouteAndNothingMatchesSlash() {
    Result r = translate("""
        domains: [api.example.com]
        routes:
        - matchers: [{connectMatcher: {}}]
          routeAction: {single: {upstream: {name: api}}}
        - matchers: [{prefix: /served}]
          routeAction: {single: {upstream: {name: api}}}
        """, null);
    assertEquals(List.of("/served"), paths(r.routes()));
    assertDroppedWithWarning(r, "matchers[0].connectMatcher");
  }

  @Test
  void aMisspelledOrGlooZeroMatcherRejectsTheVirtualServiceAndNeverBecomesACatchAll() {
    for (String route : List.of("- matchers: [{prefx: /typo}]", "- matcher: {prefix: /typo}")) {
      Result r = translate("""
          domains: [api.example.com]
          routes:
          %s
            routeAction: {single: {upstream: {name: api}}}
          """.formatted(route), null);
      assertEquals(List.of(), r.routes(), route);
      assertEquals(ResourceState.REJECTED, r.status().state(), route);
      assertTrue(r.status().errors().get(0).contains("did you mean"), r.status().errors().toString());
    }
  }

  @Test
  void aGraphqlActionDropsItsRouteInsteadOfLeavingItWithoutAnAction() {
    Result r = translate("""
        domains: [api.example.com]
        routes:
        - matchers: [{prefix: /graphql}]
          graphqlApiRef: {name: schema, namespace: default}
        """, null);
    assertEquals(List.of(), r.routes());
    assertDroppedWithWarning(r, "graphqlApiRef");
    assertTrue(r.status().errors().isEmpty(), r.status().errors().toString());
  }

  @Test
  void unservableDestinationsDropTheirRoute() {
    for (String action : List.of(
        "{single: {consul: {serviceName: api}}}",
        "{single: {upstream: {name: api}, subset: {values: {v: '2'}}}}",
        "{single: {upstream: {name: api}, destinationSpec: {aws: {logicalName: f}}}}",
        "{multi: {destinations: [{weight: 1, destination: {upstream: {name: api}}},"
            + " {weight: 1, destination: {consul: {serviceName: api}}}]}}",
        "{clusterHeader: x-cluster}",
        "{dynamicForwardProxy: {}}")) {
      Result r = translate("""
          domains: [api.example.com]
          routes:
          - matchers: [{prefix: /x}]
            routeAction: %s
          """.formatted(action), null);
      assertEquals(List.of(), r.routes(), action);
      assertDroppedWithWarning(r, "routeAction.");
    }
  }

  /** The route answers 403 itself: dropped, its requests would go to the next route that matches, unchecked. */
  private static void assertClosed(Result r, int index, String field) {
    var action = (RouteAction.DirectResponse) r.routes().get(index).action();
    assertEquals(403, action.status());
    assertEquals(ResourceState.WARNING, r.status().state(), r.status().reason());
    assertTrue(r.status().warnings().stream().anyMatch(w -> w.contains(field) && w.endsWith("answers 403 until"
        + " Shardgate enforces it")), r.status().warnings().toString());
  }

  @Test
  void anAccessRestrictingRouteOptionClosesTheRouteSoTheCatchAllBelowDoesNotServeIt() {
    Result r = translate("""
        domains: [api.example.com]
        routes:
        - matchers: [{prefix: /admin}]
          routeAction: {single: {upstream: {name: api}}}
          options: {jwt: {providers: {}}}
        - matchers: [{prefix: /}]
          directResponseAction: {status: 404}
        """, null);
    assertEquals(List.of("/admin", "/"), paths(r.routes()));
    assertClosed(r, 0, "options.jwt");
    assertEquals(404, ((RouteAction.DirectResponse) r.routes().get(1).action()).status());
  }

  @Test
  void anAccessRestrictingVirtualHostOptionClosesEveryRoute() {
    Result r = translate("""
        domains: [api.example.com]
        options: {rbac: {policies: {}}}
        routes:
        - matchers: [{prefix: /a}]
          routeAction: {single: {upstream: {name: api}}}
        - matchers: [{prefix: /b}]
          routeAction: {single: {upstream: {name: api}}}
        """, null);
    assertEquals(List.of("/a", "/b"), paths(r.routes()));
    assertClosed(r, 0, "virtualHost.options.rbac");
    assertClosed(r, 1, "virtualHost.options.rbac");
  }

  @Test
  void anAccessRestrictingOptionAnswers403EvenWithReplaceInvalidRoutes() {
    Result r = translate("""
        domains: [api.example.com]
        routes:
        - matchers: [{prefix: /admin}]
          routeAction: {single: {upstream: {name: api}}}
          options: {extauth: {configRef: {name: sso}}}
        """, """
        apiVersion: gloo.solo.io/v1
        kind: Settings
        metadata: {name: default, namespace: gloo-system}
        spec: {gloo: {invalidConfigPolicy: {replaceInvalidRoutes: true, invalidRouteResponseCode: 418}}}
        """);
    assertEquals(List.of("/admin"), paths(r.routes()));
    assertEquals(403, ((RouteAction.DirectResponse) r.routes().get(0).action()).status());
    assertEquals(Matcher.PathType.PREFIX, r.routes().get(0).matchers().get(0).path().type());
  }

  @Test
  void aDelegatingRouteThatRestrictsAccessClosesItsWholePrefix() {
    List<SourceDocument> docs = new ArrayList<>();
    for (String text : List.of(GATEWAY, UPSTREAM, """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: api, namespace: default}
        spec:
          virtualHost:
            domains: [api.example.com]
            routes:
            - matchers: [{prefix: /team}]
              delegateAction: {ref: {name: team, namespace: default}}
              options: {waf: {customInterventionMessage: blocked}}
        """, """
        apiVersion: gateway.solo.io/v1
        kind: RouteTable
        metadata: {name: team, namespace: default}
        spec:
          routes:
          - matchers: [{prefix: /team/orders}]
            routeAction: {single: {upstream: {name: api}}}
        """)) {
      @SuppressWarnings("unchecked")
      Map<String, Object> content = new Yaml().load(text);
      docs.add(new SourceDocument("in.yaml", 1, content, Map.of()));
    }
    GatewayTranslation t = GatewayTranslator.translate(ResourceDecoder.decode(docs));
    var routes = t.shards().get("gateway-proxy").proxy().listeners().get(0).virtualHosts().get(0).routes();
    assertEquals(1, routes.size(), routes.toString());
    assertEquals("/team", routes.get(0).matchers().get(0).path().value());
    assertEquals(403, ((RouteAction.DirectResponse) routes.get(0).action()).status());
    assertTrue(t.statuses().get(VS).warnings().stream().anyMatch(w -> w.contains("options.waf")),
        t.statuses().get(VS).reason());
  }
}
