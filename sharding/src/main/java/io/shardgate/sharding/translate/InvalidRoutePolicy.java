package io.shardgate.sharding.translate;

import io.shardgate.sharding.ir.RouteAction;
import io.shardgate.sharding.model.Settings;

/**
 * Settings {@code gloo.invalidConfigPolicy}: when {@code replaceInvalidRoutes} is on, a route that cannot be served
 * as written (a missing upstream or upstream group, an unserved destination, a delegation that reaches no table)
 * answers with a fixed response instead of being dropped or failing with 503.
 */
public record InvalidRoutePolicy(boolean replaceInvalidRoutes, int responseCode, String responseBody) {

  public static final InvalidRoutePolicy DEFAULT =
      new InvalidRoutePolicy(false, 404, Settings.InvalidConfigPolicy.DEFAULT_BODY);

  /** The policy a Settings resource asks for. */
  public static InvalidRoutePolicy of(Settings settings) {
    var p = settings.invalidConfigPolicy();
    return new InvalidRoutePolicy(p.replaceInvalidRoutes(), p.invalidRouteResponseCode(), p.invalidRouteResponseBody());
  }

  RouteAction.DirectResponse response() {
    return new RouteAction.DirectResponse(responseCode, responseBody);
  }
}
