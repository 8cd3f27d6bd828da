package io.shardgate.controlplane.local;

import java.util.List;
import java.util.Locale;

/**
 * How the APIs of a local run are placed on gateway-proxy shards: the three layouts the load-isolation experiment
 * compares (docs/load-isolation.md) and {@code shardgate demo} can start.
 */
public enum LocalLayout {
  /** Every API on one gateway-proxy ({@code gateway-proxy-shared}): the noisy neighbour's worst case. */
  SHARED,
  /** Each API on its own shard's gateway-proxy ({@code gateway-proxy-<shard>}), clients talking to it directly. */
  SHARDED,
  /** The sharded layout behind the edge shard ({@code gateway-proxy-edge}): clients talk to the edge only. */
  EDGE;

  /** The proxy name of the one gateway-proxy of {@link #SHARED}. */
  public static final String SHARED_PROXY = "gateway-proxy-shared";
  /** The edge shard's proxy name (the Settings default). */
  public static final String EDGE_PROXY = "gateway-proxy-edge";

  /** The proxy (Gateway {@code proxyNames} entry) that serves {@code api} in this layout. */
  public String proxyOf(LocalApi api) {
    return this == SHARED ? SHARED_PROXY : "gateway-proxy-" + api.shard();
  }

  /** The proxies of the shards, in the order their APIs first appear (without the edge). */
  public List<String> proxies(List<LocalApi> apis) {
    return apis.stream().map(this::proxyOf).distinct().toList();
  }

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses {@code shared}, {@code sharded} or {@code edge} (any case); fails naming the choices. */
  public static LocalLayout parse(String text) {
    for (LocalLayout layout : values()) {
      if (layout.label().equalsIgnoreCase(text.trim())) {
        return layout;
      }
    }
    throw new IllegalArgumentException("unknown layout '" + text + "': choose shared, sharded or edge");
  }
}
