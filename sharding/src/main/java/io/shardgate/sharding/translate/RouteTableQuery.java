package io.shardgate.sharding.translate;

import io.shardgate.sharding.model.Action;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.RouteTable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * One RouteTable selector evaluated against one call's {@link Lookups}: the tables it selects, and the tables
 * rejected while decoding whose labels it matches (their owners must hear about them). Kept by the piece of
 * translation that made it, so a later call can tell whether the selection is still the same without re-running
 * the translation. Immutable; pure.
 *
 * @param namespaces the namespaces searched ({@code *} for all)
 * @param matched the selected tables' keys, in the order they were found (namespace, then name)
 * @param rejectedMatched keys of tables rejected while decoding that the selector matches, sorted
 */
record RouteTableQuery(
    SortedSet<String> namespaces,
    Action.RouteTableSelector selector,
    List<ResourceKey> matched,
    List<ResourceKey> rejectedMatched) {

  /** Runs the selector and returns the query with its result, plus the selected tables in order. */
  static Evaluated evaluate(Lookups lookups, SortedSet<String> namespaces, Action.RouteTableSelector selector) {
    List<RouteTable> candidates;
    if (namespaces.contains("*")) {
      candidates = lookups.snapshot().routeTables();
    } else {
      candidates = new ArrayList<>();
      for (String ns : namespaces) {
        candidates.addAll(lookups.routeTablesByNamespace().getOrDefault(ns, List.of()));
      }
    }
    List<RouteTable> tables = new ArrayList<>();
    List<ResourceKey> keys = new ArrayList<>();
    for (RouteTable t : candidates) {
      if (selects(selector, t.meta().labels())) {
        tables.add(t);
        keys.add(t.key());
      }
    }
    List<ResourceKey> rejected = new ArrayList<>();
    lookups.rejectedMeta().forEach((key, meta) -> {
      if (key.kind() == Kind.ROUTE_TABLE
          && (namespaces.contains("*") || namespaces.contains(key.namespace()))
          && selects(selector, meta.labels())) {
        rejected.add(key);
      }
    });
    return new Evaluated(new RouteTableQuery(new TreeSet<>(namespaces), selector, List.copyOf(keys),
        List.copyOf(rejected)), tables);
  }

  /** A query and the tables it selected. */
  record Evaluated(RouteTableQuery query, List<RouteTable> tables) {}

  /** Whether the same selector selects the same tables in {@code lookups}. */
  boolean stillSelectsTheSame(Lookups lookups) {
    Iterable<String> changed = lookups.changedRouteTableNamespaces();
    boolean touched = false;
    for (String ns : changed) {
      if (ns.equals("*") || namespaces.contains("*") || namespaces.contains(ns)) {
        touched = true;
        break;
      }
    }
    if (!touched) {
      return true;
    }
    RouteTableQuery now = evaluate(lookups, namespaces, selector).query();
    return now.matched.equals(matched) && now.rejectedMatched.equals(rejectedMatched);
  }

  static boolean selects(Action.RouteTableSelector sel, Map<String, String> labels) {
    for (Map.Entry<String, String> en : sel.labels().entrySet()) {
      if (!en.getValue().equals(labels.get(en.getKey()))) {
        return false;
      }
    }
    return sel.expressions().stream().allMatch(e -> e.matches(labels));
  }
}
