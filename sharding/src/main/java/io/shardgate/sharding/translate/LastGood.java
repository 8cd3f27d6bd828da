package io.shardgate.sharding.translate;

import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What each resource last produced while it was accepted, so that a rejected resource keeps serving its last good
 * output instead of disappearing. Input and output of gateway translation: the translator reads the previous value
 * and returns the next one, and the pipeline persists it so it survives a restart. Immutable value.
 *
 * <p>One {@link ProxyLastGood} per proxy: what a proxy's translation reads and writes is its own slice, so a
 * translation that re-runs one proxy leaves the other slices as they are (the very same objects).
 *
 * @param proxies per proxy name, its slice
 */
public record LastGood(SortedMap<String, ProxyLastGood> proxies) {

  public static final LastGood EMPTY = new LastGood(new TreeMap<>());

  public LastGood {
    TreeMap<String, ProxyLastGood> copy = new TreeMap<>();
    proxies.forEach((name, slice) -> {
      if (!slice.isEmpty()) {
        copy.put(name, slice);
      }
    });
    proxies = Collections.unmodifiableSortedMap(copy);
  }

  /** The slice of one proxy; empty when it has none. */
  public ProxyLastGood of(String proxy) {
    ProxyLastGood slice = proxies.get(proxy);
    return slice == null ? ProxyLastGood.EMPTY : slice;
  }

  public boolean isEmpty() {
    return proxies.isEmpty();
  }

  /** How many listeners, virtual hosts and route table subtrees it holds, for logs. */
  public String summary() {
    int listeners = 0;
    int hosts = 0;
    int subtrees = 0;
    for (ProxyLastGood p : proxies.values()) {
      listeners += p.listeners().size();
      hosts += p.virtualHosts().size();
      subtrees += p.subtrees().size();
    }
    return listeners + " listeners, " + hosts + " virtual hosts, " + subtrees + " route table subtrees";
  }
}
