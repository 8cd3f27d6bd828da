package io.shardgate.snapshot;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.util.Collections;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * java-control-plane callbacks that give {@link ShardSnapshotCache} its per-stream knowledge (xDS serving stage).
 *
 * <p>Stateful and thread-safe; gRPC calls it concurrently from many streams. One instance per discovery server,
 * because stream ids are only unique within one server; {@link ShardDiscoveryServer} creates it.
 *
 * <p>On each request it: resolves the node's group (remembering the stream's node for Envoys that send it only on the
 * first request); serves unknown roles an empty snapshot once the cache is synced, with one WARN per role; counts and
 * logs NACKs (one WARN per group, type and version) and tells the cache which version was rejected so it is not
 * resent; and keeps per-group counters ({@link #stats()}).
 */
public final class ShardDiscoveryCallbacks implements DiscoveryServerCallbacks {

  private static final Logger LOG = LoggerFactory.getLogger(ShardDiscoveryCallbacks.class);
  private static final String UNKNOWN_VERSION = "unknown";

  private final ShardSnapshotCache cache;
  private final ConcurrentMap<Long, StreamState> streams = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, GroupCounters> counters = new ConcurrentHashMap<>();
  // Bounded: NACK keys include versions and no-role keys include node ids, both of which grow without limit.
  private final Cache<String, Boolean> loggedOnce = Caffeine.newBuilder().maximumSize(10_000).build();

  private ShardDiscoveryCallbacks(ShardSnapshotCache cache) {
    this.cache = cache;
  }

  /** Callbacks for one discovery server that serves {@code cache}. */
  public static ShardDiscoveryCallbacks create(ShardSnapshotCache cache) {
    ShardDiscoveryCallbacks callbacks = new ShardDiscoveryCallbacks(Objects.requireNonNull(cache, "cache"));
    cache.register(callbacks);
    return callbacks;
  }

  /** Counters of every group that has had a stream or an event, by group. */
  public SortedMap<String, ShardStreamStats> stats() {
    SortedMap<String, ShardStreamStats> out = new TreeMap<>();
    counters.forEach((group, c) -> out.put(group, c.snapshot(group)));
    return Collections.unmodifiableSortedMap(out);
  }

  /** Counters of one group; all zero if it never had a stream. */
  public ShardStreamStats statsOf(String group) {
    GroupCounters c = counters.get(group);
    return c == null ? ShardStreamStats.none(group) : c.snapshot(group);
  }

  /** Requests for {@code group} while it was an unknown role; see {@link ShardStreamStats#unknownRoleRequests()}. */
  public long unknownRoleRequests(String group) {
    return statsOf(group).unknownRoleRequests();
  }

  @Override
  public void onStreamOpen(long streamId, String typeUrl) {
    streams.putIfAbsent(streamId, new StreamState(typeUrl));
  }

  @Override
  public void onStreamClose(long streamId, String typeUrl) {
    closed(streamId);
  }

  @Override
  public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
    closed(streamId);
  }

  @Override
  public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
    StreamState stream = stream(streamId);
    Node node = stream.effectiveNode(request.hasNode() ? request.getNode() : null);
    String group = stream.join(NodeRoles.groupOf(node), this);
    String typeUrl = stream.typeUrl(request.getTypeUrl());
    Node nodeFix = request.hasNode() || node == null ? null : node;
    String versionFix = null;
    Set<String> sentNames = Set.of();
    if (request.hasErrorDetail()) {
      Sent rejected = stream.sent(typeUrl, request.getResponseNonce());
      nack(group, node, typeUrl, rejected, request.getErrorDetail().getMessage());
      if (rejected != null) {
        versionFix = rejected.version;
        sentNames = rejected.names;
      }
    }
    if (nodeFix != null || versionFix != null) {
      cache.addFixup(request, new ShardSnapshotCache.RequestFixup(nodeFix, versionFix, sentNames));
    }
    checkRole(stream, group, node);
  }

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
    StreamState stream = stream(streamId);
    Node node = stream.effectiveNode(request.hasNode() ? request.getNode() : null);
    String group = stream.join(NodeRoles.groupOf(node), this);
    String typeUrl = stream.typeUrl(request.getTypeUrl());
    if (request.hasErrorDetail()) {
      nack(group, node, typeUrl, stream.sent(typeUrl, request.getResponseNonce()),
          request.getErrorDetail().getMessage());
    }
    if (!request.hasNode() && node != null) {
      cache.addFixup(request, new ShardSnapshotCache.RequestFixup(node, null, Set.of()));
    }
    checkRole(stream, group, node);
  }

  @Override
  public void onV3StreamResponse(long streamId, DiscoveryRequest request, DiscoveryResponse response) {
    // Recorded before the response is written, so it is there when the Envoy's ACK or NACK comes back.
    stream(streamId).sent.put(response.getTypeUrl(),
        new Sent(response.getNonce(), response.getVersionInfo(), Set.copyOf(request.getResourceNamesList())));
  }

  @Override
  public void onV3StreamDeltaResponse(long streamId, DeltaDiscoveryRequest request, DeltaDiscoveryResponse response) {
    stream(streamId).sent.put(response.getTypeUrl(),
        new Sent(response.getNonce(), response.getSystemVersionInfo(), Set.of()));
  }

  /** Answers streams that waited for the first sync and turn out to ask for an unknown role. Under the cache's lock. */
  void releaseParked() {
    for (StreamState stream : streams.values()) {
      if (!stream.parked) {
        continue;
      }
      stream.parked = false;
      String group = stream.group;
      if (group != null) {
        unknownRole(group, stream.node, cache.roleState(group));
      }
    }
  }

  private void checkRole(StreamState stream, String group, Node node) {
    if (group.equals(NodeRoles.MISCONFIGURED_NODE_GROUP)) {
      String id = nodeId(node);
      if (loggedOnce.asMap().putIfAbsent("no-role\u0000" + id, Boolean.TRUE) == null) {
        LOG.warn("Envoy node {} has no node.metadata.role; serving it only the fallback listener {}, which answers"
            + " 500. Its bootstrap must set node.metadata.role to <writeNamespace>~<proxyName>.",
            id, FallbackResources.LISTENER_NAME);
      }
      return;
    }
    if (!cache.isSynced() && cache.parkIfNotSynced(() -> stream.parked = true)) {
      return;
    }
    unknownRole(group, node, cache.roleState(group));
  }

  private void unknownRole(String group, Node node, ShardSnapshotCache.RoleState state) {
    if (state == ShardSnapshotCache.RoleState.SERVED) {
      return;
    }
    counters(group).unknownRoleRequests.increment();
    if (state == ShardSnapshotCache.RoleState.UNKNOWN_FIRST_SEEN) {
      LOG.warn("Envoy node {} asks for role '{}' but no Gateway feeds a proxy of that name; serving it an empty"
          + " snapshot. Known roles: {}", nodeId(node), group, cache.knownRoles());
    }
  }

  private void nack(String group, Node node, String typeUrl, Sent rejected, String message) {
    String version = rejected == null ? UNKNOWN_VERSION : rejected.version;
    GroupCounters c = counters(group);
    c.nacks.increment();
    c.lastNack = new ShardStreamStats.Nack(nodeId(node), typeUrl, version, message);
    if (loggedOnce.asMap().putIfAbsent("nack\u0000" + group + "\u0000" + typeUrl + "\u0000" + version,
        Boolean.TRUE) == null) {
      LOG.warn("Envoy node {} (role '{}') rejected {} version {}: {}", nodeId(node), group, typeUrl, version, message);
    }
  }

  private StreamState stream(long streamId) {
    // onStreamOpen normally creates it; this covers callbacks installed on a server that skipped it.
    return streams.computeIfAbsent(streamId, id -> new StreamState(""));
  }

  private void closed(long streamId) {
    StreamState stream = streams.remove(streamId);
    if (stream != null && stream.group != null) {
      counters(stream.group).connected.decrementAndGet();
    }
  }

  private GroupCounters counters(String group) {
    return counters.computeIfAbsent(group, g -> new GroupCounters());
  }

  private static String nodeId(Node node) {
    return node == null || node.getId().isEmpty() ? "(without id)" : node.getId();
  }

  /** The last response of one type on one stream. */
  private record Sent(String nonce, String version, Set<String> names) {
  }

  private static final class StreamState {
    final String defaultTypeUrl;
    final ConcurrentMap<String, Sent> sent = new ConcurrentHashMap<>();
    volatile Node node;
    volatile String group;
    /** A request of this stream arrived before the cache was synced. Guarded by the cache's writers' lock. */
    volatile boolean parked;

    StreamState(String defaultTypeUrl) {
      this.defaultTypeUrl = defaultTypeUrl;
    }

    /** The request's node if it has one (remembered), else the stream's. Null if the stream never sent one. */
    Node effectiveNode(Node requestNode) {
      if (requestNode != null) {
        node = requestNode;
        return requestNode;
      }
      return node;
    }

    /** Joins the stream to its group on its first request; later requests do not move it. */
    synchronized String join(String requestGroup, ShardDiscoveryCallbacks owner) {
      if (group == null) {
        group = requestGroup;
        owner.counters(requestGroup).connected.incrementAndGet();
      }
      return requestGroup;
    }

    String typeUrl(String requestTypeUrl) {
      // Per-type (non-ADS) streams may leave the type URL out; it is the stream's.
      return requestTypeUrl.isEmpty() ? defaultTypeUrl : requestTypeUrl;
    }

    /** The response a request with this nonce answers, if it is the latest of its type. */
    Sent sent(String typeUrl, String nonce) {
      Sent last = sent.get(typeUrl);
      return last != null && last.nonce.equals(nonce) ? last : null;
    }
  }

  private static final class GroupCounters {
    final AtomicInteger connected = new AtomicInteger();
    final LongAdder nacks = new LongAdder();
    final LongAdder unknownRoleRequests = new LongAdder();
    volatile ShardStreamStats.Nack lastNack;

    ShardStreamStats snapshot(String group) {
      return new ShardStreamStats(group, connected.get(), nacks.sum(), unknownRoleRequests.sum(),
          Optional.ofNullable(lastNack));
    }
  }
}
