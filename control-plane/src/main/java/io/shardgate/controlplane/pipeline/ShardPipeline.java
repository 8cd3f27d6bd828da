package io.shardgate.controlplane.pipeline;

import io.shardgate.controlplane.state.LastGoodStore;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.report.ResourceStatus;
import io.shardgate.sharding.translate.LastGood;
import io.shardgate.snapshot.ShardResources;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.lang.ref.WeakReference;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one stateful loop: each new input from a source is translated and published into the snapshot cache, one
 * snapshot per shard, and the next last good state is persisted. Only shards whose resources changed get a new
 * version (the cache compares content versions), so an edit on one shard pushes nothing to the others; a shard
 * whose configuration did not change is not even xDS-translated again.
 *
 * <p>Stateful; {@link #accept} is synchronized so inputs are translated one at a time in arrival order. The
 * persisted last good state is loaded by the first input, on the source's thread, so that opening the ports never
 * waits for it. An internal error while translating or publishing one shard fails that shard only: it keeps
 * serving what it had, {@link #failures()} names it, and the others are published as usual.
 *
 * <p>When a served certificate expires (or one not yet valid becomes valid), the latest input is translated again at
 * that instant ({@link TranslationEngine#nextSecretChange()}), on a shared daemon thread, unless a newer input came
 * first: the verdict on a secret depends on the time, which is read once per pass.
 */
public final class ShardPipeline implements Consumer<ConfigInput> {

  private static final Logger LOG = LoggerFactory.getLogger(ShardPipeline.class);
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private final ShardSnapshotCache cache;
  private final LastGoodStore lastGoodStore;
  private final PipelineObserver observer;
  private final TranslationEngine engine;
  private final AtomicReference<Translation> latest = new AtomicReference<>();
  private final AtomicReference<SortedMap<String, String>> failures =
      new AtomicReference<>(Collections.emptySortedMap());
  /** Per role: xDS translations run, and pushes (snapshots that changed), since this pipeline started. */
  private final ConcurrentMap<String, AtomicLong> translations = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, AtomicLong> pushes = new ConcurrentHashMap<>();
  private final List<Runnable> passListeners = new CopyOnWriteArrayList<>();
  private final ConcurrentMap<String, AtomicLong> endpointUpdates = new ConcurrentHashMap<>();
  private LastGood lastGood;

  /** One daemon thread for every pipeline's certificate-validity rechecks; tasks hold their pipeline weakly. */
  private static final ScheduledExecutorService RECHECKS = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "shardgate-secret-recheck");
    t.setDaemon(true);
    return t;
  });
  private ConfigInput lastInput; // guarded by this
  private ScheduledFuture<?> recheck; // guarded by this

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
    this(cache, store, observer, new TranslationEngine(observer::shardTranslated));
  }

  /** As above, translating with {@code engine} (tests give one whose xDS translation fails on purpose). */
  public ShardPipeline(ShardSnapshotCache cache, LastGoodStore store, PipelineObserver observer,
      TranslationEngine engine) {
    this.cache = Objects.requireNonNull(cache, "cache");
    this.lastGoodStore = store;
    this.observer = Objects.requireNonNull(observer, "observer");
    this.engine = Objects.requireNonNull(engine, "engine");
  }

  @Override
  public synchronized void accept(ConfigInput input) {
    long cpuStarted = THREADS.getCurrentThreadCpuTime();
    lastInput = input;
    try {
      pass(input);
    } finally {
      observer.passed(THREADS.getCurrentThreadCpuTime() - cpuStarted);
      scheduleRecheck(input);
    }
    for (Runnable listener : passListeners) {
      try {
        listener.run();
      } catch (RuntimeException e) {
        LOG.error("A pass listener failed; the pipeline goes on", e);
      }
    }
  }

  /** Translates {@code input} again at the engine's next certificate-validity change, if there is one. */
  private void scheduleRecheck(ConfigInput input) {
    if (recheck != null) {
      recheck.cancel(false);
      recheck = null;
    }
    Optional<Instant> at = engine.nextSecretChange();
    if (at.isEmpty()) {
      return;
    }
    // Just past the instant: a certificate is expired once the time is after its notAfter.
    long delay = Math.max(1, Duration.between(Instant.now(), at.get()).toMillis() + 1);
    WeakReference<ShardPipeline> self = new WeakReference<>(this);
    recheck = RECHECKS.schedule(() -> {
      ShardPipeline p = self.get();
      if (p != null) {
        p.recheck(input);
      }
    }, delay, TimeUnit.MILLISECONDS);
  }

  private synchronized void recheck(ConfigInput input) {
    if (lastInput == input) {
      LOG.info("A certificate's validity changes now; translating {} again", input.description());
      accept(input);
    }
  }

  /**
   * Calls {@code listener} on the pipeline's thread after every pass, once {@link #latest()} is the new translation
   * (the status writer is woken so). It must return at once and not throw.
   */
  public void addPassListener(Runnable listener) {
    passListeners.add(Objects.requireNonNull(listener, "listener"));
  }

  private void pass(ConfigInput input) {
    long started = System.nanoTime();
    long secretPassesBefore = engine.secretPasses();
    if (lastGood == null) {
      lastGood = lastGoodStore == null ? LastGood.EMPTY : lastGoodStore.load();
    }
    Translation t;
    try {
      t = engine.translate(input, lastGood);
    } catch (RuntimeException | StackOverflowError e) {
      // Every stage contains its own failures per shard or per resource; reaching here is a bug beyond those.
      LOG.error("Translation of {} failed; every shard keeps serving its last snapshot", input.description(), e);
      observer.translationFailed();
      return;
    }
    for (TranslationEngine.Failure failure : engine.drainFailures()) {
      LOG.error("{}", failure.message(), failure.error());
    }
    long translationNanos = System.nanoTime() - started;
    SortedMap<String, String> failed = new TreeMap<>(t.failures());
    int changed = 0;
    for (Map.Entry<String, ShardResources> shard : t.xds().entrySet()) {
      String role = shard.getKey();
      if (!t.translated().contains(role)) {
        continue; // its configuration did not change: neither translated nor pushed
      }
      count(t.endpointsOnly() ? endpointUpdates : translations, role);
      try {
        long publishStarted = System.nanoTime();
        boolean shardChanged = cache.setShard(role, shard.getValue());
        observer.shardPublished(role, shardChanged, System.nanoTime() - publishStarted);
        if (shardChanged) {
          changed++;
          count(pushes, role);
          if (t.endpointsOnly()) {
            LOG.info("Shard {} updated (endpoints or secrets only): {} load assignments, {} secrets", role,
                shard.getValue().endpoints().size(), shard.getValue().secrets().size());
          } else {
            LOG.info(
                "Shard {} updated: {} listeners, {} route configurations, {} clusters, {} load assignments",
                role, shard.getValue().listeners().size(), shard.getValue().routes().size(),
                shard.getValue().clusters().size(), shard.getValue().endpoints().size());
          }
        }
      } catch (RuntimeException e) {
        failed.put(role, Failures.describe("publishing shard " + role, e) + "; it keeps serving its last snapshot");
        LOG.error("Shard {} keeps its last snapshot", role, e);
        observer.shardPublishFailed(role);
      }
    }
    for (String emptied : cache.retainShards(t.xds().keySet())) {
      LOG.warn("Shard {} no longer has any Gateway; its Envoys now get an empty snapshot", emptied);
    }
    lastGood = t.gateway().lastGood();
    // Endpoints are not persisted (the API server gives them back after a restart), and an endpoint-only pass has
    // the same last good state as the pass before: nothing to write.
    if (lastGoodStore != null && !t.endpointsOnly()) {
      lastGoodStore.save(lastGood);
    }
    SortedMap<String, String> failedBefore = failures.getAndSet(Collections.unmodifiableSortedMap(failed));
    for (String role : failedBefore.keySet()) {
      if (!failed.containsKey(role)) {
        LOG.info("Shard {} translates and publishes again", role);
      }
    }
    Translation previous = latest.getAndSet(t);
    if (t.endpointsOnly()) {
      if (engine.secretPasses() != secretPassesBefore) {
        observer.secretsTranslated(t.translated(), translationNanos);
      } else {
        observer.endpointsTranslated(t.translated(), translationNanos);
      }
      if (previous != null && previous.gateway() != t.gateway()) {
        logProblems(t, previous); // a Secret's status changed
      }
      LOG.info(
          "Translated {} (endpoints or secrets only): {} shards with changed load assignments or secrets, {} changed,"
              + " in {} ms",
          input.description(), t.translated().size(), changed, (System.nanoTime() - started) / 1_000_000);
      return;
    }
    observer.translated(t.translated(), translationNanos);
    logProblems(t, previous);
    LOG.info(
        "Translated {}: {} shards, {} changed, {} failing, in {} ms",
        input.description(), t.xds().size(), changed, failed.size(), (System.nanoTime() - started) / 1_000_000);
  }

  /** The latest translation, or null before the first input. */
  public Translation latest() {
    return latest.get();
  }

  /**
   * Per role, why the shard could not be translated or published by the latest pass (an internal error); empty when
   * every shard is fine. A failing shard keeps serving what it served before.
   */
  public SortedMap<String, String> failures() {
    return failures.get();
  }

  /** The problems the state directory had (recovered damage, unreadable entries, a migration); empty without one. */
  public List<String> stateProblems() {
    return lastGoodStore == null ? List.of() : lastGoodStore.problems();
  }

  /**
   * How many times this pipeline xDS-translated the shard with this role (edge included). A shard whose configuration
   * did not change since the previous input is not translated, so a metadata-only edit adds nothing here; neither
   * does an endpoint-only pass ({@link #endpointUpdates}).
   */
  public long translations(String role) {
    AtomicLong n = translations.get(role);
    return n == null ? 0 : n.get();
  }

  /**
   * How many endpoint-only passes rebuilt the load assignments of the shard with this role (only endpoints of
   * Services its EDS clusters target changed; nothing else was translated).
   */
  public long endpointUpdates(String role) {
    AtomicLong n = endpointUpdates.get(role);
    return n == null ? 0 : n.get();
  }

  /** How many times this pipeline pushed a changed snapshot to the shard with this role. */
  public long pushes(String role) {
    AtomicLong n = pushes.get(role);
    return n == null ? 0 : n.get();
  }

  private static void count(ConcurrentMap<String, AtomicLong> counters, String role) {
    counters.computeIfAbsent(role, r -> new AtomicLong()).incrementAndGet();
  }

  /**
   * Logs the problems that are new since {@code previous} (all of them on the first pass): a large configuration
   * with a few long-standing warnings must not repeat them on every edit. GET /api/status always has them all.
   * Statuses that did not change are the same objects, so comparing costs little.
   */
  private static void logProblems(Translation t, Translation previous) {
    SortedMap<ResourceKey, ResourceStatus> before =
        previous == null ? Collections.emptySortedMap() : previous.gateway().statuses();
    Set<String> documentProblemsBefore =
        previous == null ? Set.of() : new HashSet<>(previous.gateway().documentProblems());
    for (String p : t.gateway().documentProblems()) {
      if (!documentProblemsBefore.contains(p)) {
        LOG.warn("{}", p);
      }
    }
    for (ResourceStatus s : t.gateway().statuses().values()) {
      ResourceStatus was = before.get(s.key());
      if (was == s || (was != null && was.state() == s.state() && was.reason().equals(s.reason()))) {
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
