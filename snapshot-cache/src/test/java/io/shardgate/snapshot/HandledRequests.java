package io.shardgate.snapshot;

import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Counts, per raw test stream, the requests the discovery server has handled to the end: its callbacks ran, its watch
 * is registered (or it was answered at once). A server interceptor on the real gRPC server; each test stream names
 * itself in a header. gRPC hands a stream's requests to the service one at a time, and the service handles each
 * before {@code onMessage} returns, so the count after it is exact.
 *
 * <p>Why: a test that sends an ACK and then changes the cache must not race the ACK. An ACK still in flight when a
 * snapshot is set is answered at once from the new snapshot, on the gRPC thread, while the setting thread is still
 * pushing the new snapshot to the stream's open watches; so its response can come before them (java-control-plane's
 * {@code SimpleCache.setSnapshot} stores the snapshot first and answers the open watches after). That order is
 * legal, but not the one such a test asserts. Thread-safe.
 */
final class HandledRequests implements ServerInterceptor {

  static final Metadata.Key<String> STREAM_HEADER =
      Metadata.Key.of("x-shardgate-test-stream", Metadata.ASCII_STRING_MARSHALLER);

  private final Map<String, Long> handled = new HashMap<>();

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
      ServerCallHandler<Q, A> next) {
    String stream = headers.get(STREAM_HEADER);
    ServerCall.Listener<Q> listener = next.startCall(call, headers);
    if (stream == null) {
      return listener;
    }
    return new SimpleForwardingServerCallListener<>(listener) {
      @Override
      public void onMessage(Q message) {
        try {
          super.onMessage(message);
        } finally {
          handledOne(stream);
        }
      }
    };
  }

  private synchronized void handledOne(String stream) {
    handled.merge(stream, 1L, Long::sum);
    notifyAll();
  }

  /**
   * Waits until the server has handled {@code count} requests of {@code stream}, for up to {@code bound} (a liveness
   * bound, not a speed assertion).
   *
   * @return whether it has
   */
  synchronized boolean await(String stream, long count, Duration bound) {
    long deadline = System.nanoTime() + bound.toNanos();
    try {
      while (handled.getOrDefault(stream, 0L) < count) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        wait(Math.max(1, left / 1_000_000));
      }
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
