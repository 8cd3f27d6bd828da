package io.shardgate.controlplane.pipeline;

import io.shardgate.controlplane.state.LastGoodStore;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.translate.LastGood;
import io.shardgate.sharding.report.ResourceStatus;
import io.shardgate.snapshot.ShardSnapshotCache;
import io.shardgate.snapshot.ShardResources;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one stateful loop: each new input from a source is translated and published into the snapshot cache, one
 * snapshot per shard. Only shards whose resources changed get a new version (the cache compares content
 * versions), so an edit on one shard pushes nothing to the others.
 *
 * <p>Stateful; {@link #accept} is synchronized so inputs are translated one at a time in arrival order. A
 * translation that throws (a bug, never bad input) is logged and the previous snapshots keep serving.
 */
public final class ShardPipeline implements Consumer<ConfigInput> {

  private static final Logger LOG = LoggerFactory.getLogger(ShardPipeline.class);

  private final ShardSnapshotCache cache;
  private final LastGoodStore lastGoodStore;
  private final AtomicReference<Translation> latest = new AtomicReference<>();
  private LastGood lastGood;

  /** A pipeline whose last good state lives in memory only (tools and tests). */
  public ShardPipeline(ShardSnapshotCache cache) {
    this(cache, null);
  }

  /**
   * A pipeline that starts from the last good state persisted in {@code store} and saves it after every
   * translation, so a restart serves what was served before for resources that are still rejected.
   */
  public ShardPipeline(ShardSnapshotCache cache, LastGoodStore store) {
    this.cache = cache;
    this.lastGoodStore = store;
    this.lastGood = store == null ? LastGood.EMPTY : store.load();
  }

  @Override
  public synchronized void accept(ConfigInput input) {
    long started = System.nanoTime();
    Translation t;
    try {
      t = Translation.of(input, lastGood);
    } catch (RuntimeException e) {
      LOG.error("Translation of {} failed; every shard keeps serving its last snapshot", input.description(), e);
      return;
    }
    int changed = 0;
    for (Map.Entry<String, ShardResources> shard : t.xds().entrySet()) {
      try {
        if (cache.setShard(shard.getKey(), shard.getValue())) {
          changed++;
          LOG.info(
              "Shard {} updated: {} listeners, {} route configurations, {} clusters",
              shard.getKey(), shard.getValue().listeners().size(), shard.getValue().routes().size(),
              shard.getValue().clusters().size());
        }
      } catch (IllegalArgumentException e) {
        LOG.error("Shard {} keeps its last snapshot: {}", shard.getKey(), e.getMessage());
      }
    }
    for (String emptied : cache.retainShards(t.xds().keySet())) {
      LOG.warn("Shard {} no longer has any Gateway; its Envoys now get an empty snapshot", emptied);
    }
    lastGood = t.gateway().lastGood();
    if (lastGoodStore != null) {
      lastGoodStore.save(lastGood);
    }
    latest.set(t);
    logProblems(t);
    LOG.info(
        "Translated {}: {} shards, {} changed, {} resources ({} rejected) in {} ms",
        input.description(), t.xds().size(), changed, t.gateway().statuses().size(),
        t.gateway().statuses().values().stream().filter(s -> s.state() == ResourceState.REJECTED).count(),
        (System.nanoTime() - started) / 1_000_000);
  }

  /** The latest translation, or null before the first input. */
  public Translation latest() {
    return latest.get();
  }

  /** Resource problems; the source logs its own file problems when it first sees them. */
  private static void logProblems(Translation t) {
    for (String p : t.gateway().documentProblems()) {
      LOG.warn("{}", p);
    }
    for (ResourceStatus s : t.gateway().statuses().values()) {
      if (s.state() == ResourceState.REJECTED) {
        LOG.error("{} is rejected: {}", s.key(), s.reason());
      } else if (s.state() == ResourceState.WARNING) {
        LOG.warn("{}: {}", s.key(), s.reason());
      }
    }
  }
}
