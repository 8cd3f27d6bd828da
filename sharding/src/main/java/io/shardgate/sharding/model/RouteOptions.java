package io.shardgate.sharding.model;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The route options Shardgate serves ({@code options} of a Gloo route), decoded and validated. Every field is null
 * when unset, so a child route's options can be merged over its parent's field by field (child wins, parent fills
 * the rest). Immutable value; lists and maps are unmodifiable copies.
 *
 * <p>Grouped fields: {@code prefixRewrite} and {@code regexRewrite} both rewrite the path and Envoy accepts only
 * one of them, so they merge as one field (a child that sets either replaces the parent's path rewrite). The four
 * host rewrites are one {@code oneof} in Gloo and live in one {@link HostRewrite}.
 *
 * @param prefixRewrite {@code prefixRewrite}
 * @param regexRewrite {@code regexRewrite}
 * @param hostRewrite {@code hostRewrite}, {@code autoHostRewrite}, {@code hostRewritePathRegex} or
 *     {@code hostRewriteHeader}
 * @param appendXForwardedHost {@code appendXForwardedHost}
 * @param timeout {@code timeout}
 * @param idleTimeout {@code idleTimeout}
 * @param retries {@code retries}
 * @param headerManipulation {@code headerManipulation}
 * @param cors {@code cors}
 * @param faults {@code faults}
 * @param shadowing {@code shadowing}; its upstream namespace is already defaulted to the namespace of the resource
 *     the option is written in (see {@link Shadowing})
 * @param upgrades {@code upgrades}, null when unset or empty
 * @param envoyMetadata {@code envoyMetadata}: filter name to a struct of plain values (maps, lists, strings,
 *     numbers, booleans, nulls), sorted by filter name; null when unset or empty
 */
public record RouteOptions(
    String prefixRewrite,
    RegexRewrite regexRewrite,
    HostRewrite hostRewrite,
    Boolean appendXForwardedHost,
    Duration timeout,
    Duration idleTimeout,
    Retries retries,
    HeaderManipulation headerManipulation,
    Cors cors,
    Faults faults,
    Shadowing shadowing,
    List<Upgrade> upgrades,
    Map<String, Map<String, Object>> envoyMetadata) {

  public static final RouteOptions NONE =
      new RouteOptions(null, null, null, null, null, null, null, null, null, null, null, null, null);

  public RouteOptions {
    upgrades = upgrades == null || upgrades.isEmpty() ? null : List.copyOf(upgrades);
    envoyMetadata =
        envoyMetadata == null || envoyMetadata.isEmpty()
            ? null
            : Collections.unmodifiableMap(new TreeMap<>(envoyMetadata));
  }

  /**
   * Child fields win; unset child fields are filled from {@code parent} (Gloo's shallow merge of top-level
   * fields). The path rewrite ({@code prefixRewrite}/{@code regexRewrite}) merges as one field.
   */
  public RouteOptions mergedOver(RouteOptions parent) {
    boolean childRewritesPath = prefixRewrite != null || regexRewrite != null;
    return new RouteOptions(
        childRewritesPath ? prefixRewrite : parent.prefixRewrite,
        childRewritesPath ? regexRewrite : parent.regexRewrite,
        pick(hostRewrite, parent.hostRewrite),
        pick(appendXForwardedHost, parent.appendXForwardedHost),
        pick(timeout, parent.timeout),
        pick(idleTimeout, parent.idleTimeout),
        pick(retries, parent.retries),
        pick(headerManipulation, parent.headerManipulation),
        pick(cors, parent.cors),
        pick(faults, parent.faults),
        pick(shadowing, parent.shadowing),
        pick(upgrades, parent.upgrades),
        pick(envoyMetadata, parent.envoyMetadata));
  }

  /** The names of the options set that apply only to forwarding routes, in declaration order. */
  public List<String> forwardOnlyOptionNames() {
    List<String> names = new ArrayList<>();
    addIf(names, prefixRewrite, "prefixRewrite");
    addIf(names, regexRewrite, "regexRewrite");
    addIf(names, hostRewrite, hostRewrite == null ? "" : hostRewrite.fieldName());
    addIf(names, appendXForwardedHost, "appendXForwardedHost");
    addIf(names, timeout, "timeout");
    addIf(names, idleTimeout, "idleTimeout");
    addIf(names, retries, "retries");
    addIf(names, cors, "cors");
    addIf(names, faults, "faults");
    addIf(names, shadowing, "shadowing");
    addIf(names, upgrades, "upgrades");
    return names;
  }

  private static void addIf(List<String> names, Object value, String name) {
    if (value != null) {
      names.add(name);
    }
  }

  private static <T> T pick(T child, T parent) {
    return child != null ? child : parent;
  }

  /** A regular-expression rewrite: {@code {pattern: {regex}, substitution}}. The regex is RE2-checked. */
  public record RegexRewrite(String regex, String substitution) {}

  /**
   * The host rewrite; exactly one component is set.
   *
   * @param literal {@code hostRewrite}: the host to send upstream
   * @param auto {@code autoHostRewrite}: use the upstream host's name
   * @param pathRegex {@code hostRewritePathRegex}: derive the host from the path
   * @param header {@code hostRewriteHeader}: take the host from this request header
   */
  public record HostRewrite(String literal, Boolean auto, RegexRewrite pathRegex, String header) {

    /** The Gloo field this host rewrite was written as. */
    public String fieldName() {
      if (literal != null) {
        return "hostRewrite";
      }
      if (auto != null) {
        return "autoHostRewrite";
      }
      if (pathRegex != null) {
        return "hostRewritePathRegex";
      }
      return "hostRewriteHeader";
    }
  }

  /**
   * {@code retries}: every field of Gloo's {@code retries.options.gloo.solo.io.RetryPolicy}.
   *
   * @param retryOn Envoy retry conditions, comma separated, as written
   * @param numRetries attempts; null or 0 means 1, as in Gloo
   * @param perTryTimeout timeout of each attempt
   * @param retryBackOff exponential back-off intervals
   * @param previousPriorities the previous-priorities retry priority predicate
   * @param retriableStatusCodes extra status codes to retry on (with {@code retriable-status-codes} in retryOn)
   * @param rateLimitedRetryBackOff back-off taken from rate-limit reset headers
   */
  public record Retries(
      String retryOn,
      Integer numRetries,
      Duration perTryTimeout,
      RetryBackOff retryBackOff,
      PreviousPriorities previousPriorities,
      List<Integer> retriableStatusCodes,
      RateLimitedRetryBackOff rateLimitedRetryBackOff) {

    public Retries {
      retriableStatusCodes = retriableStatusCodes == null ? List.of() : List.copyOf(retriableStatusCodes);
    }
  }

  /** {@code retryBackOff}: {@code baseInterval} is required; {@code maxInterval} is at least the base. */
  public record RetryBackOff(Duration baseInterval, Duration maxInterval) {}

  /** {@code previousPriorities}; {@code updateFrequency} is at least 1 (1 when unset, as in Gloo). */
  public record PreviousPriorities(int updateFrequency) {}

  /** {@code rateLimitedRetryBackOff}: at least one reset header. */
  public record RateLimitedRetryBackOff(List<ResetHeader> resetHeaders, Duration maxInterval) {
    public RateLimitedRetryBackOff {
      resetHeaders = List.copyOf(resetHeaders);
    }
  }

  /** A reset header; {@code format} is {@code SECONDS} or {@code UNIX_TIMESTAMP}. */
  public record ResetHeader(String name, String format) {}

  /** {@code headerManipulation}. */
  public record HeaderManipulation(
      List<HeaderValue> requestHeadersToAdd,
      List<String> requestHeadersToRemove,
      List<HeaderValue> responseHeadersToAdd,
      List<String> responseHeadersToRemove) {

    public HeaderManipulation {
      requestHeadersToAdd = List.copyOf(requestHeadersToAdd);
      requestHeadersToRemove = List.copyOf(requestHeadersToRemove);
      responseHeadersToAdd = List.copyOf(responseHeadersToAdd);
      responseHeadersToRemove = List.copyOf(responseHeadersToRemove);
    }
  }

  /**
   * One header to add. {@code append} is Gloo's {@code append} with its default (true) applied: true appends to
   * an existing header, false overwrites it.
   */
  public record HeaderValue(String key, String value, boolean append) {}

  /** {@code cors}; {@code maxAge} is a number of seconds as written. */
  public record Cors(
      List<String> allowOrigin,
      List<String> allowOriginRegex,
      List<String> allowMethods,
      List<String> allowHeaders,
      List<String> exposeHeaders,
      String maxAge,
      boolean allowCredentials,
      boolean disableForRoute) {

    public Cors {
      allowOrigin = List.copyOf(allowOrigin);
      allowOriginRegex = List.copyOf(allowOriginRegex);
      allowMethods = List.copyOf(allowMethods);
      allowHeaders = List.copyOf(allowHeaders);
      exposeHeaders = List.copyOf(exposeHeaders);
    }
  }

  /** {@code faults}: at least one of abort and delay. */
  public record Faults(Abort abort, Delay delay) {}

  /** {@code faults.abort}: answer {@code httpStatus} for {@code percentage} (0 to 100) of requests. */
  public record Abort(double percentage, int httpStatus) {}

  /** {@code faults.delay}: wait {@code fixedDelay} before forwarding {@code percentage} (0 to 100) of requests. */
  public record Delay(double percentage, Duration fixedDelay) {}

  /**
   * {@code shadowing}: mirror {@code percentage} (0 to 100) of requests to {@code upstream}.
   *
   * @param upstream the upstream; a reference written without a namespace takes the namespace of the resource the
   *     option is written in (like route destinations), which stays right when a delegated child inherits it
   */
  public record Shadowing(ResourceRef upstream, double percentage, boolean disableShadowHostSuffixAppend) {}

  /**
   * One entry of {@code upgrades}.
   *
   * @param type {@code websocket}, {@code connect} or {@code connectTerminate}, as written
   * @param enabled null when unset (Envoy then enables it)
   */
  public record Upgrade(String type, Boolean enabled) {}
}
