package io.shardgate.sharding.translate;

import io.shardgate.sharding.ir.RouteAction;

/**
 * Settings {@code gloo.invalidConfigPolicy}: when {@code replaceInvalidRoutes} is on, a route that cannot be served
 * as written (a missing upstream or upstream group, an unserved destination, a delegation that reaches no table)
 * answers with a fixed response instead of being dropped or failing with 503.
 */
public record InvalidRoutePolicy(boolean replaceInvalidRoutes, int responseCode, String responseBody) {

  public static final String DEFAULT_BODY =
      "Shardgate has invalid configuration for this route. Administrators should run 'shardgate validate'.";

  public static final InvalidRoutePolicy DEFAULT = new InvalidRoutePolicy(false, 404, DEFAULT_BODY);

  RouteAction.DirectResponse response() {
    return new RouteAction.DirectResponse(responseCode, responseBody);
  }
}
