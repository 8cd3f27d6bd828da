package io.shardgate.sharding.translate;

import io.shardgate.sharding.ir.ProxyListener;
import io.shardgate.sharding.ir.ProxyRoute;
import io.shardgate.sharding.ir.ProxyVirtualHost;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What each resource last produced while it was accepted, so that a rejected resource keeps serving its last good
 * output instead of disappearing. Input and output of {@link GatewayTranslator}: the translator reads the previous
 * value and returns the next one, and the pipeline persists it so it survives a restart. Immutable value.
 *
 * <p>Keys name the place an output was produced at, not its position, so reordering unrelated routes does not lose
 * it: see {@link #listenerKey}, {@link #virtualHostKey} and {@link #subtreeKey}.
 *
 * @param listeners the last accepted listener of each Gateway, per proxy
 * @param virtualHosts the last accepted virtual host of each VirtualService, per proxy and listener
 * @param subtrees the last accepted flattened routes of each RouteTable at each delegation point
 */
public record LastGood(
    SortedMap<String, ProxyListener> listeners,
    SortedMap<String, ProxyVirtualHost> virtualHosts,
    SortedMap<String, List<ProxyRoute>> subtrees) {

  public static final LastGood EMPTY = new LastGood(new TreeMap<>(), new TreeMap<>(), new TreeMap<>());

  public LastGood {
    listeners = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(listeners));
    virtualHosts = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(virtualHosts));
    TreeMap<String, List<ProxyRoute>> s = new TreeMap<>();
    subtrees.forEach((k, v) -> s.put(k, List.copyOf(v)));
    subtrees = java.util.Collections.unmodifiableSortedMap(s);
  }

  public boolean isEmpty() {
    return listeners.isEmpty() && virtualHosts.isEmpty() && subtrees.isEmpty();
  }

  /** {@code proxy|Gateway ns/name}. */
  static String listenerKey(String proxy, Object gateway) {
    return proxy + "|" + gateway;
  }

  /** {@code proxy|listener-name|VirtualService ns/name}. */
  static String virtualHostKey(String proxy, String listenerName, Object virtualService) {
    return proxy + "|" + listenerName + "|" + virtualService;
  }

  /**
   * {@code proxy|listener-name|VirtualService ns/name@/prefix>RouteTable ns/name@/prefix>RouteTable ns/name}: the
   * delegation chain down to the table, with the prefix each table was delegated under.
   */
  static String subtreeKey(String proxy, String listenerName, String delegationPath) {
    return proxy + "|" + listenerName + "|" + delegationPath;
  }

  /** Builder used by one translation call; not thread-safe. */
  static final class Builder {
    final Map<String, ProxyListener> listeners = new TreeMap<>();
    final Map<String, ProxyVirtualHost> virtualHosts = new TreeMap<>();
    final Map<String, List<ProxyRoute>> subtrees = new TreeMap<>();

    LastGood build() {
      return new LastGood(new TreeMap<>(listeners), new TreeMap<>(virtualHosts), new TreeMap<>(subtrees));
    }
  }
}
