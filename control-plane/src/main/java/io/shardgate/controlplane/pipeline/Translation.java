package io.shardgate.controlplane.pipeline;

import io.shardgate.controlplane.xds.EdgeXdsTranslator;
import io.shardgate.controlplane.xds.XdsTranslator;
import io.shardgate.sharding.decode.ResourceDecoder;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.plan.PlanSettings;
import io.shardgate.sharding.plan.ShardPlan;
import io.shardgate.sharding.plan.ShardPlanner;
import io.shardgate.sharding.translate.GatewayTranslation;
import io.shardgate.sharding.translate.GatewayTranslator;
import io.shardgate.sharding.translate.InvalidRoutePolicy;
import io.shardgate.sharding.translate.LastGood;
import io.shardgate.snapshot.ShardResources;
import java.util.Collections;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The whole pure translation of one input: decode, gateway translation, shard plan, then xDS translation per shard
 * (and for the edge shard, when enabled). Used by the running pipeline and by the {@code translate}, {@code validate}
 * and {@code plan} commands, so they all see exactly what the Envoys would get. Immutable.
 *
 * @param gateway the gateway translation with the shard plan applied: each shard's clusters are only the Upstreams its
 *     routes reach (unless {@code shardgate.allUpstreamsPerShard}), and the plan's errors and warnings (edge domain
 *     conflicts, edge settings) are in the statuses
 * @param plan the shard plan: per shard what it serves, reaches and depends on (fingerprint), and the edge shard
 * @param xds the Envoy resources per node role ({@code writeNamespace~proxyName}), the edge's included, sorted
 * @param translated the roles whose xDS resources this translation produced; the others were reused unchanged from
 *     the translation before (their fingerprint did not change), so there is nothing to push for them
 */
public record Translation(
    ConfigInput input,
    GatewayTranslation gateway,
    ShardPlan plan,
    SortedMap<String, ShardResources> xds,
    SortedSet<String> translated) {

  public Translation {
    xds = Collections.unmodifiableSortedMap(new TreeMap<>(xds));
    translated = Collections.unmodifiableSortedSet(new TreeSet<>(translated));
  }

  /** Translates {@code input} alone, with nothing to fall back on for rejected resources. */
  public static Translation of(ConfigInput input) {
    return of(input, LastGood.EMPTY);
  }

  /** Translates {@code input}; rejected resources serve what they produced in {@code previous}. */
  public static Translation of(ConfigInput input, LastGood previous) {
    return of(input, previous, null);
  }

  /**
   * Translates {@code input}; rejected resources serve what they produced in {@code previous}, and a shard whose
   * fingerprint equals its fingerprint in {@code before} is not xDS-translated again: it keeps {@code before}'s
   * resources and is left out of {@link #translated}.
   *
   * @param before the previous translation of the same pipeline, or null to translate every shard
   */
  public static Translation of(ConfigInput input, LastGood previous, Translation before) {
    return of(input, previous, before, ResourceDecoder::decodeDocument);
  }

  /** As {@link #of(ConfigInput, LastGood, Translation)}, decoding each document through {@code decoder}. */
  public static Translation of(
      ConfigInput input,
      LastGood previous,
      Translation before,
      java.util.function.Function<io.shardgate.sharding.decode.SourceDocument,
              io.shardgate.sharding.decode.DecodedDocument> decoder) {
    return of(input, previous, before, decoder, null);
  }

  /**
   * As above, reporting how long each shard's xDS translation took to {@code timing} (null for none). The clock is
   * read here, around the pure translators, never inside them.
   */
  public static Translation of(
      ConfigInput input,
      LastGood previous,
      Translation before,
      java.util.function.Function<io.shardgate.sharding.decode.SourceDocument,
              io.shardgate.sharding.decode.DecodedDocument> decoder,
      java.util.function.ObjLongConsumer<String> timing) {
    var decoded = ResourceDecoder.decode(input.documents(), decoder);
    var settings = decoded.snapshot().settings();
    GatewayTranslation translated = GatewayTranslator.translate(decoded, previous, InvalidRoutePolicy.of(settings));
    ShardPlan plan = ShardPlanner.plan(decoded.snapshot(), translated, PlanSettings.of(settings));
    SortedMap<String, ShardConfig> shards = new TreeMap<>();
    translated.shards().forEach((name, shard) -> shards.put(name, plan.withReachedClusters(shard)));
    GatewayTranslation gateway =
        new GatewayTranslation(
            translated.writeNamespace(),
            shards,
            plan.withStatuses(translated.statuses()),
            translated.documentProblems(),
            translated.lastGood());

    SortedMap<String, String> fingerprints = plan.fingerprints();
    SortedMap<String, String> previousFingerprints =
        before == null ? Collections.emptySortedMap() : before.plan().fingerprints();
    SortedMap<String, ShardResources> xds = new TreeMap<>();
    SortedSet<String> done = new TreeSet<>();
    for (ShardConfig shard : shards.values()) {
      String role = shard.proxy().role();
      ShardResources reused = reusable(before, role, fingerprints, previousFingerprints);
      if (reused != null) {
        xds.put(role, reused);
        continue;
      }
      long started = timing == null ? 0 : System.nanoTime();
      xds.put(role, XdsTranslator.translate(shard));
      if (timing != null) {
        timing.accept(role, System.nanoTime() - started);
      }
      done.add(role);
    }
    if (plan.edge() != null) {
      String role = plan.edge().role();
      ShardResources reused = reusable(before, role, fingerprints, previousFingerprints);
      if (reused != null) {
        xds.put(role, reused);
      } else {
        long started = timing == null ? 0 : System.nanoTime();
        xds.put(role, EdgeXdsTranslator.translate(plan.edge()));
        if (timing != null) {
          timing.accept(role, System.nanoTime() - started);
        }
        done.add(role);
      }
    }
    return new Translation(input, gateway, plan, xds, done);
  }

  private static ShardResources reusable(
      Translation before, String role, SortedMap<String, String> now, SortedMap<String, String> then) {
    String fingerprint = now.get(role);
    if (before == null || fingerprint == null || !fingerprint.equals(then.get(role))) {
      return null;
    }
    return before.xds().get(role);
  }
}
