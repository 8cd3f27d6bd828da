package io.shardgate.snapshot;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.google.rpc.Status;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One raw incremental (delta) ADS stream, playing an Envoy by hand: the test decides what to subscribe, ACK or NACK.
 * Requests are sent from the test thread only; responses land in a queue.
 */
final class DeltaStream implements AutoCloseable {

  /** Liveness bound for a response that must come; not a speed assertion. */
  static final long RESPONSE_TIMEOUT_S = 5;

  private final Node node;
  private final BlockingQueue<DeltaDiscoveryResponse> responses = new LinkedBlockingQueue<>();
  private final StreamObserver<DeltaDiscoveryRequest> requests;
  private boolean closed;

  DeltaStream(ManagedChannel channel, Node node) {
    this.node = node;
    this.requests = AggregatedDiscoveryServiceGrpc.newStub(channel).deltaAggregatedResources(new StreamObserver<>() {
      @Override
      public void onNext(DeltaDiscoveryResponse response) {
        responses.add(response);
      }

      @Override
      public void onError(Throwable t) {
        // shutdown cancels streams; a real failure shows up as a missing response
      }

      @Override
      public void onCompleted() {
      }
    });
  }

  /** The first request of a type: wildcard when {@code names} is empty, with the versions the client already has. */
  void subscribe(String typeUrl, List<String> names, Map<String, String> initialVersions) {
    send(DeltaDiscoveryRequest.newBuilder()
        .setNode(node)
        .setTypeUrl(typeUrl)
        .addAllResourceNamesSubscribe(names)
        .putAllInitialResourceVersions(initialVersions)
        .build());
  }

  void subscribe(String typeUrl) {
    subscribe(typeUrl, List.of(), Map.of());
  }

  /** Subscribes, waits for the first response, ACKs it and returns it. */
  DeltaDiscoveryResponse subscribeAndAck(String typeUrl, List<String> names) {
    subscribe(typeUrl, names, Map.of());
    DeltaDiscoveryResponse response = next();
    ack(response);
    return response;
  }

  void ack(DeltaDiscoveryResponse response) {
    send(DeltaDiscoveryRequest.newBuilder()
        .setTypeUrl(response.getTypeUrl())
        .setResponseNonce(response.getNonce())
        .build());
  }

  void nack(DeltaDiscoveryResponse response, String error) {
    send(DeltaDiscoveryRequest.newBuilder()
        .setTypeUrl(response.getTypeUrl())
        .setResponseNonce(response.getNonce())
        .setErrorDetail(Status.newBuilder().setCode(3).setMessage(error))
        .build());
  }

  synchronized void send(DeltaDiscoveryRequest request) {
    requests.onNext(request);
  }

  DeltaDiscoveryResponse next() {
    try {
      DeltaDiscoveryResponse response = responses.poll(RESPONSE_TIMEOUT_S, TimeUnit.SECONDS);
      assertNotNull(response, "no delta response within " + RESPONSE_TIMEOUT_S + " s");
      return response;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  void assertSilent(long millis) {
    try {
      DeltaDiscoveryResponse response = responses.poll(millis, TimeUnit.MILLISECONDS);
      assertNull(response, () -> "unexpected delta push: " + response);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Resource name to version of a response. */
  static Map<String, String> versions(DeltaDiscoveryResponse response) {
    Map<String, String> versions = new TreeMap<>();
    for (Resource resource : response.getResourcesList()) {
      versions.put(resource.getName(), resource.getVersion());
    }
    return versions;
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
