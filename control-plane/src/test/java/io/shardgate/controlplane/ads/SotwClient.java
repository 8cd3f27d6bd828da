package io.shardgate.controlplane.ads;

import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.rpc.Status;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A raw state-of-the-world ADS stream that behaves like an Envoy of one role: the node only on the first request
 * ({@code set_node_on_first_message_only}), and, in auto-ACK mode, every response ACKed as soon as it arrives with the
 * names the type is subscribed to. Every response is also counted per type and queued for inspection.
 *
 * <p>Thread-safe: requests go out under a lock, from the test thread or (auto-ACK) the gRPC callback thread.
 */
public final class SotwClient implements AutoCloseable {

  private final String role;
  private final Node node;
  private final StreamObserver<DiscoveryRequest> requests;
  private final BlockingQueue<DiscoveryResponse> responses = new LinkedBlockingQueue<>();
  private final List<DiscoveryResponse> all = new CopyOnWriteArrayList<>();
  private final Map<String, List<String>> subscriptions = new ConcurrentHashMap<>();
  private volatile boolean autoAck;
  private volatile Throwable error;
  private boolean nodeSent;
  private boolean closed;

  public SotwClient(ManagedChannel channel, String nodeId, String role) {
    this.role = role;
    this.node = Node.newBuilder()
        .setId(nodeId)
        .setCluster("gateway")
        .setMetadata(Struct.newBuilder().putFields("role", Value.newBuilder().setStringValue(role).build()))
        .build();
    this.requests = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(new StreamObserver<>() {
      @Override
      public void onNext(DiscoveryResponse response) {
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

  /** Subscribes to a type (wildcard when {@code names} is empty) and waits for the first response, ACKing it. */
  public DiscoveryResponse subscribeAndAck(String typeUrl, List<String> names, Duration liveness) {
    subscribe(typeUrl, names);
    DiscoveryResponse first = next(liveness, "the first " + typeUrl + " response");
    if (!first.getTypeUrl().equals(typeUrl)) {
      fail("expected a " + typeUrl + " response on the " + role + " stream, got " + first);
    }
    ack(first);
    return first;
  }

  public void subscribe(String typeUrl, List<String> names) {
    subscriptions.put(typeUrl, List.copyOf(names));
    send(DiscoveryRequest.newBuilder().setTypeUrl(typeUrl).addAllResourceNames(names));
  }

  public void ack(DiscoveryResponse response) {
    send(DiscoveryRequest.newBuilder()
        .setTypeUrl(response.getTypeUrl())
        .setVersionInfo(response.getVersionInfo())
        .setResponseNonce(response.getNonce())
        .addAllResourceNames(subscriptions.getOrDefault(response.getTypeUrl(), List.of())));
  }

  /** Rejects a response the way Envoy does: the last accepted version, the rejected nonce, and an error. */
  public void nack(DiscoveryResponse response, String lastAcceptedVersion, String message) {
    send(DiscoveryRequest.newBuilder()
        .setTypeUrl(response.getTypeUrl())
        .setVersionInfo(lastAcceptedVersion)
        .setResponseNonce(response.getNonce())
        .addAllResourceNames(subscriptions.getOrDefault(response.getTypeUrl(), List.of()))
        .setErrorDetail(Status.newBuilder().setCode(13).setMessage(message)));
  }

  private synchronized void send(DiscoveryRequest.Builder request) {
    if (closed) {
      return;
    }
    if (!nodeSent) {
      request.setNode(node);
      nodeSent = true;
    }
    requests.onNext(request.build());
  }

  public DiscoveryResponse next(Duration liveness, String what) {
    try {
      DiscoveryResponse r = responses.poll(liveness.toMillis(), TimeUnit.MILLISECONDS);
      if (r == null) {
        fail("no response within " + liveness + " on the " + role + " stream, waiting for " + what
            + (error != null ? "; the stream failed: " + error : ""));
      }
      return r;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** The next queued response within {@code wait}, or null. */
  public DiscoveryResponse poll(Duration wait) {
    try {
      return responses.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** How many responses of each type this stream received since it opened (type URL to count, sorted). */
  public Map<String, Integer> pushes() {
    Map<String, Integer> counts = new TreeMap<>();
    for (DiscoveryResponse r : all) {
      counts.merge(r.getTypeUrl(), 1, Integer::sum);
    }
    return counts;
  }

  /** Every response this stream received, in order. */
  public List<DiscoveryResponse> received() {
    return List.copyOf(all);
  }

  public Throwable error() {
    return error;
  }

  public String role() {
    return role;
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
