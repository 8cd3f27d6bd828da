package io.shardgate.sharding.translate;

import io.shardgate.sharding.ir.ProxyRoute;
import io.shardgate.sharding.model.Matcher;
import java.util.Comparator;

/**
 * The one automatic route sort Gloo applies: to the combined routes of several RouteTables that share a weight.
 * Follows Gloo's code, not its docs: more methods first; then no path, exact, regex, prefix; then the
 * lexicographically greater path first (string order, not length). Pure.
 */
final class RouteOrdering {

  static final Comparator<Matcher> MATCHER_ORDER =
      Comparator.comparingInt((Matcher m) -> -m.methods().size())
          .thenComparingInt(RouteOrdering::typeRank)
          .thenComparing((Matcher m) -> m.path() == null ? "" : m.path().value(), Comparator.reverseOrder());

  /** Routes compare by their smallest matcher; a route with no matcher counts as prefix {@code /}. */
  static final Comparator<ProxyRoute> ROUTE_ORDER = Comparator.comparing(RouteOrdering::smallest, MATCHER_ORDER);

  private RouteOrdering() {}

  private static int typeRank(Matcher m) {
    if (m.path() == null) {
      return 0;
    }
    return switch (m.path().type()) {
      case EXACT -> 1;
      case REGEX -> 2;
      case PREFIX -> 3;
    };
  }

  private static Matcher smallest(ProxyRoute r) {
    return r.matchers().stream().min(MATCHER_ORDER).orElse(Matcher.DEFAULT_PREFIX);
  }
}
