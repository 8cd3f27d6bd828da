package io.shardgate.controlplane.render;

import io.shardgate.controlplane.xds.XdsTranslator;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.translate.GatewayTranslation;
import io.shardgate.snapshot.ShardResources;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Trees of a whole translation for people and golden files: per shard its Proxy and xDS resources by type, and the
 * status of every resource. Pure.
 */
public final class TranslationOutput {

  private TranslationOutput() {}

  /** The xDS resources of one shard by type ({@code listeners}, {@code routes}, {@code clusters}, ...). */
  public static Map<String, Object> xds(ShardResources r) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("listeners", Trees.tree(r.listeners()));
    out.put("routes", Trees.tree(r.routes()));
    out.put("clusters", Trees.tree(r.clusters()));
    out.put("endpoints", Trees.tree(r.endpoints()));
    out.put("secrets", Trees.tree(r.secrets()));
    out.values().removeIf(v -> v instanceof List<?> l && l.isEmpty());
    return out;
  }

  /** Everything: statuses, document problems, and per shard the Proxy and its xDS resources. */
  public static Map<String, Object> full(GatewayTranslation t) {
    return full(t, Map.of());
  }

  /**
   * As {@link #full(GatewayTranslation)}, with each shard's xDS resources taken from {@code xds} (by role) where it
   * has them: what the pipeline serves, load assignments included.
   */
  public static Map<String, Object> full(GatewayTranslation t, Map<String, ShardResources> xds) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("statuses", Trees.statuses(t.statuses().values()));
    if (!t.documentProblems().isEmpty()) {
      out.put("documentProblems", t.documentProblems());
    }
    Map<String, Object> shards = new TreeMap<>();
    for (Map.Entry<String, ShardConfig> e : t.shards().entrySet()) {
      Map<String, Object> shard = new LinkedHashMap<>();
      shard.put("role", e.getValue().proxy().role());
      shard.put("proxy", Trees.tree(e.getValue().proxy()));
      ShardResources served = xds.get(e.getValue().proxy().role());
      shard.put("xds", xds(served != null ? served : XdsTranslator.translate(e.getValue())));
      shards.put(e.getKey(), shard);
    }
    out.put("shards", shards);
    return out;
  }
}
