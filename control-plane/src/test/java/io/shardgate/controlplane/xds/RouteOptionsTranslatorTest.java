package io.shardgate.controlplane.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.shardgate.sharding.ir.ProxyListener;
import io.shardgate.sharding.ir.ProxyRoute;
import io.shardgate.sharding.ir.ProxyVirtualHost;
import io.shardgate.sharding.model.Action;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.Matcher;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.RouteOptions;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RouteOptionsTranslatorTest {

  private static final ResourceKey VS = new ResourceKey(Kind.VIRTUAL_SERVICE, "shop", "api");
  private static final Matcher ROOT = new Matcher(null, null, List.of(), List.of(), List.of());
  private static final RouteOptions.Cors CORS =
      new RouteOptions.Cors(List.of("https://a.example.com"), List.of(), List.of("GET"), List.of(), List.of(), null, true, false);
  private static final RouteOptions.Faults FAULTS =
      new RouteOptions.Faults(new RouteOptions.Abort(0.01, 503), null);

  private static RouteOptions options(RouteOptions.Cors cors, RouteOptions.Faults faults, RouteOptions.Shadowing shadow) {
    return new RouteOptions(null, null, null, null, null, null, null, null, cors, faults, shadow, null, null);
  }

  private static ProxyRoute forward(RouteOptions o) {
    var action =
        new io.shardgate.sharding.ir.RouteAction.Forward(
            List.of(new io.shardgate.sharding.ir.RouteAction.ClusterWeight(new ResourceRef("shop", "api"), 0)), false);
    return new ProxyRoute(null, List.of(ROOT), action, o, VS);
  }

  private static ProxyRoute redirect(RouteOptions o) {
    var action =
        new io.shardgate.sharding.ir.RouteAction.Redirect(
            new Action.Redirect("b.example.com", null, null, null, "MOVED_PERMANENTLY", false, false, null));
    return new ProxyRoute(null, List.of(ROOT), action, o, VS);
  }

  private static ProxyListener listener(ProxyRoute... routes) {
    return new ProxyListener(
        "listener-::-8080", "::", 8080,
        List.of(new ProxyVirtualHost("shop.api", List.of(), Arrays.asList(routes), VS)),
        new ResourceKey(Kind.GATEWAY, "gloo-system", "gateway-proxy"));
  }

  private static List<String> hcmFilters(ProxyListener l) throws Exception {
    HttpConnectionManager hcm =
        XdsTranslator.listener(l).getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
    return hcm.getHttpFiltersList().stream().map(HttpFilter::getName).toList();
  }

  @Test
  void listenerFiltersOnlyWhenAForwardingRouteNeedsThemAndTheRouterStaysLast() throws Exception {
    assertEquals(List.of("envoy.filters.http.router"), hcmFilters(listener(forward(RouteOptions.NONE))));
    assertEquals(
        List.of("envoy.filters.http.router"),
        hcmFilters(listener(redirect(options(CORS, FAULTS, null)))),
        "a redirect's CORS and faults are ignored, so they need no filter");
    assertEquals(
        List.of("envoy.filters.http.fault", "envoy.filters.http.cors", "envoy.filters.http.router"),
        hcmFilters(listener(forward(options(CORS, null, null)), forward(options(null, FAULTS, null)))));
  }

  @Test
  void perFilterConfigsGoOnForwardingRoutesOnly() {
    RouteOptions o = options(CORS, FAULTS, null);
    Route fwd = XdsTranslator.route("r", ROOT, forward(o));
    assertTrue(fwd.containsTypedPerFilterConfig("envoy.filters.http.cors"));
    assertTrue(fwd.containsTypedPerFilterConfig("envoy.filters.http.fault"));
    Route red = XdsTranslator.route("r", ROOT, redirect(o));
    assertEquals(0, red.getTypedPerFilterConfigCount());
  }

  @Test
  void headersMapAppendToEnvoysAppendActionAndApplyToEveryRoute() {
    RouteOptions o =
        new RouteOptions(
            null, null, null, null, null, null, null,
            new RouteOptions.HeaderManipulation(
                List.of(new RouteOptions.HeaderValue("x-a", "1", true), new RouteOptions.HeaderValue("x-b", "2", false)),
                List.of("x-c"), List.of(), List.of("server")),
            null, null, null, null, null);
    Route r = XdsTranslator.route("r", ROOT, redirect(o));
    assertEquals(
        List.of(
            HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD,
            HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD),
        r.getRequestHeadersToAddList().stream().map(HeaderValueOption::getAppendAction).toList());
    assertEquals(List.of("x-c"), r.getRequestHeadersToRemoveList());
    assertEquals(List.of("server"), r.getResponseHeadersToRemoveList());
  }

  @Test
  void shadowingNamesTheUpstreamClusterWithItsPercentageInPartsPerMillion() {
    RouteOptions o = options(null, null, new RouteOptions.Shadowing(new ResourceRef("", "mirror"), 12.5, false));
    RouteAction ra = XdsTranslator.route("r", ROOT, forward(o)).getRoute();
    RouteAction.RequestMirrorPolicy mirror = ra.getRequestMirrorPolicies(0);
    assertEquals("mirror_shop", mirror.getCluster(), "a namespace still missing falls back to the route's source");
    assertEquals(125_000, mirror.getRuntimeFraction().getDefaultValue().getNumerator());
    assertEquals(FractionalPercent.DenominatorType.MILLION, mirror.getRuntimeFraction().getDefaultValue().getDenominator());
  }

  @Test
  void percentagesKeepFourDecimals() {
    assertEquals(2_900, RouteOptionsTranslator.percent(0.29).getNumerator(), "rounded, not truncated");
    assertEquals(1_000_000, RouteOptionsTranslator.percent(100).getNumerator());
    assertEquals(0, RouteOptionsTranslator.percent(0).getNumerator());
  }

  @Test
  void retriesFollowGloo() {
    RouteOptions.Retries retries =
        new RouteOptions.Retries(
            "5xx", null, Duration.ofSeconds(1), new RouteOptions.RetryBackOff(Duration.ofMillis(25), null),
            new RouteOptions.PreviousPriorities(3), List.of(429), null);
    var rp = RouteOptionsTranslator.retryPolicy(retries);
    assertEquals(1, rp.getNumRetries().getValue(), "unset numRetries is sent as 1, as Gloo does");
    assertEquals(25_000_000, rp.getRetryBackOff().getBaseInterval().getNanos());
    assertFalse(rp.getRetryBackOff().hasMaxInterval());
    assertEquals("envoy.retry_priorities.previous_priorities", rp.getRetryPriority().getName());
    assertEquals(List.of(429), rp.getRetriableStatusCodesList());
  }

  @Test
  void metadataBecomesStructsWithEveryYamlValueKind() {
    Map<String, Object> struct = new HashMap<>();
    struct.put("s", "x");
    struct.put("n", 2L);
    struct.put("d", 2.5);
    struct.put("b", true);
    struct.put("null", null);
    struct.put("list", List.of("a", 1L));
    struct.put("map", Map.of("k", "v"));
    Struct s = RouteOptionsTranslator.struct(struct);
    assertEquals(Value.KindCase.STRING_VALUE, s.getFieldsOrThrow("s").getKindCase());
    assertEquals(2.0, s.getFieldsOrThrow("n").getNumberValue());
    assertEquals(2.5, s.getFieldsOrThrow("d").getNumberValue());
    assertTrue(s.getFieldsOrThrow("b").getBoolValue());
    assertEquals(Value.KindCase.NULL_VALUE, s.getFieldsOrThrow("null").getKindCase());
    assertEquals(2, s.getFieldsOrThrow("list").getListValue().getValuesCount());
    assertEquals("v", s.getFieldsOrThrow("map").getStructValue().getFieldsOrThrow("k").getStringValue());
  }
}
