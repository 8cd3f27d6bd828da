package io.shardgate.controlplane.ads;

import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.rpc.Status;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A raw incremental (delta) ADS stream that behaves like an Envoy of one role: the node only on the first request
 * and, in auto-ACK mode, every response ACKed as soon as it arrives. Every response is counted per type and queued.
 *
 * <p>Thread-safe: requests go out under a lock, from the test thread or (auto-ACK) the gRPC callback thread.
 */
public final class DeltaClient implements AutoCloseable {

  private final String role;
  private final Node node;
  private final StreamObserver<DeltaDiscoveryRequest> requests;
  private final BlockingQueue<DeltaDiscoveryResponse> responses = new LinkedBlockingQueue<>();
  private final List<DeltaDiscoveryResponse> all = new CopyOnWriteArrayList<>();
  private volatile boolean autoAck;
  private volatile Throwable error;
  private boolean nodeSent;
  private boolean closed;

  public DeltaClient(ManagedChannel channel, String nodeId, String role) {
    this.role = role;
    this.node = Node.newBuilder()
        .setId(nodeId)
        .setCluster("gateway")
        .setMetadata(Struct.newBuilder().putFields("role", Value.newBuilder().setStringValue(role).build()))
        .build();
    this.requests = AggregatedDiscoveryServiceGrpc.newStub(channel).deltaAggregatedResources(new StreamObserver<>() {
      @Override
      public void onNext(DeltaDiscoveryResponse response) {
        all.add(response);
        if (autoAck) {
          ack(response);
        } else {
          responses.add(response);
        }
      }

      @Override
      public void onError(Throwable t) {
        error = t;
      }

      @Override
      public void onCompleted() {
      }
    });
  }

  /** From now on every response is ACKed as it arrives (and not queued); {@link #pushes} still counts it. */
  public void autoAck() {
    autoAck = true;
  }

  /** Subscribes (wildcard when {@code names} is empty), waits for the first response and ACKs it. */
  public DeltaDiscoveryResponse subscribeAndAck(String typeUrl, List<String> names, Duration liveness) {
    subscribe(typeUrl, names, Map.of());
    DeltaDiscoveryResponse first = next(liveness, "the first " + typeUrl + " response");
    if (!first.getTypeUrl().equals(typeUrl)) {
      fail("expected a " + typeUrl + " delta response on the " + role + " stream, got " + first);
    }
    ack(first);
    return first;
  }

  public void subscribe(String typeUrl, List<String> names, Map<String, String> initialVersions) {
    send(DeltaDiscoveryRequest.newBuilder()
        .setTypeUrl(typeUrl)
        .addAllResourceNamesSubscribe(names)
        .putAllInitialResourceVersions(initialVersions));
  }

  public void ack(DeltaDiscoveryResponse response) {
    send(DeltaDiscoveryRequest.newBuilder().setTypeUrl(response.getTypeUrl()).setResponseNonce(response.getNonce()));
  }

  public void nack(DeltaDiscoveryResponse response, String message) {
    send(DeltaDiscoveryRequest.newBuilder()
        .setTypeUrl(response.getTypeUrl())
        .setResponseNonce(response.getNonce())
        .setErrorDetail(Status.newBuilder().setCode(13).setMessage(message)));
  }

  private synchronized void send(DeltaDiscoveryRequest.Builder request) {
    if (closed) {
      return;
    }
    if (!nodeSent) {
      request.setNode(node);
      nodeSent = true;
    }
    requests.onNext(request.build());
  }

  public DeltaDiscoveryResponse next(Duration liveness, String what) {
    try {
      DeltaDiscoveryResponse r = responses.poll(liveness.toMillis(), TimeUnit.MILLISECONDS);
      if (r == null) {
        fail("no delta response within " + liveness + " on the " + role + " stream, waiting for " + what
            + (error != null ? "; the stream failed: " + error : ""));
      }
      return r;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** How many responses of each type this stream received since it opened (type URL to count, sorted). */
  public Map<String, Integer> pushes() {
    Map<String, Integer> counts = new TreeMap<>();
    for (DeltaDiscoveryResponse r : all) {
      counts.merge(r.getTypeUrl(), 1, Integer::sum);
    }
    return counts;
  }

  /** Every response this stream received, in order. */
  public List<DeltaDiscoveryResponse> received() {
    return List.copyOf(all);
  }

  /** Resource name to version of one response. */
  public static Map<String, String> versions(DeltaDiscoveryResponse response) {
    Map<String, String> versions = new TreeMap<>();
    for (Resource r : response.getResourcesList()) {
      versions.put(r.getName(), r.getVersion());
    }
    return versions;
  }

  public Throwable error() {
    return error;
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      try {
        requests.onCompleted();
      } catch (RuntimeException ignored) {
        // the channel may be gone already
      }
    }
  }
}
