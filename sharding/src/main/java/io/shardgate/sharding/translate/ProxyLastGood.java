package io.shardgate.sharding.translate;

import io.shardgate.sharding.ir.ProxyListener;
import io.shardgate.sharding.ir.ProxyRoute;
import io.shardgate.sharding.ir.ProxyVirtualHost;
import io.shardgate.sharding.model.ResourceKey;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One proxy's part of the {@link LastGood} state. Keys name the place an output was produced at, not its position,
 * so reordering unrelated routes does not lose it: see {@link #listenerKey}, {@link #virtualHostKey} and
 * {@link #subtreeKey}. Immutable value.
 *
 * @param listeners the last accepted listener of each Gateway, by Gateway ({@code Gateway ns/name})
 * @param virtualHosts the last accepted virtual host of each VirtualService, by listener and VirtualService
 * @param subtrees the last accepted flattened routes of each RouteTable at each delegation point
 */
public record ProxyLastGood(
    SortedMap<String, ProxyListener> listeners,
    SortedMap<String, ProxyVirtualHost> virtualHosts,
    SortedMap<String, List<ProxyRoute>> subtrees) {

  public static final ProxyLastGood EMPTY = new ProxyLastGood(new TreeMap<>(), new TreeMap<>(), new TreeMap<>());

  public ProxyLastGood {
    listeners = Collections.unmodifiableSortedMap(new TreeMap<>(listeners));
    virtualHosts = Collections.unmodifiableSortedMap(new TreeMap<>(virtualHosts));
    TreeMap<String, List<ProxyRoute>> s = new TreeMap<>();
    subtrees.forEach((k, v) -> s.put(k, List.copyOf(v)));
    subtrees = Collections.unmodifiableSortedMap(s);
  }

  /**
   * The resources whose output this slice carries: the Gateways of its listeners, the VirtualServices of its virtual
   * hosts, and the VirtualServices and RouteTables its routes were written in.
   */
  public Set<ResourceKey> carriedKeys() {
    Set<ResourceKey> out = new HashSet<>();
    for (ProxyListener l : listeners.values()) {
      out.add(l.gateway());
      for (ProxyVirtualHost vh : l.virtualHosts()) {
        out.add(vh.virtualService());
        vh.routes().forEach(r -> addSource(out, r));
      }
    }
    for (ProxyVirtualHost vh : virtualHosts.values()) {
      out.add(vh.virtualService());
      vh.routes().forEach(r -> addSource(out, r));
    }
    for (List<ProxyRoute> routes : subtrees.values()) {
      routes.forEach(r -> addSource(out, r));
    }
    return out;
  }

  private static void addSource(Set<ResourceKey> out, ProxyRoute r) {
    if (r.source() != null) {
      out.add(r.source());
    }
  }

  public boolean isEmpty() {
    return listeners.isEmpty() && virtualHosts.isEmpty() && subtrees.isEmpty();
  }

  /** {@code Gateway ns/name}. */
  static String listenerKey(Object gateway) {
    return String.valueOf(gateway);
  }

  /** {@code listener-name|VirtualService ns/name}. */
  static String virtualHostKey(String listenerName, Object virtualService) {
    return listenerName + "|" + virtualService;
  }

  /**
   * {@code listener-name|VirtualService ns/name@/prefix>RouteTable ns/name@/prefix>RouteTable ns/name}: the
   * delegation chain down to the table, with the prefix each table was delegated under.
   */
  static String subtreeKey(String listenerName, String delegationPath) {
    return listenerName + "|" + delegationPath;
  }

  /** The entries of {@code map} whose keys start with {@code prefix}. */
  static <V> SortedMap<String, V> withPrefix(SortedMap<String, V> map, String prefix) {
    return map.subMap(prefix, prefix + Character.MAX_VALUE);
  }
}
