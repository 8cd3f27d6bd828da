package io.shardgate.loadtests;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * A raw ADS client that behaves like one Envoy of a shard and records every response it gets.
 *
 * <p>Like Envoy: the node (with {@code metadata.role}) on the first request only; CDS wildcard first, EDS for exactly
 * the EDS clusters CDS names (their service name, else the cluster's name; re-subscribed when that set changes), LDS
 * wildcard once the first clusters arrived, RDS for exactly the route configurations its listeners name (likewise);
 * every response ACKed at once, on the thread that received it. State of the world ACKs carry the
 * version and nonce and the subscribed names; delta ACKs carry the nonce.
 *
 * <p>Each client has its own channel (own TCP connection), as each Envoy does. Callbacks run directly on the channel's
 * event loop, so a response's arrival time is taken as early as the client can see it and the ACK leaves without a
 * thread hop.
 *
 * <p>Stateful; thread-safe: requests go out under the client's lock, the record is read under it.
 */
public abstract sealed class RecordingAdsClient implements AutoCloseable {

  public static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  public static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  public static final String RDS = Resources.V3.ROUTE_TYPE_URL;
  public static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;

  /** Responses are as large as a shard's routes; Envoy's own default limit is far above gRPC's 4 MiB. */
  private static final int MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

  /**
   * One response as the client saw it.
   *
   * @param arrivalNanos {@link System#nanoTime()} when the response reached the client
   * @param ackNanos {@link System#nanoTime()} when the ACK had been handed to the stream
   * @param typeUrl its type
   * @param version SotW: {@code version_info}; delta: {@code system_version_info}, or the resources' versions
   * @param nonce its nonce
   * @param resources resources in it (delta: changed ones; plus removed names)
   * @param bytes its serialized size
   */
  public record Response(
      long arrivalNanos, long ackNanos, String typeUrl, String version, String nonce, int resources, int bytes) {}

  private final String id;
  private final int shard;
  private final boolean probe;
  protected final Node node;
  protected final ManagedChannel channel;
  private final List<Response> responses = new ArrayList<>();
  private volatile Throwable error;
  private volatile List<Any> lastRoutes = List.of();
  /** A probe's endpoints: EDS resource name to its latest load assignment; guarded by this. */
  private final Map<String, ClusterLoadAssignment> lastEndpoints = new TreeMap<>();
  private boolean nodeSent;
  private boolean closed;
  private boolean listenersSubscribed;
  /** Route configuration names subscribed to; guarded by this. */
  protected final Set<String> routeNames = new TreeSet<>();
  /** EDS resource names subscribed to; guarded by this. */
  protected final Set<String> edsNames = new TreeSet<>();

  private RecordingAdsClient(String id, int shard, String role, int port, boolean probe) {
    this.id = id;
    this.shard = shard;
    this.probe = probe;
    this.node = Node.newBuilder()
        .setId(id)
        .setCluster("gateway-proxy")
        .setMetadata(Struct.newBuilder().putFields("role", Value.newBuilder().setStringValue(role).build()))
        .build();
    this.channel = NettyChannelBuilder.forAddress("127.0.0.1", port)
        .usePlaintext()
        .directExecutor()
        .maxInboundMessageSize(MAX_MESSAGE_BYTES)
        .build();
  }

  /**
   * A client of the shard with {@code role}; {@code probe} keeps the resources of its latest RDS response so that
   * what was served can be checked.
   */
  public static RecordingAdsClient create(boolean delta, String id, int shard, String role, int port, boolean probe) {
    return delta ? new Delta(id, shard, role, port, probe) : new Sotw(id, shard, role, port, probe);
  }

  /** Opens the stream and subscribes to clusters; the rest follows from the responses. */
  public abstract void start();

  public String id() {
    return id;
  }

  public int shard() {
    return shard;
  }

  public Throwable error() {
    return error;
  }

  /** Every response so far, in arrival order. */
  public synchronized List<Response> responses() {
    return List.copyOf(responses);
  }

  /** The resources of the latest RDS response of a probe client (empty for others). */
  public List<Any> lastRoutes() {
    return lastRoutes;
  }

  /** The latest load assignment a probe client holds for an EDS resource name, or null. */
  public synchronized ClusterLoadAssignment endpoints(String edsName) {
    return lastEndpoints.get(edsName);
  }

  /** The EDS resource names subscribed to now. */
  public synchronized Set<String> edsNames() {
    return Set.copyOf(edsNames);
  }

  /**
   * Whether the client has had at least one response of each of the types it subscribed to, RDS included, and EDS
   * when its clusters use it.
   */
  public synchronized boolean hasInitialConfig() {
    Set<String> types = new HashSet<>();
    for (Response r : responses) {
      types.add(r.typeUrl());
    }
    return types.containsAll(List.of(CDS, LDS, RDS)) && (edsNames.isEmpty() || types.contains(EDS));
  }

  /** Called on the event loop for every response; records it, follows up subscriptions and ACKs it. */
  protected final synchronized void received(
      long arrival, String typeUrl, String version, String nonce, List<Any> resources, int removed, int bytes) {
    if (typeUrl.equals(LDS)) {
      Set<String> names = routeNamesOf(resources);
      if (!names.equals(routeNames)) {
        Set<String> before = new TreeSet<>(routeNames);
        routeNames.clear();
        routeNames.addAll(names);
        subscribeRoutes(before, names); // Envoy asks for its listeners' routes before it ACKs the listeners
      }
    } else if (typeUrl.equals(CDS)) {
      Set<String> names = edsNamesOf(resources);
      if (!names.equals(edsNames)) {
        Set<String> before = new TreeSet<>(edsNames);
        edsNames.clear();
        edsNames.addAll(names);
        subscribeEndpoints(before, names); // Envoy asks for the new clusters' endpoints before it ACKs them
      }
    } else if (typeUrl.equals(RDS) && probe) {
      lastRoutes = List.copyOf(resources);
    } else if (typeUrl.equals(EDS) && probe) {
      keepEndpoints(resources);
    }
    ack(typeUrl, version, nonce);
    long acked = System.nanoTime();
    responses.add(new Response(arrival, acked, typeUrl, version, nonce, resources.size() + removed, bytes));
    if (typeUrl.equals(CDS) && !listenersSubscribed) {
      listenersSubscribed = true;
      subscribe(LDS, List.of());
    }
  }

  protected final void failed(Throwable t) {
    if (!closed) {
      error = t;
    }
  }

  /** Sends {@code request} (a builder), with the node if it is the first. */
  protected final synchronized void send(NodeRequest request) {
    if (closed) {
      return;
    }
    request.send(nodeSent ? null : node);
    nodeSent = true;
  }

  /** A request to send, given the node to set (null when it is not the first request). */
  protected interface NodeRequest {
    void send(Node nodeOrNull);
  }

  protected abstract void subscribe(String typeUrl, List<String> names);

  protected abstract void subscribeRoutes(Set<String> before, Set<String> now);

  protected abstract void subscribeEndpoints(Set<String> before, Set<String> now);

  /** Whether a full EDS response replaces what a probe holds (state of the world) or adds to it (delta). */
  protected abstract boolean replacesAll();

  private void keepEndpoints(List<Any> resources) {
    if (replacesAll()) {
      lastEndpoints.clear();
    }
    for (Any any : resources) {
      try {
        ClusterLoadAssignment cla = any.unpack(ClusterLoadAssignment.class);
        lastEndpoints.put(cla.getClusterName(), cla);
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("a load assignment that does not parse: " + e.getMessage(), e);
      }
    }
  }

  /** The EDS resource names of the EDS clusters: the cluster's EDS service name, else its name. */
  static Set<String> edsNamesOf(List<Any> clusters) {
    Set<String> names = new TreeSet<>();
    for (Any any : clusters) {
      try {
        Cluster c = any.unpack(Cluster.class);
        if (c.getType() == Cluster.DiscoveryType.EDS) {
          String service = c.getEdsClusterConfig().getServiceName();
          names.add(service.isEmpty() ? c.getName() : service);
        }
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("a cluster that does not parse: " + e.getMessage(), e);
      }
    }
    return names;
  }

  protected abstract void ack(String typeUrl, String version, String nonce);

  protected abstract void completeStream();

  /** The route configuration names of the listeners' HTTP connection managers (RDS). */
  static Set<String> routeNamesOf(List<Any> listeners) {
    Set<String> names = new TreeSet<>();
    for (Any any : listeners) {
      try {
        Listener l = any.unpack(Listener.class);
        List<FilterChain> chains = new ArrayList<>(l.getFilterChainsList());
        if (l.hasDefaultFilterChain()) {
          chains.add(l.getDefaultFilterChain());
        }
        for (FilterChain chain : chains) {
          for (Filter f : chain.getFiltersList()) {
            if (f.hasTypedConfig() && f.getTypedConfig().is(HttpConnectionManager.class)) {
              HttpConnectionManager hcm = f.getTypedConfig().unpack(HttpConnectionManager.class);
              if (hcm.hasRds()) {
                names.add(hcm.getRds().getRouteConfigName());
              }
            }
          }
        }
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("a listener that does not parse: " + e.getMessage(), e);
      }
    }
    return names;
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      try {
        completeStream();
      } catch (RuntimeException ignored) {
        // the channel may be gone already
      }
    }
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** State of the world. */
  static final class Sotw extends RecordingAdsClient {

    private StreamObserver<DiscoveryRequest> requests;
    private final Map<String, List<String>> subscribed = new HashMap<>();

    Sotw(String id, int shard, String role, int port, boolean probe) {
      super(id, shard, role, port, probe);
    }

    @Override
    public synchronized void start() {
      requests = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(new StreamObserver<>() {
        @Override
        public void onNext(DiscoveryResponse r) {
          received(System.nanoTime(), r.getTypeUrl(), r.getVersionInfo(), r.getNonce(), r.getResourcesList(), 0,
              r.getSerializedSize());
        }

        @Override
        public void onError(Throwable t) {
          failed(t);
        }

        @Override
        public void onCompleted() {
          failed(new IllegalStateException("the server ended the stream"));
        }
      });
      subscribe(CDS, List.of());
    }

    @Override
    protected void subscribe(String typeUrl, List<String> names) {
      subscribed.put(typeUrl, List.copyOf(names));
      send(node -> requests.onNext(request(node, typeUrl).addAllResourceNames(names).build()));
    }

    @Override
    protected void subscribeRoutes(Set<String> before, Set<String> now) {
      subscribe(RDS, List.copyOf(now));
    }

    @Override
    protected void subscribeEndpoints(Set<String> before, Set<String> now) {
      subscribe(EDS, List.copyOf(now));
    }

    @Override
    protected boolean replacesAll() {
      return true;
    }

    @Override
    protected void ack(String typeUrl, String version, String nonce) {
      send(node -> requests.onNext(request(node, typeUrl)
          .setVersionInfo(version)
          .setResponseNonce(nonce)
          .addAllResourceNames(subscribed.getOrDefault(typeUrl, List.of()))
          .build()));
    }

    private static DiscoveryRequest.Builder request(Node node, String typeUrl) {
      DiscoveryRequest.Builder b = DiscoveryRequest.newBuilder().setTypeUrl(typeUrl);
      if (node != null) {
        b.setNode(node);
      }
      return b;
    }

    @Override
    protected void completeStream() {
      if (requests != null) {
        requests.onCompleted();
      }
    }
  }

  /** Incremental (delta). */
  static final class Delta extends RecordingAdsClient {

    private StreamObserver<DeltaDiscoveryRequest> requests;

    Delta(String id, int shard, String role, int port, boolean probe) {
      super(id, shard, role, port, probe);
    }

    @Override
    public synchronized void start() {
      requests = AggregatedDiscoveryServiceGrpc.newStub(channel).deltaAggregatedResources(new StreamObserver<>() {
        @Override
        public void onNext(DeltaDiscoveryResponse r) {
          List<Any> resources = new ArrayList<>(r.getResourcesCount());
          StringBuilder versions = new StringBuilder();
          for (Resource res : r.getResourcesList()) {
            resources.add(res.getResource());
            versions.append(versions.length() == 0 ? "" : ",").append(res.getName()).append('=')
                .append(res.getVersion());
          }
          String version = r.getSystemVersionInfo().isEmpty() ? digest(versions.toString()) : r.getSystemVersionInfo();
          received(System.nanoTime(), r.getTypeUrl(), version, r.getNonce(), resources,
              r.getRemovedResourcesCount(), r.getSerializedSize());
        }

        @Override
        public void onError(Throwable t) {
          failed(t);
        }

        @Override
        public void onCompleted() {
          failed(new IllegalStateException("the server ended the stream"));
        }
      });
      subscribe(CDS, List.of());
    }

    @Override
    protected void subscribe(String typeUrl, List<String> names) {
      send(node -> requests.onNext(request(node, typeUrl).addAllResourceNamesSubscribe(names).build()));
    }

    @Override
    protected void subscribeRoutes(Set<String> before, Set<String> now) {
      resubscribe(RDS, before, now);
    }

    @Override
    protected void subscribeEndpoints(Set<String> before, Set<String> now) {
      resubscribe(EDS, before, now);
    }

    @Override
    protected boolean replacesAll() {
      return false;
    }

    private void resubscribe(String typeUrl, Set<String> before, Set<String> now) {
      Set<String> added = new TreeSet<>(now);
      added.removeAll(before);
      Set<String> removed = new TreeSet<>(before);
      removed.removeAll(now);
      send(node -> requests.onNext(request(node, typeUrl)
          .addAllResourceNamesSubscribe(added)
          .addAllResourceNamesUnsubscribe(removed)
          .build()));
    }

    @Override
    protected void ack(String typeUrl, String version, String nonce) {
      send(node -> requests.onNext(request(node, typeUrl).setResponseNonce(nonce).build()));
    }

    /** A short stand-in for the list of resource versions of a response without a system version. */
    private static String digest(String versions) {
      try {
        byte[] hash = MessageDigest.getInstance("SHA-256").digest(versions.getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(hash, 0, 8);
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }

    private static DeltaDiscoveryRequest.Builder request(Node node, String typeUrl) {
      DeltaDiscoveryRequest.Builder b = DeltaDiscoveryRequest.newBuilder().setTypeUrl(typeUrl);
      if (node != null) {
        b.setNode(node);
      }
      return b;
    }

    @Override
    protected void completeStream() {
      if (requests != null) {
        requests.onCompleted();
      }
    }
  }
}
