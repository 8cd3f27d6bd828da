package io.shardgate.snapshot;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
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
 * logs NACKs (one WARN per group, type and version), records each as the group's latest NACK of its type in the cache
 * ({@link ShardSnapshotCache#latestNacks(String)}) and tells the cache which version was rejected so it is not
 * resent; matches ACKs to responses by nonce; and keeps per-group counters ({@link #stats()}). Every stream event is
 * also reported to the {@link ShardStreamListener}s given at creation.
 *
 * <p>Delta (incremental) streams: java-control-plane only counts a resource as known to the client once the client
 * ACKs a response that carried it. It ignores {@code initial_resource_versions}, so a client reconnecting to a
 * restarted control plane would be sent everything again, and it does not count a rejected resource as known, so the
 * rejected version of a subscribed (RDS, EDS) resource would be sent again at once, in a loop. Per stream and type,
 * these callbacks keep the versions the client declared or rejected ("assumed" versions) until a response sends or
 * removes that resource again, and the cache's watcher adds them to what java-control-plane tracks.
 *
 * <p>For the cache's staged (make-before-break) updates it keeps, per stream and type, what the client holds and
 * watches ({@code ClientView}), tells the cache after every request and every closed stream, and answers which
 * streams of a group do not hold a stage yet ({@code lagging}) and which rejected it ({@code rejecting}). It also
 * keeps, per stream, the resources the client rejected and has not accepted since ({@code rejected}): for a delta
 * stream the resources of a NACKed response; for a state of the world stream, which NACKs a whole type, those of
 * the NACKed response that the last response it accepted did not have at that version. Each stream's responses go
 * through its own {@code StreamPacer}, so no stream is sent more than the cache's {@link ResponsePacing} allows.
 */
public final class ShardDiscoveryCallbacks implements DiscoveryServerCallbacks {

  private static final Logger LOG = LoggerFactory.getLogger(ShardDiscoveryCallbacks.class);

  private final ShardSnapshotCache cache;
  private final List<ShardStreamListener> listeners;
  private final ConcurrentMap<Long, StreamState> streams = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, GroupCounters> counters = new ConcurrentHashMap<>();
  // Bounded: NACK keys include versions and no-role keys include node ids, both of which grow without limit.
  private final Cache<String, Boolean> loggedOnce = Caffeine.newBuilder().maximumSize(10_000).build();

  private ShardDiscoveryCallbacks(ShardSnapshotCache cache, List<ShardStreamListener> listeners) {
    this.cache = cache;
    this.listeners = listeners;
  }

  /** Callbacks for one discovery server that serves {@code cache}. */
  public static ShardDiscoveryCallbacks create(ShardSnapshotCache cache) {
    return create(cache, List.of());
  }

  /** Callbacks for one discovery server that serves {@code cache}, reporting stream events to {@code listeners}. */
  public static ShardDiscoveryCallbacks create(ShardSnapshotCache cache, List<ShardStreamListener> listeners) {
    ShardDiscoveryCallbacks callbacks =
        new ShardDiscoveryCallbacks(Objects.requireNonNull(cache, "cache"), List.copyOf(listeners));
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
    streams.computeIfAbsent(streamId, id -> new StreamState(typeUrl, this));
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
    long now = System.nanoTime();
    StreamState stream = stream(streamId);
    Node node = stream.effectiveNode(request.hasNode() ? request.getNode() : null);
    String group = stream.join(NodeRoles.groupOf(node), false, this);
    String typeUrl = stream.typeUrl(request.getTypeUrl());
    Node nodeFix = request.hasNode() || node == null ? null : node;
    String versionFix = null;
    Set<String> sentNames = Set.of();
    Sent answered = stream.sent(typeUrl, request.getResponseNonce());
    if (request.hasErrorDetail()) {
      if (answered != null) {
        answered.answered.set(true);
        versionFix = answered.version;
        sentNames = answered.names;
      }
      nack(group, node, typeUrl, answered, request.getErrorDetail().getMessage());
    } else {
      ack(group, typeUrl, answered, now);
    }
    if (answered != null) {
      if (request.hasErrorDetail()) {
        stream.rejected.put(typeUrl, notAcceptedBefore(typeUrl, answered, stream.accepted.get(typeUrl)));
      } else {
        stream.accepted.put(typeUrl, answered);
        stream.rejected.remove(typeUrl);
      }
    }
    ClientView.Sotw before = stream.views.get(typeUrl) instanceof ClientView.Sotw sotw ? sotw : ClientView.Sotw.NONE;
    ClientView.Answer answer = answered == null ? before.answer()
        : new ClientView.Answer(answered.version, answered.names, !request.hasErrorDetail());
    stream.views.put(typeUrl, new ClientView.Sotw(Set.copyOf(request.getResourceNamesList()), answer));
    cache.addRequestContext(request,
        new ShardSnapshotCache.RequestContext(stream.pacer, nodeFix, versionFix, sentNames, Map.of()));
    checkRole(stream, group, node);
    cache.streamProgressed(group);
  }

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
    long now = System.nanoTime();
    StreamState stream = stream(streamId);
    Node node = stream.effectiveNode(request.hasNode() ? request.getNode() : null);
    String group = stream.join(NodeRoles.groupOf(node), true, this);
    String typeUrl = stream.typeUrl(request.getTypeUrl());
    DeltaState delta = stream.delta(typeUrl);
    ClientView.Delta before = stream.views.get(typeUrl) instanceof ClientView.Delta d ? d : ClientView.Delta.NONE;
    Set<String> subscribed = new HashSet<>(before.subscribed());
    subscribed.addAll(request.getResourceNamesSubscribeList());
    Map<String, ClientView.Held> held = new HashMap<>(before.held());
    // Only the first request of a type on a stream may carry initial_resource_versions (xDS protocol).
    if (delta.first.compareAndSet(true, false)) {
      delta.assumed.putAll(request.getInitialResourceVersionsMap());
      request.getInitialResourceVersionsMap().forEach((name, version) ->
          held.put(name, new ClientView.Held(version, true)));
    }
    Map<String, String> rejected = stream.rejected.computeIfAbsent(typeUrl, t -> new ConcurrentHashMap<>());
    for (String name : request.getResourceNamesUnsubscribeList()) {
      delta.assumed.remove(name);
      subscribed.remove(name);
      held.remove(name);
      rejected.remove(name);
    }
    Sent answered = stream.sent(typeUrl, request.getResponseNonce());
    if (request.hasErrorDetail()) {
      if (answered != null) {
        answered.answered.set(true);
        // The client keeps what it had; the rejected versions stand in for it, so they are not sent again until
        // they change. (What it had before is unknown to us; it is at worst sent again with the next change.)
        delta.assumed.putAll(answered.versions);
      }
      nack(group, node, typeUrl, answered, request.getErrorDetail().getMessage());
    } else {
      ack(group, typeUrl, answered, now);
    }
    if (answered != null) {
      boolean accepted = !request.hasErrorDetail();
      answered.versions.forEach((name, version) -> held.put(name, new ClientView.Held(version, accepted)));
      answered.removed.forEach(held::remove);
      if (accepted) {
        answered.versions.keySet().forEach(rejected::remove);
        answered.removed.forEach(rejected::remove);
      } else {
        rejected.putAll(answered.versions);
      }
    }
    stream.views.put(typeUrl, new ClientView.Delta(subscribed, held));
    Node nodeFix = request.hasNode() || node == null ? null : node;
    Map<String, String> assumed = delta.assumed.isEmpty() ? Map.of() : Map.copyOf(delta.assumed);
    cache.addRequestContext(request,
        new ShardSnapshotCache.RequestContext(stream.pacer, nodeFix, null, Set.of(), assumed));
    checkRole(stream, group, node);
    cache.streamProgressed(group);
  }

  @Override
  public void onV3StreamResponse(long streamId, DiscoveryRequest request, DiscoveryResponse response) {
    StreamState stream = stream(streamId);
    String group = stream.group;
    // Which of its resources a NACK rejects is told by their versions, which the snapshot of this version has.
    ContentSnapshot source = group == null ? null
        : cache.servedSnapshotAt(group, response.getTypeUrl(), response.getVersionInfo());
    // Recorded before the response is written, so it is there when the Envoy's ACK or NACK comes back.
    stream.sent.put(response.getTypeUrl(), new Sent(response.getNonce(), response.getVersionInfo(),
        Set.copyOf(request.getResourceNamesList()), Map.of(), List.of(), System.nanoTime(), source));
    if (group != null) {
      counters(group).responses.increment();
      fire(l -> l.onResponse(group, response.getTypeUrl(), response.getVersionInfo(), response.getNonce(),
          response.getResourcesCount(), false));
    }
  }

  @Override
  public void onV3StreamDeltaResponse(long streamId, DeltaDiscoveryRequest request, DeltaDiscoveryResponse response) {
    StreamState stream = stream(streamId);
    Map<String, String> versions = new HashMap<>();
    for (Resource resource : response.getResourcesList()) {
      versions.put(resource.getName(), resource.getVersion());
    }
    // From now on java-control-plane tracks these names itself (once ACKed) or they are gone from the client.
    DeltaState delta = stream.delta(response.getTypeUrl());
    versions.keySet().forEach(delta.assumed::remove);
    response.getRemovedResourcesList().forEach(delta.assumed::remove);
    stream.sent.put(response.getTypeUrl(), new Sent(response.getNonce(), response.getSystemVersionInfo(),
        Set.copyOf(versions.keySet()), Map.copyOf(versions), List.copyOf(response.getRemovedResourcesList()),
        System.nanoTime(), null));
    String group = stream.group;
    if (group != null) {
      counters(group).responses.increment();
      fire(l -> l.onResponse(group, response.getTypeUrl(), response.getSystemVersionInfo(), response.getNonce(),
          response.getResourcesCount(), true));
    }
  }

  /**
   * The streams of {@code group} that do not hold {@code stage} yet for one of {@code typeUrls}, described for a log
   * line ({@code node (stream n, sotw): CDS, EDS}); empty when every stream that watches those types holds it. A
   * stream that never asked for a type is not waited for on it. Endpoints and route configurations of clusters and
   * listeners a stream accepted count as watched before it asks for them: it is about to.
   */
  List<String> lagging(String group, ContentSnapshot stage, Set<String> typeUrls) {
    return streamsWhere(group, typeUrls,
        (stream, typeUrl, view) -> !view.holds(stage, typeUrl, implied(stream, stage, typeUrl)));
  }

  /**
   * The streams of {@code group} whose latest answer rejected {@code stage}'s version of one of {@code typeUrls},
   * described as {@link #lagging} describes them; empty when none did.
   */
  List<String> rejecting(String group, ContentSnapshot stage, Set<String> typeUrls) {
    return streamsWhere(group, typeUrls, (stream, typeUrl, view) -> view.rejects(stage, typeUrl));
  }

  /** The resources that some stream of {@code group} rejected and has not accepted since. */
  Set<MakeBeforeBreak.ResourceVersion> rejected(String group) {
    Set<MakeBeforeBreak.ResourceVersion> out = new HashSet<>();
    for (StreamState stream : streams.values()) {
      if (group.equals(stream.group)) {
        stream.rejected.forEach((typeUrl, byName) -> byName.forEach(
            (name, version) -> out.add(new MakeBeforeBreak.ResourceVersion(typeUrl, name, version))));
      }
    }
    return out;
  }

  /** A condition on one stream's view of one type. */
  private interface ViewTest {
    boolean test(StreamState stream, String typeUrl, ClientView view);
  }

  private List<String> streamsWhere(String group, Set<String> typeUrls, ViewTest test) {
    List<String> out = new ArrayList<>();
    for (Map.Entry<Long, StreamState> e : new TreeMap<>(streams).entrySet()) {
      StreamState stream = e.getValue();
      if (!group.equals(stream.group)) {
        continue;
      }
      List<String> types = new ArrayList<>();
      for (String typeUrl : typeUrls) {
        ClientView view = stream.views.get(typeUrl);
        if (view != null && test.test(stream, typeUrl, view)) {
          types.add(typeName(typeUrl));
        }
      }
      if (!types.isEmpty()) {
        Collections.sort(types);
        out.add(nodeId(stream.node) + " (stream " + e.getKey() + ", " + (stream.isDelta ? "delta" : "sotw") + "): "
            + String.join(", ", types));
      }
    }
    return out;
  }

  /**
   * The resources of a rejected state of the world response that the response the stream accepted last did not have
   * at the same version: the ones the rejection can be about (an Envoy does not re-apply what it already has).
   * Empty when the versions of either response are not known (it went out as the served snapshot changed): counting
   * what the client has as rejected would keep the next update from keeping it.
   */
  private static Map<String, String> notAcceptedBefore(String typeUrl, Sent rejected, Sent lastAccepted) {
    if (rejected.source == null || lastAccepted != null && lastAccepted.source == null) {
      return Map.of();
    }
    Set<String> had = lastAccepted == null ? Set.of() : sentNames(typeUrl, lastAccepted);
    Map<String, String> out = new HashMap<>();
    for (String name : sentNames(typeUrl, rejected)) {
      String version = rejected.source.resourceVersion(typeUrl, name);
      if (!had.contains(name) || !version.equals(lastAccepted.source.resourceVersion(typeUrl, name))) {
        out.put(name, version);
      }
    }
    return Map.copyOf(out);
  }

  /** The names a state of the world response with a known source carried: all of the type for a wildcard request. */
  private static Set<String> sentNames(String typeUrl, Sent sent) {
    Set<String> all = sent.source.names(typeUrl);
    if (ClientView.wildcardType(typeUrl) && sent.names.isEmpty()) {
      return all;
    }
    Set<String> names = new HashSet<>(sent.names);
    names.retainAll(all);
    return names;
  }

  /** The names a stream is about to ask for once it applies the clusters or listeners of {@code stage} it accepted. */
  private static Set<String> implied(StreamState stream, ContentSnapshot stage, String typeUrl) {
    String parentType = switch (typeUrl) {
      case Resources.V3.ENDPOINT_TYPE_URL -> Resources.V3.CLUSTER_TYPE_URL;
      case Resources.V3.ROUTE_TYPE_URL -> Resources.V3.LISTENER_TYPE_URL;
      default -> null;
    };
    ClientView parent = parentType == null ? null : stream.views.get(parentType);
    if (parent == null) {
      return Set.of();
    }
    Set<String> accepted = parent.accepted(stage, parentType);
    return typeUrl.equals(Resources.V3.ENDPOINT_TYPE_URL) ? stage.edsNamesOf(accepted) : stage.rdsNamesOf(accepted);
  }

  /** CDS, EDS, LDS, RDS, SDS, or the type URL. */
  static String typeName(String typeUrl) {
    return switch (typeUrl) {
      case Resources.V3.CLUSTER_TYPE_URL -> "CDS";
      case Resources.V3.ENDPOINT_TYPE_URL -> "EDS";
      case Resources.V3.LISTENER_TYPE_URL -> "LDS";
      case Resources.V3.ROUTE_TYPE_URL -> "RDS";
      case Resources.V3.SECRET_TYPE_URL -> "SDS";
      default -> typeUrl;
    };
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
    String version = rejected == null ? ShardStreamStats.Nack.UNKNOWN_VERSION : rejected.version;
    ShardStreamStats.Nack nack = new ShardStreamStats.Nack(nodeId(node), typeUrl, version, message, Instant.now());
    GroupCounters c = counters(group);
    c.nacks.increment();
    c.lastNack = nack;
    cache.recordNack(group, nack);
    if (loggedOnce.asMap().putIfAbsent("nack\u0000" + group + "\u0000" + typeUrl + "\u0000" + version,
        Boolean.TRUE) == null) {
      LOG.warn("Envoy node {} (role '{}') rejected {} version {}: {}", nodeId(node), group, typeUrl, version, message);
    }
    fire(l -> l.onNack(group, nack));
  }

  /** Reports the ACK of {@code answered}, once; a request that answers no response (or a stale one) is no ACK. */
  private void ack(String group, String typeUrl, Sent answered, long now) {
    if (answered != null && answered.answered.compareAndSet(false, true)) {
      long latency = Math.max(0, now - answered.sentNanos);
      fire(l -> l.onAck(group, typeUrl, answered.version, latency));
    }
  }

  /** Calls every listener; a failing listener must not break the stream, nor flood the log. */
  private void fire(Consumer<ShardStreamListener> event) {
    for (ShardStreamListener listener : listeners) {
      try {
        event.accept(listener);
      } catch (RuntimeException e) {
        if (loggedOnce.asMap().putIfAbsent("listener\u0000" + listener.getClass().getName(), Boolean.TRUE) == null) {
          LOG.error("stream listener {} failed; its later failures are not logged", listener, e);
        }
      }
    }
  }

  private StreamState stream(long streamId) {
    // onStreamOpen normally creates it; this covers callbacks installed on a server that skipped it.
    return streams.computeIfAbsent(streamId, id -> new StreamState("", this));
  }

  /** A response of {@code stream} had to wait for its pacer. */
  private void delayed(StreamState stream) {
    String group = stream.group;
    if (group != null) {
      counters(group).delayedResponses.increment();
    }
  }

  private void closed(long streamId) {
    StreamState stream = streams.remove(streamId);
    if (stream != null) {
      stream.pacer.close();
      String group = stream.group;
      if (group != null) {
        counters(group).connected.decrementAndGet();
        fire(l -> l.onStreamClose(group, stream.isDelta));
        cache.streamProgressed(group);
      }
    }
  }

  private GroupCounters counters(String group) {
    return counters.computeIfAbsent(group, g -> new GroupCounters());
  }

  private static String nodeId(Node node) {
    return node == null || node.getId().isEmpty() ? "(without id)" : node.getId();
  }

  /**
   * The last response of one type on one stream.
   *
   * @param names SotW: the resource names the answered request asked for; delta: the names sent
   * @param versions delta only: the version of each resource sent
   * @param removed delta only: the names it removed
   * @param sentNanos {@link System#nanoTime()} just before it was written
   * @param source SotW only: the snapshot the response was made from (the served one, if it has the response's
   *     version), else null
   * @param answered set by its ACK or NACK, so that one response gives at most one ACK
   */
  private record Sent(String nonce, String version, Set<String> names, Map<String, String> versions,
      List<String> removed, long sentNanos, ContentSnapshot source, AtomicBoolean answered) {

    Sent(String nonce, String version, Set<String> names, Map<String, String> versions, List<String> removed,
        long sentNanos, ContentSnapshot source) {
      this(nonce, version, names, versions, removed, sentNanos, source, new AtomicBoolean());
    }
  }

  /** What a delta stream's client has of one type beyond what java-control-plane tracks. */
  private static final class DeltaState {
    /** Whether the stream has not sent a request of this type yet. */
    final AtomicBoolean first = new AtomicBoolean(true);
    /** Resource name to the version the client declared in initial_resource_versions or rejected. */
    final ConcurrentMap<String, String> assumed = new ConcurrentHashMap<>();
  }

  private static final class StreamState {
    final String defaultTypeUrl;
    final StreamPacer pacer;
    final ConcurrentMap<String, Sent> sent = new ConcurrentHashMap<>();
    final ConcurrentMap<String, DeltaState> delta = new ConcurrentHashMap<>();
    /** Per type URL: what the client holds and watches. Written by the stream's requests, which gRPC serializes. */
    final ConcurrentMap<String, ClientView> views = new ConcurrentHashMap<>();
    /** SotW, per type URL: the latest response the client accepted. */
    final ConcurrentMap<String, Sent> accepted = new ConcurrentHashMap<>();
    /** Per type URL: resource name to the version the client rejected and has not accepted since. */
    final ConcurrentMap<String, Map<String, String>> rejected = new ConcurrentHashMap<>();
    volatile Node node;
    volatile String group;
    volatile boolean isDelta;
    /** A request of this stream arrived before the cache was synced. Guarded by the cache's writers' lock. */
    volatile boolean parked;

    StreamState(String defaultTypeUrl, ShardDiscoveryCallbacks owner) {
      this.defaultTypeUrl = defaultTypeUrl;
      this.pacer = new StreamPacer(owner.cache.responsePacing(), owner.cache.scheduler(), () -> owner.delayed(this));
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
    String join(String requestGroup, boolean deltaRequest, ShardDiscoveryCallbacks owner) {
      synchronized (this) {
        if (group != null) {
          return requestGroup;
        }
        isDelta = deltaRequest;
        group = requestGroup;
        owner.counters(requestGroup).connected.incrementAndGet();
      }
      owner.fire(l -> l.onStreamOpen(requestGroup, deltaRequest));
      return requestGroup;
    }

    DeltaState delta(String typeUrl) {
      return delta.computeIfAbsent(typeUrl, t -> new DeltaState());
    }

    String typeUrl(String requestTypeUrl) {
      // Per-type (non-ADS) streams may leave the type URL out; it is the stream's.
      return requestTypeUrl.isEmpty() ? defaultTypeUrl : requestTypeUrl;
    }

    /** The response a request with this nonce answers, if it is the latest of its type. */
    Sent sent(String typeUrl, String nonce) {
      if (nonce.isEmpty()) {
        return null;
      }
      Sent last = sent.get(typeUrl);
      return last != null && last.nonce.equals(nonce) ? last : null;
    }
  }

  private static final class GroupCounters {
    final AtomicInteger connected = new AtomicInteger();
    final LongAdder nacks = new LongAdder();
    final LongAdder unknownRoleRequests = new LongAdder();
    final LongAdder responses = new LongAdder();
    final LongAdder delayedResponses = new LongAdder();
    volatile ShardStreamStats.Nack lastNack;

    ShardStreamStats snapshot(String group) {
      return new ShardStreamStats(group, connected.get(), nacks.sum(), unknownRoleRequests.sum(), responses.sum(),
          delayedResponses.sum(), Optional.ofNullable(lastNack));
    }
  }
}
