package io.shardgate.sharding.translate;

import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.ResourceSnapshot;
import io.shardgate.sharding.model.RouteTable;
import io.shardgate.sharding.model.Upstream;
import io.shardgate.sharding.model.UpstreamGroup;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.report.ResourceStatus;
import io.shardgate.sharding.report.Reports;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The lookups and the report collector of one gateway-translation call. Built per call and never shared, so the
 * translators stay pure; not thread-safe.
 */
final class TranslationContext {

  private final ResourceSnapshot snapshot;
  private final Reports reports;
  private final SortedMap<ResourceKey, ResourceStatus> decodeStatuses;
  private final Map<ResourceRef, RouteTable> routeTables;
  private final Map<ResourceRef, Upstream> upstreams;
  private final Map<ResourceRef, UpstreamGroup> upstreamGroups;
  private final Map<String, List<RouteTable>> routeTablesByNamespace;

  private final SortedMap<ResourceKey, io.shardgate.sharding.model.ObjectMeta> rejectedMeta;
  private final Map<String, ResourceKey> rejectedWhileDecodingByName = new java.util.HashMap<>();

  TranslationContext(
      ResourceSnapshot snapshot,
      Reports reports,
      SortedMap<ResourceKey, ResourceStatus> decodeStatuses,
      SortedMap<ResourceKey, io.shardgate.sharding.model.ObjectMeta> rejectedMeta) {
    this.rejectedMeta = rejectedMeta;
    decodeStatuses.forEach(
        (k, st) -> {
          if (st.state() == ResourceState.REJECTED) {
            rejectedWhileDecodingByName.put(k.toString(), k);
          }
        });
    this.snapshot = snapshot;
    this.reports = reports;
    this.decodeStatuses = decodeStatuses;
    this.routeTables = snapshot.routeTables().stream().collect(Collectors.toMap(t -> t.meta().ref(), Function.identity()));
    this.upstreams = snapshot.upstreams().stream().collect(Collectors.toMap(u -> u.meta().ref(), Function.identity()));
    this.upstreamGroups =
        snapshot.upstreamGroups().stream().collect(Collectors.toMap(g -> g.meta().ref(), Function.identity()));
    // Selectors look in one namespace far more often than in all of them: index so each lookup is not a full scan.
    this.routeTablesByNamespace =
        snapshot.routeTables().stream()
            .collect(Collectors.groupingBy(t -> t.meta().namespace(), java.util.TreeMap::new, Collectors.toList()));
  }

  ResourceSnapshot snapshot() {
    return snapshot;
  }

  Reports reports() {
    return reports;
  }

  RouteTable routeTable(ResourceRef ref) {
    return routeTables.get(ref);
  }

  /** RouteTables rejected while decoding whose labels match, in the given namespaces ({@code *} for all). */
  List<ResourceKey> rejectedTablesMatching(
      java.util.Set<String> namespaces, java.util.function.Predicate<Map<String, String>> labels) {
    List<ResourceKey> out = new java.util.ArrayList<>();
    rejectedMeta.forEach(
        (key, meta) -> {
          if (key.kind() == Kind.ROUTE_TABLE
              && (namespaces.contains("*") || namespaces.contains(key.namespace()))
              && labels.test(meta.labels())) {
            out.add(key);
          }
        });
    return out;
  }

  /** The route tables of one namespace, in namespace/name order. */
  List<RouteTable> routeTablesIn(String namespace) {
    return routeTablesByNamespace.getOrDefault(namespace, List.of());
  }

  Upstream upstream(ResourceRef ref) {
    return upstreams.get(ref);
  }

  UpstreamGroup upstreamGroup(ResourceRef ref) {
    return upstreamGroups.get(ref);
  }

  void usedBy(ResourceKey key, String proxyName) {
    reports.usedBy(key, proxyName);
  }

  /**
   * Marks the upstreams that served routes send to as used by {@code proxyName}: last good routes still send
   * traffic there, so their Upstreams must keep their clusters and must not look unused.
   */
  void usedByRoutes(List<io.shardgate.sharding.ir.ProxyRoute> routes, String proxyName) {
    for (var r : routes) {
      if (r.action() instanceof io.shardgate.sharding.ir.RouteAction.Forward f) {
        for (var c : f.clusters()) {
          usedBy(new ResourceKey(Kind.UPSTREAM, c.upstream().namespace(), c.upstream().name()), proxyName);
        }
      }
      var shadowing = r.options().shadowing();
      if (shadowing != null && shadowing.upstream() != null) {
        var ref = shadowing.upstream().withDefaultNamespace(r.source().namespace());
        usedBy(new ResourceKey(Kind.UPSTREAM, ref.namespace(), ref.name()), proxyName);
      }
    }
  }

  /** Explains a failed lookup when the resource exists but was rejected while decoding; else empty. */
  String rejectedHint(ResourceKey key) {
    ResourceStatus s = decodeStatuses.get(key);
    if (s != null && s.state() == ResourceState.REJECTED) {
      return " (" + key + " exists but is rejected: " + s.errors().get(0) + ")";
    }
    return "";
  }

  /** The key named by {@code text} ({@code Kind ns/name}) when that resource was rejected while decoding; else null. */
  ResourceKey decodeRejectedKey(String text) {
    return rejectedWhileDecodingByName.get(text);
  }

  /** The first error that rejected {@code key} while decoding, or empty. */
  String firstDecodeError(ResourceKey key) {
    ResourceStatus s = decodeStatuses.get(key);
    return s == null || s.errors().isEmpty() ? "" : s.errors().get(0);
  }

  boolean rejectedWhileDecoding(ResourceKey key) {
    ResourceStatus s = decodeStatuses.get(key);
    return s != null && s.state() == ResourceState.REJECTED;
  }

  static ResourceKey proxyKey(String namespace, String name) {
    return new ResourceKey(Kind.PROXY, namespace, name);
  }
}
