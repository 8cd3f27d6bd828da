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
import java.util.Collections;
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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One xDS snapshot per shard, keyed by node role (snapshot cache stage, feeding the xDS serving stage).
 *
 * <p>Stateful and thread-safe: writers ({@link #setShard}, {@link #retainShards}, and the unknown-role handling of
 * {@link ShardDiscoveryCallbacks}) are serialized by one lock; readers never block on it. It wraps java-control-plane's
 * {@link SimpleCache}, grouping nodes with {@link NodeRoles#NODE_GROUP}.
 *
 * <p>What it adds to {@code SimpleCache}:
 * <ul>
 *   <li>content-hash versions per type ({@link ContentVersions}); a shard whose content did not change is not pushed;
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
 * {@link #retainShards} with the full set of shards.
 */
public final class ShardSnapshotCache {

  private static final Logger LOG = LoggerFactory.getLogger(ShardSnapshotCache.class);

  private final SimpleCache<String> cache = new SimpleCache<>(NodeRoles.NODE_GROUP);
  private final Object lock = new Object();
  private final ConcurrentMap<String, Entry> entries = new ConcurrentHashMap<>();
  private final List<ShardDiscoveryCallbacks> callbacks = new CopyOnWriteArrayList<>();
  private final ConfigWatcher watcher = new FixingConfigWatcher();
  // Keyed by the identity of the raw request object (weak keys compare with ==), so a fix-up can only ever apply to
  // the very request it was computed for, and vanishes with it if java-control-plane ignores that request.
  private final Cache<Object, RequestFixup> fixups = Caffeine.newBuilder().weakKeys().build();
  private final ConcurrentMap<String, ConcurrentMap<String, ShardStreamStats.Nack>> nacks = new ConcurrentHashMap<>();
  private volatile boolean synced;

  /** A cache whose fallback listener listens on {@link FallbackConfig#DEFAULT}. */
  public ShardSnapshotCache() {
    this(FallbackConfig.DEFAULT);
  }

  /** A cache whose fallback listener for nodes without a role listens where {@code fallback} says. */
  public ShardSnapshotCache(FallbackConfig fallback) {
    Objects.requireNonNull(fallback, "fallback");
    ContentSnapshot snapshot = ContentSnapshot.of(FallbackResources.of(fallback));
    entries.put(NodeRoles.MISCONFIGURED_NODE_GROUP, new Entry(snapshot, false));
    cache.setSnapshot(NodeRoles.MISCONFIGURED_NODE_GROUP, snapshot);
  }

  /**
   * Sets the resources of one shard and pushes them to its Envoys, unless every type's content version equals what
   * the shard already has.
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
          entries.put(group, new Entry(previous.snapshot, true));
        }
        return false;
      }
      entries.put(group, new Entry(snapshot, true));
      cache.setSnapshot(group, snapshot);
      LOG.debug("shard '{}' now at {}", group, snapshot.versions());
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
        entries.put(group, new Entry(ContentSnapshot.EMPTY, false));
        if (!entry.snapshot.versions().equals(ContentSnapshot.EMPTY.versions())) {
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

  /** The content version a group currently serves for one xDS type URL; empty for unknown groups and type URLs. */
  public Optional<String> versionOf(String group, String typeUrl) {
    Entry entry = entries.get(group);
    return entry == null ? Optional.empty() : entry.snapshot.versions().forTypeUrl(typeUrl);
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
          entry = new Entry(ContentSnapshot.EMPTY, false);
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

  void addFixup(Object rawRequest, RequestFixup fixup) {
    fixups.put(rawRequest, fixup);
  }

  void recordNack(String group, ShardStreamStats.Nack nack) {
    nacks.computeIfAbsent(group, g -> new ConcurrentHashMap<>()).put(nack.typeUrl(), nack);
  }

  /**
   * Changes java-control-plane makes to a request before it reaches {@link SimpleCache}.
   *
   * @param node the stream's node, for requests sent without one (Envoy's {@code set_node_on_first_message_only}),
   *     else null
   * @param versionInfo for a NACK, the version that was rejected, else null
   * @param sentNames for a NACK, the resource names the rejected response answered, else empty
   * @param assumedVersions delta only: resource name to the version the client has without java-control-plane
   *     knowing it (declared in {@code initial_resource_versions}, or rejected), else empty
   */
  record RequestFixup(Node node, String versionInfo, Set<String> sentNames, Map<String, String> assumedVersions) {
  }

  private final class FixingConfigWatcher implements ConfigWatcher {

    @Override
    public Watch createWatch(boolean ads, XdsRequest request, Set<String> knownResourceNames,
        Consumer<Response> responseConsumer, boolean hasClusterChanged, boolean allowDefaultEmptyEdsUpdate) {
      RequestFixup fixup = fixups.asMap().remove(request.v3Request());
      if (fixup != null) {
        DiscoveryRequest.Builder fixed = request.v3Request().toBuilder();
        if (fixup.node() != null) {
          fixed.setNode(fixup.node());
        }
        if (fixup.versionInfo() != null) {
          // Claiming the rejected version makes SimpleCache park the watch until the version changes. The sent names
          // count as known so that its "new names were requested" shortcut does not resend them either.
          fixed.setVersionInfo(fixup.versionInfo());
          Set<String> known = new HashSet<>(knownResourceNames);
          known.addAll(fixup.sentNames());
          knownResourceNames = known;
        }
        request = XdsRequest.create(fixed.build());
      }
      return cache.createWatch(ads, request, knownResourceNames, responseConsumer, hasClusterChanged,
          allowDefaultEmptyEdsUpdate);
    }

    @Override
    public DeltaWatch createDeltaWatch(DeltaXdsRequest request, String requesterVersion,
        Map<String, String> resourceVersions, Set<String> pendingResources, boolean isWildcard,
        Consumer<DeltaResponse> responseConsumer, boolean hasClusterChanged) {
      RequestFixup fixup = fixups.asMap().remove(request.v3Request());
      if (fixup != null && fixup.node() != null) {
        DeltaDiscoveryRequest fixed = request.v3Request().toBuilder().setNode(fixup.node()).build();
        request = DeltaXdsRequest.create(fixed);
      }
      if (fixup != null && !fixup.assumedVersions().isEmpty()) {
        // SimpleCache sends a resource when the client's tracked version differs from the snapshot's, and always sends
        // a "pending" one (subscribed by name, never ACKed). With the assumed versions counted as tracked, and assumed
        // names no longer pending, it sends only what differs from them: nothing after a reconnect to equal content,
        // and a rejected resource only once it changes. Versions java-control-plane tracks itself (ACKed) win.
        Map<String, String> tracked = new HashMap<>(fixup.assumedVersions());
        tracked.putAll(resourceVersions);
        Set<String> pending = new HashSet<>(pendingResources);
        pending.removeAll(fixup.assumedVersions().keySet());
        resourceVersions = tracked;
        pendingResources = pending;
      }
      return cache.createDeltaWatch(request, requesterVersion, resourceVersions, pendingResources, isWildcard,
          responseConsumer, hasClusterChanged);
    }
  }

  /** A group's snapshot and whether a Gateway feeds it. Replaced, never changed, except for the log-once flag. */
  private static final class Entry {
    final ContentSnapshot snapshot;
    final boolean fed;
    final AtomicBoolean unknownLogged = new AtomicBoolean();

    Entry(ContentSnapshot snapshot, boolean fed) {
      this.snapshot = snapshot;
      this.fed = fed;
    }
  }
}
