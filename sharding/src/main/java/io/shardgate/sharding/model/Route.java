package io.shardgate.sharding.model;

import java.util.List;

/**
 * One route of a VirtualService or RouteTable, as written.
 *
 * @param name the user's route name, or null
 * @param matchers the matchers; empty means a single {@code /} prefix matcher
 * @param action what the route does; null when the route has no action (an error at translation)
 * @param inheritableMatchers null when unset (inherits the parent's value)
 * @param inheritablePathMatchers null when unset (inherits the parent's value)
 * @param field the route's path and location, e.g. {@code spec.virtualHost.routes[2] (vs.yaml:14)}, for messages
 * @param unservable null for a route Shardgate can serve; otherwise why it cannot, naming the field and its
 *     location (e.g. {@code matchers[0].connectMatcher (vs.yaml:15): CONNECT matchers are not served ...}): the
 *     route uses something that would change what it matches, where it goes or who may use it, so serving it
 *     without that would be wrong, and the translator leaves it out with a warning
 * @param closed whether what cannot be served restricts access (authentication, authorization, rate limits): then
 *     the route answers 403 instead of being left out, because leaving it out would hand its requests to the next
 *     route that matches, without the restriction
 */
public record Route(
    String name,
    List<Matcher> matchers,
    Action action,
    RouteOptions options,
    Boolean inheritableMatchers,
    Boolean inheritablePathMatchers,
    String field,
    String unservable,
    boolean closed) {

  public Route {
    matchers = List.copyOf(matchers);
    options = options == null ? RouteOptions.NONE : options;
  }

  /** A route Shardgate can serve. */
  public Route(
      String name,
      List<Matcher> matchers,
      Action action,
      RouteOptions options,
      Boolean inheritableMatchers,
      Boolean inheritablePathMatchers,
      String field) {
    this(name, matchers, action, options, inheritableMatchers, inheritablePathMatchers, field, null, false);
  }

  public Route withMatchers(List<Matcher> m) {
    return new Route(name, m, action, options, inheritableMatchers, inheritablePathMatchers, field, unservable, closed);
  }

  public Route withOptions(RouteOptions o) {
    return new Route(name, matchers, action, o, inheritableMatchers, inheritablePathMatchers, field, unservable, closed);
  }

  public Route withAction(Action a) {
    return new Route(name, matchers, a, options, inheritableMatchers, inheritablePathMatchers, field, unservable, closed);
  }

  public Route withUnservable(String reason, boolean closes) {
    return new Route(name, matchers, action, options, inheritableMatchers, inheritablePathMatchers, field, reason,
        closes);
  }
}
