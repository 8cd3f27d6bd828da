package io.shardgate.controlplane.status;

import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.xds.XdsSources;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.snapshot.ShardSnapshotCache;
import io.shardgate.snapshot.ShardStreamStats;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

/**
 * The one mapping from the Envoys' NACKs to the input resources that produced the rejected xDS: GET /api/status and
 * the Kubernetes status writer both show a NACK on those resources, so a team sees it in its own status.
 *
 * <p>Stage: status (reads the snapshot cache's latest NACKs, so not pure; the result is an immutable value).
 * Thread-safe: every call reads the cache's current state.
 */
public final class EnvoyRejections {

  private EnvoyRejections() {
  }

  /**
   * The latest NACK of one xDS type on one shard.
   *
   * @param role the shard's node role ({@code writeNamespace~proxyName})
   * @param servedVersion what the shard's Envoys are served now (during a staged update, a stage)
   * @param current whether the rejected version is still the one served: only then is the resource's config not
   *     running
   * @param resources the input resources the message names, sorted as the xDS sources report them
   */
  public record Rejection(
      String role,
      String typeUrl,
      String version,
      String servedVersion,
      boolean current,
      String nodeId,
      String message,
      String at,
      List<ResourceKey> resources) {

    public Rejection {
      resources = List.copyOf(resources);
    }

    /** The error a resource named in this NACK shows. */
    public String errorMessage() {
      return "Envoy " + nodeId + " (shard " + role + ") rejected " + typeUrl.substring(typeUrl.lastIndexOf('.') + 1)
          + " version " + version + ": " + message;
    }
  }

  /** Per shard, in role order, the latest NACK of each xDS type, mapped to the resources of translation {@code t}. */
  public static List<Rejection> of(Translation t, ShardSnapshotCache cache) {
    Map<String, ShardConfig> byRole = new HashMap<>();
    for (ShardConfig shard : t.gateway().shards().values()) {
      byRole.put(shard.proxy().role(), shard);
    }
    List<Rejection> out = new ArrayList<>();
    SortedMap<String, SortedMap<String, ShardStreamStats.Nack>> nacks = cache.latestNacks();
    for (Map.Entry<String, SortedMap<String, ShardStreamStats.Nack>> e : nacks.entrySet()) {
      String role = e.getKey();
      ShardConfig shard = byRole.get(role);
      XdsSources sources = shard == null ? null : XdsSources.of(shard);
      for (ShardStreamStats.Nack nack : e.getValue().values()) {
        String served = cache.servedVersionOf(role, nack.typeUrl()).orElse("");
        List<ResourceKey> named = sources == null ? List.of() : List.copyOf(sources.sourcesNamedIn(nack.typeUrl(),
            nack.message()));
        out.add(new Rejection(role, nack.typeUrl(), nack.version(), served, served.equals(nack.version()),
            nack.nodeId(), nack.message(), nack.at().toString(), named));
      }
    }
    return List.copyOf(out);
  }
}
