package io.shardgate.sharding.decode;

import io.shardgate.sharding.model.Action;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.RouteOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Decodes and validates a route's {@code options} block into {@link RouteOptions}. Part of {@link ResourceDecoder};
 * same rules: a value Envoy would reject (a NACK for the whole RouteConfiguration) is an error that names the field
 * and its file:line; which options are served, unserved or fail closed is the {@link GlooApi} table's to say.
 * Pure and stateless.
 */
final class RouteOptionsDecoder {

  /** Envoy's {@code retry_on} conditions: HTTP ones and gRPC ones (Envoy takes both in one list). */
  static final Set<String> RETRY_ON =
      Set.of(
          "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "envoy-ratelimited",
          "retriable-4xx", "refused-stream", "retriable-status-codes", "retriable-headers",
          "http3-post-connect-failure", "cancelled", "deadline-exceeded", "internal", "resource-exhausted",
          "unavailable");

  /** RFC 9110 token characters, which Envoy accepts in a header name. */
  private static final Pattern HEADER_NAME = Pattern.compile("^[a-zA-Z0-9!#$%&'*+.^_`|~-]+$");

  private RouteOptionsDecoder() {}

  /**
   * Decodes {@code o}, the {@code options} mapping of a route whose action is {@code action} (null when the route
   * has none), and finishes it (the table classifies every key).
   */
  static RouteOptions decode(Fields o, Action action) {
    String prefixRewrite = o.str("prefixRewrite");
    RouteOptions.RegexRewrite regexRewrite = regexRewrite(o, "regexRewrite");
    if (prefixRewrite != null && regexRewrite != null) {
      o.problems().error(o.path(), "set only one of prefixRewrite and regexRewrite: Envoy takes one path rewrite");
    }
    RouteOptions.HostRewrite hostRewrite = hostRewrite(o);
    Boolean appendXForwardedHost = o.bool("appendXForwardedHost");
    Duration timeout = o.duration("timeout");
    Duration idleTimeout = o.duration("idleTimeout");
    RouteOptions.Retries retries = null;
    Fields rt = o.obj("retries");
    if (rt != null) {
      retries = retries(rt);
      rt.finish();
    }
    RouteOptions.HeaderManipulation headers = null;
    Fields hm = o.obj("headerManipulation");
    if (hm != null) {
      headers = headerManipulation(hm);
      hm.finish();
    }
    RouteOptions.Cors cors = null;
    Fields c = o.obj("cors");
    if (c != null) {
      cors = cors(c);
      c.finish();
    }
    RouteOptions.Faults faults = null;
    Fields f = o.obj("faults");
    if (f != null) {
      faults = faults(f);
      f.finish();
    }
    RouteOptions.Shadowing shadowing = null;
    Fields s = o.obj("shadowing");
    if (s != null) {
      shadowing = shadowing(s);
      s.finish();
    }
    List<RouteOptions.Upgrade> upgrades = upgrades(o);
    Map<String, Map<String, Object>> envoyMetadata = envoyMetadata(o);
    o.finish();
    RouteOptions options =
        new RouteOptions(
            prefixRewrite, regexRewrite, hostRewrite, appendXForwardedHost, timeout, idleTimeout, retries, headers,
            cors, faults, shadowing, upgrades, envoyMetadata);
    if (action instanceof Action.Redirect || action instanceof Action.DirectResponse) {
      List<String> ignored = options.forwardOnlyOptionNames();
      if (!ignored.isEmpty()) {
        String kind = action instanceof Action.Redirect ? "redirectAction" : "directResponseAction";
        o.problems().warning(
            o.path(),
            String.join(", ", ignored) + (ignored.size() == 1 ? " applies" : " apply")
                + " only to routes with a routeAction; ignored on this " + kind + " route");
      }
    }
    return options;
  }

  // ------------------------------------------------------------------ rewrites

  /** {@code {pattern: {regex}, substitution}} under {@code key}, or null when absent. */
  static RouteOptions.RegexRewrite regexRewrite(Fields parent, String key) {
    Fields rr = parent.obj(key);
    if (rr == null) {
      return null;
    }
    String regex = null;
    Fields pattern = rr.obj("pattern");
    if (pattern == null) {
      if (!rr.has("pattern")) {
        rr.problems().error(rr.pathOf("pattern"), "is required: the regular expression to match, as {regex: ...}");
      }
    } else {
      regex = pattern.str("regex");
      if (regex == null) {
        if (!pattern.has("regex")) {
          pattern.problems().error(pattern.pathOf("regex"), "is required: the regular expression to match");
        }
      } else {
        String problem = RegexCheck.problem(regex);
        if (problem != null) {
          pattern.problems().error(pattern.pathOf("regex"), problem);
        }
      }
      pattern.finish();
    }
    String substitution = rr.str("substitution", "");
    if (hasLineBreakOrNul(substitution)) {
      rr.problems().error(rr.pathOf("substitution"), "must not contain line breaks or NUL characters");
    }
    rr.finish();
    return new RouteOptions.RegexRewrite(regex == null ? "" : regex, substitution);
  }

  private static RouteOptions.HostRewrite hostRewrite(Fields o) {
    // Only one of them may be set: the table's oneof says so.
    String literal = o.str("hostRewrite");
    if (literal != null && (literal.isEmpty() || hasLineBreakOrNul(literal))) {
      o.problems().error(o.pathOf("hostRewrite"),
          "must be a host name such as 'api.example.com', got " + o.shown("hostRewrite", literal));
    }
    Boolean auto = o.bool("autoHostRewrite");
    RouteOptions.RegexRewrite pathRegex = regexRewrite(o, "hostRewritePathRegex");
    String header = o.str("hostRewriteHeader");
    if (header != null) {
      String problem = headerNameProblem(header);
      if (problem != null) {
        o.problems().error(o.pathOf("hostRewriteHeader"), problem);
      }
    }
    if (literal == null && auto == null && pathRegex == null && header == null) {
      return null;
    }
    return new RouteOptions.HostRewrite(literal, auto, pathRegex, header);
  }

  // ------------------------------------------------------------------ retries

  private static RouteOptions.Retries retries(Fields rt) {
    String retryOn = rt.str("retryOn");
    if (retryOn != null) {
      for (String condition : retryOn.split(",")) {
        String c = condition.trim();
        if (!c.isEmpty() && !RETRY_ON.contains(c)) {
          rt.problems().warning(
              rt.pathOf("retryOn"),
              rt.shown("retryOn", c) + " is not a retry condition Envoy knows, so Envoy ignores it (known: "
                  + String.join(", ", RETRY_ON.stream().sorted().toList()) + ")");
        }
      }
    }
    Integer numRetries = rt.intInRange("numRetries", 0, Integer.MAX_VALUE);
    Duration perTryTimeout = rt.duration("perTryTimeout");
    RouteOptions.RetryBackOff backOff = null;
    Fields bo = rt.obj("retryBackOff");
    if (bo != null) {
      backOff = retryBackOff(bo);
      bo.finish();
    }
    RouteOptions.PreviousPriorities previous = null;
    Fields pp = rt.obj("previousPriorities");
    if (pp != null) {
      Integer frequency = pp.intInRange("updateFrequency", 1, Integer.MAX_VALUE);
      previous = new RouteOptions.PreviousPriorities(frequency == null ? 1 : frequency);
      pp.finish();
    }
    List<Integer> codes = statusCodes(rt, "retriableStatusCodes");
    if (!codes.isEmpty() && (retryOn == null || !List.of(retryOn.split("\\s*,\\s*")).contains("retriable-status-codes"))) {
      rt.problems().warning(
          rt.pathOf("retriableStatusCodes"),
          "Envoy retries on these status codes only when retryOn includes 'retriable-status-codes'");
    }
    RouteOptions.RateLimitedRetryBackOff rateLimited = null;
    Fields rl = rt.obj("rateLimitedRetryBackOff");
    if (rl != null) {
      rateLimited = rateLimitedRetryBackOff(rl);
      rl.finish();
    }
    return new RouteOptions.Retries(retryOn, numRetries, perTryTimeout, backOff, previous, codes, rateLimited);
  }

  private static RouteOptions.RetryBackOff retryBackOff(Fields bo) {
    Duration base = bo.duration("baseInterval");
    Duration max = bo.duration("maxInterval");
    if (base == null) {
      if (!bo.has("baseInterval")) {
        bo.problems().error(bo.pathOf("baseInterval"), "is required when retryBackOff is set, e.g. '0.025s'");
      }
    } else if (base.compareTo(Duration.ofMillis(1)) < 0) {
      bo.problems().error(bo.pathOf("baseInterval"),
          "must be at least 1ms (0.001s), got " + Fields.quote((String) bo.raw("baseInterval")));
    }
    if (max != null) {
      if (max.isZero()) {
        bo.problems().error(bo.pathOf("maxInterval"), "must be greater than 0");
      } else if (base != null && max.compareTo(base) < 0) {
        bo.problems().error(bo.pathOf("maxInterval"), "must not be less than baseInterval");
      }
    }
    return new RouteOptions.RetryBackOff(base, max);
  }

  private static RouteOptions.RateLimitedRetryBackOff rateLimitedRetryBackOff(Fields rl) {
    List<RouteOptions.ResetHeader> headers = new ArrayList<>();
    for (Fields h : rl.objList("resetHeaders")) {
      String name = h.str("name", "");
      String problem = headerNameProblem(name);
      if (problem != null) {
        h.problems().error(h.pathOf("name"), problem);
      }
      String format = h.enumName("format");
      headers.add(new RouteOptions.ResetHeader(name, format == null ? "SECONDS" : format));
      h.finish();
    }
    if (headers.isEmpty()) {
      rl.problems().error(rl.pathOf("resetHeaders"), "needs at least one header, e.g. {name: Retry-After}");
    }
    Duration max = rl.duration("maxInterval");
    if (max != null && max.isZero()) {
      rl.problems().error(rl.pathOf("maxInterval"), "must be greater than 0");
    }
    return new RouteOptions.RateLimitedRetryBackOff(headers, max);
  }

  private static List<Integer> statusCodes(Fields f, String key) {
    List<Integer> out = new ArrayList<>();
    List<Long> codes = f.intList(key);
    for (int i = 0; i < codes.size(); i++) {
      long code = codes.get(i);
      if (code >= 100 && code <= 599) {
        out.add((int) code);
      } else {
        f.problems().error(f.pathOf(key) + "[" + i + "]", "expected an HTTP status code (100 to 599), got " + code);
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ headers

  private static RouteOptions.HeaderManipulation headerManipulation(Fields hm) {
    List<RouteOptions.HeaderValue> requestAdd = headersToAdd(hm, "requestHeadersToAdd", true);
    List<String> requestRemove = headersToRemove(hm, "requestHeadersToRemove");
    List<RouteOptions.HeaderValue> responseAdd = headersToAdd(hm, "responseHeadersToAdd", false);
    List<String> responseRemove = headersToRemove(hm, "responseHeadersToRemove");
    return new RouteOptions.HeaderManipulation(requestAdd, requestRemove, responseAdd, responseRemove);
  }

  private static List<RouteOptions.HeaderValue> headersToAdd(Fields hm, String key, boolean request) {
    List<RouteOptions.HeaderValue> out = new ArrayList<>();
    for (Fields option : hm.objList(key)) {
      Boolean append = option.bool("append");
      Fields header = option.obj("header");
      if (header != null) {
        String name = header.str("key", "");
        String problem = headerNameProblem(name);
        if (problem == null) {
          problem = modifiableProblem(name, "set");
        }
        if (problem != null) {
          header.problems().error(header.pathOf("key"), problem);
        }
        String value = header.str("value", "");
        if (hasLineBreakOrNul(value)) {
          header.problems().error(header.pathOf("value"), "a header value must not contain line breaks or NUL characters");
        }
        header.finish();
        // Gloo's default for append is true: add another value rather than replace the header.
        out.add(new RouteOptions.HeaderValue(name, value, append == null || append));
      } else if (!(request && option.has("headerSecretRef"))) {
        option.problems().error(option.pathOf("header"), "is required: the header to add, as {key: ..., value: ...}");
      }
      option.finish();
    }
    return out;
  }

  private static List<String> headersToRemove(Fields hm, String key) {
    List<String> names = hm.strList(key);
    for (int i = 0; i < names.size(); i++) {
      String problem = headerNameProblem(names.get(i));
      if (problem == null) {
        problem = modifiableProblem(names.get(i), "removed");
      }
      if (problem != null) {
        hm.problems().error(hm.pathOf(key) + "[" + i + "]", problem);
      }
    }
    return names;
  }

  /** Why {@code name} is not a header name Envoy accepts, or null. */
  static String headerNameProblem(String name) {
    if (name.isEmpty()) {
      return "a header name must not be empty";
    }
    if (!name.startsWith(":") && !HEADER_NAME.matcher(name).matches()) {
      return Fields.quote(name) + " is not a valid HTTP header name (letters, digits and !#$%&'*+.^_`|~- only)";
    }
    return null;
  }

  /** Envoy refuses to change pseudo-headers and Host through header manipulation. */
  private static String modifiableProblem(String name, String verb) {
    if (name.startsWith(":") || name.equalsIgnoreCase("host")) {
      return Fields.quote(name) + " cannot be " + verb + ": Envoy does not let routes change ':'-prefixed headers or"
          + " Host (use hostRewrite to change the host)";
    }
    return null;
  }

  private static boolean hasLineBreakOrNul(String s) {
    return s.indexOf('\r') >= 0 || s.indexOf('\n') >= 0 || s.indexOf('\0') >= 0;
  }

  // ------------------------------------------------------------------ cors, faults, shadowing

  private static RouteOptions.Cors cors(Fields c) {
    List<String> origins = c.strList("allowOrigin");
    List<String> originRegexes = c.strList("allowOriginRegex");
    for (int i = 0; i < originRegexes.size(); i++) {
      String problem = RegexCheck.problem(originRegexes.get(i));
      if (problem != null) {
        c.problems().error(c.pathOf("allowOriginRegex") + "[" + i + "]", problem);
      }
    }
    List<String> methods = c.strList("allowMethods");
    List<String> allowHeaders = c.strList("allowHeaders");
    List<String> exposeHeaders = c.strList("exposeHeaders");
    String maxAge = c.str("maxAge");
    if (maxAge != null && !maxAge.matches("\\d+")) {
      c.problems().error(c.pathOf("maxAge"),
          "must be a number of seconds such as '86400', got " + c.shown("maxAge", maxAge));
    }
    boolean allowCredentials = Boolean.TRUE.equals(c.bool("allowCredentials"));
    boolean disable = Boolean.TRUE.equals(c.bool("disableForRoute"));
    if (origins.isEmpty() && originRegexes.isEmpty() && !disable) {
      c.problems().error(c.path(), "needs at least one of allowOrigin and allowOriginRegex");
    }
    return new RouteOptions.Cors(
        origins, originRegexes, methods, allowHeaders, exposeHeaders, maxAge, allowCredentials, disable);
  }

  private static RouteOptions.Faults faults(Fields f) {
    RouteOptions.Abort abort = null;
    Fields a = f.obj("abort");
    if (a != null) {
      double percentage = percentage(a, "the abort never happens");
      Integer status = a.intInRange("httpStatus", 200, 599);
      if (status == null && !a.has("httpStatus")) {
        a.problems().error(a.pathOf("httpStatus"), "is required: the HTTP status to answer with (200 to 599)");
      }
      abort = new RouteOptions.Abort(percentage, status == null ? 0 : status);
      a.finish();
    }
    RouteOptions.Delay delay = null;
    Fields d = f.obj("delay");
    if (d != null) {
      double percentage = percentage(d, "requests are never delayed");
      Duration fixed = d.duration("fixedDelay");
      if (fixed == null && !d.has("fixedDelay")) {
        d.problems().error(d.pathOf("fixedDelay"), "is required: how long to delay, e.g. '2s'");
      } else if (fixed != null && fixed.isZero()) {
        d.problems().error(d.pathOf("fixedDelay"), "must be greater than 0");
      }
      delay = new RouteOptions.Delay(percentage, fixed);
      d.finish();
    }
    if (abort == null && delay == null) {
      f.problems().warning(f.path(), "has neither abort nor delay, so no fault is injected");
      return null;
    }
    return new RouteOptions.Faults(abort, delay);
  }

  private static RouteOptions.Shadowing shadowing(Fields s) {
    Fields up = s.obj("upstream");
    ResourceRef ref = null;
    if (up == null) {
      if (!s.has("upstream")) {
        s.problems().error(s.pathOf("upstream"), "is required: the Upstream to mirror requests to, as {name, namespace}");
      }
    } else {
      ref = new ResourceRef(up.str("namespace", ""), up.str("name", ""));
      if (ref.name().isEmpty()) {
        up.problems().error(up.pathOf("name"), "reference has no name");
      }
      up.finish();
      // Like route destinations: no namespace means the namespace of the resource the option is written in.
      ref = ref.withDefaultNamespace(ownerNamespace(s.problems().doc));
    }
    double percentage = percentage(s, "no request is mirrored");
    boolean noSuffix = Boolean.TRUE.equals(s.bool("disableShadowHostSuffixAppend"));
    return new RouteOptions.Shadowing(ref == null ? new ResourceRef("", "") : ref, percentage, noSuffix);
  }

  /** A percentage from 0 to 100 ({@code percentage}); 0 when unset, as in Gloo, with a warning saying so. */
  private static double percentage(Fields f, String whenZero) {
    boolean written = f.has("percentage");
    Double v = f.number("percentage");
    if (written && v == null) {
      return 0;
    }
    double p = v == null ? 0 : v;
    if (p < 0 || p > 100 || Double.isNaN(p)) {
      f.problems().error(f.pathOf("percentage"), "must be between 0 and 100, got "
          + (p == Math.rint(p) && !Double.isInfinite(p) ? String.valueOf((long) p) : String.valueOf(p)));
      return 0;
    }
    if (p == 0) {
      f.problems().warning(f.pathOf("percentage"), (written ? "is 0: " : "is not set, so it is 0: ") + whenZero);
    }
    return p;
  }

  /** The namespace of the resource {@code doc} holds, defaulted as {@link ResourceDecoder} defaults it. */
  private static String ownerNamespace(SourceDocument doc) {
    if (doc.content().get("metadata") instanceof Map<?, ?> meta
        && meta.get("namespace") instanceof String ns
        && !ns.isEmpty()) {
      return ns;
    }
    return "default";
  }

  // ------------------------------------------------------------------ upgrades, metadata

  private static List<RouteOptions.Upgrade> upgrades(Fields o) {
    List<RouteOptions.Upgrade> out = new ArrayList<>();
    Map<String, String> envoyTypes = new LinkedHashMap<>();
    for (Fields u : o.objList("upgrades")) {
      List<String> types = new ArrayList<>();
      Boolean enabled = null;
      for (String type : List.of("websocket", "connect", "connectTerminate")) {
        Fields spec = u.obj(type);
        if (spec == null) {
          continue;
        }
        types.add(type);
        enabled = spec.bool("enabled");
        spec.finish();
      }
      // An unknown key is an error of finish (not a field of ProtocolUpgradeConfig); several types, of the oneof.
      int errorsBefore = u.problems().errors.size();
      u.finish();
      if (types.isEmpty()) {
        if (u.problems().errors.size() == errorsBefore) {
          u.problems().error(u.path(), "needs one of websocket, connect and connectTerminate, e.g. {websocket: {}}");
        }
        continue;
      }
      String type = types.get(0);
      String envoyType = type.equals("websocket") ? "websocket" : "CONNECT";
      String earlier = envoyTypes.putIfAbsent(envoyType.toLowerCase(Locale.ROOT), type);
      if (earlier != null) {
        u.problems().error(
            u.path(), type + " configures the " + envoyType + " upgrade again (already set by " + earlier
                + "); Envoy takes each upgrade once per route");
      }
      out.add(new RouteOptions.Upgrade(type, enabled));
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Map<String, Object>> envoyMetadata(Fields o) {
    Object v = o.raw("envoyMetadata");
    if (v == null) {
      return null;
    }
    if (!(v instanceof Map<?, ?> m)) {
      o.problems().error(o.pathOf("envoyMetadata"), "expected a mapping of filter name to metadata, got " + Fields.describe(v));
      return null;
    }
    Map<String, Map<String, Object>> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : m.entrySet()) {
      String filter = String.valueOf(e.getKey());
      if (filter.isEmpty()) {
        o.problems().error(o.pathOf("envoyMetadata"), "a filter name must not be empty");
      } else if (e.getValue() instanceof Map<?, ?> struct) {
        out.put(filter, (Map<String, Object>) struct);
      } else {
        o.problems().error(
            o.pathOf("envoyMetadata") + "." + filter,
            "expected a mapping (the filter's metadata struct), got " + Fields.describe(e.getValue()));
      }
    }
    return out;
  }
}
