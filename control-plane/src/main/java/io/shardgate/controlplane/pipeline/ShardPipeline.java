package io.shardgate.controlplane.pipeline;

import io.shardgate.controlplane.state.LastGoodStore;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.translate.LastGood;
import io.shardgate.sharding.report.ResourceStatus;
import io.shardgate.snapshot.ShardSnapshotCache;
import io.shardgate.snapshot.ShardResources;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one stateful loop: each new input from a source is translated and published into the snapshot cache, one
 * snapshot per shard. Only shards whose resources changed get a new version (the cache compares content
 * versions), so an edit on one shard pushes nothing to the others; a shard whose plan fingerprint did not change is
 * not even xDS-translated again.
 *
 * <p>Stateful; {@link #accept} is synchronized so inputs are translated one at a time in arrival order. A
 * translation that throws (a bug, never bad input) is logged and the previous snapshots keep serving.
 */
public final class ShardPipeline implements Consumer<ConfigInput> {

  private static final Logger LOG = LoggerFactory.getLogger(ShardPipeline.class);

  private final ShardSnapshotCache cache;
  private final LastGoodStore lastGoodStore;
  private final PipelineObserver observer;
  private final AtomicReference<Translation> latest = new AtomicReference<>();
  /** Per role: xDS translations run, and pushes (snapshots that changed), since this pipeline started. */
  private final java.util.concurrent.ConcurrentMap<String, java.util.concurrent.atomic.AtomicLong> translations =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.concurrent.ConcurrentMap<String, java.util.concurrent.atomic.AtomicLong> pushes =
      new java.util.concurrent.ConcurrentHashMap<>();
  private LastGood lastGood;
  private final TranslationEngine engine;

  /** A pipeline whose last good state lives in memory only (tools and tests). */
  public ShardPipeline(ShardSnapshotCache cache) {
    this(cache, null);
  }

  /**
   * A pipeline that starts from the last good state persisted in {@code store} and saves it after every
   * translation, so a restart serves what was served before for resources that are still rejected.
   */
  public ShardPipeline(ShardSnapshotCache cache, LastGoodStore store) {
    this(cache, store, PipelineObserver.NONE);
  }

  /** As {@link #ShardPipeline(ShardSnapshotCache, LastGoodStore)}, reporting each pass to {@code observer}. */
  public ShardPipeline(ShardSnapshotCache cache, LastGoodStore store, PipelineObserver observer) {
    this.cache = cache;
    this.lastGoodStore = store;
    this.observer = java.util.Objects.requireNonNull(observer, "observer");
    this.engine = new TranslationEngine(observer::shardTranslated);
    this.lastGood = store == null ? LastGood.EMPTY : store.load();
  }

  @Override
  public synchronized void accept(ConfigInput input) {
    long cpuStarted = THREADS.getCurrentThreadCpuTime();
    try {
      pass(input);
    } finally {
      observer.passed(THREADS.getCurrentThreadCpuTime() - cpuStarted);
    }
  }

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private void pass(ConfigInput input) {
    long started = System.nanoTime();
    Translation t;
    try {
      // Shards whose fingerprint did not change keep the previous translation's resources (t.translated()).
      t = engine.translate(input, lastGood);
    } catch (RuntimeException e) {
      LOG.error("Translation of {} failed; every shard keeps serving its last snapshot", input.description(), e);
      observer.translationFailed();
      return;
    }
    for (var failure : engine.drainFailures()) {
      LOG.error("{}", failure.message(), failure.error());
    }
    long translationNanos = System.nanoTime() - started;
    int changed = 0;
    for (Map.Entry<String, ShardResources> shard : t.xds().entrySet()) {
      if (!t.translated().contains(shard.getKey())) {
        continue; // its fingerprint did not change: neither translated nor pushed
      }
      count(translations, shard.getKey());
      try {
        long publishStarted = System.nanoTime();
        boolean shardChanged = cache.setShard(shard.getKey(), shard.getValue());
        observer.shardPublished(shard.getKey(), shardChanged, System.nanoTime() - publishStarted);
        if (shardChanged) {
          changed++;
          count(pushes, shard.getKey());
          LOG.info(
              "Shard {} updated: {} listeners, {} route configurations, {} clusters",
              shard.getKey(), shard.getValue().listeners().size(), shard.getValue().routes().size(),
              shard.getValue().clusters().size());
        }
      } catch (IllegalArgumentException e) {
        LOG.error("Shard {} keeps its last snapshot: {}", shard.getKey(), e.getMessage());
        observer.shardPublishFailed(shard.getKey());
      }
    }
    for (String emptied : cache.retainShards(t.xds().keySet())) {
      LOG.warn("Shard {} no longer has any Gateway; its Envoys now get an empty snapshot", emptied);
    }
    lastGood = t.gateway().lastGood();
    if (lastGoodStore != null) {
      lastGoodStore.save(lastGood);
    }
    Translation previous = latest.getAndSet(t);
    observer.translated(t.translated(), translationNanos);
    logProblems(t, previous);
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

  /**
   * How many times this pipeline xDS-translated the shard with this role (edge included). A shard whose fingerprint
   * did not change since the previous input is not translated, so a metadata-only edit adds nothing here.
   */
  public long translations(String role) {
    var n = translations.get(role);
    return n == null ? 0 : n.get();
  }

  /** How many times this pipeline pushed a changed snapshot to the shard with this role. */
  public long pushes(String role) {
    var n = pushes.get(role);
    return n == null ? 0 : n.get();
  }

  private static void count(
      java.util.concurrent.ConcurrentMap<String, java.util.concurrent.atomic.AtomicLong> counters, String role) {
    counters.computeIfAbsent(role, r -> new java.util.concurrent.atomic.AtomicLong()).incrementAndGet();
  }

  /** Resource problems; the source logs its own file problems when it first sees them. */
  /**
   * Logs the problems that are new since {@code previous} (all of them on the first pass): a large configuration
   * with a few long-standing warnings must not repeat them on every edit. GET /api/status always has them all.
   */
  private static void logProblems(Translation t, Translation previous) {
    var before = previous == null ? java.util.Map.<io.shardgate.sharding.model.ResourceKey, ResourceStatus>of()
        : previous.gateway().statuses();
    var documentProblemsBefore =
        previous == null ? java.util.Set.<String>of() : java.util.Set.copyOf(previous.gateway().documentProblems());
    for (String p : t.gateway().documentProblems()) {
      if (!documentProblemsBefore.contains(p)) {
        LOG.warn("{}", p);
      }
    }
    for (ResourceStatus s : t.gateway().statuses().values()) {
      ResourceStatus was = before.get(s.key());
      if (was != null && was.state() == s.state() && was.reason().equals(s.reason())) {
        continue;
      }
      if (s.state() == ResourceState.REJECTED) {
        LOG.error("{} is rejected: {}", s.key(), s.reason());
      } else if (s.state() == ResourceState.WARNING) {
        LOG.warn("{}: {}", s.key(), s.reason());
      } else if (was != null && was.state() != ResourceState.ACCEPTED) {
        LOG.info("{} is {} again", s.key(), s.state().name().toLowerCase());
      }
    }
  }
}
