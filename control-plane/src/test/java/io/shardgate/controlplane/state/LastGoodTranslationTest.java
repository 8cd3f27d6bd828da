package io.shardgate.controlplane.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.render.TranslationOutput;
import io.shardgate.controlplane.render.Trees;
import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.translate.LastGood;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rejected resource keeps serving what it last produced while accepted, and that survives a restart (the state
 * round-trips through the state file). Pure translation plus the real {@link LastGoodStore} on a temp directory.
 */
class LastGoodTranslationTest {

  private static final String GATEWAY = """
      apiVersion: gateway.solo.io/v1
      kind: Gateway
      metadata: {name: gw, namespace: gloo-system}
      spec: {bindPort: 8080, httpGateway: {}}
      """;

  private static final String PLATFORM_VS = """
      ---
      apiVersion: gateway.solo.io/v1
      kind: VirtualService
      metadata: {name: api, namespace: platform}
      spec:
        virtualHost:
          domains: [api.example.com]
          routes:
          - matchers: [{prefix: /team-a}]
            delegateAction: {ref: {name: team-a, namespace: teams}}
          - matchers: [{prefix: /team-b}]
            delegateAction: {ref: {name: team-b, namespace: teams}}
      """;

  private static String teamA(int status) {
    return """
        ---
        apiVersion: gateway.solo.io/v1
        kind: RouteTable
        metadata: {name: team-a, namespace: teams}
        spec:
          routes:
          - matchers: [{prefix: /team-a/orders}]
            directResponseAction: {status: %d, body: team-a}
        """.formatted(status);
  }

  private static final String TEAM_B_GOOD = """
      ---
      apiVersion: gateway.solo.io/v1
      kind: RouteTable
      metadata: {name: team-b, namespace: teams}
      spec:
        routes:
        - matchers: [{prefix: /team-b/carts}]
          directResponseAction: {status: 200, body: team-b}
      """;

  /** A route with no action: an error that rejects the table. */
  private static final String TEAM_B_BROKEN = """
      ---
      apiVersion: gateway.solo.io/v1
      kind: RouteTable
      metadata: {name: team-b, namespace: teams}
      spec:
        routes:
        - matchers: [{prefix: /team-b/carts}]
      """;

  /** A value of the wrong type: rejected while decoding, so it is not in the snapshot at all. */
  private static final String TEAM_B_UNDECODABLE = """
      ---
      apiVersion: gateway.solo.io/v1
      kind: RouteTable
      metadata: {name: team-b, namespace: teams}
      spec:
        routes: {not: a list}
      """;

  @TempDir Path stateDir;

  @Test
  void aBrokenTeamTableKeepsItsLastRoutesWhileOtherTeamsKeepGettingUpdates() {
    Translation good = translate(GATEWAY + PLATFORM_VS + teamA(200) + TEAM_B_GOOD, LastGood.EMPTY);
    assertTrue(routesOf(good).contains("team-b/carts"));

    Translation broken = translate(GATEWAY + PLATFORM_VS + teamA(201) + TEAM_B_BROKEN, good.gateway().lastGood());

    assertEquals(ResourceState.REJECTED, state(broken, Kind.ROUTE_TABLE, "teams", "team-b"));
    assertEquals(ResourceState.WARNING, state(broken, Kind.VIRTUAL_SERVICE, "platform", "api"));
    String routes = routesOf(broken);
    assertTrue(routes.contains("/team-b/carts"), "team b's last accepted route is still served:\n" + routes);
    assertTrue(routes.contains("status: 201"), "team a's update is served:\n" + routes);
  }

  @Test
  void withoutLastGoodTheBrokenSubtreeIsLeftOutAndTheRestServes() {
    Translation broken = translate(GATEWAY + PLATFORM_VS + teamA(200) + TEAM_B_BROKEN, LastGood.EMPTY);

    String routes = routesOf(broken);
    assertFalse(routes.contains("/team-b/carts"), routes);
    assertTrue(routes.contains("/team-a/orders"), routes);
  }

  @Test
  void aTableRejectedWhileDecodingKeepsItsLastRoutes() {
    Translation good = translate(GATEWAY + PLATFORM_VS + teamA(200) + TEAM_B_GOOD, LastGood.EMPTY);

    Translation broken =
        translate(GATEWAY + PLATFORM_VS + teamA(200) + TEAM_B_UNDECODABLE, good.gateway().lastGood());

    assertEquals(ResourceState.REJECTED, state(broken, Kind.ROUTE_TABLE, "teams", "team-b"));
    assertEquals(xds(good), xds(broken));
  }

  @Test
  void aRejectedVirtualServiceKeepsItsLastVirtualHost() {
    String conflicting = """
        ---
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: intruder, namespace: other}
        spec:
          virtualHost:
            domains: [api.example.com]
            routes: [{directResponseAction: {status: 500}}]
        """;
    Translation good = translate(GATEWAY + PLATFORM_VS + teamA(200) + TEAM_B_GOOD, LastGood.EMPTY);

    Translation conflict =
        translate(GATEWAY + PLATFORM_VS + teamA(200) + TEAM_B_GOOD + conflicting, good.gateway().lastGood());

    assertEquals(ResourceState.REJECTED, state(conflict, Kind.VIRTUAL_SERVICE, "platform", "api"));
    assertEquals(ResourceState.REJECTED, state(conflict, Kind.VIRTUAL_SERVICE, "other", "intruder"));
    assertEquals(xds(good), xds(conflict), "the platform host is served as it last was; the intruder is not");
  }

  @Test
  void aRejectedGatewayKeepsItsLastListener() {
    String second = """
        ---
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata: {name: clash, namespace: gloo-system}
        spec: {bindPort: 8080, httpGateway: {virtualServiceSelector: {none: none}}}
        """;
    Translation good = translate(GATEWAY + PLATFORM_VS + teamA(200) + TEAM_B_GOOD, LastGood.EMPTY);

    Translation clash = translate(GATEWAY + second + PLATFORM_VS + teamA(200) + TEAM_B_GOOD, good.gateway().lastGood());

    assertEquals(ResourceState.REJECTED, state(clash, Kind.GATEWAY, "gloo-system", "gw"));
    assertEquals(xds(good), xds(clash));
  }

  @Test
  void aGatewayRejectedUnderOtherProxyNamesKeepsItsLastListenerInItsShard() {
    String movedAndClashing = """
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata: {name: gw, namespace: gloo-system}
        spec: {bindPort: 8080, proxyNames: [other], httpGateway: {}}
        ---
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata: {name: clash, namespace: gloo-system}
        spec: {bindPort: 8080, proxyNames: [other], httpGateway: {virtualServiceSelector: {none: none}}}
        """;
    Translation good = translate(GATEWAY + PLATFORM_VS + teamA(200) + TEAM_B_GOOD, LastGood.EMPTY);

    Translation broken =
        translate(movedAndClashing + PLATFORM_VS + teamA(200) + TEAM_B_GOOD, good.gateway().lastGood());

    assertEquals(ResourceState.REJECTED, state(broken, Kind.GATEWAY, "gloo-system", "gw"));
    assertEquals(xds(good, "gloo-system~gateway-proxy"), xds(broken, "gloo-system~gateway-proxy"),
        "rejected in the shard its broken version names, the Gateway keeps serving in the shard it served");
  }

  @Test
  void aGatewayMovedToAnotherShardAndBackLeavesNoTrace() {
    String moved = GATEWAY.replace("spec: {bindPort: 8080,", "spec: {bindPort: 8080, proxyNames: [other],");
    Translation good = translate(GATEWAY + PLATFORM_VS + teamA(200) + TEAM_B_GOOD, LastGood.EMPTY);

    Translation away = translate(moved + PLATFORM_VS + teamA(200) + TEAM_B_GOOD, good.gateway().lastGood());
    Translation back = translate(GATEWAY + PLATFORM_VS + teamA(200) + TEAM_B_GOOD, away.gateway().lastGood());

    assertEquals(List.of("gloo-system~other"), List.copyOf(away.xds().keySet()), "a valid move empties the old shard");
    assertEquals(good.gateway().statuses(), back.gateway().statuses());
    assertEquals(xds(good), xds(back));
  }

  @Test
  void aGatewayWithoutAListenerTypeIsRejectedWhileDecodingAndKeepsItsLastListener() {
    String noType = """
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata: {name: gw, namespace: gloo-system}
        spec: {bindPort: 8080, proxyNames: [other]}
        """;
    Translation good = translate(GATEWAY + PLATFORM_VS + teamA(200) + TEAM_B_GOOD, LastGood.EMPTY);

    Translation broken = translate(noType + PLATFORM_VS + teamA(200) + TEAM_B_GOOD, good.gateway().lastGood());

    assertEquals(ResourceState.REJECTED, state(broken, Kind.GATEWAY, "gloo-system", "gw"));
    assertTrue(broken.gateway().statuses().get(new ResourceKey(Kind.GATEWAY, "gloo-system", "gw")).errors()
        .toString().contains("a Gateway needs one of httpGateway, tcpGateway or hybridGateway"));
    assertEquals(xds(good), xds(broken));
  }

  @Test
  void theLastGoodStateSurvivesARestartThroughTheStateFile() {
    Translation good = translate(GATEWAY + PLATFORM_VS + teamA(200) + TEAM_B_GOOD, LastGood.EMPTY);
    Translation broken = translate(GATEWAY + PLATFORM_VS + teamA(200) + TEAM_B_BROKEN, good.gateway().lastGood());
    try (LastGoodStore store = LastGoodStore.open(stateDir)) {
      store.load();
      store.save(broken.gateway().lastGood());
    }

    LastGood reloaded;
    try (LastGoodStore store = LastGoodStore.open(stateDir)) {
      reloaded = store.load();
    }
    Translation afterRestart = translate(GATEWAY + PLATFORM_VS + teamA(200) + TEAM_B_BROKEN, reloaded);

    assertEquals(broken.gateway().lastGood(), reloaded, "the state file round-trips exactly");
    assertEquals(xds(broken), xds(afterRestart));
    assertTrue(routesOf(afterRestart).contains("/team-b/carts"));
  }

  @Test
  void aDeletedResourceDoesNotComeBackFromTheLastGoodState() {
    Translation good = translate(GATEWAY + PLATFORM_VS + teamA(200) + TEAM_B_GOOD, LastGood.EMPTY);
    String withoutTeamBRoute = PLATFORM_VS.substring(0, PLATFORM_VS.indexOf("    - matchers: [{prefix: /team-b}]"));
    assertNotEquals(PLATFORM_VS, withoutTeamBRoute);

    Translation removed = translate(GATEWAY + withoutTeamBRoute + teamA(200), good.gateway().lastGood());

    assertFalse(routesOf(removed).contains("/team-b"), routesOf(removed));
  }

  private static Translation translate(String yaml, LastGood previous) {
    try {
      var docs = new YamlDocumentReader().read("test.yaml", yaml);
      return Translation.of(new ConfigInput("test", docs, List.of()), previous);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static ResourceState state(Translation t, Kind kind, String ns, String name) {
    return t.gateway().statuses().get(new ResourceKey(kind, ns, name)).state();
  }

  private static String xds(Translation t) {
    return t.xds().entrySet().stream()
        .map(e -> e.getKey() + "\n" + Trees.yaml(TranslationOutput.xds(e.getValue())))
        .reduce("", String::concat);
  }

  private static String xds(Translation t, String role) {
    assertTrue(t.xds().containsKey(role), role + " in " + t.xds().keySet());
    return Trees.yaml(TranslationOutput.xds(t.xds().get(role)));
  }

  private static String routesOf(Translation t) {
    return xds(t);
  }
}
