package io.shardgate.controlplane.pipeline;

import io.shardgate.controlplane.xds.XdsTranslator;
import io.shardgate.sharding.decode.ResourceDecoder;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.translate.GatewayTranslation;
import io.shardgate.sharding.translate.GatewayTranslator;
import io.shardgate.sharding.translate.InvalidRoutePolicy;
import io.shardgate.sharding.translate.LastGood;
import io.shardgate.snapshot.ShardResources;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The whole pure translation of one input: decode, gateway translation, then xDS translation per shard. Used by
 * the running pipeline and by the {@code translate} and {@code validate} commands, so both see exactly what the
 * Envoys would get. Immutable.
 *
 * @param xds the Envoy resources per node role ({@code writeNamespace~proxyName}), sorted
 */
public record Translation(ConfigInput input, GatewayTranslation gateway, SortedMap<String, ShardResources> xds) {

  public Translation {
    xds = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(xds));
  }

  /** Translates {@code input} alone, with nothing to fall back on for rejected resources. */
  public static Translation of(ConfigInput input) {
    return of(input, LastGood.EMPTY);
  }

  /** Translates {@code input}; rejected resources serve what they produced in {@code previous}. */
  public static Translation of(ConfigInput input, LastGood previous) {
    var decoded = ResourceDecoder.decode(input.documents());
    GatewayTranslation gateway =
        GatewayTranslator.translate(decoded, previous, InvalidRoutePolicy.of(decoded.snapshot().settings()));
    SortedMap<String, ShardResources> xds = new TreeMap<>();
    for (ShardConfig shard : gateway.shards().values()) {
      xds.put(shard.proxy().role(), XdsTranslator.translate(shard));
    }
    return new Translation(input, gateway, xds);
  }
}
