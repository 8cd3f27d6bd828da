package io.shardgate.snapshot;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The responses one raw test stream received, in order, with what the stream saw for failure messages: a response
 * that must come is waited for up to {@link #RESPONSE_TIMEOUT_S} (a liveness bound, not a speed assertion), and a
 * missing one fails with every response the stream got. Filled by gRPC's thread, read by the test's.
 */
final class ResponseQueue<R> {

  /** Liveness bound for a response that must come; generous, so a loaded machine does not fail the test. */
  static final long RESPONSE_TIMEOUT_S = 30;

  private final String kind;
  private final Function<R, String> describe;
  private final BlockingQueue<R> responses = new LinkedBlockingQueue<>();
  private final List<String> history = new CopyOnWriteArrayList<>();
  private volatile Throwable error;

  /**
   * @param kind what a response is called in failure messages ("response", "delta response")
   * @param describe a short description of a response: type, version, names
   */
  ResponseQueue(String kind, Function<R, String> describe) {
    this.kind = kind;
    this.describe = describe;
  }

  void add(R response) {
    history.add(describe.apply(response));
    responses.add(response);
  }

  /** The stream failed; shutdown cancels streams, so this only shows in the message of a missing response. */
  void failed(Throwable t) {
    error = t;
  }

  R next() {
    R response = nextWithin(Duration.ofSeconds(RESPONSE_TIMEOUT_S));
    if (response == null) {
      throw new AssertionError("no " + kind + " within " + RESPONSE_TIMEOUT_S + " s; " + seen());
    }
    return response;
  }

  /** The next response if one arrives within {@code wait}, else null (for loops that count what arrives). */
  R nextWithin(Duration wait) {
    try {
      return responses.poll(wait.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Fails if a response arrives within {@code millis} (a short window: nothing is expected). */
  void assertSilent(long millis) {
    R response = nextWithin(Duration.ofMillis(millis));
    if (response != null) {
      throw new AssertionError("unexpected push " + describe.apply(response) + "; " + seen());
    }
  }

  /** Responses not taken yet. */
  int queued() {
    return responses.size();
  }

  /** Every response the stream got, in order, and its error if it failed. */
  String seen() {
    return "this stream got " + history + (error == null ? "" : " and failed: " + error);
  }
}
