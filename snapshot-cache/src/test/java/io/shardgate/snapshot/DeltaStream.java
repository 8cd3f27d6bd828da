package io.shardgate.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.rpc.Status;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One raw incremental (delta) ADS stream, playing an Envoy by hand: the test decides what to subscribe, ACK or NACK.
 * Requests are sent from the test thread only, and each {@code send} returns once the server has handled it
 * ({@link HandledRequests}): what the test does next (a change of the cache, a look at the server's counters) never
 * races a request still in flight. Responses land in a {@link ResponseQueue}.
 */
final class DeltaStream implements AutoCloseable {

  private final Node node;
  private final ResponseQueue<DeltaDiscoveryResponse> responses =
      new ResponseQueue<>("delta response", DeltaStream::describe);
  private final StreamObserver<DeltaDiscoveryRequest> requests;
  private final HandledRequests handled;
  private final String id;
  private long sent;
  private boolean closed;

  /**
   * @param handled the server's count of handled requests
   * @param id this stream's name in {@code handled}, unique on the server
   */
  DeltaStream(ManagedChannel channel, Node node, HandledRequests handled, String id) {
    this.node = node;
    this.handled = handled;
    this.id = id;
    Metadata headers = new Metadata();
    headers.put(HandledRequests.STREAM_HEADER, id);
    AggregatedDiscoveryServiceStub stub = AggregatedDiscoveryServiceGrpc.newStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    this.requests = stub.deltaAggregatedResources(new StreamObserver<>() {
      @Override
      public void onNext(DeltaDiscoveryResponse response) {
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

  /** Subscribes to more names of a type it already watches, as Envoy does for a new cluster's endpoints. */
  void subscribeMore(String typeUrl, String... names) {
    send(DeltaDiscoveryRequest.newBuilder()
        .setTypeUrl(typeUrl)
        .addAllResourceNamesSubscribe(List.of(names))
        .build());
  }

  void nack(DeltaDiscoveryResponse response, String error) {
    send(DeltaDiscoveryRequest.newBuilder()
        .setTypeUrl(response.getTypeUrl())
        .setResponseNonce(response.getNonce())
        .setErrorDetail(Status.newBuilder().setCode(3).setMessage(error))
        .build());
  }

  /** Sends a request and waits until the server has handled it (its watch registered, or it was answered). */
  synchronized void send(DeltaDiscoveryRequest request) {
    requests.onNext(request);
    sent++;
    if (!handled.await(id, sent, Duration.ofSeconds(ResponseQueue.RESPONSE_TIMEOUT_S))) {
      throw new AssertionError("the server did not handle request " + sent + " of stream " + id + " within "
          + ResponseQueue.RESPONSE_TIMEOUT_S + " s; " + seen());
    }
  }

  DeltaDiscoveryResponse next() {
    return responses.next();
  }

  /** The next response, which must be of {@code typeUrl}. */
  DeltaDiscoveryResponse next(String typeUrl) {
    DeltaDiscoveryResponse response = next();
    assertEquals(typeUrl, response.getTypeUrl(), () -> "expected a delta response of " + typeUrl + "; " + seen());
    return response;
  }

  /** Fails if a response arrives within {@code millis} (a short window: nothing is expected). */
  void assertSilent(long millis) {
    responses.assertSilent(millis);
  }

  /** Every response this stream got, in order, and its error if it failed. */
  String seen() {
    return responses.seen();
  }

  private static String describe(DeltaDiscoveryResponse response) {
    String type = response.getTypeUrl().substring(response.getTypeUrl().lastIndexOf('.') + 1);
    return type + "@" + response.getSystemVersionInfo() + versions(response).keySet()
        + (response.getRemovedResourcesCount() == 0 ? "" : "-" + response.getRemovedResourcesList());
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
