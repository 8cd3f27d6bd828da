package io.shardgate.sharding.translate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.shardgate.sharding.ir.ProxyRoute;
import io.shardgate.sharding.ir.RouteAction;
import io.shardgate.sharding.model.Matcher;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.Kind;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The sort Gloo applies to the combined routes of same-weight RouteTables (glooutils.SortRoutesByPath): more methods
 * first; then no path, exact, regex, prefix; then the lexicographically greater path string; routes compare by
 * their smallest matcher; the sort is stable.
 */
class RouteOrderingTest {

  private static final ResourceKey SOURCE = new ResourceKey(Kind.ROUTE_TABLE, "teams", "t");

  private static Matcher path(Matcher.PathType type, String value, String... methods) {
    return new Matcher(new Matcher.PathMatch(type, value), null, List.of(), List.of(), List.of(methods));
  }

  private static Matcher prefix(String value, String... methods) {
    return path(Matcher.PathType.PREFIX, value, methods);
  }

  private static Matcher exact(String value) {
    return path(Matcher.PathType.EXACT, value);
  }

  private static Matcher regex(String value) {
    return path(Matcher.PathType.REGEX, value);
  }

  private static Matcher noPath() {
    return new Matcher(null, null, List.of(new Matcher.HeaderMatch("x-a", null, false, false)), List.of(), List.of());
  }

  private static ProxyRoute route(String body, Matcher... matchers) {
    return new ProxyRoute(null, List.of(matchers), new RouteAction.DirectResponse(200, body), null, SOURCE);
  }

  private static List<String> sorted(ProxyRoute... routes) {
    List<ProxyRoute> list = new ArrayList<>(List.of(routes));
    list.sort(RouteOrdering.ROUTE_ORDER);
    return list.stream().map(r -> ((RouteAction.DirectResponse) r.action()).body()).toList();
  }

  @Test
  void moreMethodsSortFirstWhateverThePath() {
    assertEquals(
        List.of("two-methods", "one-method", "exact", "prefix"),
        sorted(
            route("prefix", prefix("/api/zzz")),
            route("exact", exact("/api/exact")),
            route("one-method", prefix("/a", "GET")),
            route("two-methods", prefix("/a", "GET", "POST"))));
  }

  @Test
  void noPathThenExactThenRegexThenPrefix() {
    // Gloo's code puts regex before prefix (its docs say prefix before regex).
    assertEquals(
        List.of("no-path", "exact", "regex", "prefix"),
        sorted(
            route("prefix", prefix("/api/a")),
            route("regex", regex("/api/[a-z]+")),
            route("exact", exact("/api/a")),
            route("no-path", noPath())));
  }

  @Test
  void greaterPathStringFirstIsStringOrderNotLength() {
    assertEquals(
        List.of("/z", "/abc/def", "/abc"),
        sorted(route("/abc", prefix("/abc")), route("/abc/def", prefix("/abc/def")), route("/z", prefix("/z"))));
  }

  @Test
  void aRouteSortsByItsSmallestMatcher() {
    // The exact matcher is the smallest of the first route, so it sorts before every prefix-only route.
    assertEquals(
        List.of("prefix-and-exact", "prefix-z"),
        sorted(route("prefix-z", prefix("/z")), route("prefix-and-exact", prefix("/a"), exact("/b"))));
  }

  @Test
  void aRouteWithoutMatchersCountsAsPrefixSlash() {
    assertEquals(
        List.of("prefix-a", "none"),
        sorted(route("none"), route("prefix-a", prefix("/a"))));
  }

  @Test
  void equalKeysKeepTheirOrder() {
    assertEquals(
        List.of("first", "second", "third"),
        sorted(route("first", prefix("/same")), route("second", prefix("/same")), route("third", prefix("/same"))));
  }
}
