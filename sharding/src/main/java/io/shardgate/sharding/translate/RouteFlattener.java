package io.shardgate.sharding.translate;

import io.shardgate.sharding.ir.ProxyRoute;
import io.shardgate.sharding.ir.RouteAction;
import io.shardgate.sharding.model.Action;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.LabelExpression;
import io.shardgate.sharding.model.Matcher;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.Route;
import io.shardgate.sharding.model.RouteOptions;
import io.shardgate.sharding.model.RouteTable;
import io.shardgate.sharding.model.Upstream;
import io.shardgate.sharding.model.UpstreamGroup;
import io.shardgate.sharding.model.VirtualService;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Flattens one VirtualService's routes, replacing each delegating route in place by the routes of the RouteTables it
 * selects, depth first, with Gloo's inheritance, validation and ordering rules.
 *
 * <p>Stage: gateway translation. Holds only the state of one flattening call (the context it reports into), so
 * a new instance is made per VirtualService and Gateway; not thread-safe, never shared.
 */
final class RouteFlattener {

  /** What a delegating route passes to the routes of the tables it selects. */
  private record Parent(
      String path,
      Matcher matcher,
      RouteOptions options,
      String generatedName,
      boolean hasName,
      boolean inheritableMatchers,
      boolean inheritablePathMatchers) {}

  /** What a route that fails closed answers. */
  static final RouteAction.DirectResponse CLOSED = new RouteAction.DirectResponse(403,
      "This route requires an access control this gateway does not enforce, so it is closed. Administrators: run"
          + " 'shardgate validate'.\n");

  private final TranslationContext ctx;
  private final VirtualService vs;
  private final String proxyName;
  private final String listenerName;
  private final ProxyLastGood previous;
  private final InvalidRoutePolicy policy;
  /**
   * The routes each table produced at each delegation point, for the next {@link LastGood}. A rejected table
   * ({@link TranslationContext#substituted}) is not descended into: the routes it last produced at the same point are
   * served instead (when there are any), and recorded again so they survive the next translation too.
   */
  private final Map<String, List<ProxyRoute>> subtrees = new TreeMap<>();

  RouteFlattener(
      TranslationContext ctx, VirtualService vs, String proxyName, String listenerName, ProxyLastGood previous,
      InvalidRoutePolicy policy) {
    this.ctx = ctx;
    this.vs = vs;
    this.proxyName = proxyName;
    this.listenerName = listenerName;
    this.previous = previous;
    this.policy = policy;
  }

  /** The subtrees recorded by {@link #flatten}, by {@link ProxyLastGood#subtreeKey}. */
  Map<String, List<ProxyRoute>> subtrees() {
    return subtrees;
  }

  List<ProxyRoute> flatten(String gatewayName) {
    String prefix = "vs:" + gatewayName + "_" + proxyName + "_" + vs.meta().namespace() + "_" + vs.meta().name();
    List<ResourceKey> chain = new ArrayList<>();
    chain.add(vs.key());
    return flatten(vs.virtualHost().routes(), vs.key(), null, chain, prefix);
  }

  private List<ProxyRoute> flatten(
      List<Route> routes, ResourceKey owner, Parent parent, List<ResourceKey> chain, String namePrefix) {
    List<ProxyRoute> out = new ArrayList<>();
    for (int i = 0; i < routes.size(); i++) {
      Route route = routes.get(i);
      String generatedName =
          namePrefix + "_route:" + (route.name() != null ? route.name() : "<unnamed-" + i + ">");
      boolean hasName = route.name() != null || (parent != null && parent.hasName());
      boolean inheritMatchers;
      boolean inheritPaths;
      if (parent != null) {
        inheritMatchers = Objects.requireNonNullElse(route.inheritableMatchers(), parent.inheritableMatchers());
        inheritPaths = Objects.requireNonNullElse(route.inheritablePathMatchers(), parent.inheritablePathMatchers());
        route = inherit(route, parent, inheritMatchers, inheritPaths);
        String incompatible = incompatibility(route, parent);
        if (incompatible != null) {
          warn(owner, route.field() + ": " + incompatible + "; the route is dropped");
          continue;
        }
        route = route.withOptions(route.options().mergedOver(parent.options()));
      } else {
        inheritMatchers = Boolean.TRUE.equals(route.inheritableMatchers());
        inheritPaths = Boolean.TRUE.equals(route.inheritablePathMatchers());
      }
      if (route.unservable() != null) {
        List<Matcher> matchers = route.matchers().isEmpty() ? List.of(Matcher.DEFAULT_PREFIX) : route.matchers();
        if (route.closed()) {
          // Leaving it out would let the next matching route take its requests without the restriction.
          warn(owner, route.field() + ": " + route.unservable() + "; the route answers 403 until Shardgate enforces it");
          out.add(new ProxyRoute(null, matchers, CLOSED, RouteOptions.NONE, owner));
          continue;
        }
        // Serving it without what it asks for would widen it (a catch-all): leave it out.
        warn(owner, route.field() + ": " + route.unservable() + "; " + droppedOrReplaced());
        if (policy.replaceInvalidRoutes()) {
          out.add(new ProxyRoute(null, matchers, policy.response(), RouteOptions.NONE, owner));
        }
        continue;
      }
      Action action = route.action();
      if (action == null) {
        error(owner, route.field() + ": route must specify an action");
        continue;
      }
      if (action instanceof Action.Delegate delegate) {
        out.addAll(
            delegate(route, delegate, owner, chain, generatedName, hasName, inheritMatchers, inheritPaths));
        continue;
      }
      RouteAction translated = translateAction(route, action, owner);
      List<Matcher> matchers = route.matchers().isEmpty() ? List.of(Matcher.DEFAULT_PREFIX) : route.matchers();
      if (translated == null || (translated instanceof RouteAction.Forward f && !allExist(f))) {
        if (policy.replaceInvalidRoutes()) {
          translated = policy.response();
        } else if (translated == null) {
          continue;
        }
      }
      checkShadowUpstream(route, owner);
      out.add(new ProxyRoute(hasName ? generatedName : null, matchers, translated, route.options(), owner));
    }
    return out;
  }

  // ------------------------------------------------------------------ delegation

  private List<ProxyRoute> delegate(
      Route route,
      Action.Delegate delegate,
      ResourceKey owner,
      List<ResourceKey> chain,
      String generatedName,
      boolean hasName,
      boolean inheritMatchers,
      boolean inheritPaths) {
    Matcher matcher;
    if (route.matchers().isEmpty()) {
      matcher = Matcher.DEFAULT_PREFIX;
    } else if (route.matchers().size() > 1) {
      error(owner, route.field() + ": routes with delegate actions must omit or specify a single matcher");
      return List.of();
    } else {
      matcher = route.matchers().get(0);
      if (matcher.path() == null) {
        if (!matcher.headers().isEmpty() || !matcher.queryParameters().isEmpty() || !matcher.methods().isEmpty()
            || matcher.caseSensitive() != null) {
          // Gloo replaces such a matcher with the default one, dropping its conditions; say so rather than hide it.
          warn(owner, route.field() + ": the delegating matcher has no path, so it is replaced by prefix '/' and its"
              + " headers, query parameters, methods and caseSensitive are ignored (as in Gloo); add a prefix to keep"
              + " them");
        }
        matcher = Matcher.DEFAULT_PREFIX;
      } else if (matcher.path().type() != Matcher.PathType.PREFIX) {
        error(owner, route.field() + ": routes with delegate actions must use a prefix matcher");
        return List.of();
      }
    }
    String ownerNamespace = owner.namespace();
    String pointPath =
        (parent(chain) == null ? vs.key().toString() : parent(chain)) + "@" + matcher.path().value();
    List<RouteTable> tables = selectTables(route, delegate, owner, ownerNamespace);
    List<ProxyRoute> rejectedAtDecode = lastGoodOfTablesRejectedWhileDecoding(delegate, pointPath);
    if (tables.isEmpty()) {
      if (rejectedAtDecode.isEmpty()) {
        return invalidDelegation(route, matcher);
      }
      return rejectedAtDecode;
    }
    Parent parent =
        new Parent(pointPath, matcher, route.options(), generatedName, hasName, inheritMatchers, inheritPaths);
    // Tables run in ascending weight; within one weight in namespace/name order.
    TreeMap<Integer, List<RouteTable>> byWeight = new TreeMap<>();
    for (RouteTable t : tables) {
      byWeight.computeIfAbsent(t.weight(), w -> new ArrayList<>()).add(t);
    }
    List<ProxyRoute> out = new ArrayList<>();
    for (List<RouteTable> sameWeight : byWeight.values()) {
      List<ProxyRoute> combined = new ArrayList<>();
      for (RouteTable table : sameWeight) {
        if (chain.contains(table.key())) {
          String chainText =
              chain.stream().map(k -> "[" + k + "]").collect(Collectors.joining(" -> "))
                  + " -> [" + table.key() + "]";
          // Name the field that closes the cycle, so the owner of the table knows which route to change.
          error(table.key(), "delegation cycle detected: " + chainText + "; closed by the delegateAction of " + owner
              + " " + route.field());
          continue;
        }
        ctx.usedBy(table.key(), proxyName);
        String tablePath = pointPath + ">" + table.key();
        String key = ProxyLastGood.subtreeKey(listenerName, tablePath);
        if (ctx.substituted(table.key())) {
          combined.addAll(lastGoodSubtree(table.key(), key));
          continue;
        }
        List<ResourceKey> nextChain = new ArrayList<>(chain);
        nextChain.add(table.key());
        String prefix = generatedName + "_rt:" + table.meta().namespace() + "_" + table.meta().name();
        paths.put(table.key(), tablePath);
        List<ProxyRoute> produced = flatten(table.routes(), table.key(), parent, nextChain, prefix);
        paths.remove(table.key());
        subtrees.put(key, produced);
        combined.addAll(produced);
      }
      if (sameWeight.size() > 1) {
        combined.sort(RouteOrdering.ROUTE_ORDER);
      }
      out.addAll(combined);
    }
    out.addAll(rejectedAtDecode);
    return out;
  }

  /** Delegation paths of the tables on the current branch, so nested delegation points get stable keys. */
  private final Map<ResourceKey, String> paths = new HashMap<>();

  private String parent(List<ResourceKey> chain) {
    return chain.size() <= 1 ? null : paths.get(chain.get(chain.size() - 1));
  }

  /** The routes a rejected table last produced here, recorded again for the next translation. */
  private List<ProxyRoute> lastGoodSubtree(ResourceKey table, String key) {
    List<ProxyRoute> last = previous.subtrees().get(key);
    if (last == null) {
      ctx.reports().warning(
          vs.key(),
          "on sub route table " + table.namespace() + "." + table.name()
              + ": the table is rejected and has no last accepted version here; its routes are not served");
      return List.of();
    }
    subtrees.put(key, last);
    ctx.usedByRoutes(last, proxyName);
    ctx.reports().warning(
        vs.key(),
        "on sub route table " + table.namespace() + "." + table.name() + ": the table is rejected; its last accepted "
            + last.size() + " routes keep being served");
    return last;
  }

  /**
   * Tables that this delegation reached last time but that are now rejected while decoding (so they are not in
   * the snapshot and no selector or reference can find them) keep serving their last accepted routes.
   */
  private List<ProxyRoute> lastGoodOfTablesRejectedWhileDecoding(Action.Delegate delegate, String pointPath) {
    String prefix = ProxyLastGood.subtreeKey(listenerName, pointPath + ">");
    List<ProxyRoute> out = new ArrayList<>();
    for (var e : previous.subtrees().tailMap(prefix).entrySet()) {
      if (!e.getKey().startsWith(prefix)) {
        break;
      }
      String rest = e.getKey().substring(prefix.length());
      if (rest.contains("@")) {
        continue; // a deeper delegation point, carried by its own parent
      }
      ResourceKey table = ctx.decodeRejectedKey(rest);
      if (table == null) {
        continue;
      }
      if (delegate.ref() != null && !delegate.ref().equals(table.ref())) {
        continue;
      }
      out.addAll(lastGoodSubtree(table, e.getKey()));
    }
    return out;
  }

  /** A delegation that produced nothing: with replaceInvalidRoutes its prefix answers with the configured response. */
  private List<ProxyRoute> invalidDelegation(Route route, Matcher matcher) {
    if (!policy.replaceInvalidRoutes()) {
      return List.of();
    }
    return List.of(
        new ProxyRoute(null, List.of(matcher), policy.response(), route.options(), vs.key()));
  }

  private List<RouteTable> selectTables(
      Route route, Action.Delegate delegate, ResourceKey owner, String ownerNamespace) {
    if (delegate.ref() != null) {
      ResourceRef ref = delegate.ref();
      RouteTable t = ctx.routeTable(ref);
      if (t == null) {
        String hint =
            ref.namespace().isEmpty()
                ? " (the reference has no namespace, which is never defaulted: add namespace: " + ownerNamespace + ")"
                : ctx.rejectedHint(new ResourceKey(Kind.ROUTE_TABLE, ref.namespace(), ref.name()));
        warn(owner, route.field() + ": route table " + ref + " missing" + hint + "; " + droppedOrReplaced());
        return List.of();
      }
      return List.of(t);
    }
    Action.RouteTableSelector sel = delegate.selector();
    if (sel == null) {
      warn(owner, route.field() + ": delegateAction needs a ref or a selector; the route is dropped");
      return List.of();
    }
    if (!sel.labels().isEmpty() && !sel.expressions().isEmpty()) {
      warn(owner, route.field() + ": the selector cannot use both labels and expressions; the route is dropped");
      return List.of();
    }
    for (LabelExpression e : sel.expressions()) {
      String p = e.validate();
      if (p != null) {
        warn(owner, route.field() + ": invalid selector expression: " + p + "; the route is dropped");
        return List.of();
      }
    }
    SortedSet<String> namespaces =
        new TreeSet<>(sel.namespaces().isEmpty() ? List.of(ownerNamespace) : sel.namespaces());
    RouteTableQuery.Evaluated selection = ctx.selectRouteTables(namespaces, sel);
    List<RouteTable> out = selection.tables();
    // A table rejected while decoding is not in the snapshot, but its owner must still hear that it was selected.
    List<ResourceKey> rejected = selection.query().rejectedMatched();
    for (ResourceKey table : rejected) {
      warn(owner, route.field() + ": route table " + table.ref() + " matches the selector but is rejected: "
          + ctx.firstDecodeError(table));
    }
    if (out.isEmpty() && rejected.isEmpty()) {
      warn(owner, route.field() + ": no route table matches the given selector; " + droppedOrReplaced());
    }
    return out;
  }

  /** Applies inheritable path matchers and inheritable matchers of the parent to a child route. */
  private static Route inherit(Route route, Parent parent, boolean inheritMatchers, boolean inheritPaths) {
    List<Matcher> matchers = new ArrayList<>(route.matchers());
    if (inheritPaths) {
      if (matchers.isEmpty()) {
        matchers.add(Matcher.DEFAULT_PREFIX.withPath(parent.matcher().path(), parent.matcher().caseSensitive()));
      } else {
        matchers.replaceAll(m -> m.withPath(parent.matcher().path(), parent.matcher().caseSensitive()));
      }
    }
    if (matchers.isEmpty()) {
      matchers.add(Matcher.DEFAULT_PREFIX);
    }
    if (inheritMatchers) {
      Matcher p = parent.matcher();
      matchers.replaceAll(
          m ->
              new Matcher(
                  m.path(),
                  m.caseSensitive(),
                  concat(p.headers(), m.headers()),
                  concat(p.queryParameters(), m.queryParameters()),
                  concat(p.methods(), m.methods())));
    }
    return route.withMatchers(matchers);
  }

  private static <T> List<T> concat(List<T> first, List<T> second) {
    List<T> out = new ArrayList<>(first);
    out.addAll(second);
    return out;
  }

  /** Why a child route cannot live under its parent's matcher, or null when it can. */
  private static String incompatibility(Route child, Parent parent) {
    Matcher p = parent.matcher();
    String parentPrefix = p.path() == null ? "/" : p.path().value();
    for (int j = 0; j < child.matchers().size(); j++) {
      Matcher m = child.matchers().get(j);
      String which = "matcher " + j;
      // A child matcher without a path compares as the empty string, as in Gloo, so it never extends the prefix.
      if (m.path() == null) {
        return which + " has no path; under a delegating route every child matcher needs a path that starts with '"
            + parentPrefix + "'";
      }
      String path = m.path().value();
      if (!path.startsWith(parentPrefix)) {
        return which + " path '" + path + "' does not start with the delegating route's prefix '" + parentPrefix + "'";
      }
      if (!Objects.equals(m.caseSensitive(), p.caseSensitive())) {
        return which + " caseSensitive (" + m.caseSensitive() + ") differs from the delegating route's ("
            + p.caseSensitive() + ")";
      }
      for (Matcher.HeaderMatch h : p.headers()) {
        if (!m.headers().contains(h)) {
          return which + " lacks the delegating route's header matcher '" + h.name()
              + "' (set inheritableMatchers: true, or repeat it)";
        }
      }
      for (Matcher.QueryParameterMatch q : p.queryParameters()) {
        if (!m.queryParameters().contains(q)) {
          return which + " lacks the delegating route's query parameter matcher '" + q.name()
              + "' (set inheritableMatchers: true, or repeat it)";
        }
      }
      if (!m.methods().containsAll(p.methods())) {
        return which + " methods " + m.methods() + " do not include the delegating route's methods " + p.methods();
      }
    }
    return null;
  }

  // ------------------------------------------------------------------ actions

  /** A shadowed route mirrors to an Upstream the shard must serve; say so when it does not exist. */
  private void checkShadowUpstream(Route route, ResourceKey owner) {
    var shadowing = route.options().shadowing();
    if (shadowing == null || shadowing.upstream() == null) {
      return;
    }
    ResourceRef ref = shadowing.upstream().withDefaultNamespace(owner.namespace());
    ResourceKey key = new ResourceKey(Kind.UPSTREAM, ref.namespace(), ref.name());
    if (ctx.upstream(ref) == null) {
      warn(owner, route.field() + ": options.shadowing upstream " + ref + " not found" + ctx.rejectedHint(key)
          + "; mirrored requests are dropped until it exists");
    } else {
      ctx.usedBy(key, proxyName);
    }
  }

  private boolean allExist(RouteAction.Forward f) {
    return f.clusters().stream().allMatch(c -> ctx.upstream(c.upstream()) != null);
  }

  private RouteAction translateAction(Route route, Action action, ResourceKey owner) {
    if (action instanceof Action.Redirect r) {
      return new RouteAction.Redirect(r);
    }
    if (action instanceof Action.DirectResponse d) {
      return new RouteAction.DirectResponse(d.status(), d.body());
    }
    Action.Target target = ((Action.Forward) action).target();
    String ownerNs = owner.namespace();
    if (target instanceof Action.Single s) {
      ResourceRef ref = destination(route, s.destination(), owner, ownerNs);
      return ref == null ? null : new RouteAction.Forward(List.of(new RouteAction.ClusterWeight(ref, 0)), false);
    }
    if (target instanceof Action.Multi m) {
      return weighted(route, m.destinations(), owner, ownerNs);
    }
    if (target instanceof Action.UpstreamGroupRef g) {
      UpstreamGroup group = ctx.upstreamGroup(g.ref());
      if (group == null) {
        String hint =
            g.ref().namespace().isEmpty()
                ? " (the reference has no namespace, which is never defaulted: add namespace: " + ownerNs + ")"
                : ctx.rejectedHint(new ResourceKey(Kind.UPSTREAM_GROUP, g.ref().namespace(), g.ref().name()));
        warn(owner, route.field() + ": upstream group " + g.ref() + " not found" + hint + "; the route is dropped");
        return null;
      }
      if (ctx.groupHasErrors(group.key())) {
        warn(owner, route.field() + ": upstream group " + g.ref() + " is rejected; the route is dropped");
        return null;
      }
      ctx.usedBy(group.key(), proxyName);
      // The group was validated on its own (missing upstreams are errors on the group), so only resolve here.
      List<RouteAction.ClusterWeight> clusters = new ArrayList<>();
      for (Action.WeightedDestination wd : group.destinations()) {
        ResourceRef ref =
            wd.destination().upstreamRef(group.meta().namespace(), ctx.lookups().writeNamespace());
        ctx.usedBy(new ResourceKey(Kind.UPSTREAM, ref.namespace(), ref.name()), proxyName);
        warnIfServiceMissing(route, owner, ref, "upstream group " + g.ref() + ": ");
        clusters.add(new RouteAction.ClusterWeight(ref, wd.weight()));
      }
      return new RouteAction.Forward(clusters, true);
    }
    throw new IllegalStateException("unknown target " + target);
  }

  private RouteAction weighted(
      Route route, List<Action.WeightedDestination> destinations, ResourceKey owner, String ns) {
    List<RouteAction.ClusterWeight> clusters = new ArrayList<>();
    long total = 0;
    for (Action.WeightedDestination wd : destinations) {
      ResourceRef ref = destination(route, wd.destination(), owner, ns);
      if (ref == null) {
        return null;
      }
      clusters.add(new RouteAction.ClusterWeight(ref, wd.weight()));
      total += wd.weight();
    }
    if (total < 1) {
      error(owner, route.field() + ": the weights of the destinations add up to " + total + "; they must add up to at least 1");
      return null;
    }
    return new RouteAction.Forward(clusters, true);
  }

  /** The upstream a destination names, its namespace defaulted to the owner's; null when it cannot be served. */
  private ResourceRef destination(Route route, Action.Destination d, ResourceKey owner, String ns) {
    ResourceRef ref = d.upstreamRef(ns, ctx.lookups().writeNamespace());
    if (ref == null) {
      warn(owner, route.field() + ": " + d.unsupported() + " destinations are not served by Shardgate yet; the route is dropped");
      return null;
    }
    ResourceKey key = new ResourceKey(Kind.UPSTREAM, ref.namespace(), ref.name());
    if (ctx.upstream(ref) == null) {
      // Kept, as in Gloo: Envoy answers 503 for this route until the Upstream exists.
      String what = d.service() != null
          ? d.service().describe(ns) + " not found (no Upstream " + ref + " was discovered for it)"
          : "upstream " + ref + " not found" + ctx.rejectedHint(key);
      String until = d.service() != null ? "the Service exists" : "it exists";
      warn(owner, route.field() + ": " + what
          + (policy.replaceInvalidRoutes()
              ? "; requests to this route get the invalid-route response ("
                  + policy.responseCode() + ") until " + until
              : d.service() != null ? "; the route returns 503 until the Service exists"
                  : "; requests to this route get 503 until it exists"));
    } else {
      ctx.usedBy(key, proxyName);
      warnIfServiceMissing(route, owner, ref, "");
    }
    return ref;
  }

  /**
   * A route to a kube Upstream whose Service does not exist is served (its cluster has no endpoints, so Envoy
   * answers 503), and its VirtualService says so: it is never simply Accepted.
   */
  private void warnIfServiceMissing(Route route, ResourceKey owner, ResourceRef ref, String via) {
    Upstream u = ctx.upstream(ref);
    Upstream.KubeSpec missing = ctx.missingService(u);
    if (missing != null) {
      warn(owner, route.field() + ": " + via + "upstream " + ref + " is " + missing.describe()
          + ", which does not exist; the route returns 503 until the Service exists");
    }
    // An Upstream whose TLS cannot be served has no cluster: to this route it is as good as missing.
    String tls = ctx.upstreamTlsProblem(u);
    if (tls != null) {
      warn(owner, route.field() + ": " + via + "upstream " + ref + " has no cluster (" + tls
          + "); requests to this route get 503 until it has one");
    }
  }

  // ------------------------------------------------------------------ reporting

  /** What happens to a route that cannot be served, under the invalid-config policy. */
  private String droppedOrReplaced() {
    return policy.replaceInvalidRoutes()
        ? "the route answers with the invalid-route response (" + policy.responseCode() + ")"
        : "the route is dropped";
  }

  private void warn(ResourceKey owner, String message) {
    ctx.reports().warning(owner, message);
    if (!owner.equals(vs.key())) {
      ctx.reports().warning(vs.key(), "on sub route table " + owner.namespace() + "." + owner.name() + ": " + message);
    }
  }

  /**
   * An error rejects the resource that holds the route. A RouteTable's error only warns its VirtualService: the
   * table's subtree is left out (or served from its last accepted version), the rest of the host keeps serving.
   */
  private void error(ResourceKey owner, String message) {
    ctx.reports().error(owner, message);
    if (!owner.equals(vs.key())) {
      ctx.reports().warning(vs.key(), "on sub route table " + owner.namespace() + "." + owner.name() + ": " + message);
    }
  }
}
