package io.shardgate.sharding.ir;

import java.util.List;

/**
 * Everything xDS translation needs for one shard: its Proxy and the upstream clusters it serves.
 *
 * @param clusters sorted by upstream reference
 */
public record ShardConfig(Proxy proxy, List<UpstreamCluster> clusters) {

  public ShardConfig {
    clusters = List.copyOf(clusters);
  }
}
