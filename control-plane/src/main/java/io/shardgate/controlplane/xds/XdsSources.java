package io.shardgate.controlplane.xds;

import io.envoyproxy.controlplane.cache.Resources;
import io.shardgate.sharding.ir.ProxyListener;
import io.shardgate.sharding.ir.ProxyRoute;
import io.shardgate.sharding.ir.ProxyVirtualHost;
import io.shardgate.sharding.ir.SecretUse;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.ir.UpstreamCluster;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Maps the names of one shard's Envoy resources back to the input resources they were built from, so that what an
 * Envoy says about an xDS resource (a NACK's error message) can be shown on the Gateway, VirtualService, RouteTable or
 * Upstream that produced it. The inverse of {@link XdsNames}.
 *
 * <p>Stage: status reporting, after xDS translation. Pure: built from a {@link ShardConfig} alone, immutable, safe to
 * share between threads.
 *
 * <table>
 *   <caption>Which names map to what</caption>
 *   <tr><th>Envoy name</th><th>input resource</th></tr>
 *   <tr><td>listener {@code listener-<bindAddress>-<bindPort>}</td><td>its Gateway</td></tr>
 *   <tr><td>route configuration {@code <listener>-routes}</td><td>the listener's Gateway</td></tr>
 *   <tr><td>virtual host {@code <namespace>_<name>}</td><td>its VirtualService</td></tr>
 *   <tr><td>route {@code <vhost>-route-<i>[-<name>]-matcher-<j>}</td><td>the VirtualService or RouteTable the route
 *       was written in</td></tr>
 *   <tr><td>cluster {@code <name>_<namespace>}</td><td>Upstream {@code namespace/name}</td></tr>
 *   <tr><td>secret {@code <name>_<namespace>} and {@code <name>_<namespace>-ca}</td><td>Secret
 *       {@code namespace/name}</td></tr>
 * </table>
 *
 * <p>Names are matched exactly against what this shard's translation produced, never parsed: a cluster name that
 * merely looks like {@code <name>_<namespace>} maps to nothing unless such an Upstream feeds the shard. Names are
 * looked up per xDS type, because they are unique only within one: the VirtualService {@code payments/payments} and
 * the Upstream {@code payments/payments} both become {@code payments_payments}, once as a virtual host (RDS) and once
 * as a cluster (CDS).
 */
public final class XdsSources {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;
  private static final String SDS = Resources.V3.SECRET_TYPE_URL;

  /** Type URL to name to source. EDS resources are named like their clusters and share CDS's map. */
  private final Map<String, Map<String, ResourceKey>> byType;

  private XdsSources(Map<String, Map<String, ResourceKey>> byType) {
    this.byType = byType;
  }

  /** The names of {@code shard}'s resources, as {@link XdsTranslator} names them. */
  public static XdsSources of(ShardConfig shard) {
    Objects.requireNonNull(shard, "shard");
    Map<String, ResourceKey> listeners = new HashMap<>();
    Map<String, ResourceKey> routes = new HashMap<>();
    Map<String, ResourceKey> clusters = new HashMap<>();
    for (ProxyListener l : shard.proxy().listeners()) {
      listeners.put(l.name(), l.gateway());
      routes.put(XdsNames.routeConfiguration(l.name()), l.gateway());
      for (ProxyVirtualHost vh : l.virtualHosts()) {
        String vhName = XdsNames.virtualHost(vh.name());
        routes.put(vhName, vh.virtualService());
        // Same indices as XdsTranslator: one Envoy route per matcher of each flattened route.
        for (int i = 0; i < vh.routes().size(); i++) {
          ProxyRoute r = vh.routes().get(i);
          for (int j = 0; j < r.matchers().size(); j++) {
            routes.put(XdsNames.route(vhName, i, r.name(), j), r.source());
          }
        }
      }
    }
    for (UpstreamCluster c : shard.clusters()) {
      clusters.put(XdsNames.cluster(c.upstream()),
          new ResourceKey(Kind.UPSTREAM, c.upstream().namespace(), c.upstream().name()));
    }
    Map<String, ResourceKey> secrets = new HashMap<>();
    for (SecretUse u : shard.secretUses()) {
      ResourceKey key = new ResourceKey(Kind.SECRET, u.secret().namespace(), u.secret().name());
      secrets.put(XdsNames.certificateSecret(u.secret()), key);
      secrets.put(XdsNames.validationSecret(u.secret()), key);
    }
    Map<String, ResourceKey> c = Map.copyOf(clusters);
    return new XdsSources(Map.of(LDS, Map.copyOf(listeners), RDS, Map.copyOf(routes), CDS, c, EDS, c, SDS,
        Map.copyOf(secrets)));
  }

  /**
   * The input resource that an Envoy resource of this shard came from.
   *
   * @param typeUrl the xDS type the name is of (a listener, route configuration or cluster name; for RDS also the
   *     names of virtual hosts and routes); any other type URL looks the name up in LDS, RDS, then CDS names and
   *     returns the first match
   */
  public Optional<ResourceKey> sourceOf(String typeUrl, String xdsName) {
    for (Map<String, ResourceKey> names : namesOf(typeUrl)) {
      ResourceKey key = names.get(xdsName);
      if (key != null) {
        return Optional.of(key);
      }
    }
    return Optional.empty();
  }

  /**
   * The input resources whose Envoy resources of type {@code typeUrl} {@code text} names, such as the error message of
   * a NACK of that type ({@code "Error adding/updating listener(s) listener-0.0.0.0-8080: ..."}). A name counts only
   * as a whole word: {@code text} is split into runs of name characters (letters, digits, {@code . _ - ~ :}), and a
   * run, or the run without the punctuation a sentence may end it with, must equal a name. Empty when nothing is
   * named, which is common for RDS errors that only quote a domain.
   *
   * @param typeUrl the rejected type; any other type URL looks names up in every type
   */
  public SortedSet<ResourceKey> sourcesNamedIn(String typeUrl, String text) {
    List<Map<String, ResourceKey>> names = namesOf(typeUrl);
    SortedSet<ResourceKey> found = new TreeSet<>();
    int n = text.length();
    int i = 0;
    while (i < n) {
      while (i < n && !isNameChar(text.charAt(i))) {
        i++;
      }
      int start = i;
      while (i < n && isNameChar(text.charAt(i))) {
        i++;
      }
      if (i > start) {
        lookup(names, text.substring(start, i), found);
      }
    }
    return Collections.unmodifiableSortedSet(found);
  }

  private List<Map<String, ResourceKey>> namesOf(String typeUrl) {
    Map<String, ResourceKey> names = byType.get(typeUrl);
    return names != null ? List.of(names) : List.of(byType.get(LDS), byType.get(RDS), byType.get(CDS));
  }

  private static void lookup(List<Map<String, ResourceKey>> names, String word, SortedSet<ResourceKey> found) {
    // A name never ends in these, a sentence or "name: error" often does; strip one at a time.
    for (String w = word; !w.isEmpty(); w = w.substring(0, w.length() - 1)) {
      boolean any = false;
      for (Map<String, ResourceKey> byName : names) {
        ResourceKey key = byName.get(w);
        if (key != null) {
          found.add(key);
          any = true;
        }
      }
      if (any) {
        return;
      }
      char last = w.charAt(w.length() - 1);
      if (last != '.' && last != ':' && last != '-' && last != '_') {
        return;
      }
    }
  }

  private static boolean isNameChar(char c) {
    return Character.isLetterOrDigit(c) || c == '.' || c == '_' || c == '-' || c == '~' || c == ':';
  }
}
