package io.shardgate.sharding.translate;

import io.shardgate.sharding.decode.DecodedResources;
import io.shardgate.sharding.ir.Proxy;
import io.shardgate.sharding.ir.ProxyListener;
import io.shardgate.sharding.ir.ProxyRoute;
import io.shardgate.sharding.ir.ProxyVirtualHost;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.ir.UpstreamCluster;
import io.shardgate.sharding.model.Action;
import io.shardgate.sharding.model.Gateway;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.Resource;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.ResourceSnapshot;
import io.shardgate.sharding.model.Settings;
import io.shardgate.sharding.model.Upstream;
import io.shardgate.sharding.model.UpstreamGroup;
import io.shardgate.sharding.model.VirtualService;
import io.shardgate.sharding.report.Reports;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Gateway translation: Gateways, VirtualServices and RouteTables to one {@link Proxy} per proxy name, plus the
 * status of every resource.
 *
 * <p>Stage: gateway translation. Pure function of its input (no clock, no I/O, no fields): equal input gives equal
 * output, whatever order the resources arrived in. Thread-safe.
 *
 * <p>How a mistake is contained: a rejected VirtualService loses only its own virtual host, a rejected Gateway only
 * its own listener; the rest of the shard is built as usual. Where Gloo rejects a whole Gateway for a domain
 * conflict, Shardgate rejects only the VirtualServices that conflict.
 */
public final class GatewayTranslator {

  private GatewayTranslator() {}

  /** Translates with no last good state (a first start, or tools that show only the current input). */
  public static GatewayTranslation translate(DecodedResources in) {
    return translate(in, LastGood.EMPTY, InvalidRoutePolicy.DEFAULT);
  }

  /**
   * Translates, serving the last accepted output of every rejected resource from {@code previous}; the result
   * carries the next last good state.
   */
  public static GatewayTranslation translate(DecodedResources in, LastGood previous, InvalidRoutePolicy policy) {
    ResourceSnapshot snapshot = in.snapshot();
    Settings settings = snapshot.settings();
    String writeNamespace = settings.discoveryNamespace();
    Reports reports = new Reports().addAll(in.statuses());
    for (Resource r : allResources(snapshot)) {
      reports.accept(r.key(), r.meta().origin());
    }
    TranslationContext ctx = new TranslationContext(snapshot, reports, in.statuses(), in.rejectedMeta());
    validateUpstreamGroups(ctx);

    // Group before filtering by namespace, as Gloo does: a proxy whose Gateways are all filtered out has no Proxy.
    SortedMap<String, List<Gateway>> byProxy = new TreeMap<>();
    for (Gateway g : snapshot.gateways()) {
      for (String name : g.proxyNames()) {
        byProxy.computeIfAbsent(name, n -> new ArrayList<>()).add(g);
      }
    }
    for (Gateway g : snapshot.gateways()) {
      if (!settings.readGatewaysFromAllNamespaces() && !g.meta().namespace().equals(writeNamespace)) {
        reports.warning(
            g.key(),
            "Gateway is outside the write namespace " + writeNamespace
                + " and settings.gateway.readGatewaysFromAllNamespaces is false; it is ignored (move it to "
                + writeNamespace + " or set readGatewaysFromAllNamespaces: true)");
      }
    }
    Map<String, List<Gateway>> servedGateways = new LinkedHashMap<>();
    byProxy.forEach(
        (proxyName, gateways) -> {
          List<Gateway> kept =
              gateways.stream()
                  .filter(g -> settings.readGatewaysFromAllNamespaces() || g.meta().namespace().equals(writeNamespace))
                  .toList();
          if (!kept.isEmpty() || hasLastGoodListener(previous, proxyName)) {
            servedGateways.put(proxyName, kept);
          }
        });

    // A proxy whose only Gateways were rejected while decoding still serves their last accepted listeners.
    previous.listeners().forEach(
        (key, last) -> {
          String proxyName = key.substring(0, key.indexOf('|'));
          if (!servedGateways.containsKey(proxyName) && ctx.rejectedWhileDecoding(last.gateway())) {
            servedGateways.put(proxyName, List.of());
          }
        });

    // Pass 1 finds every problem: only then is it known which resources are rejected.
    Set<ResourceKey> rejectedWhileDecoding = new TreeSet<>();
    in.statuses().forEach((k, st) -> {
      if (st.state() == io.shardgate.sharding.report.ResourceState.REJECTED) {
        rejectedWhileDecoding.add(k);
      }
    });
    servedGateways.forEach(
        (proxyName, gateways) ->
            buildListeners(ctx, proxyName, gateways,
                new RouteFlattener.Substitution(rejectedWhileDecoding, previous, null, policy)));
    Set<ResourceKey> rejected = new TreeSet<>();
    reports.freeze().forEach((k, st) -> {
      if (st.state() == io.shardgate.sharding.report.ResourceState.REJECTED) {
        rejected.add(k);
      }
    });

    // Pass 2 builds what is served: accepted resources as they are now, rejected ones as they last were.
    LastGood.Builder next = new LastGood.Builder();
    RouteFlattener.Substitution substitution = new RouteFlattener.Substitution(rejected, previous, next, policy);
    SortedMap<String, ShardConfig> shards = new TreeMap<>();
    List<UpstreamCluster> clusters = upstreamClusters(snapshot);
    for (var entry : servedGateways.entrySet()) {
      String proxyName = entry.getKey();
      ResourceKey proxyKey = TranslationContext.proxyKey(writeNamespace, proxyName);
      reports.accept(proxyKey, "");
      List<ProxyListener> built = buildListeners(ctx, proxyName, entry.getValue(), substitution);
      List<ProxyListener> served =
          new LastGoodAssembler(ctx, proxyName, proxyKey, rejected, previous, next)
              .assemble(entry.getValue(), built);
      if (served.isEmpty() && entry.getValue().isEmpty()) {
        continue;
      }
      shards.put(proxyName, new ShardConfig(new Proxy(proxyName, writeNamespace, served), clusters));
    }
    warnUnreached(ctx, snapshot);
    return new GatewayTranslation(writeNamespace, shards, reports.freeze(), in.documentProblems(), next.build());
  }

  private static boolean hasLastGoodListener(LastGood previous, String proxyName) {
    String prefix = proxyName + "|";
    var tail = previous.listeners().tailMap(prefix);
    return !tail.isEmpty() && tail.firstKey().startsWith(prefix);
  }

  /**
   * VirtualServices no Gateway selects and RouteTables no served VirtualService reaches serve nothing: say so, so a
   * team does not read "Accepted" as "live".
   */
  private static void warnUnreached(TranslationContext ctx, ResourceSnapshot snapshot) {
    var statuses = ctx.reports().freeze();
    for (VirtualService vs : snapshot.virtualServices()) {
      var st = statuses.get(vs.key());
      if (st != null && st.proxies().isEmpty()) {
        ctx.reports().warning(vs.key(), "no Gateway selects this VirtualService; it serves nothing");
      }
    }
    for (var rt : snapshot.routeTables()) {
      var st = statuses.get(rt.key());
      if (st != null && st.proxies().isEmpty()) {
        ctx.reports().warning(
            rt.key(), "no served VirtualService delegates to this RouteTable; it serves nothing");
      }
    }
  }

  private static List<Resource> allResources(ResourceSnapshot s) {
    List<Resource> all = new ArrayList<>();
    all.addAll(s.gateways());
    all.addAll(s.virtualServices());
    all.addAll(s.routeTables());
    all.addAll(s.upstreams());
    all.addAll(s.upstreamGroups());
    return all;
  }

  private static List<ProxyListener> buildListeners(
      TranslationContext ctx, String proxyName, List<Gateway> gateways, RouteFlattener.Substitution substitution) {
    Reports reports = ctx.reports();
    // Two listeners of one Envoy cannot share a port.
    Map<Integer, List<Gateway>> byPort = new TreeMap<>();
    for (Gateway g : gateways) {
      byPort.computeIfAbsent(g.bindPort(), p -> new ArrayList<>()).add(g);
    }
    byPort.forEach(
        (port, gs) -> {
          if (gs.size() > 1) {
            String names = gs.stream().map(g -> g.key().toString()).collect(Collectors.joining(", "));
            for (Gateway g : gs) {
              reports.error(
                  g.key(), "bind port " + port + " is used by more than one Gateway of proxy " + proxyName + ": " + names);
            }
          }
        });

    List<ProxyListener> listeners = new ArrayList<>();
    for (Gateway g : gateways) {
      reports.usedBy(g.key(), proxyName);
      switch (g.type()) {
        case NONE -> {
          reports.error(g.key(), "spec: a Gateway needs one of httpGateway, tcpGateway or hybridGateway");
          continue;
        }
        case TCP, HYBRID -> {
          reports.warning(
              g.key(),
              "spec." + (g.type() == Gateway.GatewayType.TCP ? "tcpGateway" : "hybridGateway")
                  + " is not served by Shardgate yet; no listener is built for this Gateway");
          continue;
        }
        case HTTP -> {
          // built below
        }
      }
      if (g.ssl()) {
        reports.warning(
            g.key(), "spec.ssl: TLS listeners are not served by Shardgate yet; no listener is built for this Gateway");
        continue;
      }
      String expressionProblem = VirtualServiceSelection.expressionProblem(g);
      if (expressionProblem != null) {
        reports.error(g.key(), expressionProblem);
        continue;
      }
      List<ResourceRef> refs = g.httpGateway().virtualServices();
      for (int i = 0; i < refs.size(); i++) {
        ResourceRef ref = refs.get(i);
        boolean exists =
            ctx.snapshot().virtualServices().stream().anyMatch(v -> v.meta().ref().equals(ref));
        if (!exists) {
          ResourceKey key = new ResourceKey(Kind.VIRTUAL_SERVICE, ref.namespace(), ref.name());
          reports.warning(
              g.key(), "spec.httpGateway.virtualServices[" + i + "]: " + key + " not found" + ctx.rejectedHint(key));
        }
      }
      List<VirtualService> selected =
          ctx.snapshot().virtualServices().stream().filter(v -> VirtualServiceSelection.selects(g, v)).toList();
      checkDomainConflicts(ctx, g, proxyName, selected);
      List<ProxyVirtualHost> hosts = new ArrayList<>();
      String listenerName = "listener-" + g.bindAddress() + "-" + g.bindPort();
      for (VirtualService vs : selected) {
        reports.usedBy(vs.key(), proxyName);
        List<ProxyRoute> routes =
            vs.virtualHost() == null
                ? List.of()
                : new RouteFlattener(ctx, vs, proxyName, listenerName, substitution).flatten(g.meta().name());
        List<String> domains = vs.virtualHost() == null ? List.of() : vs.virtualHost().domains();
        hosts.add(
            new ProxyVirtualHost(vs.meta().namespace() + "." + vs.meta().name(), domains, routes, vs.key()));
      }
      hosts.sort(Comparator.comparing(ProxyVirtualHost::name));
      listeners.add(new ProxyListener(listenerName, g.bindAddress(), g.bindPort(), hosts, g.key()));
    }
    return listeners;
  }

  /**
   * Two VirtualServices of one Gateway may not claim the same domain (an empty domain list claims {@code *}). Each
   * conflicting VirtualService is rejected; the Gateway only gets a warning, so its other hosts keep serving.
   */
  private static void checkDomainConflicts(
      TranslationContext ctx, Gateway g, String proxyName, List<VirtualService> selected) {
    Map<String, TreeSet<ResourceKey>> byDomain = new TreeMap<>();
    for (VirtualService vs : selected) {
      List<String> domains =
          vs.virtualHost() == null || vs.virtualHost().domains().isEmpty()
              ? List.of("*")
              : vs.virtualHost().domains();
      for (String d : new TreeSet<>(domains)) {
        byDomain.computeIfAbsent(d, x -> new TreeSet<>()).add(vs.key());
      }
    }
    List<String> conflicts = new ArrayList<>();
    byDomain.forEach(
        (domain, owners) -> {
          if (owners.size() < 2) {
            return;
          }
          String all = owners.stream().map(ResourceKey::toString).collect(Collectors.joining(", "));
          conflicts.add("'" + domain + "' (" + all + ")");
          for (ResourceKey owner : owners) {
            String others =
                owners.stream().filter(o -> !o.equals(owner)).map(ResourceKey::toString)
                    .collect(Collectors.joining(", "));
            ctx.reports().error(
                owner,
                "domain conflict: the domain '" + domain + "' is also claimed by " + others + " on " + g.key()
                    + " (proxy " + proxyName + "); each domain may belong to one VirtualService per Gateway");
          }
        });
    if (!conflicts.isEmpty()) {
      ctx.reports().warning(
          g.key(),
          "domain conflicts, the VirtualServices involved are rejected and left out: " + String.join("; ", conflicts));
    }
  }

  /** An UpstreamGroup whose destinations cannot be served is rejected, naming each bad destination. */
  private static void validateUpstreamGroups(TranslationContext ctx) {
    for (UpstreamGroup group : ctx.snapshot().upstreamGroups()) {
      List<Action.WeightedDestination> ds = group.destinations();
      long total = 0;
      for (int i = 0; i < ds.size(); i++) {
        Action.Destination d = ds.get(i).destination();
        total += ds.get(i).weight();
        String field = "spec.destinations[" + i + "]";
        if (d.upstream() == null) {
          ctx.reports().error(group.key(), field + ": " + d.unsupported() + " destinations are not served by Shardgate yet");
          continue;
        }
        ResourceRef ref = d.upstream().withDefaultNamespace(group.meta().namespace());
        if (ctx.upstream(ref) == null) {
          ResourceKey key = new ResourceKey(Kind.UPSTREAM, ref.namespace(), ref.name());
          ctx.reports().error(group.key(), field + ": upstream " + ref + " not found" + ctx.rejectedHint(key));
        }
      }
      if (total < 1) {
        ctx.reports().error(group.key(), "spec.destinations: the weights add up to " + total + "; they must add up to at least 1");
      }
    }
  }

  /** Every static Upstream becomes a cluster; other types were reported while decoding. */
  private static List<UpstreamCluster> upstreamClusters(ResourceSnapshot snapshot) {
    List<UpstreamCluster> out = new ArrayList<>();
    for (Upstream u : snapshot.upstreams()) {
      if (u.staticSpec() == null) {
        continue;
      }
      Upstream.StaticSpec s = u.staticSpec();
      boolean tls =
          s.useTls() != null ? s.useTls() : s.hosts().stream().anyMatch(h -> h.port() == 443);
      out.add(new UpstreamCluster(u.meta().ref(), s.hosts(), tls, u.sni(), u.connectTimeout()));
    }
    return out;
  }
}
