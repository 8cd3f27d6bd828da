package io.shardgate.sharding.plan;

import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.report.Reports;
import io.shardgate.sharding.report.ResourceStatus;
import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Which inputs and Upstreams each shard depends on, what each shard serves, the domains more than one shard claims,
 * and the synthesized edge shard. Output of {@link ShardPlanner}; immutable.
 *
 * @param writeNamespace the namespace of every Proxy (the first half of node roles)
 * @param allUpstreamsPerShard whether shards keep every Upstream's cluster ({@link #withReachedClusters} is then the
 *     identity)
 * @param shards one per gateway-proxy shard (the edge excluded), by proxy name
 * @param domainConflicts domains claimed by more than one shard, sorted by domain; errors only when the edge is
 *     enabled (without an edge, each shard serving its own copy of a host is ordinary Gloo usage)
 * @param errors errors the plan found, per resource, to merge into the translation's statuses
 *     ({@link #withStatuses}): domain conflicts at the edge, an edge whose name a Gateway also uses
 * @param warnings warnings the plan found, per resource (Settings: shards the edge cannot reach, addresses for shards
 *     that do not exist)
 * @param edge the edge shard, or null when it is disabled or cannot be built
 */
public record ShardPlan(
    String writeNamespace,
    boolean allUpstreamsPerShard,
    SortedMap<String, Shard> shards,
    List<DomainConflict> domainConflicts,
    SortedMap<ResourceKey, List<String>> errors,
    SortedMap<ResourceKey, List<String>> warnings,
    EdgePlan edge) {

  public ShardPlan {
    shards = Collections.unmodifiableSortedMap(new TreeMap<>(shards));
    domainConflicts = List.copyOf(domainConflicts);
    errors = frozen(errors);
    warnings = frozen(warnings);
  }

  /**
   * One gateway-proxy shard.
   *
   * @param proxyName the proxy name
   * @param role {@code <writeNamespace>~<proxyName>}
   * @param gateways the Gateways that feed it
   * @param virtualHosts what it serves, in listener then virtual host order
   * @param routes flattened routes over all its virtual hosts
   * @param upstreams the Upstreams its routes reach (forward destinations, UpstreamGroup destinations, shadowing)
   *     that exist
   * @param missingUpstreams Upstreams its routes name that do not exist (or are rejected): requests to those routes
   *     get 503 (or the invalid-route response)
   * @param routeTables the RouteTables its delegation reaches
   * @param upstreamGroups the UpstreamGroups its routes use
   * @param fingerprint SHA-256 (hex) over exactly the inputs this shard depends on (see {@link ShardPlanner})
   */
  public record Shard(
      String proxyName,
      String role,
      List<ResourceKey> gateways,
      List<VirtualHostPlan> virtualHosts,
      int routes,
      SortedSet<ResourceRef> upstreams,
      SortedSet<ResourceRef> missingUpstreams,
      List<ResourceKey> routeTables,
      List<ResourceKey> upstreamGroups,
      String fingerprint) {

    public Shard {
      gateways = List.copyOf(gateways);
      virtualHosts = List.copyOf(virtualHosts);
      upstreams = Collections.unmodifiableSortedSet(new TreeSet<>(upstreams));
      missingUpstreams = Collections.unmodifiableSortedSet(new TreeSet<>(missingUpstreams));
      routeTables = List.copyOf(routeTables);
      upstreamGroups = List.copyOf(upstreamGroups);
    }

    /** Every domain it serves, lower-cased ({@code *} for a virtual host without domains), sorted. */
    public SortedSet<String> domains() {
      SortedSet<String> out = new TreeSet<>();
      virtualHosts.forEach(v -> out.addAll(v.domains()));
      return Collections.unmodifiableSortedSet(out);
    }
  }

  /**
   * One virtual host a shard serves.
   *
   * @param virtualService the VirtualService it was built from
   * @param listener the Envoy listener it is on
   * @param domains lower-cased, sorted, {@code *} when the VirtualService lists none
   * @param routes its flattened routes
   */
  public record VirtualHostPlan(ResourceKey virtualService, String listener, List<String> domains, int routes) {
    public VirtualHostPlan {
      domains = List.copyOf(domains);
    }
  }

  /**
   * A domain that more than one shard serves.
   *
   * @param claimants per shard, the VirtualServices on it that claim the domain
   */
  public record DomainConflict(String domain, SortedMap<String, SortedSet<ResourceKey>> claimants) {
    public DomainConflict {
      TreeMap<String, SortedSet<ResourceKey>> copy = new TreeMap<>();
      claimants.forEach((k, v) -> copy.put(k, Collections.unmodifiableSortedSet(new TreeSet<>(v))));
      claimants = Collections.unmodifiableSortedMap(copy);
    }
  }

  /** The role of every shard the plan serves, the edge included, to its fingerprint. */
  public SortedMap<String, String> fingerprints() {
    SortedMap<String, String> out = new TreeMap<>();
    shards.values().forEach(s -> out.put(s.role(), s.fingerprint()));
    if (edge != null) {
      out.put(edge.role(), edge.fingerprint());
    }
    return Collections.unmodifiableSortedMap(out);
  }

  /** The fingerprint of the shard (or edge) with this role, or null when the plan has none. */
  public String fingerprintOf(String role) {
    return fingerprints().get(role);
  }

  /**
   * {@code config} with only the clusters its shard's routes reach; unchanged when {@link #allUpstreamsPerShard}
   * or when the plan does not know the shard.
   */
  public ShardConfig withReachedClusters(ShardConfig config) {
    Shard shard = shards.get(config.proxy().name());
    if (allUpstreamsPerShard || shard == null) {
      return config;
    }
    return new ShardConfig(
        config.proxy(),
        config.clusters().stream()
            .filter(c -> shard.upstreams().contains(c.upstream()) || shard.missingUpstreams().contains(c.upstream()))
            .toList());
  }

  /**
   * {@code statuses} with the plan's errors and warnings added (and the edge Proxy registered when there is one).
   * A VirtualService with an edge conflict is then Rejected, and {@code validate} fails on it.
   */
  public SortedMap<ResourceKey, ResourceStatus> withStatuses(SortedMap<ResourceKey, ResourceStatus> statuses) {
    if (errors.isEmpty() && warnings.isEmpty() && edge == null) {
      return statuses;
    }
    Reports reports = new Reports().addAll(statuses);
    errors.forEach((k, ms) -> ms.forEach(m -> reports.accept(k, "").error(k, m)));
    warnings.forEach((k, ms) -> ms.forEach(m -> reports.accept(k, "").warning(k, m)));
    if (edge != null) {
      reports.accept(new ResourceKey(Kind.PROXY, writeNamespace, edge.proxyName()), "");
    }
    return reports.freeze();
  }

  /** The key of the edge's Proxy (only meaningful when {@link #edge} is set). */
  public ResourceKey edgeProxyKey() {
    return new ResourceKey(Kind.PROXY, writeNamespace, edge.proxyName());
  }

  private static SortedMap<ResourceKey, List<String>> frozen(SortedMap<ResourceKey, List<String>> in) {
    TreeMap<ResourceKey, List<String>> out = new TreeMap<>();
    in.forEach((k, v) -> out.put(k, List.copyOf(v)));
    return Collections.unmodifiableSortedMap(out);
  }
}
