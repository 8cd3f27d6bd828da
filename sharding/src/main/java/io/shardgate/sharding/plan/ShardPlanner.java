package io.shardgate.sharding.plan;

import io.shardgate.sharding.ir.Proxy;
import io.shardgate.sharding.ir.ProxyListener;
import io.shardgate.sharding.ir.ProxyRoute;
import io.shardgate.sharding.ir.ProxyVirtualHost;
import io.shardgate.sharding.ir.RouteAction;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.Resource;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.ResourceSnapshot;
import io.shardgate.sharding.model.RouteOptions;
import io.shardgate.sharding.model.Settings;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.report.ResourceStatus;
import io.shardgate.sharding.translate.GatewayTranslation;
import io.shardgate.sharding.translate.LastGood;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The shard plan: after gateway translation, works out per shard what it serves, which Upstreams it reaches, and a
 * fingerprint of exactly the inputs it depends on; then the domains more than one shard claims, and the edge shard.
 *
 * <p>Stage: shard plan, between gateway translation and xDS translation. Pure function of its arguments (no clock, no
 * I/O, no fields); thread-safe.
 *
 * <p><b>Fingerprint.</b> SHA-256 over the canonical content ({@link Canonical}: no labels, annotations, file:line)
 * of every resource the shard depends on, each named by its key: the resources the translation's statuses say the
 * proxy uses ({@link ResourceStatus#proxies()}); the Gateways, VirtualServices and RouteTables its served
 * listeners, hosts and routes come from (rejected ones served from their last good version included, and the ones
 * whose last good version it carries); every Upstream its routes reach, shadowing included (an Upstream that does
 * not exist counts as "absent", one rejected while decoding as "rejected", so creating or fixing it changes the
 * fingerprint); every Upstream when {@code allUpstreamsPerShard} is on; and the Settings, except the edge block
 * (which only the edge reads). Two translations with equal fingerprints for a shard give it equal Envoy resources, so
 * the pipeline skips its xDS translation and push.
 */
public final class ShardPlanner {

  /** The edge block only changes the edge, which has a fingerprint of its own. */
  private static final Set<String> SHARD_SETTINGS_EXCLUDED = Set.of(Settings.Shardgate.class.getName() + ".edge");

  private ShardPlanner() {}

  public static ShardPlan plan(ResourceSnapshot snapshot, GatewayTranslation translation, PlanSettings settings) {
    String namespace = translation.writeNamespace();
    Inputs inputs = new Inputs(snapshot, translation.statuses());
    String settingsText =
        Canonical.of(snapshot.settings(), SHARD_SETTINGS_EXCLUDED) + "\nallUpstreamsPerShard="
            + settings.allUpstreamsPerShard();

    Map<String, SortedSet<ResourceKey>> used = new HashMap<>();
    translation.statuses().forEach(
        (key, status) -> {
          if (key.kind() != Kind.PROXY && key.kind() != Kind.SETTINGS) {
            status.proxies().forEach(p -> used.computeIfAbsent(p, x -> new TreeSet<>()).add(key));
          }
        });

    SortedMap<String, ShardPlan.Shard> shards = new TreeMap<>();
    for (ShardConfig config : translation.shards().values()) {
      Proxy proxy = config.proxy();
      // Hash sets while collecting (one entry per route), sorted once at the end.
      Set<ResourceKey> collected = new HashSet<>(used.getOrDefault(proxy.name(), new TreeSet<>()));
      SortedSet<ResourceKey> gateways = new TreeSet<>();
      collected.stream().filter(k -> k.kind() == Kind.GATEWAY).forEach(gateways::add);
      List<ShardPlan.VirtualHostPlan> hosts = new ArrayList<>();
      Set<ResourceRef> reachedRefs = new HashSet<>();
      int routes = 0;
      for (ProxyListener l : proxy.listeners()) {
        gateways.add(l.gateway());
        collected.add(l.gateway());
        for (ProxyVirtualHost vh : l.virtualHosts()) {
          collected.add(vh.virtualService());
          hosts.add(new ShardPlan.VirtualHostPlan(vh.virtualService(), l.name(), domains(vh), vh.routes().size()));
          routes += vh.routes().size();
          for (ProxyRoute r : vh.routes()) {
            if (r.source() != null) {
              collected.add(r.source());
            }
            reachedRefs.addAll(upstreamsOf(r));
          }
        }
      }
      collected.addAll(carriedByLastGood(translation.lastGood(), proxy.name()));
      reachedRefs.forEach(ref -> collected.add(upstreamKey(ref)));
      if (settings.allUpstreamsPerShard()) {
        snapshot.upstreams().forEach(u -> collected.add(u.key()));
      }
      SortedSet<ResourceKey> deps = new TreeSet<>(collected);
      SortedSet<ResourceRef> reached = new TreeSet<>(reachedRefs);
      SortedSet<ResourceRef> existing = new TreeSet<>();
      SortedSet<ResourceRef> missing = new TreeSet<>();
      for (ResourceRef ref : reached) {
        (inputs.exists(upstreamKey(ref)) ? existing : missing).add(ref);
      }

      StringBuilder text = new StringBuilder("shard\n").append(namespace).append('\n').append(proxy.name())
          .append('\n').append(settingsText).append('\n');
      for (ResourceKey k : deps) {
        text.append(k).append('=').append(inputs.state(k)).append('\n');
      }
      shards.put(
          proxy.name(),
          new ShardPlan.Shard(
              proxy.name(),
              proxy.role(),
              List.copyOf(gateways),
              hosts,
              routes,
              existing,
              missing,
              deps.stream().filter(k -> k.kind() == Kind.ROUTE_TABLE).toList(),
              deps.stream().filter(k -> k.kind() == Kind.UPSTREAM_GROUP).toList(),
              Canonical.sha256(text.toString())));
    }

    List<ShardPlan.DomainConflict> conflicts = domainConflicts(shards);
    SortedMap<ResourceKey, List<String>> errors = new TreeMap<>();
    SortedMap<ResourceKey, List<String>> warnings = new TreeMap<>();
    EdgePlan edge = null;
    if (settings.edge().enabled()) {
      edge = edge(snapshot.settings().key(), namespace, shards, conflicts, settings, errors, warnings);
    }
    return new ShardPlan(
        namespace, settings.allUpstreamsPerShard(), shards, conflicts, errors, warnings, edge);
  }

  // ------------------------------------------------------------------ inputs

  /** Resource lookups and the memoized content hash of each resource. */
  private static final class Inputs {
    private final Map<ResourceKey, Resource> byKey = new HashMap<>();
    private final Set<ResourceKey> rejectedWhileDecoding = new TreeSet<>();
    private final Map<ResourceKey, String> hashes = new HashMap<>();

    Inputs(ResourceSnapshot snapshot, SortedMap<ResourceKey, ResourceStatus> statuses) {
      List<Resource> all = new ArrayList<>();
      all.addAll(snapshot.gateways());
      all.addAll(snapshot.virtualServices());
      all.addAll(snapshot.routeTables());
      all.addAll(snapshot.upstreams());
      all.addAll(snapshot.upstreamGroups());
      all.forEach(r -> byKey.put(r.key(), r));
      statuses.forEach(
          (k, s) -> {
            if (s.state() == ResourceState.REJECTED && !byKey.containsKey(k)) {
              rejectedWhileDecoding.add(k);
            }
          });
    }

    boolean exists(ResourceKey key) {
      return byKey.containsKey(key);
    }

    /** The content hash of the resource, or {@code rejected} / {@code absent} when it is not in the snapshot. */
    String state(ResourceKey key) {
      Resource r = byKey.get(key);
      if (r == null) {
        return rejectedWhileDecoding.contains(key) ? "rejected" : "absent";
      }
      return hashes.computeIfAbsent(key, k -> Canonical.hash(r));
    }
  }

  private static ResourceKey upstreamKey(ResourceRef ref) {
    return new ResourceKey(Kind.UPSTREAM, ref.namespace(), ref.name());
  }

  /** The Upstreams a route sends traffic to: its destinations and its shadowing target. */
  static List<ResourceRef> upstreamsOf(ProxyRoute r) {
    List<ResourceRef> out = new ArrayList<>();
    if (r.action() instanceof RouteAction.Forward f) {
      f.clusters().forEach(c -> out.add(c.upstream()));
    }
    RouteOptions.Shadowing shadow = r.options().shadowing();
    if (shadow != null && shadow.upstream() != null) {
      out.add(shadow.upstream().withDefaultNamespace(r.source() == null ? "" : r.source().namespace()));
    }
    return out;
  }

  /** The resources whose last good output the proxy carries into the next translation. */
  private static Set<ResourceKey> carriedByLastGood(LastGood lastGood, String proxyName) {
    String prefix = proxyName + "|";
    Set<ResourceKey> out = new HashSet<>();
    for (ProxyListener l : ofProxy(lastGood.listeners(), prefix)) {
      out.add(l.gateway());
      for (ProxyVirtualHost vh : l.virtualHosts()) {
        out.add(vh.virtualService());
        vh.routes().forEach(r -> addSource(out, r));
      }
    }
    for (ProxyVirtualHost vh : ofProxy(lastGood.virtualHosts(), prefix)) {
      out.add(vh.virtualService());
      vh.routes().forEach(r -> addSource(out, r));
    }
    for (List<ProxyRoute> routes : ofProxy(lastGood.subtrees(), prefix)) {
      routes.forEach(r -> addSource(out, r));
    }
    return out;
  }

  private static void addSource(Set<ResourceKey> out, ProxyRoute r) {
    if (r.source() != null) {
      out.add(r.source());
    }
  }

  private static <V> List<V> ofProxy(SortedMap<String, V> map, String prefix) {
    List<V> out = new ArrayList<>();
    for (Map.Entry<String, V> e : map.tailMap(prefix).entrySet()) {
      if (!e.getKey().startsWith(prefix)) {
        break;
      }
      out.add(e.getValue());
    }
    return out;
  }

  /** A virtual host's domains as the edge matches them: lower-cased, sorted, {@code *} when it lists none. */
  private static List<String> domains(ProxyVirtualHost vh) {
    if (vh.domains().isEmpty()) {
      return List.of("*");
    }
    return vh.domains().stream().map(d -> d.toLowerCase(Locale.ROOT)).distinct().sorted().toList();
  }

  // ------------------------------------------------------------------ conflicts and the edge

  private static List<ShardPlan.DomainConflict> domainConflicts(SortedMap<String, ShardPlan.Shard> shards) {
    SortedMap<String, SortedMap<String, SortedSet<ResourceKey>>> claims = new TreeMap<>();
    shards.forEach(
        (name, shard) -> {
          for (ShardPlan.VirtualHostPlan vh : shard.virtualHosts()) {
            for (String d : vh.domains()) {
              claims.computeIfAbsent(d, x -> new TreeMap<>())
                  .computeIfAbsent(name, x -> new TreeSet<>())
                  .add(vh.virtualService());
            }
          }
        });
    List<ShardPlan.DomainConflict> out = new ArrayList<>();
    claims.forEach(
        (domain, byShard) -> {
          if (byShard.size() > 1) {
            out.add(new ShardPlan.DomainConflict(domain, byShard));
          }
        });
    return out;
  }

  private static EdgePlan edge(
      ResourceKey settingsKey,
      String namespace,
      SortedMap<String, ShardPlan.Shard> shards,
      List<ShardPlan.DomainConflict> conflicts,
      PlanSettings settings,
      SortedMap<ResourceKey, List<String>> errors,
      SortedMap<ResourceKey, List<String>> warnings) {
    Settings.Edge e = settings.edge();
    if (shards.containsKey(e.proxyName())) {
      add(warnings, settingsKey,
          "spec.shardgate.edge.proxyName: '" + e.proxyName() + "' is also the proxy name of a Gateway's shard; the"
              + " edge shard is not built (give the edge a name no Gateway uses in proxyNames)");
      return null;
    }
    Set<String> conflicted = new TreeSet<>();
    for (ShardPlan.DomainConflict c : conflicts) {
      conflicted.add(c.domain());
      String all =
          c.claimants().entrySet().stream()
              .map(en -> "shard " + en.getKey() + " ("
                  + en.getValue().stream().map(ResourceKey::toString).collect(Collectors.joining(", ")) + ")")
              .collect(Collectors.joining(" and "));
      c.claimants().forEach(
          (shard, owners) -> {
            for (ResourceKey owner : owners) {
              add(errors, owner,
                  "edge routing conflict: the domain '" + c.domain() + "' is claimed by " + all + "; the edge shard "
                      + e.proxyName() + " does not route it (it answers 404 there) until only one shard claims it;"
                      + " shard " + shard + " itself still serves this VirtualService");
            }
          });
    }
    for (String name : e.shardAddresses().keySet()) {
      if (!shards.containsKey(name)) {
        add(warnings, settingsKey, "spec.shardgate.edge.shardAddresses." + name + ": no Gateway feeds a shard named '"
            + name + "'; ignored (shards: " + shards.keySet() + ")");
      }
    }
    for (String name : e.shardTlsAddresses().keySet()) {
      if (!shards.containsKey(name)) {
        add(warnings, settingsKey, "spec.shardgate.edge.shardTlsAddresses." + name
            + ": no Gateway feeds a shard named '" + name + "'; ignored (shards: " + shards.keySet() + ")");
      }
    }
    List<EdgePlan.Target> targets = new ArrayList<>();
    for (ShardPlan.Shard shard : shards.values()) {
      List<String> domains = shard.domains().stream().filter(d -> !conflicted.contains(d)).toList();
      if (domains.isEmpty()) {
        continue;
      }
      Settings.HostPort http = settings.httpAddress(shard.proxyName(), namespace);
      Settings.HostPort tls = e.shardTlsAddresses().get(shard.proxyName());
      if (http == null) {
        add(warnings, settingsKey,
            "spec.shardgate.edge.shardAddresses: no address for shard " + shard.proxyName() + "; the edge does not"
                + " route its plain HTTP domains " + domains + " (add " + shard.proxyName() + ": \"host:port\")");
      }
      if (http == null && tls == null) {
        continue;
      }
      List<String> serverNames = tls == null ? List.of() : domains.stream().filter(ShardPlanner::isServerName).toList();
      targets.add(new EdgePlan.Target(shard.proxyName(), http, tls, domains, serverNames));
    }
    return EdgePlan.of(e.proxyName(), namespace, e.bindAddress(), e.bindPort(), e.tlsBindPort(), targets);
  }

  /** Whether a domain can be a TLS server name match: a host name, or {@code *.} and a host name; no port. */
  static boolean isServerName(String domain) {
    String d = domain.startsWith("*.") ? domain.substring(2) : domain;
    return !d.isEmpty() && d.matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*");
  }

  private static void add(SortedMap<ResourceKey, List<String>> map, ResourceKey key, String message) {
    List<String> list = map.computeIfAbsent(key, k -> new ArrayList<>());
    if (!list.contains(message)) {
      list.add(message);
    }
  }
}
