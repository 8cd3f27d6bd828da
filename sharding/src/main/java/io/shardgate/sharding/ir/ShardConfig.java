package io.shardgate.sharding.ir;

import io.shardgate.sharding.model.ResourceRef;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Everything xDS translation needs for one shard: its Proxy and the upstream clusters it serves.
 *
 * @param clusters sorted by upstream reference
 */
public record ShardConfig(Proxy proxy, List<UpstreamCluster> clusters) {

  public ShardConfig {
    clusters = List.copyOf(clusters);
  }

  /**
   * Every TLS secret the shard's listeners and clusters reference over SDS, merged per secret (a secret used for its
   * certificate by one and its root CA by another needs both), sorted: exactly the SDS resources the shard serves.
   */
  public SortedSet<SecretUse> secretUses() {
    SortedMap<ResourceRef, SecretUse> bySecret = new TreeMap<>();
    List<SecretUse> all = new ArrayList<>();
    proxy.listeners().forEach(l -> all.addAll(l.secretUses()));
    clusters.forEach(c -> all.addAll(c.secretUses()));
    for (SecretUse u : all) {
      bySecret.merge(u.secret(), u, (a, b) ->
          new SecretUse(a.secret(), a.certificate() || b.certificate(), a.validation() || b.validation()));
    }
    return Collections.unmodifiableSortedSet(new TreeSet<>(bySecret.values()));
  }
}
