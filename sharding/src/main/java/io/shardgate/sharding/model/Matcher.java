package io.shardgate.sharding.model;

import java.util.List;

/**
 * A request matcher: path (prefix, exact or regex), case sensitivity, headers, query parameters and methods.
 * Shared by the resource model and the Proxy IR: it is a plain value with no Gloo-specific behaviour.
 *
 * @param path the path match, or null when the matcher has no path (translated as prefix {@code /})
 * @param caseSensitive null when unset (Envoy's default: case sensitive)
 */
public record Matcher(
    PathMatch path,
    Boolean caseSensitive,
    List<HeaderMatch> headers,
    List<QueryParameterMatch> queryParameters,
    List<String> methods) {

  public static final Matcher DEFAULT_PREFIX = prefix("/");

  public Matcher {
    headers = List.copyOf(headers);
    queryParameters = List.copyOf(queryParameters);
    methods = List.copyOf(methods);
  }

  public static Matcher prefix(String prefix) {
    return new Matcher(new PathMatch(PathType.PREFIX, prefix), null, List.of(), List.of(), List.of());
  }

  public Matcher withPath(PathMatch p, Boolean cs) {
    return new Matcher(p, cs, headers, queryParameters, methods);
  }

  /** How a path is matched. */
  public enum PathType {
    PREFIX,
    EXACT,
    REGEX
  }

  /** A path match of one type. */
  public record PathMatch(PathType type, String value) {}

  /**
   * A header condition. With a null {@code value} the header only has to be present. {@code regex} makes the value
   * a regular expression; {@code invertMatch} negates the whole condition.
   */
  public record HeaderMatch(String name, String value, boolean regex, boolean invertMatch) {}

  /** A query-parameter condition; a null {@code value} means the parameter only has to be present. */
  public record QueryParameterMatch(String name, String value, boolean regex) {}
}
