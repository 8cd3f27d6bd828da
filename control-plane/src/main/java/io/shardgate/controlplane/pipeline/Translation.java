package io.shardgate.controlplane.pipeline;

import io.shardgate.sharding.model.Settings;
import io.shardgate.sharding.plan.ShardPlan;
import io.shardgate.sharding.secret.TlsSecretLookup;
import io.shardgate.sharding.translate.GatewayTranslation;
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
 *     the translation before (their configuration did not change), so there is nothing to push for them
 * @param failures per role, an internal error that kept the shard from being translated (a bug, never bad input):
 *     such a shard keeps the resources it had (in {@code xds}), and the others are translated as usual
 * @param settings the Settings in force (the defaults when there is none), for the stages after translation (the
 *     Kubernetes Proxy writer reads {@code gateway.persistProxySpec})
 * @param endpointsOnly whether only Service endpoints, or TLS secrets as far as what they serve, changed since the
 *     translation before (its documents were the very same objects, and every secret view gateway translation read
 *     answers the same): then gateway translation, plan and xDS translation did not run, {@code plan} is the previous
 *     one, {@code gateway} the previous one (with the Secrets' statuses brought up to date), and {@code translated}
 *     holds the shards whose load assignments or SDS resources changed
 */
public record Translation(
    ConfigInput input,
    GatewayTranslation gateway,
    ShardPlan plan,
    SortedMap<String, ShardResources> xds,
    SortedSet<String> translated,
    SortedMap<String, String> failures,
    Settings settings,
    boolean endpointsOnly) {

  public Translation {
    settings = settings == null ? Settings.DEFAULTS : settings;
    xds = Collections.unmodifiableSortedMap(new TreeMap<>(xds));
    translated = Collections.unmodifiableSortedSet(new TreeSet<>(translated));
    failures = Collections.unmodifiableSortedMap(new TreeMap<>(failures));
  }

  /** A full translation under the default Settings. */
  public Translation(ConfigInput input, GatewayTranslation gateway, ShardPlan plan,
      SortedMap<String, ShardResources> xds, SortedSet<String> translated, SortedMap<String, String> failures) {
    this(input, gateway, plan, xds, translated, failures, Settings.DEFAULTS, false);
  }

  /** Translates {@code input} alone, with nothing to fall back on for rejected resources. */
  public static Translation of(ConfigInput input) {
    return of(input, LastGood.EMPTY);
  }

  /** Translates {@code input} from scratch; rejected resources serve what they produced in {@code previous}. */
  public static Translation of(ConfigInput input, LastGood previous) {
    return new TranslationEngine().translate(input, previous);
  }

  /** As {@link #of(ConfigInput, LastGood)}, knowing the TLS secrets by {@code secrets}. */
  public static Translation of(ConfigInput input, LastGood previous, TlsSecretLookup secrets) {
    return new TranslationEngine().translate(input, previous, secrets);
  }
}
