package io.shardgate.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Any;
import com.google.rpc.Status;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One raw state of the world ADS stream, playing an Envoy by hand: the test decides what to request, ACK or NACK.
 * Requests are sent from the test thread only, and each {@code send} returns once the server has handled it
 * ({@link HandledRequests}): what the test does next (a change of the cache, a look at the server's counters) never
 * races a request still in flight. Responses land in a {@link ResponseQueue}.
 */
final class SotwStream implements AutoCloseable {

  /** Liveness bound for a response that must come. */
  static final long RESPONSE_TIMEOUT_S = ResponseQueue.RESPONSE_TIMEOUT_S;

  private final Node node;
  private final ResponseQueue<DiscoveryResponse> responses = new ResponseQueue<>("response", SotwStream::describe);
  private final StreamObserver<DiscoveryRequest> requests;
  private final HandledRequests handled;
  private final String id;
  private long sent;
  private boolean closed;

  /**
   * @param handled the server's count of handled requests
   * @param id this stream's name in {@code handled}, unique on the server
   */
  SotwStream(ManagedChannel channel, Node node, HandledRequests handled, String id) {
    this.node = node;
    this.handled = handled;
    this.id = id;
    Metadata headers = new Metadata();
    headers.put(HandledRequests.STREAM_HEADER, id);
    AggregatedDiscoveryServiceStub stub = AggregatedDiscoveryServiceGrpc.newStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    this.requests = stub.streamAggregatedResources(new StreamObserver<>() {
      @Override
      public void onNext(DiscoveryResponse response) {
        responses.add(response);
      }

      @Override
      public void onError(Throwable t) {
        responses.failed(t);
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

  /** Sends a request and waits until the server has handled it (its watch registered, or it was answered). */
  synchronized void send(DiscoveryRequest request) {
    requests.onNext(request);
    sent++;
    if (!handled.await(id, sent, Duration.ofSeconds(ResponseQueue.RESPONSE_TIMEOUT_S))) {
      throw new AssertionError("the server did not handle request " + sent + " of stream " + id + " within "
          + ResponseQueue.RESPONSE_TIMEOUT_S + " s; " + seen());
    }
  }

  /** The next response, whatever its type. */
  DiscoveryResponse next() {
    return responses.next();
  }

  /** The next response if one arrives within {@code wait}, else null (for loops that count what arrives). */
  DiscoveryResponse nextWithin(Duration wait) {
    return responses.nextWithin(wait);
  }

  /** The next response, which must be of {@code typeUrl}. */
  DiscoveryResponse next(String typeUrl) {
    DiscoveryResponse response = next();
    assertEquals(typeUrl, response.getTypeUrl(), () -> "expected a response of " + typeUrl + "; " + seen());
    return response;
  }

  /** Fails if a response arrives within {@code millis} (a short window: nothing is expected). */
  void assertSilent(long millis) {
    responses.assertSilent(millis);
  }

  /** Responses not taken yet. */
  int queued() {
    return responses.queued();
  }

  /** Every response this stream got, in order, and its error if it failed. */
  String seen() {
    return responses.seen();
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
