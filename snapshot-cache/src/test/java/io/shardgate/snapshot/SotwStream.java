package io.shardgate.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Any;
import com.google.rpc.Status;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One raw state of the world ADS stream, playing an Envoy by hand: the test decides what to request, ACK or NACK.
 * Requests are sent from the test thread only; responses land in a queue. A response that must come is waited for up
 * to {@link #RESPONSE_TIMEOUT_S} (a liveness bound, not a speed assertion), and a missing one fails with every
 * response the stream got so far.
 */
final class SotwStream implements AutoCloseable {

  /** Liveness bound for a response that must come; generous, so a loaded machine does not fail the test. */
  static final long RESPONSE_TIMEOUT_S = 30;

  private final Node node;
  private final BlockingQueue<DiscoveryResponse> responses = new LinkedBlockingQueue<>();
  private final List<String> history = new CopyOnWriteArrayList<>();
  private final StreamObserver<DiscoveryRequest> requests;
  private volatile Throwable error;
  private boolean closed;

  SotwStream(ManagedChannel channel, Node node) {
    this.node = node;
    this.requests = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(new StreamObserver<>() {
      @Override
      public void onNext(DiscoveryResponse response) {
        history.add(describe(response));
        responses.add(response);
      }

      @Override
      public void onError(Throwable t) {
        error = t; // shutdown cancels streams; a real failure shows up as a missing response, with this
      }

      @Override
      public void onCompleted() {
      }
    });
  }

  /** The first request of a type: wildcard for CDS and LDS when {@code names} is empty. */
  void subscribe(String typeUrl, String... names) {
    send(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(typeUrl).addAllResourceNames(List.of(names)).build());
  }

  /** Subscribes to each type (without names), waits for each first response and ACKs it. */
  Map<String, DiscoveryResponse> subscribeAndAck(String... typeUrls) {
    Map<String, DiscoveryResponse> got = new HashMap<>();
    for (String typeUrl : typeUrls) {
      subscribe(typeUrl);
      DiscoveryResponse response = next(typeUrl);
      ack(response);
      got.put(typeUrl, response);
    }
    return got;
  }

  /** Subscribes to one type by name, waits for its response and ACKs it. */
  DiscoveryResponse subscribeNamesAndAck(String typeUrl, String... names) {
    subscribe(typeUrl, names);
    DiscoveryResponse response = next(typeUrl);
    ack(response, names);
    return response;
  }

  /**
   * ACKs a response, asking for what it answered, as Envoy does: nothing named for CDS and LDS (wildcard), the names
   * it carried for the others (a request without names would mean watching nothing).
   */
  void ack(DiscoveryResponse response) {
    ack(response, ClientView.wildcardType(response.getTypeUrl()) ? new String[0]
        : names(response).toArray(String[]::new));
  }

  /** ACKs a response while asking for {@code names}, as Envoy does when its clusters or listeners need other names. */
  void ack(DiscoveryResponse response, String... names) {
    send(DiscoveryRequest.newBuilder()
        .setNode(node)
        .setTypeUrl(response.getTypeUrl())
        .setVersionInfo(response.getVersionInfo())
        .setResponseNonce(response.getNonce())
        .addAllResourceNames(List.of(names))
        .build());
  }

  void nack(DiscoveryResponse response, String lastAcceptedVersion, String error, String... names) {
    send(DiscoveryRequest.newBuilder()
        .setNode(node)
        .setTypeUrl(response.getTypeUrl())
        .setVersionInfo(lastAcceptedVersion)
        .setResponseNonce(response.getNonce())
        .addAllResourceNames(List.of(names))
        .setErrorDetail(Status.newBuilder().setCode(3).setMessage(error))
        .build());
  }

  synchronized void send(DiscoveryRequest request) {
    requests.onNext(request);
  }

  /** The next response, whatever its type. */
  DiscoveryResponse next() {
    try {
      DiscoveryResponse response = responses.poll(RESPONSE_TIMEOUT_S, TimeUnit.SECONDS);
      if (response == null) {
        throw new AssertionError("no response within " + RESPONSE_TIMEOUT_S + " s; " + seen());
      }
      return response;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** The next response if one arrives within {@code wait}, else null (for loops that count what arrives). */
  DiscoveryResponse nextWithin(Duration wait) {
    try {
      return responses.poll(wait.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** The next response, which must be of {@code typeUrl}. */
  DiscoveryResponse next(String typeUrl) {
    DiscoveryResponse response = next();
    assertEquals(typeUrl, response.getTypeUrl(), () -> "expected a response of " + typeUrl + "; " + seen());
    return response;
  }

  /** Fails if a response arrives within {@code millis} (a short window: nothing is expected). */
  void assertSilent(long millis) {
    try {
      DiscoveryResponse response = responses.poll(millis, TimeUnit.MILLISECONDS);
      if (response != null) {
        throw new AssertionError("unexpected push " + describe(response) + "; " + seen());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Responses not taken yet. */
  int queued() {
    return responses.size();
  }

  /** Every response this stream got, in order, and its error if it failed. */
  String seen() {
    return "this stream got " + history + (error == null ? "" : " and failed: " + error);
  }

  static List<String> names(DiscoveryResponse response) {
    List<String> names = new ArrayList<>();
    for (Any any : response.getResourcesList()) {
      names.add(Resources.getResourceName(any));
    }
    return names;
  }

  private static String describe(DiscoveryResponse response) {
    String type = response.getTypeUrl().substring(response.getTypeUrl().lastIndexOf('.') + 1);
    return type + "@" + response.getVersionInfo() + names(response);
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
