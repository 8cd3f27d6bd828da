package io.shardgate.snapshot;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.SnapshotConsistencyException;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One xDS snapshot per shard, keyed by node role (snapshot cache stage, feeding the xDS serving stage).
 *
 * <p>Stateful and thread-safe: writers ({@link #setShard}, {@link #retainShards}, the unknown-role handling of
 * {@link ShardDiscoveryCallbacks}, and the stages of an update) are serialized by one lock; readers never block on it.
 * It wraps java-control-plane's {@link SimpleCache}, grouping nodes with {@link NodeRoles#NODE_GROUP}. It owns one daemon
 * scheduler thread (grace timers, stage checks, paced responses); {@link #close()} stops it.
 *
 * <p>What it adds to {@code SimpleCache}:
 * <ul>
 *   <li>content-hash versions per type ({@link ContentVersions}); a shard whose content did not change is not pushed;
 *   <li>make-before-break: a new snapshot reaches a shard's Envoys in stages ({@code MakeBeforeBreak}), so a new
 *       cluster is sent, and answered by every Envoy of the shard, before the routes that use it, a cluster that
 *       routes stop using is removed only after every Envoy answered those routes, and a listener that is replaced
 *       by one of another name (a Gateway's address or port changed) is removed only after every Envoy answered the
 *       new one. The Envoys' ACKs move the stages on; a stage that some stream does not answer within the grace
 *       period goes on anyway, with a WARN that names those streams. A stage that an Envoy rejects (NACKs) is
 *       <em>held</em>: nothing is removed, so what the Envoys hold keeps serving (a new listener that cannot bind,
 *       its predecessor keeps listening), with one WARN, until the next {@link #setShard} of the shard
 *       ({@link #isHeld}). A later {@link #setShard} starts over from what is served at that moment;
 *   <li>xDS protocol rules java-control-plane does not keep: a state of the world request for EDS, RDS or SDS that
 *       names nothing watches nothing and is not answered (java-control-plane would send every resource of the type,
 *       which an Envoy that watches none answers by asking again, in a loop); and each stream is paced by a token
 *       bucket ({@link ResponsePacing}), so no client can make it send without bound;
 *   <li>a fallback snapshot for nodes without a role ({@link NodeRoles#MISCONFIGURED_NODE_GROUP}), seeded at
 *       construction;
 *   <li>unknown roles: until the first {@link #retainShards} the cache cannot know whether a role it has no snapshot
 *       for is merely not translated yet, so its Envoys wait (parked watches). From then on such a role is unknown and
 *       its Envoys get an empty snapshot, which lets them finish initializing instead of hanging;
 *   <li>NACKed versions are not resent: java-control-plane answers a NACK, whose {@code version_info} is the last
 *       accepted version, by sending the rejected version again at once, which would loop as fast as Envoy can reject
 *       it. {@link #configWatcher()} parks such a request until the shard's content changes. The same holds for delta
 *       streams, where a rejected resource that the client subscribed to by name would be resent at once;
 *   <li>the latest NACK per group and type ({@link #latestNacks(String)}), so the control plane can show which
 *       resources Envoys reject;
 *   <li>delta clients that reconnect with {@code initial_resource_versions} get only what differs from those versions,
 *       not everything again (java-control-plane ignores that field).
 * </ul>
 *
 * <p>Contract with the control plane: after each translation, {@link #setShard} every shard, then call
 * {@link #retainShards} with the full set of shards. {@link #versionOf} and {@link #resourcesOf} report what the last
 * {@code setShard} asked for; during a staged update the Envoys are served a stage of it ({@link #servedVersionOf}).
 */
public final class ShardSnapshotCache implements AutoCloseable {

  /**
   * How long a stage waits for streams that do not answer it: 10 s. A healthy Envoy answers in milliseconds, and even
   * on a loaded two-core host in well under a second, so this is two orders of magnitude of headroom before a slow
   * Envoy is overtaken; while a stuck stream (an Envoy that hangs without closing its connection) holds back every
   * update of its shard by at most two grace periods (stages A and B), and is named in a WARN each time.
   */
  public static final Duration DEFAULT_STAGE_GRACE_PERIOD = Duration.ofSeconds(10);

  private static final Logger LOG = LoggerFactory.getLogger(ShardSnapshotCache.class);

  private final SimpleCache<String> cache = new SimpleCache<>(NodeRoles.NODE_GROUP);
  private final Object lock = new Object();
  private final ConcurrentMap<String, Entry> entries = new ConcurrentHashMap<>();
  private final List<ShardDiscoveryCallbacks> callbacks = new CopyOnWriteArrayList<>();
  private final ConfigWatcher watcher = new FixingConfigWatcher();
  // Keyed by the identity of the raw request object (weak keys compare with ==), so a context can only ever apply to
  // the very request it was computed for, and vanishes with it if java-control-plane ignores that request.
  private final Cache<Object, RequestContext> contexts = Caffeine.newBuilder().weakKeys().build();
  private final ConcurrentMap<String, ConcurrentMap<String, ShardStreamStats.Nack>> nacks = new ConcurrentHashMap<>();
  /** Groups whose update is under way, by group. Changed under the lock only. */
  private final ConcurrentMap<String, Rollout> rollouts = new ConcurrentHashMap<>();
  private final Duration stageGracePeriod;
  private final ResponsePacing responsePacing;
  private final ScheduledThreadPoolExecutor scheduler;
  private volatile boolean synced;
  private volatile boolean closed;

  /** A cache with the defaults: fallback listener on {@link FallbackConfig#DEFAULT}, 10 s grace, default pacing. */
  public ShardSnapshotCache() {
    this(FallbackConfig.DEFAULT);
  }

  /** A cache whose fallback listener for nodes without a role listens where {@code fallback} says. */
  public ShardSnapshotCache(FallbackConfig fallback) {
    this(fallback, DEFAULT_STAGE_GRACE_PERIOD, ResponsePacing.DEFAULT);
  }

  /**
   * A cache with every setting.
   *
   * @param fallback where the fallback listener for nodes without a role listens
   * @param stageGracePeriod how long a stage of an update waits for streams that do not answer it (more than 0)
   * @param responsePacing how many responses each stream may be sent
   */
  public ShardSnapshotCache(FallbackConfig fallback, Duration stageGracePeriod, ResponsePacing responsePacing) {
    Objects.requireNonNull(fallback, "fallback");
    Objects.requireNonNull(stageGracePeriod, "stageGracePeriod");
    Objects.requireNonNull(responsePacing, "responsePacing");
    if (stageGracePeriod.isNegative() || stageGracePeriod.isZero()) {
      throw new IllegalArgumentException("the stage grace period must be positive, got " + stageGracePeriod);
    }
    this.stageGracePeriod = stageGracePeriod;
    this.responsePacing = responsePacing;
    this.scheduler = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "shardgate-xds-stages");
      t.setDaemon(true);
      return t;
    });
    scheduler.setRemoveOnCancelPolicy(true);
    ContentSnapshot snapshot = ContentSnapshot.of(FallbackResources.of(fallback));
    entries.put(NodeRoles.MISCONFIGURED_NODE_GROUP, new Entry(snapshot, snapshot, false));
    cache.setSnapshot(NodeRoles.MISCONFIGURED_NODE_GROUP, snapshot);
  }

  /**
   * Stops the scheduler thread, for shutting the control plane down. Updates under way go straight to their target,
   * except held ones (an Envoy rejected their stage: their target would remove what keeps serving), later ones are
   * published at once without stages, and streams are no longer paced (a response waiting for its stream's budget
   * goes out with the stream's next response).
   */
  @Override
  public void close() {
    synchronized (lock) {
      closed = true;
      scheduler.shutdownNow();
      for (Rollout rollout : List.copyOf(rollouts.values())) {
        rollout.cancelTimer();
        if (!rollout.held) {
          advance(rollout);
        }
      }
    }
  }

  /**
   * Sets the resources of one shard and pushes them to its Envoys, unless every type's content version equals what
   * the shard already has. The push is staged make-before-break (see the class comment): this method publishes the
   * first stage and returns; the Envoys' answers publish the others, on other threads.
   *
   * @param group the shard's role, {@code <writeNamespace>~<proxyName>}
   * @return true when the snapshot changed (Envoys of the shard get the changed types); false when nothing changed
   * @throws IllegalArgumentException if the resources are inconsistent (an EDS cluster without its endpoints, an RDS
   *     reference without its route configuration); the shard keeps its previous snapshot. Also for the
   *     {@link NodeRoles#MISCONFIGURED_NODE_GROUP}, whose fallback snapshot is not ours to replace.
   */
  public boolean setShard(String group, ShardResources resources) {
    Objects.requireNonNull(group, "group");
    Objects.requireNonNull(resources, "resources");
    if (group.isEmpty() || group.equals(NodeRoles.MISCONFIGURED_NODE_GROUP)) {
      throw new IllegalArgumentException("'" + group + "' cannot be a shard's role");
    }
    // Hashing and the consistency check are the expensive part; they need no lock.
    ContentSnapshot snapshot = ContentSnapshot.of(resources);
    try {
      snapshot.ensureConsistent();
    } catch (SnapshotConsistencyException e) {
      throw new IllegalArgumentException("shard '" + group + "' is inconsistent, keeping its previous snapshot: "
          + e.getMessage(), e);
    }
    synchronized (lock) {
      Entry previous = entries.get(group);
      if (previous != null && previous.snapshot.versions().equals(snapshot.versions())) {
        if (!previous.fed) {
          entries.put(group, new Entry(previous.snapshot, previous.served, true));
        }
        return false;
      }
      ContentSnapshot served = previous == null ? null : previous.served;
      entries.put(group, new Entry(snapshot, served, true));
      Rollout old = rollouts.remove(group);
      if (old != null) {
        old.cancelTimer();
      }
      // From what is served now, intermediate stage or not: its routes keep their clusters until they are replaced.
      // What the Envoys rejected is not kept for them, and what the target still has of it is awaited again.
      List<MakeBeforeBreak.Stage> stages = MakeBeforeBreak.plan(served, snapshot, rejected(group));
      LOG.debug("shard '{}' going to {} in {} stage(s)", group, snapshot.versions(), stages.size());
      Rollout rollout = new Rollout(group, stages);
      // Registered before the first stage goes out: an Envoy may answer it before advance returns, and that answer
      // must find the update to move on.
      rollouts.put(group, rollout);
      advance(rollout);
      return true;
    }
  }

  /**
   * Retires every shard not in {@code groups}: its Envoys get an empty snapshot. Also marks the cache as synced, so
   * that from now on a role without a snapshot is an unknown role (served empty) instead of one not translated yet
   * (left waiting); Envoys that were left waiting for such a role are answered now.
   *
   * @param groups the roles of every shard that exists now
   * @return the roles that were fed by a Gateway until this call and are now retired, sorted
   */
  public Set<String> retainShards(Set<String> groups) {
    Objects.requireNonNull(groups, "groups");
    SortedSet<String> retired = new TreeSet<>();
    synchronized (lock) {
      synced = true;
      for (Map.Entry<String, Entry> e : entries.entrySet()) {
        String group = e.getKey();
        Entry entry = e.getValue();
        if (group.equals(NodeRoles.MISCONFIGURED_NODE_GROUP) || groups.contains(group)) {
          continue;
        }
        if (!entry.fed) {
          continue;
        }
        retired.add(group);
        Rollout rollout = rollouts.remove(group);
        if (rollout != null) {
          rollout.cancelTimer();
        }
        ContentSnapshot served = entry.served;
        entries.put(group, new Entry(ContentSnapshot.EMPTY, ContentSnapshot.EMPTY, false));
        if (served == null || !served.versions().equals(ContentSnapshot.EMPTY.versions())) {
          cache.setSnapshot(group, ContentSnapshot.EMPTY);
        }
      }
      for (ShardDiscoveryCallbacks cb : callbacks) {
        cb.releaseParked();
      }
    }
    if (!retired.isEmpty()) {
      LOG.info("no Gateway feeds {} any more; their Envoys now get an empty snapshot", retired);
    }
    return Collections.unmodifiableSortedSet(retired);
  }

  /** Whether {@link #retainShards} has been called at least once. */
  public boolean isSynced() {
    return synced;
  }

  /**
   * Whether a Gateway feeds {@code group} now (it is in {@link #knownRoles()}). Constant time, for callers that must
   * not trust a role an Envoy presents, such as metrics tags.
   */
  public boolean isKnownRole(String group) {
    Entry entry = entries.get(group);
    return entry != null && entry.fed;
  }

  /**
   * The latest NACK of each xDS type of one group, by type URL (sorted): the rejected version, the rejecting node and
   * Envoy's message. A NACK stays until a later NACK of the same group and type replaces it; whether it still matters
   * is whether its version is still the one served ({@link #versionOf}). Empty for a group without NACKs.
   */
  public SortedMap<String, ShardStreamStats.Nack> latestNacks(String group) {
    Map<String, ShardStreamStats.Nack> byType = nacks.get(group);
    return byType == null ? Collections.emptySortedMap() : Collections.unmodifiableSortedMap(new TreeMap<>(byType));
  }

  /** {@link #latestNacks(String)} of every group that has had a NACK, by group (sorted). */
  public SortedMap<String, SortedMap<String, ShardStreamStats.Nack>> latestNacks() {
    SortedMap<String, SortedMap<String, ShardStreamStats.Nack>> out = new TreeMap<>();
    for (String group : nacks.keySet()) {
      out.put(group, latestNacks(group));
    }
    return Collections.unmodifiableSortedMap(out);
  }

  /**
   * The content version of one xDS type that a group is set to serve (by the last {@link #setShard}, or empty after
   * {@link #retainShards}); empty for unknown groups and type URLs. During a staged update its Envoys get there
   * through intermediate versions ({@link #servedVersionOf}).
   */
  public Optional<String> versionOf(String group, String typeUrl) {
    Entry entry = entries.get(group);
    return entry == null ? Optional.empty() : entry.snapshot.versions().forTypeUrl(typeUrl);
  }

  /**
   * The content version of one xDS type that a group's Envoys are being served now: {@link #versionOf} once its update
   * is complete, the version of the current stage while it is under way. Empty for unknown groups and type URLs.
   */
  public Optional<String> servedVersionOf(String group, String typeUrl) {
    Entry entry = entries.get(group);
    ContentSnapshot served = entry == null ? null : entry.served;
    return served == null ? Optional.empty() : served.versions().forTypeUrl(typeUrl);
  }

  /**
   * Whether a group's Envoys are served exactly what it is set to serve, with no staged update under way; false
   * while an update is held ({@link #isHeld}).
   */
  public boolean isSettled(String group) {
    return !rollouts.containsKey(group);
  }

  /**
   * Whether a group's staged update is held: an Envoy of the group rejected (NACKed) a stage of it, so the update
   * stays at that stage, removing nothing its Envoys may still use, until the next {@link #setShard} of the group
   * (or {@link #retainShards} retires it). A held group is not settled.
   */
  public boolean isHeld(String group) {
    Rollout rollout = rollouts.get(group);
    return rollout != null && rollout.held;
  }

  /**
   * Every group that has a snapshot, sorted: shards, retired shards, unknown roles that were served empty, and
   * {@link NodeRoles#MISCONFIGURED_NODE_GROUP}.
   */
  public Set<String> groups() {
    return Collections.unmodifiableSortedSet(new TreeSet<>(entries.keySet()));
  }

  /** The roles currently fed by a Gateway (set by {@link #setShard} and not retired since), sorted. */
  public Set<String> knownRoles() {
    SortedSet<String> known = new TreeSet<>();
    entries.forEach((group, entry) -> {
      if (entry.fed) {
        known.add(group);
      }
    });
    return Collections.unmodifiableSortedSet(known);
  }

  /** The resources a group currently serves; empty for a group without a snapshot. For debugging and admin views. */
  public ShardResources resourcesOf(String group) {
    Entry entry = entries.get(group);
    return entry == null ? ShardResources.empty() : entry.snapshot.shardResources();
  }

  /**
   * The watcher a java-control-plane discovery server must use; it applies the NACK and node fix-ups computed by
   * {@link ShardDiscoveryCallbacks}, so install both together (as {@link ShardDiscoveryServer} does).
   */
  public ConfigWatcher configWatcher() {
    return watcher;
  }

  /**
   * The underlying java-control-plane cache, for inspection ({@code statusInfo}, groups with watches). Setting
   * snapshots on it directly bypasses versions, consistency checks and unknown-role bookkeeping.
   */
  public SimpleCache<String> underlyingCache() {
    return cache;
  }

  /** How a request's group stands, for {@link ShardDiscoveryCallbacks}. */
  enum RoleState {
    /** Fed by a Gateway, the fallback group, or the cache is not synced yet. */
    SERVED,
    /** Unknown role, seen for the first time since it last became unknown: worth one log line. */
    UNKNOWN_FIRST_SEEN,
    /** Unknown role, already logged. */
    UNKNOWN
  }

  /** Classifies a group; an unknown role without a snapshot gets an empty one, so its waiting Envoys are answered. */
  RoleState roleState(String group) {
    if (!synced || group.equals(NodeRoles.MISCONFIGURED_NODE_GROUP)) {
      return RoleState.SERVED;
    }
    Entry entry = entries.get(group);
    if (entry == null) {
      synchronized (lock) {
        // setShard may have won the race for this group while we waited.
        entry = entries.get(group);
        if (entry == null) {
          entry = new Entry(ContentSnapshot.EMPTY, ContentSnapshot.EMPTY, false);
          entries.put(group, entry);
          cache.setSnapshot(group, ContentSnapshot.EMPTY);
        }
      }
    }
    if (entry.fed) {
      return RoleState.SERVED;
    }
    return entry.unknownLogged.compareAndSet(false, true) ? RoleState.UNKNOWN_FIRST_SEEN : RoleState.UNKNOWN;
  }

  /**
   * Runs {@code park} under the writers' lock if the cache is not synced yet, so that {@link #retainShards} either
   * sees what it did or the caller sees the cache synced; never neither.
   *
   * @return whether it ran
   */
  boolean parkIfNotSynced(Runnable park) {
    synchronized (lock) {
      if (synced) {
        return false;
      }
      park.run();
      return true;
    }
  }

  void register(ShardDiscoveryCallbacks cb) {
    callbacks.add(cb);
  }

  void addRequestContext(Object rawRequest, RequestContext context) {
    contexts.put(rawRequest, context);
  }

  ResponsePacing responsePacing() {
    return responsePacing;
  }

  ScheduledExecutorService scheduler() {
    return scheduler;
  }

  /**
   * A stream of {@code group} answered a response, changed what it watches, or closed: if an update of the group
   * waits for its streams, look again (on the scheduler thread, once however many streams call).
   */
  void streamProgressed(String group) {
    Rollout rollout = rollouts.get(group);
    if (rollout == null || !rollout.checkQueued.compareAndSet(false, true)) {
      return;
    }
    try {
      scheduler.execute(() -> {
        rollout.checkQueued.set(false);
        synchronized (lock) {
          if (rollouts.get(group) != rollout || rollout.awaiting == null || rollout.held
              || holdIfRejected(rollout)) {
            return;
          }
          if (lagging(rollout).isEmpty()) {
            rollout.cancelTimer();
            advance(rollout);
          }
        }
      });
    } catch (RejectedExecutionException closing) {
      rollout.checkQueued.set(false); // close() finishes every update itself
    }
  }

  /**
   * Publishes the next stages of a registered update, until one must wait for the streams of its group, or the last
   * is out (then the update is unregistered). Under the lock.
   */
  private void advance(Rollout rollout) {
    rollout.awaiting = null;
    while (true) {
      MakeBeforeBreak.Stage stage = rollout.stages.poll();
      serve(rollout.group, stage.snapshot());
      if (rollout.stages.isEmpty()) {
        rollouts.remove(rollout.group, rollout);
        return;
      }
      rollout.awaiting = stage;
      if (closed) {
        continue;
      }
      if (holdIfRejected(rollout)) {
        return; // already rejected: a stream that holds this content from an earlier update rejected it
      }
      if (lagging(rollout).isEmpty()) {
        continue; // nobody to wait for: no stream, or every one already holds it
      }
      try {
        rollout.timer = scheduler.schedule(() -> graceOver(rollout, stage), stageGracePeriod.toNanos(),
            TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException closing) {
        continue;
      }
      return;
    }
  }

  private void graceOver(Rollout rollout, MakeBeforeBreak.Stage stage) {
    synchronized (lock) {
      if (rollouts.get(rollout.group) != rollout || rollout.awaiting != stage || rollout.held
          || holdIfRejected(rollout)) {
        return;
      }
      List<String> lagging = lagging(rollout);
      if (!lagging.isEmpty()) {
        LOG.warn("shard '{}': {} did not answer the {} of a staged update within {} s; sending the next stage anyway,"
            + " so those Envoys may briefly route to a cluster they do not have", rollout.group, lagging,
            stage.awaitedTypes().stream().map(ShardDiscoveryCallbacks::typeName).sorted().toList(),
            stageGracePeriod.toMillis() / 1000.0);
      }
      advance(rollout);
    }
  }

  /**
   * Holds a rollout at its awaited stage if a stream of its group rejected one of the stage's awaited types: the
   * next stage would remove what keeps serving in place of what was rejected (the listener a new one that cannot
   * bind replaces, the clusters the routes an Envoy kept use). Logs one WARN. Under the lock.
   *
   * @return whether the rollout is held now
   */
  private boolean holdIfRejected(Rollout rollout) {
    MakeBeforeBreak.Stage stage = rollout.awaiting;
    List<String> rejecting = new ArrayList<>();
    List<String> messages = new ArrayList<>();
    for (String typeUrl : new TreeSet<>(stage.awaitedTypes())) {
      List<String> streams = new ArrayList<>();
      for (ShardDiscoveryCallbacks cb : callbacks) {
        streams.addAll(cb.rejecting(rollout.group, stage.snapshot(), Set.of(typeUrl)));
      }
      if (streams.isEmpty()) {
        continue;
      }
      rejecting.addAll(streams);
      ShardStreamStats.Nack nack = latestNacks(rollout.group).get(typeUrl);
      messages.add(ShardDiscoveryCallbacks.typeName(typeUrl) + ": "
          + (nack == null ? "(no message)" : "'" + nack.message().strip() + "'"));
    }
    if (rejecting.isEmpty()) {
      return false;
    }
    rollout.cancelTimer();
    rollout.held = true;
    LOG.warn("shard '{}': {} rejected a stage of a staged update ({}); the update is held at this stage until the"
        + " shard's config changes, so what its Envoys hold keeps serving and nothing they may still use is removed",
        rollout.group, rejecting, String.join("; ", messages));
    return true;
  }

  /** The resources some stream of a group rejected and has not accepted since, over every discovery server. */
  private Set<MakeBeforeBreak.ResourceVersion> rejected(String group) {
    Set<MakeBeforeBreak.ResourceVersion> rejected = new HashSet<>();
    for (ShardDiscoveryCallbacks cb : callbacks) {
      rejected.addAll(cb.rejected(group));
    }
    return rejected;
  }

  /** The streams of a rollout's group that do not hold its awaited stage yet, over every discovery server. */
  private List<String> lagging(Rollout rollout) {
    List<String> lagging = new ArrayList<>();
    for (ShardDiscoveryCallbacks cb : callbacks) {
      lagging.addAll(cb.lagging(rollout.group, rollout.awaiting.snapshot(), rollout.awaiting.awaitedTypes()));
    }
    return lagging;
  }

  private void serve(String group, ContentSnapshot snapshot) {
    Entry entry = entries.get(group);
    if (entry != null) {
      entry.served = snapshot;
    }
    cache.setSnapshot(group, snapshot);
  }

  /** The snapshot a group is served now, if its version of {@code typeUrl} is {@code version}; else null. */
  ContentSnapshot servedSnapshotAt(String group, String typeUrl, String version) {
    Entry entry = entries.get(group);
    ContentSnapshot served = entry == null ? null : entry.served;
    return served != null && version.equals(served.typeVersion(typeUrl)) ? served : null;
  }

  void recordNack(String group, ShardStreamStats.Nack nack) {
    nacks.computeIfAbsent(group, g -> new ConcurrentHashMap<>()).put(nack.typeUrl(), nack);
  }

  /**
   * What {@link ShardDiscoveryCallbacks} knows about one request that java-control-plane does not: the stream's pacer,
   * and changes to make to the request before it reaches {@link SimpleCache}.
   *
   * @param pacer the pacer of the request's stream, through which every response to it goes
   * @param node the stream's node, for requests sent without one (Envoy's {@code set_node_on_first_message_only}),
   *     else null
   * @param versionInfo for a NACK, the version that was rejected, else null
   * @param sentNames for a NACK, the resource names the rejected response answered, else empty
   * @param assumedVersions delta only: resource name to the version the client has without java-control-plane
   *     knowing it (declared in {@code initial_resource_versions}, or rejected), else empty
   */
  record RequestContext(StreamPacer pacer, Node node, String versionInfo, Set<String> sentNames,
      Map<String, String> assumedVersions) {
  }

  private final class FixingConfigWatcher implements ConfigWatcher {

    @Override
    public Watch createWatch(boolean ads, XdsRequest request, Set<String> knownResourceNames,
        Consumer<Response> responseConsumer, boolean hasClusterChanged, boolean allowDefaultEmptyEdsUpdate) {
      RequestContext context = contexts.asMap().remove(request.v3Request());
      if (request.getResourceNamesList().isEmpty() && request.getResourceType() != null
          && !ClientView.wildcardType(request.getTypeUrl())) {
        // EDS, RDS and SDS are watched by name: a state of the world request naming nothing is how an Envoy stops
        // watching the type. SimpleCache would answer it with every resource of the type, which an Envoy without a
        // watch answers by asking again, as fast as both can go. Such a request gets no answer (xDS protocol).
        return new Watch(ads, allowDefaultEmptyEdsUpdate, request, response -> { });
      }
      if (context != null && (context.node() != null || context.versionInfo() != null)) {
        DiscoveryRequest.Builder fixed = request.v3Request().toBuilder();
        if (context.node() != null) {
          fixed.setNode(context.node());
        }
        if (context.versionInfo() != null) {
          // Claiming the rejected version makes SimpleCache park the watch until the version changes. The sent names
          // count as known so that its "new names were requested" shortcut does not resend them either.
          fixed.setVersionInfo(context.versionInfo());
          Set<String> known = new HashSet<>(knownResourceNames);
          known.addAll(context.sentNames());
          knownResourceNames = known;
        }
        request = XdsRequest.create(fixed.build());
      }
      // Never as an ADS watch: for one, SimpleCache does not answer a request that names a resource the snapshot lacks
      // (it waits until all exist), and when a new snapshot comes while it waits it drops the watch unanswered, so
      // that type of the stream is never answered again. Envoy asks for such names as a matter of course: the route
      // configuration of a listener it still drains after a Gateway's port or address changed, and every name after
      // its shard was emptied. The stages of an update already keep what a response names consistent, so answering
      // with the requested resources the snapshot has is right (state of the world lets a response leave out
      // resources of a type watched by name).
      return cache.createWatch(false, request, knownResourceNames,
          paced(context, request.getTypeUrl(), responseConsumer), hasClusterChanged, allowDefaultEmptyEdsUpdate);
    }

    @Override
    public DeltaWatch createDeltaWatch(DeltaXdsRequest request, String requesterVersion,
        Map<String, String> resourceVersions, Set<String> pendingResources, boolean isWildcard,
        Consumer<DeltaResponse> responseConsumer, boolean hasClusterChanged) {
      RequestContext context = contexts.asMap().remove(request.v3Request());
      if (context != null && context.node() != null) {
        DeltaDiscoveryRequest fixed = request.v3Request().toBuilder().setNode(context.node()).build();
        request = DeltaXdsRequest.create(fixed);
      }
      if (context != null && !context.assumedVersions().isEmpty()) {
        // SimpleCache sends a resource when the client's tracked version differs from the snapshot's, and always sends
        // a "pending" one (subscribed by name, never ACKed). With the assumed versions counted as tracked, and assumed
        // names no longer pending, it sends only what differs from them: nothing after a reconnect to equal content,
        // and a rejected resource only once it changes. Versions java-control-plane tracks itself (ACKed) win.
        Map<String, String> tracked = new HashMap<>(context.assumedVersions());
        tracked.putAll(resourceVersions);
        Set<String> pending = new HashSet<>(pendingResources);
        pending.removeAll(context.assumedVersions().keySet());
        resourceVersions = tracked;
        pendingResources = pending;
      }
      return cache.createDeltaWatch(request, requesterVersion, resourceVersions, pendingResources, isWildcard,
          paced(context, request.getTypeUrl(), responseConsumer), hasClusterChanged);
    }

    /** Sends a watch's response through its stream's pacer; directly for requests no callbacks saw (none in use). */
    private <R> Consumer<R> paced(RequestContext context, String typeUrl, Consumer<R> send) {
      if (context == null || context.pacer() == null) {
        return send;
      }
      StreamPacer pacer = context.pacer();
      return response -> pacer.send(typeUrl, () -> send.accept(response));
    }
  }

  /**
   * A group's snapshot (what {@link #setShard} asked for), what its Envoys are served now, and whether a Gateway feeds
   * it. Replaced on every {@code setShard}; {@code served} moves on with the stages of an update (under the lock).
   */
  private static final class Entry {
    final ContentSnapshot snapshot;
    final boolean fed;
    final AtomicBoolean unknownLogged = new AtomicBoolean();
    /** In the underlying cache now; null before the group was ever served. */
    volatile ContentSnapshot served;

    Entry(ContentSnapshot snapshot, ContentSnapshot served, boolean fed) {
      this.snapshot = snapshot;
      this.served = served;
      this.fed = fed;
    }
  }

  /** One group's update under way: the stages still to publish, the one its streams wait on, and whether held. */
  private static final class Rollout {
    final String group;
    final Deque<MakeBeforeBreak.Stage> stages;
    /** Whether a check of the streams is queued on the scheduler, so that a burst of ACKs queues one. */
    final AtomicBoolean checkQueued = new AtomicBoolean();
    /** The published stage whose answers are awaited, or null; under the lock. */
    MakeBeforeBreak.Stage awaiting;
    /** Its grace timer; under the lock. */
    ScheduledFuture<?> timer;
    /** Whether an Envoy rejected the awaited stage, which then stays until the next update; set under the lock. */
    volatile boolean held;

    Rollout(String group, List<MakeBeforeBreak.Stage> stages) {
      this.group = group;
      this.stages = new ArrayDeque<>(stages);
    }

    void cancelTimer() {
      if (timer != null) {
        timer.cancel(false);
        timer = null;
      }
    }
  }
}
