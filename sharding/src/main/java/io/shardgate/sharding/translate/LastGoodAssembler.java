package io.shardgate.sharding.translate;

import io.shardgate.sharding.ir.ProxyListener;
import io.shardgate.sharding.ir.ProxyVirtualHost;
import io.shardgate.sharding.model.Gateway;
import io.shardgate.sharding.model.ResourceKey;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Assembles one proxy's served listeners: accepted Gateways and VirtualServices as they are now, rejected ones as
 * they were last accepted. Records everything served into the next {@link LastGood}.
 *
 * <p>Stage: gateway translation. Holds the state of one call; not thread-safe, never shared.
 *
 * <p>A last accepted output is only served where it cannot collide with current config: a virtual host whose domain
 * an accepted VirtualService now claims, or whose filter chain's SNI names an accepted one's chain with other TLS
 * settings now matches, or a listener whose port an accepted Gateway now binds, is left out (Envoy would reject the
 * whole route configuration or listener otherwise). Nor is a last accepted TLS virtual host whose secret cannot be
 * served now: Envoy would wait for its SDS resource forever. An SSL listener left with no filter chain is not served.
 */
final class LastGoodAssembler {

  private final TranslationContext ctx;
  private final String proxyName;
  private final ResourceKey proxyKey;
  private final ProxyLastGood previous;
  /** What this proxy serves, for its next {@link ProxyLastGood}. */
  final TreeMap<String, ProxyListener> nextListeners = new TreeMap<>();
  final TreeMap<String, ProxyVirtualHost> nextVirtualHosts = new TreeMap<>();

  /**
   * @param ctx rejected resources are those {@link TranslationContext#substituted}
   * @param previous the proxy's slice of the previous last good state
   */
  LastGoodAssembler(TranslationContext ctx, String proxyName, ResourceKey proxyKey, ProxyLastGood previous) {
    this.ctx = ctx;
    this.proxyName = proxyName;
    this.proxyKey = proxyKey;
    this.previous = previous;
  }

  List<ProxyListener> assemble(List<Gateway> gateways, List<ProxyListener> built) {
    Map<ResourceKey, ProxyListener> builtByGateway = new TreeMap<>();
    built.forEach(l -> builtByGateway.put(l.gateway(), l));
    List<ProxyListener> accepted = new ArrayList<>();
    List<ProxyListener> lastGood = new ArrayList<>();
    for (Gateway g : gateways) {
      String key = ProxyLastGood.listenerKey(g.key());
      if (ctx.substituted(g.key())) {
        ProxyListener last = previous.listeners().get(key);
        if (last == null) {
          ctx.reports().warning(proxyKey, "no listener for " + g.key() + ": it is rejected and was never accepted");
        } else {
          lastGood.add(last);
          ctx.reports().warning(
              g.key(), "the Gateway is rejected; its last accepted listener " + last.name() + " keeps being served");
        }
        continue;
      }
      ProxyListener l = builtByGateway.get(g.key());
      if (l != null) {
        ProxyListener served = withHosts(l);
        nextListeners.put(key, served);
        if (served.isSsl() && served.filterChains().isEmpty()) {
          if (!l.virtualHosts().isEmpty()) {
            ctx.reports().warning(g.key(), "no listener is built: none of the VirtualServices it selects can be"
                + " served with TLS now (their statuses say why)");
          }
          continue;
        }
        accepted.add(served);
      }
    }
    // Gateways rejected while decoding are not in the snapshot at all, and a rejected Gateway whose broken version
    // names other proxyNames is not among this proxy's: find both through what they served here before.
    Set<ResourceKey> grouped = new HashSet<>();
    gateways.forEach(g -> grouped.add(g.key()));
    for (var e : previous.listeners().entrySet()) {
      ResourceKey gateway = e.getValue().gateway();
      if (ctx.rejectedWhileDecoding(gateway) || (!grouped.contains(gateway) && ctx.substituted(gateway))) {
        lastGood.add(e.getValue());
        ctx.reports().warning(
            gateway, "the Gateway is rejected; its last accepted listener " + e.getValue().name()
                + " keeps being served");
      }
    }
    Set<Integer> ports = new HashSet<>();
    List<ProxyListener> out = new ArrayList<>();
    for (ProxyListener l : accepted) {
      ports.add(l.bindPort());
      out.add(l);
    }
    for (ProxyListener last : lastGood) {
      // Kept either way: it is still the last accepted version, and serves again once the port is free.
      nextListeners.put(ProxyLastGood.listenerKey(last.gateway()), last);
      ProxyListener l = last.isSsl() ? withServableSecrets(last) : last;
      if (l.isSsl() && l.filterChains().isEmpty()) {
        ctx.reports().warning(l.gateway(), "its last accepted listener " + l.name() + " is not served: none of its"
            + " TLS filter chains can be served now");
        continue;
      }
      if (!ports.add(l.bindPort())) {
        ctx.reports().warning(
            l.gateway(), "its last accepted listener is not served: port " + l.bindPort()
                + " is now bound by another Gateway");
        continue;
      }
      l.virtualHosts().forEach(vh -> {
        ctx.usedBy(vh.virtualService(), proxyName);
        ctx.usedByRoutes(vh.routes(), proxyName);
      });
      out.add(l);
    }
    out.sort(Comparator.comparing(ProxyListener::name));
    return out;
  }

  /**
   * A last accepted SSL listener without the hosts whose secret cannot be served now: Envoy would wait for their SDS
   * resources forever, and the listener with them.
   */
  private ProxyListener withServableSecrets(ProxyListener l) {
    List<ProxyVirtualHost> kept = new ArrayList<>();
    for (ProxyVirtualHost vh : l.virtualHosts()) {
      String problem = vh.sslConfig() == null ? null : ListenerTls.lastGoodSecretProblem(ctx, vh);
      if (problem != null) {
        ctx.reports().error(vh.virtualService(), "its last accepted virtual host is not served on " + l.name()
            + ": " + problem);
      } else {
        kept.add(vh);
      }
    }
    return kept.size() == l.virtualHosts().size() ? l : l.withVirtualHosts(kept);
  }

  private ProxyListener withHosts(ProxyListener l) {
    List<ProxyVirtualHost> accepted = new ArrayList<>();
    List<ProxyVirtualHost> candidates = new ArrayList<>();
    for (ProxyVirtualHost vh : l.virtualHosts()) {
      String key = ProxyLastGood.virtualHostKey(l.name(), vh.virtualService());
      if (ctx.substituted(vh.virtualService())) {
        ProxyVirtualHost last = previous.virtualHosts().get(key);
        if (last == null) {
          ctx.reports().warning(
              proxyKey, "virtual host " + vh.name() + " left out of " + l.name() + ": " + vh.virtualService()
                  + " is rejected and was never accepted here");
        } else {
          candidates.add(last);
        }
        continue;
      }
      accepted.add(vh);
      nextVirtualHosts.put(key, vh);
    }
    for (var e : ProxyLastGood.withPrefix(previous.virtualHosts(), l.name() + "|").entrySet()) {
      if (ctx.rejectedWhileDecoding(e.getValue().virtualService())) {
        candidates.add(e.getValue());
      }
    }
    Set<String> domains = new HashSet<>();
    accepted.forEach(vh -> domains.addAll(domainsOf(vh)));
    ListenerTls.SniClaims claims = new ListenerTls.SniClaims();
    accepted.stream().filter(vh -> vh.sslConfig() != null).forEach(claims::add);
    List<ProxyVirtualHost> hosts = new ArrayList<>(accepted);
    candidates.sort(Comparator.comparing(ProxyVirtualHost::name));
    for (ProxyVirtualHost last : candidates) {
      // Kept either way: it is still the last accepted version, and serves again once its domains are free.
      nextVirtualHosts.put(ProxyLastGood.virtualHostKey(l.name(), last.virtualService()), last);
      if (l.isSsl() != (last.sslConfig() != null)) {
        ctx.reports().warning(last.virtualService(), "its last accepted virtual host is not served on " + l.name()
            + ": it was accepted " + (l.isSsl() ? "without" : "with") + " TLS, and the listener is now "
            + (l.isSsl() ? "an SSL" : "a plain") + " listener");
        continue;
      }
      List<String> taken = domainsOf(last).stream().filter(domains::contains).toList();
      if (!taken.isEmpty()) {
        ctx.reports().warning(
            last.virtualService(), "its last accepted virtual host is not served on " + l.name() + ": domains "
                + taken + " are now served by another VirtualService");
        continue;
      }
      if (last.sslConfig() != null) {
        String problem = ListenerTls.lastGoodSecretProblem(ctx, last);
        if (problem != null) {
          ctx.reports().error(last.virtualService(), "its last accepted virtual host is not served on " + l.name()
              + ": " + problem);
          continue;
        }
        var overlap = claims.conflicts(last.sslConfig());
        if (!overlap.isEmpty()) {
          var first = overlap.entrySet().iterator().next();
          ctx.reports().error(last.virtualService(), "its last accepted virtual host is not served on " + l.name()
              + ": its filter chain's SNI name " + ListenerTls.describe(first.getKey()) + " is now matched by the"
              + " filter chain of " + first.getValue().virtualService() + " with other TLS settings (Envoy would"
              + " refuse the whole listener)");
          continue;
        }
        claims.add(last);
      }
      domains.addAll(domainsOf(last));
      hosts.add(last);
      ctx.usedBy(last.virtualService(), proxyName);
      ctx.usedByRoutes(last.routes(), proxyName);
      ctx.reports().warning(
          last.virtualService(), "the VirtualService is rejected; its last accepted virtual host keeps being served on "
              + l.name() + " (proxy " + proxyName + ")");
    }
    hosts.sort(Comparator.comparing(ProxyVirtualHost::name));
    return l.withVirtualHosts(hosts);
  }

  /** Lower-cased: Envoy compares domains case-insensitively. */
  private static List<String> domainsOf(ProxyVirtualHost vh) {
    return vh.domains().isEmpty() ? List.of("*") : vh.domains().stream().map(d -> d.toLowerCase(Locale.ROOT)).toList();
  }
}
