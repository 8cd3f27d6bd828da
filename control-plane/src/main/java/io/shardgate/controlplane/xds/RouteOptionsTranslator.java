package io.shardgate.controlplane.xds;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.shardgate.sharding.ir.ProxyListener;
import io.shardgate.sharding.ir.ProxyRoute;
import io.shardgate.sharding.ir.ProxyVirtualHost;
import io.shardgate.sharding.ir.RouteAction.Forward;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.RouteOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Route options to Envoy v3: the {@link RouteAction} fields (rewrites, timeouts, retries, mirroring, upgrades), the
 * {@link Route} fields (headers, metadata, per-route filter configs) and the HTTP filters a listener then needs.
 *
 * <p>Part of xDS translation; pure and thread-safe. Options that Envoy keeps on the {@link RouteAction} (and the
 * CORS and fault filters, which only act on forwarding routes) apply to forwarding routes only, as in Gloo;
 * {@code headerManipulation} and {@code envoyMetadata} apply to every route. The options were validated when
 * decoded, so nothing here can produce a value Envoy rejects.
 */
public final class RouteOptionsTranslator {

  static final String CORS_FILTER = "envoy.filters.http.cors";
  static final String FAULT_FILTER = "envoy.filters.http.fault";
  static final String PREVIOUS_PRIORITIES = "envoy.retry_priorities.previous_priorities";

  private RouteOptionsTranslator() {}

  /**
   * The HTTP filters that the routes of {@code l} need before the router, in Gloo's stage order: fault injection,
   * then CORS. Empty when no forwarding route of the listener uses them, so listeners without these options keep
   * exactly the router alone.
   */
  static List<HttpFilter> httpFilters(ProxyListener l) {
    boolean faults = false;
    boolean cors = false;
    for (ProxyVirtualHost vh : l.virtualHosts()) {
      faults |= needsFaultFilter(vh);
      cors |= needsCorsFilter(vh);
    }
    return httpFilters(faults, cors);
  }

  /** Whether a forwarding route of the host injects faults: the listener then needs the fault filter. */
  static boolean needsFaultFilter(ProxyVirtualHost vh) {
    for (ProxyRoute r : vh.routes()) {
      if (r.action() instanceof Forward && r.options().faults() != null) {
        return true;
      }
    }
    return false;
  }

  /** Whether a forwarding route of the host has a CORS policy: the listener then needs the CORS filter. */
  static boolean needsCorsFilter(ProxyVirtualHost vh) {
    for (ProxyRoute r : vh.routes()) {
      if (r.action() instanceof Forward && r.options().cors() != null) {
        return true;
      }
    }
    return false;
  }

  static List<HttpFilter> httpFilters(boolean faults, boolean cors) {
    List<HttpFilter> out = new ArrayList<>();
    if (faults) {
      out.add(HttpFilter.newBuilder().setName(FAULT_FILTER).setTypedConfig(Any.pack(HTTPFault.getDefaultInstance())).build());
    }
    if (cors) {
      out.add(HttpFilter.newBuilder().setName(CORS_FILTER).setTypedConfig(Any.pack(Cors.getDefaultInstance())).build());
    }
    return out;
  }

  /** The options that live on the Envoy {@link Route} itself; {@code forward} says whether it forwards. */
  static void applyToRoute(Route.Builder b, RouteOptions o, boolean forward) {
    RouteOptions.HeaderManipulation hm = o.headerManipulation();
    if (hm != null) {
      hm.requestHeadersToAdd().forEach(h -> b.addRequestHeadersToAdd(header(h)));
      b.addAllRequestHeadersToRemove(hm.requestHeadersToRemove());
      hm.responseHeadersToAdd().forEach(h -> b.addResponseHeadersToAdd(header(h)));
      b.addAllResponseHeadersToRemove(hm.responseHeadersToRemove());
    }
    if (o.envoyMetadata() != null) {
      Metadata.Builder md = Metadata.newBuilder();
      o.envoyMetadata().forEach((filter, struct) -> md.putFilterMetadata(filter, struct(struct)));
      b.setMetadata(md);
    }
    if (!forward) {
      return;
    }
    if (o.faults() != null) {
      b.putTypedPerFilterConfig(FAULT_FILTER, Any.pack(fault(o.faults())));
    }
    if (o.cors() != null) {
      b.putTypedPerFilterConfig(CORS_FILTER, Any.pack(cors(o.cors())));
    }
  }

  /**
   * The options that live on the Envoy {@link RouteAction}. {@code source} is the resource the route was written in;
   * it only matters for a shadowing reference that somehow still has no namespace.
   */
  static void applyToRouteAction(RouteAction.Builder b, RouteOptions o, ResourceKey source) {
    if (o.prefixRewrite() != null) {
      b.setPrefixRewrite(o.prefixRewrite());
    } else if (o.regexRewrite() != null) {
      b.setRegexRewrite(regexRewrite(o.regexRewrite()));
    }
    RouteOptions.HostRewrite host = o.hostRewrite();
    if (host != null) {
      if (host.literal() != null) {
        b.setHostRewriteLiteral(host.literal());
      } else if (host.auto() != null) {
        b.setAutoHostRewrite(BoolValue.of(host.auto()));
      } else if (host.pathRegex() != null) {
        b.setHostRewritePathRegex(regexRewrite(host.pathRegex()));
      } else if (host.header() != null) {
        b.setHostRewriteHeader(host.header());
      }
      // As in Gloo, appendXForwardedHost only means something together with a host rewrite.
      if (Boolean.TRUE.equals(o.appendXForwardedHost())) {
        b.setAppendXForwardedHost(true);
      }
    }
    if (o.timeout() != null) {
      b.setTimeout(XdsTranslator.duration(o.timeout()));
    }
    if (o.idleTimeout() != null) {
      b.setIdleTimeout(XdsTranslator.duration(o.idleTimeout()));
    }
    if (o.retries() != null) {
      b.setRetryPolicy(retryPolicy(o.retries()));
    }
    RouteOptions.Shadowing shadow = o.shadowing();
    if (shadow != null) {
      ResourceRef upstream = shadow.upstream().withDefaultNamespace(source == null ? "" : source.namespace());
      RouteAction.RequestMirrorPolicy.Builder mirror =
          RouteAction.RequestMirrorPolicy.newBuilder()
              .setCluster(XdsNames.cluster(upstream))
              .setRuntimeFraction(RuntimeFractionalPercent.newBuilder().setDefaultValue(percent(shadow.percentage())));
      if (shadow.disableShadowHostSuffixAppend()) {
        mirror.setDisableShadowHostSuffixAppend(true);
      }
      b.addRequestMirrorPolicies(mirror);
    }
    if (o.upgrades() != null) {
      for (RouteOptions.Upgrade u : o.upgrades()) {
        RouteAction.UpgradeConfig.Builder uc =
            RouteAction.UpgradeConfig.newBuilder().setUpgradeType(u.type().equals("websocket") ? "websocket" : "CONNECT");
        if (u.enabled() != null) {
          uc.setEnabled(BoolValue.of(u.enabled()));
        }
        if (u.type().equals("connectTerminate")) {
          uc.setConnectConfig(RouteAction.UpgradeConfig.ConnectConfig.getDefaultInstance());
        }
        b.addUpgradeConfigs(uc);
      }
    }
  }

  static RegexMatchAndSubstitute regexRewrite(RouteOptions.RegexRewrite r) {
    return RegexMatchAndSubstitute.newBuilder()
        .setPattern(RegexMatcher.newBuilder().setRegex(r.regex()))
        .setSubstitution(r.substitution())
        .build();
  }

  static RetryPolicy retryPolicy(RouteOptions.Retries r) {
    RetryPolicy.Builder rp = RetryPolicy.newBuilder();
    if (r.retryOn() != null) {
      rp.setRetryOn(r.retryOn());
    }
    // Gloo always sends num_retries, with 0 (or unset) meaning 1.
    rp.setNumRetries(UInt32Value.of(r.numRetries() == null || r.numRetries() == 0 ? 1 : r.numRetries()));
    if (r.perTryTimeout() != null) {
      rp.setPerTryTimeout(XdsTranslator.duration(r.perTryTimeout()));
    }
    if (r.retryBackOff() != null) {
      RetryPolicy.RetryBackOff.Builder bo =
          RetryPolicy.RetryBackOff.newBuilder().setBaseInterval(XdsTranslator.duration(r.retryBackOff().baseInterval()));
      if (r.retryBackOff().maxInterval() != null) {
        bo.setMaxInterval(XdsTranslator.duration(r.retryBackOff().maxInterval()));
      }
      rp.setRetryBackOff(bo);
    }
    if (r.previousPriorities() != null) {
      rp.setRetryPriority(
          RetryPolicy.RetryPriority.newBuilder()
              .setName(PREVIOUS_PRIORITIES)
              .setTypedConfig(
                  Any.pack(
                      PreviousPrioritiesConfig.newBuilder()
                          .setUpdateFrequency(r.previousPriorities().updateFrequency())
                          .build())));
    }
    rp.addAllRetriableStatusCodes(r.retriableStatusCodes());
    if (r.rateLimitedRetryBackOff() != null) {
      RetryPolicy.RateLimitedRetryBackOff.Builder rl = RetryPolicy.RateLimitedRetryBackOff.newBuilder();
      for (RouteOptions.ResetHeader h : r.rateLimitedRetryBackOff().resetHeaders()) {
        rl.addResetHeaders(
            RetryPolicy.ResetHeader.newBuilder()
                .setName(h.name())
                .setFormat(RetryPolicy.ResetHeaderFormat.valueOf(h.format())));
      }
      if (r.rateLimitedRetryBackOff().maxInterval() != null) {
        rl.setMaxInterval(XdsTranslator.duration(r.rateLimitedRetryBackOff().maxInterval()));
      }
      rp.setRateLimitedRetryBackOff(rl);
    }
    return rp.build();
  }

  static HeaderValueOption header(RouteOptions.HeaderValue h) {
    return HeaderValueOption.newBuilder()
        .setHeader(HeaderValue.newBuilder().setKey(h.key()).setValue(h.value()))
        .setAppendAction(
            h.append()
                ? HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD
                : HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD)
        .build();
  }

  static CorsPolicy cors(RouteOptions.Cors c) {
    CorsPolicy.Builder b = CorsPolicy.newBuilder();
    for (String origin : c.allowOrigin()) {
      b.addAllowOriginStringMatch(StringMatcher.newBuilder().setExact(origin));
    }
    for (String regex : c.allowOriginRegex()) {
      b.addAllowOriginStringMatch(StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder().setRegex(regex)));
    }
    b.setAllowMethods(String.join(",", c.allowMethods()));
    b.setAllowHeaders(String.join(",", c.allowHeaders()));
    b.setExposeHeaders(String.join(",", c.exposeHeaders()));
    if (c.maxAge() != null) {
      b.setMaxAge(c.maxAge());
    }
    if (c.allowCredentials()) {
      b.setAllowCredentials(BoolValue.of(true));
    }
    if (c.disableForRoute()) {
      // The filter stays in the chain for the other routes; this route switches it off.
      b.setFilterEnabled(RuntimeFractionalPercent.newBuilder().setDefaultValue(percent(0)));
    }
    return b.build();
  }

  static HTTPFault fault(RouteOptions.Faults f) {
    HTTPFault.Builder b = HTTPFault.newBuilder();
    if (f.abort() != null) {
      b.setAbort(FaultAbort.newBuilder().setHttpStatus(f.abort().httpStatus()).setPercentage(percent(f.abort().percentage())));
    }
    if (f.delay() != null) {
      b.setDelay(
          FaultDelay.newBuilder()
              .setFixedDelay(XdsTranslator.duration(f.delay().fixedDelay()))
              .setPercentage(percent(f.delay().percentage())));
    }
    return b.build();
  }

  /** A percentage (0 to 100) as parts per million, which keeps four decimals, as Gloo converts it. */
  static FractionalPercent percent(double percentage) {
    return FractionalPercent.newBuilder()
        .setNumerator((int) Math.round(percentage * 10_000))
        .setDenominator(FractionalPercent.DenominatorType.MILLION)
        .build();
  }

  static Struct struct(Map<String, Object> map) {
    Struct.Builder s = Struct.newBuilder();
    map.forEach((k, v) -> s.putFields(k, value(v)));
    return s.build();
  }

  @SuppressWarnings("unchecked")
  private static Value value(Object v) {
    if (v == null) {
      return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
    }
    if (v instanceof Boolean b) {
      return Value.newBuilder().setBoolValue(b).build();
    }
    if (v instanceof Number n) {
      return Value.newBuilder().setNumberValue(n.doubleValue()).build();
    }
    if (v instanceof Map<?, ?> m) {
      return Value.newBuilder().setStructValue(struct((Map<String, Object>) m)).build();
    }
    if (v instanceof List<?> l) {
      ListValue.Builder lv = ListValue.newBuilder();
      l.forEach(item -> lv.addValues(value(item)));
      return Value.newBuilder().setListValue(lv).build();
    }
    return Value.newBuilder().setStringValue(String.valueOf(v)).build();
  }
}
