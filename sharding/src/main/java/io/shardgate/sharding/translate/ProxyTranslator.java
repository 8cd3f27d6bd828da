package io.shardgate.sharding.translate;

import io.shardgate.sharding.ir.ProxyListener;
import io.shardgate.sharding.ir.ProxyRoute;
import io.shardgate.sharding.ir.ProxyVirtualHost;
import io.shardgate.sharding.model.Gateway;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.SslConfig;
import io.shardgate.sharding.model.VirtualService;
import io.shardgate.sharding.report.Contribution;
import io.shardgate.sharding.report.Reports;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Translates the Gateways of one proxy to its listeners, in one of the two passes of gateway translation: the first
 * finds every problem (so that it is known which resources are rejected), the second builds what is served, with
 * rejected resources replaced by their last good output.
 *
 * <p>Stage: gateway translation. Pure function of its arguments, except that it reads and fills the proxy's
 * {@link FlattenMemo}: a VirtualService whose flattening looked up only things that still answer the same is not
 * flattened again. Not thread-safe; one call at a time per memo.
 */
final class ProxyTranslator {

  /** Which pass; the second also assembles last good output. */
  enum Pass {
    FIND_PROBLEMS,
    BUILD
  }

  /** Where a contribution of this proxy sits in the status ledger. */
  record Slot(String proxy, Pass pass, String part, ResourceKey gateway, String listener, ResourceKey virtualService) {}

  /** What one VirtualService produced on one listener of this proxy, and what it looked up to do so. */
  record Flattened(List<ProxyRoute> routes, Contribution contribution, Map<String, List<ProxyRoute>> subtrees,
      Reads reads) {}

  /** Identity of one flattening within a proxy. */
  record FlattenKey(ResourceKey gateway, String listener, ResourceKey virtualService) {}

  /**
   * The flattenings of one proxy's last translation, reused while their lookups answer the same. Holds at most the
   * results of the last call of each pass, so memory follows the configuration.
   */
  static final class FlattenMemo {
    private Map<FlattenKey, List<Flattened>> entries = new HashMap<>();
    private Map<FlattenKey, List<Flattened>> used = new HashMap<>();
    long hits;
    long misses;

    Flattened find(FlattenKey key, Lookups lookups, Predicate<ResourceKey> substitution) {
      for (Map<FlattenKey, List<Flattened>> m : List.of(used, entries)) {
        for (Flattened f : m.getOrDefault(key, List.of())) {
          if (f.reads().stillValid(lookups, substitution)) {
            hits++;
            keep(key, f);
            return f;
          }
        }
      }
      misses++;
      return null;
    }

    void keep(FlattenKey key, Flattened f) {
      List<Flattened> kept = used.computeIfAbsent(key, k -> new ArrayList<>(2));
      if (!kept.contains(f)) {
        kept.add(f);
      }
    }

    /** Ends one translation call of the proxy: what it did not use is forgotten. */
    void endCall() {
      entries = used;
      used = new HashMap<>();
    }

    void clear() {
      entries = new HashMap<>();
      used = new HashMap<>();
    }
  }

  /**
   * The result of one pass.
   *
   * @param listeners one per HTTP Gateway that builds (pass 1: as translated; pass 2: as served)
   * @param slots this proxy's contributions to the statuses, by slot
   * @param reads everything looked up
   * @param next the proxy's next last good slice (pass 2), else null
   */
  record Result(List<ProxyListener> listeners, Map<Slot, Contribution> slots, Reads reads, ProxyLastGood next) {}

  private final Lookups lookups;
  private final String writeNamespace;
  private final String proxyName;
  private final List<Gateway> gateways;
  private final Pass pass;
  private final Predicate<ResourceKey> substitution;
  private final ProxyLastGood previous;
  private final InvalidRoutePolicy policy;
  private final FlattenMemo memo;
  private final Map<Slot, Contribution> slots = new LinkedHashMap<>();
  private final Reads reads = new Reads();
  private final TreeMap<String, List<ProxyRoute>> subtrees = new TreeMap<>();

  ProxyTranslator(Lookups lookups, String writeNamespace, String proxyName, List<Gateway> gateways, Pass pass,
      Predicate<ResourceKey> substitution, ProxyLastGood previous, InvalidRoutePolicy policy, FlattenMemo memo) {
    this.lookups = lookups;
    this.writeNamespace = writeNamespace;
    this.proxyName = proxyName;
    this.gateways = gateways;
    this.pass = pass;
    this.substitution = substitution;
    this.previous = previous;
    this.policy = policy;
    this.memo = memo;
  }

  Result run() {
    List<ProxyListener> built = buildListeners();
    if (pass == Pass.FIND_PROBLEMS) {
      return new Result(built, slots, reads, null);
    }
    TranslationContext ctx = new TranslationContext(lookups, substitution);
    ResourceKey proxyKey = TranslationContext.proxyKey(writeNamespace, proxyName);
    ctx.reports().accept(proxyKey, "");
    LastGoodAssembler assembler = new LastGoodAssembler(ctx, proxyName, proxyKey, previous);
    List<ProxyListener> served = assembler.assemble(gateways, built);
    collect(new Slot(proxyName, pass, "assemble", null, null, null), ctx);
    ProxyLastGood next = new ProxyLastGood(assembler.nextListeners, assembler.nextVirtualHosts, subtrees);
    return new Result(served, slots, reads, next);
  }

  private void collect(Slot slot, TranslationContext ctx) {
    slots.put(slot, ctx.reports().contribution());
    reads.addAll(ctx.reads());
  }

  private List<ProxyListener> buildListeners() {
    Reports ports = new Reports();
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
              ports.error(
                  g.key(), "bind port " + port + " is used by more than one Gateway of proxy " + proxyName + ": " + names);
            }
          }
        });
    slots.put(new Slot(proxyName, pass, "ports", null, null, null), ports.contribution());
    // Two Gateways on one listener name would write each other's last good entries: never reuse those.
    boolean sharedListenerNames =
        gateways.stream().map(g -> listenerName(g)).distinct().count() < gateways.size();

    List<ProxyListener> listeners = new ArrayList<>();
    for (Gateway g : gateways) {
      TranslationContext ctx = new TranslationContext(lookups, substitution);
      ProxyListener l = buildListener(ctx, g, sharedListenerNames);
      collect(new Slot(proxyName, pass, "gateway", g.key(), null, null), ctx);
      if (l != null) {
        listeners.add(l);
      }
    }
    return listeners;
  }

  static String listenerName(Gateway g) {
    return "listener-" + g.bindAddress() + "-" + g.bindPort();
  }

  private ProxyListener buildListener(TranslationContext ctx, Gateway g, boolean noReuse) {
    Reports reports = ctx.reports();
    reports.usedBy(g.key(), proxyName);
    switch (g.type()) {
      case NONE -> {
        reports.error(g.key(), "spec: a Gateway needs one of httpGateway, tcpGateway or hybridGateway");
        return null;
      }
      case TCP, HYBRID -> {
        reports.warning(
            g.key(),
            "spec." + (g.type() == Gateway.GatewayType.TCP ? "tcpGateway" : "hybridGateway")
                + " is not served by Shardgate yet; no listener is built for this Gateway");
        return null;
      }
      case HTTP -> {
        // built below
      }
    }
    String expressionProblem = VirtualServiceSelection.expressionProblem(g);
    if (expressionProblem != null) {
      reports.error(g.key(), expressionProblem);
      return null;
    }
    List<ResourceRef> refs = g.httpGateway().virtualServices();
    for (int i = 0; i < refs.size(); i++) {
      ResourceRef ref = refs.get(i);
      if (!ctx.virtualServiceExists(ref)) {
        ResourceKey key = new ResourceKey(Kind.VIRTUAL_SERVICE, ref.namespace(), ref.name());
        reports.warning(
            g.key(), "spec.httpGateway.virtualServices[" + i + "]: " + key + " not found" + ctx.rejectedHint(key));
      }
    }
    List<VirtualService> selected =
        lookups.snapshot().virtualServices().stream().filter(v -> VirtualServiceSelection.selects(g, v)).toList();
    selected.forEach(v -> ctx.reads().resource(v.key(), v));
    if (g.ssl() && selected.isEmpty()) {
      warnNoTlsVirtualServices(ctx, g);
    }
    Set<ResourceKey> conflicting = checkDomainConflicts(reports, g, selected);
    String listenerName = listenerName(g);
    Map<ResourceKey, SslConfig> tls = g.ssl() ? resolveTls(ctx, g, selected, conflicting) : Map.of();
    List<ProxyVirtualHost> hosts = new ArrayList<>();
    for (VirtualService vs : selected) {
      reports.usedBy(vs.key(), proxyName);
      Flattened f = flatten(g, listenerName, vs, noReuse);
      slots.put(new Slot(proxyName, pass, "virtualService", g.key(), listenerName, vs.key()), f.contribution());
      reads.addAll(f.reads());
      subtrees.putAll(f.subtrees());
      List<String> domains = vs.virtualHost() == null ? List.of() : vs.virtualHost().domains();
      hosts.add(new ProxyVirtualHost(vs.meta().namespace() + "." + vs.meta().name(), domains, f.routes(), vs.key(),
          tls.get(vs.key())));
    }
    hosts.sort(Comparator.comparing(ProxyVirtualHost::name));
    return g.ssl() ? ProxyListener.ssl(listenerName, g.bindAddress(), g.bindPort(), hosts, g.key())
        : new ProxyListener(listenerName, g.bindAddress(), g.bindPort(), hosts, g.key());
  }

  /**
   * An SSL Gateway that selects no VirtualService builds no listener. Gloo says nothing; Shardgate says why, naming
   * the VirtualServices it would select but for their missing {@code sslConfig}.
   */
  private void warnNoTlsVirtualServices(TranslationContext ctx, Gateway g) {
    List<String> plain = new ArrayList<>();
    for (VirtualService vs : lookups.snapshot().virtualServices()) {
      if (!vs.hasSslConfig() && VirtualServiceSelection.selectsIgnoringSsl(g, vs)) {
        ctx.reads().resource(vs.key(), vs);
        plain.add(vs.key().toString());
      }
    }
    ctx.reports().warning(g.key(), "spec.ssl: the Gateway terminates TLS, so it selects only VirtualServices with an"
        + " sslConfig, and none of those matches; no listener is built"
        + (plain.isEmpty() ? "" : " (" + String.join(", ", plain) + " would match but " + (plain.size() == 1 ? "has"
            : "have") + " no sslConfig)"));
  }

  /**
   * The TLS of each selected VirtualService as its filter chain serves it ({@link ListenerTls#resolve}), without the
   * ones that can have no chain. Two chains may not claim one SNI name (Envoy would refuse the whole listener): of
   * two VirtualServices whose chains would, the one already served keeps it (it had a TLS host on this listener last
   * time), else the one first in (namespace, name) order; the other is rejected. The last served hosts of
   * VirtualServices rejected while decoding (which serve them again) claim their names first. VirtualServices already
   * rejected for a domain conflict claim nothing.
   */
  private Map<ResourceKey, SslConfig> resolveTls(TranslationContext ctx, Gateway g, List<VirtualService> selected,
      Set<ResourceKey> conflicting) {
    Boolean oneWayTlsDefault = lookups.snapshot().settings().virtualServiceOneWayTls();
    ProxyListener before = previous.listeners().get(ProxyLastGood.listenerKey(g.key()));
    Set<ResourceKey> servedBefore = new HashSet<>();
    ListenerTls.SniClaims claims = new ListenerTls.SniClaims();
    if (before != null && before.isSsl()) {
      for (ProxyVirtualHost vh : before.virtualHosts()) {
        servedBefore.add(vh.virtualService());
        if (vh.sslConfig() != null && ctx.rejectedWhileDecoding(vh.virtualService())
            && ListenerTls.lastGoodSecretProblem(ctx, vh) == null) {
          claims.add(vh);
        }
      }
    }
    Map<ResourceKey, SslConfig> resolved = new TreeMap<>();
    for (VirtualService vs : selected) {
      if (conflicting.contains(vs.key())) {
        continue;
      }
      SslConfig r = ListenerTls.resolve(ctx, vs, oneWayTlsDefault);
      if (r != null) {
        resolved.put(vs.key(), r);
      }
    }
    List<ResourceKey> order = new ArrayList<>();
    resolved.keySet().stream().filter(servedBefore::contains).forEach(order::add);
    resolved.keySet().stream().filter(k -> !servedBefore.contains(k)).forEach(order::add);
    List<String> overlaps = new ArrayList<>();
    for (ResourceKey vs : order) {
      SslConfig r = resolved.get(vs);
      Map<String, ListenerTls.SniClaims.Claim> taken = claims.conflicts(r);
      if (taken.isEmpty()) {
        claims.add(r, vs);
        continue;
      }
      resolved.remove(vs);
      taken.forEach((name, claim) -> {
        ctx.reports().error(vs, "SNI overlap: the SNI name " + ListenerTls.describe(name) + " is already matched by"
            + " the filter chain of " + claim.virtualService() + " on " + g.key() + " (proxy " + proxyName + "),"
            + " which has other TLS settings; Envoy would refuse the whole listener, so this VirtualService is"
            + " rejected and " + claim.virtualService() + " keeps the name. Give both the same sslConfig, or"
            + " sniDomains that do not overlap");
        ctx.reports().warning(claim.virtualService(), "the SNI name " + ListenerTls.describe(name) + " of its filter"
            + " chain on " + g.key() + " is also claimed by " + vs + " with other TLS settings; that VirtualService"
            + " is rejected, this one keeps the name");
        overlaps.add(ListenerTls.describe(name) + " (" + claim.virtualService() + " keeps it, " + vs
            + " is rejected)");
      });
    }
    if (!overlaps.isEmpty()) {
      ctx.reports().warning(g.key(), "SNI overlaps between filter chains, the later VirtualServices are rejected and"
          + " left out: " + String.join("; ", overlaps));
    }
    return resolved;
  }

  private Flattened flatten(Gateway g, String listenerName, VirtualService vs, boolean noReuse) {
    FlattenKey key = new FlattenKey(g.key(), listenerName, vs.key());
    if (!noReuse) {
      Flattened hit = memo.find(key, lookups, substitution);
      if (hit != null) {
        return hit;
      }
    }
    TranslationContext ctx = new TranslationContext(lookups, substitution);
    ctx.reads().resource(vs.key(), vs);
    RouteFlattener flattener = new RouteFlattener(ctx, vs, proxyName, listenerName, previous, policy);
    List<ProxyRoute> routes = vs.virtualHost() == null ? List.of() : flattener.flatten(g.meta().name());
    Flattened f = new Flattened(List.copyOf(routes), ctx.reports().contribution(), Map.copyOf(flattener.subtrees()),
        ctx.reads());
    memo.keep(key, f);
    return f;
  }

  /**
   * Two VirtualServices of one Gateway may not claim the same domain (an empty domain list claims {@code *}). Each
   * conflicting VirtualService is rejected; the Gateway only gets a warning, so its other hosts keep serving.
   */
  private Set<ResourceKey> checkDomainConflicts(Reports reports, Gateway g, List<VirtualService> selected) {
    Map<String, TreeSet<ResourceKey>> byDomain = new TreeMap<>();
    for (VirtualService vs : selected) {
      List<String> domains =
          vs.virtualHost() == null || vs.virtualHost().domains().isEmpty()
              ? List.of("*")
              : vs.virtualHost().domains();
      // Case-insensitive, as Envoy matches and de-duplicates them.
      for (String d : new TreeSet<>(domains)) {
        byDomain.computeIfAbsent(d.toLowerCase(Locale.ROOT), x -> new TreeSet<>()).add(vs.key());
      }
    }
    List<String> conflicts = new ArrayList<>();
    Set<ResourceKey> involved = new TreeSet<>();
    byDomain.forEach(
        (domain, owners) -> {
          if (owners.size() < 2) {
            return;
          }
          involved.addAll(owners);
          String all = owners.stream().map(ResourceKey::toString).collect(Collectors.joining(", "));
          conflicts.add("'" + domain + "' (" + all + ")");
          for (ResourceKey owner : owners) {
            String others =
                owners.stream().filter(o -> !o.equals(owner)).map(ResourceKey::toString)
                    .collect(Collectors.joining(", "));
            reports.error(
                owner,
                "spec.virtualHost.domains: domain conflict: the domain '" + domain + "' is also claimed by " + others + " on " + g.key()
                    + " (proxy " + proxyName + "); each domain may belong to one VirtualService per Gateway");
          }
        });
    if (!conflicts.isEmpty()) {
      reports.warning(
          g.key(),
          "domain conflicts, the VirtualServices involved are rejected and left out: " + String.join("; ", conflicts));
    }
    return involved;
  }

  /** Keys of the Gateways of {@code gateways}, for callers that track inputs. */
  static Set<ResourceKey> keys(List<Gateway> gateways) {
    return gateways.stream().map(Gateway::key).collect(Collectors.toSet());
  }
}
