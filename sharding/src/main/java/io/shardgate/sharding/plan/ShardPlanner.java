package io.shardgate.sharding.plan;

import io.shardgate.sharding.ir.Proxy;
import io.shardgate.sharding.ir.ProxyFilterChain;
import io.shardgate.sharding.ir.ProxyListener;
import io.shardgate.sharding.ir.ProxyRoute;
import io.shardgate.sharding.ir.ProxyVirtualHost;
import io.shardgate.sharding.ir.RouteAction;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.ResourceSnapshot;
import io.shardgate.sharding.model.RouteOptions;
import io.shardgate.sharding.model.Settings;
import io.shardgate.sharding.report.ResourceStatus;
import io.shardgate.sharding.translate.GatewayTranslation;
import io.shardgate.sharding.translate.ProxyLastGood;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
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
 * (which only the edge reads). A resource that is rejected (here or on another shard) counts as such, since the shard
 * then serves its last good version. Equal fingerprints mean the shard serves the same; the fingerprint is what
 * operators compare ({@code plan}, {@code GET /api/shards}).
 */
public final class ShardPlanner {

  /** The edge block only changes the edge, which has a fingerprint of its own. */
  private static final Set<String> SHARD_SETTINGS_EXCLUDED = Set.of(Settings.Shardgate.class.getName() + ".edge");

  private ShardPlanner() {}

  /** The plan of a finished translation, from scratch. */
  public static ShardPlan plan(ResourceSnapshot snapshot, GatewayTranslation translation, PlanSettings settings) {
    return new ShardPlanCache().plan(PlanInput.of(snapshot, translation), settings);
  }

  /** The Settings part of every shard's fingerprint. */
  static String settingsText(Settings settings, PlanSettings planSettings) {
    return Canonical.of(settings, SHARD_SETTINGS_EXCLUDED) + "\nallUpstreamsPerShard="
        + planSettings.allUpstreamsPerShard();
  }

  /**
   * One shard's plan.
   *
   * @param reached per virtual host, the Upstreams its routes reach and the resources its routes come from (a
   *     cache of {@link #reachOf})
   * @param state the fingerprint line of a resource ({@code hash}, {@code absent}, {@code rejected}, ...)
   */
  static Planned planShard(ShardConfig config, PlanInput in, PlanSettings settings, String settingsText,
      Function<ProxyVirtualHost, Reach> reached, Function<ResourceKey, String> state) {
    Proxy proxy = config.proxy();
    // Hash sets while collecting (one entry per route), sorted once at the end.
    Set<ResourceKey> collected = new HashSet<>(in.usedBy().apply(proxy.name()));
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
        Reach reach = reached.apply(vh);
        collected.addAll(reach.sources());
        reachedRefs.addAll(reach.upstreams());
      }
    }
    collected.addAll(in.lastGood().apply(proxy.name()).carriedKeys());
    reachedRefs.forEach(ref -> collected.add(upstreamKey(ref)));
    if (settings.allUpstreamsPerShard()) {
      in.snapshot().upstreams().forEach(u -> collected.add(u.key()));
    }
    SortedSet<ResourceKey> deps = new TreeSet<>(collected);
    SortedSet<ResourceRef> existing = new TreeSet<>();
    SortedSet<ResourceRef> missing = new TreeSet<>();
    for (ResourceRef ref : new TreeSet<>(reachedRefs)) {
      (in.resource().apply(upstreamKey(ref)) != null ? existing : missing).add(ref);
    }
    StringBuilder text = new StringBuilder("shard\n").append(in.writeNamespace()).append('\n').append(proxy.name())
        .append('\n').append(settingsText).append('\n');
    for (ResourceKey k : deps) {
      text.append(k).append('=').append(state.apply(k)).append('\n');
    }
    return new Planned(new ShardPlan.Shard(
        proxy.name(),
        proxy.role(),
        List.copyOf(gateways),
        hosts,
        routes,
        existing,
        missing,
        deps.stream().filter(k -> k.kind() == Kind.ROUTE_TABLE).toList(),
        deps.stream().filter(k -> k.kind() == Kind.UPSTREAM_GROUP).toList(),
        Canonical.sha256(text.toString())), deps);
  }

  /** A shard's plan and the resources its fingerprint covers. */
  record Planned(ShardPlan.Shard shard, SortedSet<ResourceKey> deps) {}

  /** What the routes of one virtual host reach: Upstreams (destinations and shadowing) and their sources. */
  record Reach(Set<ResourceRef> upstreams, Set<ResourceKey> sources) {}

  static Reach reachOf(ProxyVirtualHost vh) {
    Set<ResourceRef> upstreams = new HashSet<>();
    Set<ResourceKey> sources = new HashSet<>();
    for (ProxyRoute r : vh.routes()) {
      if (r.source() != null) {
        sources.add(r.source());
      }
      upstreams.addAll(upstreamsOf(r));
    }
    return new Reach(Set.copyOf(upstreams), Set.copyOf(sources));
  }

  /** The plan-wide part: domains two shards claim, and the edge. */
  static ShardPlan finish(PlanInput in, PlanSettings settings, SortedMap<String, ShardPlan.Shard> shards) {
    List<ShardPlan.DomainConflict> conflicts = domainConflicts(shards);
    SortedMap<ResourceKey, List<String>> errors = new TreeMap<>();
    SortedMap<ResourceKey, List<String>> warnings = new TreeMap<>();
    EdgePlan edge = null;
    if (settings.edge().enabled()) {
      edge = edge(in.snapshot().settings().key(), in.writeNamespace(), shards, in.shards(), conflicts, settings, errors,
          warnings);
    }
    return new ShardPlan(
        in.writeNamespace(), settings.allUpstreamsPerShard(), shards, conflicts, errors, warnings, edge);
  }

  static ResourceKey upstreamKey(ResourceRef ref) {
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
      SortedMap<String, ShardConfig> configs,
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
    boolean terminate = e.tlsMode() == Settings.Edge.TlsMode.TERMINATE;
    Set<String> sniConflicts = sniConflicts(shards.keySet(), configs, settingsKey, warnings);
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
      EdgeTls edgeTls = edgeTls(shard.proxyName(), configs.get(shard.proxyName()), terminate, sniConflicts,
          conflicted, tls, settingsKey, warnings);
      targets.add(new EdgePlan.Target(shard.proxyName(), http, tls, domains, edgeTls.passthrough(),
          edgeTls.terminated(), edgeTls.domains()));
    }
    return EdgePlan.of(e.proxyName(), namespace, e.bindAddress(), e.bindPort(), e.tlsBindPort(), e.tlsMode(),
        targets);
  }

  /** What the edge does with one shard's TLS: names it passes through, chains it terminates, their Host values. */
  private record EdgeTls(List<String> passthrough, List<ProxyFilterChain> terminated, List<String> domains) {
    static final EdgeTls NONE = new EdgeTls(List.of(), List.of(), List.of());
  }

  /**
   * The TLS of one shard as the edge sees it: exactly the SNI names its TLS filter chains match (the names two shards
   * claim left out: the edge's one TLS listener could not tell them apart, and Envoy would refuse it). With
   * {@code Terminate}, the chains that do not verify client certificates are terminated at the edge (with the same
   * TLS settings, so the same secrets) and their hosts sent on by Host; the others stay passed through, because the
   * edge cannot present the client's certificate to the shard.
   */
  private static EdgeTls edgeTls(String shard, ShardConfig config, boolean terminate, Set<String> sniConflicts,
      Set<String> domainConflicts, Settings.HostPort tls, ResourceKey settingsKey,
      SortedMap<ResourceKey, List<String>> warnings) {
    List<ProxyListener> ssl = config == null ? List.of()
        : config.proxy().listeners().stream().filter(ProxyListener::isSsl).toList();
    if (ssl.isEmpty()) {
      return EdgeTls.NONE;
    }
    if (tls == null) {
      add(warnings, settingsKey, "spec.shardgate.edge.shardTlsAddresses: no address for shard " + shard + ", which"
          + " terminates TLS (" + ssl.get(0).name() + "); the edge sends it no TLS (add " + shard
          + ": \"host:port\")");
      return EdgeTls.NONE;
    }
    if (ssl.size() > 1) {
      add(warnings, settingsKey, "spec.shardgate.edge.shardTlsAddresses." + shard + ": shard " + shard + " has "
          + ssl.size() + " TLS listeners (" + ssl.stream().map(ProxyListener::name).collect(Collectors.joining(", "))
          + "); the edge sends the TLS of all of them to its one TLS address " + tls);
    }
    SortedSet<String> passthrough = new TreeSet<>();
    List<ProxyFilterChain> terminated = new ArrayList<>();
    SortedSet<String> domains = new TreeSet<>();
    for (ProxyListener l : ssl) {
      for (ProxyFilterChain c : l.filterChains()) {
        if (c.serverNames().isEmpty()) {
          add(warnings, settingsKey, "spec.shardgate.edge: shard " + shard + " has a TLS filter chain that matches"
              + " every SNI (" + c.virtualServices().stream().map(ResourceKey::toString)
              .collect(Collectors.joining(", ")) + "); the edge routes TLS by SNI name only, so it sends that chain"
              + " nothing (give those VirtualServices domains or sniDomains)");
          continue;
        }
        List<String> names = c.serverNames().stream().filter(n -> !sniConflicts.contains(n)).toList();
        if (names.isEmpty()) {
          continue;
        }
        if (!terminate || c.requiresClientCertificate()) {
          passthrough.addAll(names);
          continue;
        }
        terminated.add(new ProxyFilterChain(names, c.sslConfig(), c.virtualServices()));
        Set<ResourceKey> members = Set.copyOf(c.virtualServices());
        for (ProxyVirtualHost vh : l.virtualHosts()) {
          if (members.contains(vh.virtualService())) {
            domains(vh).stream().filter(d -> !domainConflicts.contains(d)).forEach(domains::add);
          }
        }
      }
    }
    return new EdgeTls(List.copyOf(passthrough), terminated, List.copyOf(domains));
  }

  /**
   * The SNI names the TLS filter chains of more than one shard match, each with a warning on the Settings naming the
   * shards: the edge leaves them out for all of them.
   */
  private static Set<String> sniConflicts(Set<String> shards, SortedMap<String, ShardConfig> configs,
      ResourceKey settingsKey, SortedMap<ResourceKey, List<String>> warnings) {
    SortedMap<String, SortedSet<String>> claims = new TreeMap<>();
    for (String shard : shards) {
      ShardConfig config = configs.get(shard);
      if (config == null) {
        continue;
      }
      for (ProxyListener l : config.proxy().listeners()) {
        if (l.isSsl()) {
          l.filterChains().forEach(c -> c.serverNames().forEach(
              n -> claims.computeIfAbsent(n, k -> new TreeSet<>()).add(shard)));
        }
      }
    }
    Set<String> out = new TreeSet<>();
    claims.forEach((name, by) -> {
      if (by.size() > 1) {
        out.add(name);
        add(warnings, settingsKey, "spec.shardgate.edge: the SNI name '" + name + "' is matched by TLS filter chains"
            + " of the shards " + String.join(" and ", by) + "; the edge sends its TLS to none of them until only one"
            + " shard terminates it");
      }
    });
    return out;
  }

  private static void add(SortedMap<ResourceKey, List<String>> map, ResourceKey key, String message) {
    List<String> list = map.computeIfAbsent(key, k -> new ArrayList<>());
    if (!list.contains(message)) {
      list.add(message);
    }
  }
}
