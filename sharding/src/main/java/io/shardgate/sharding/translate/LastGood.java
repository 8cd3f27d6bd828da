package io.shardgate.sharding.translate;

import io.shardgate.sharding.decode.AcceptedDocuments;
import io.shardgate.sharding.decode.SourceDocument;
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
 * @param proxies per proxy name, its slice: the output of Gateways, VirtualServices and RouteTables
 * @param documents per resource ({@code Kind ns/name}), the last accepted document of each Upstream, UpstreamGroup
 *     and Settings, which stays in force while the current one is rejected (see
 *     {@link io.shardgate.sharding.decode.DecodedResourcesCache})
 */
public record LastGood(SortedMap<String, ProxyLastGood> proxies, SortedMap<String, SourceDocument> documents) {

  public static final LastGood EMPTY = new LastGood(new TreeMap<>(), new TreeMap<>());

  public LastGood {
    TreeMap<String, ProxyLastGood> copy = new TreeMap<>();
    proxies.forEach((name, slice) -> {
      if (!slice.isEmpty()) {
        copy.put(name, slice);
      }
    });
    proxies = Collections.unmodifiableSortedMap(copy);
    documents = AcceptedDocuments.of(documents);
  }

  /** Proxy slices only, no documents. */
  public LastGood(SortedMap<String, ProxyLastGood> proxies) {
    this(proxies, new TreeMap<>());
  }

  /** The same slices with {@code documents} as the last accepted documents. */
  public LastGood withDocuments(SortedMap<String, SourceDocument> documents) {
    return new LastGood(proxies, documents);
  }

  /** The slice of one proxy; empty when it has none. */
  public ProxyLastGood of(String proxy) {
    ProxyLastGood slice = proxies.get(proxy);
    return slice == null ? ProxyLastGood.EMPTY : slice;
  }

  public boolean isEmpty() {
    return proxies.isEmpty() && documents.isEmpty();
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
    return listeners + " listeners, " + hosts + " virtual hosts, " + subtrees + " route table subtrees, "
        + documents.size() + " documents";
  }
}
