package io.shardgate.snapshot;

/**
 * How many xDS responses one stream may be sent (xDS serving stage configuration): a token bucket of {@code burst}
 * responses, refilled at {@code perSecond}. Responses beyond it wait, in order, and are never dropped; a waiting
 * response of a type is replaced by a newer one of the same type, so the newest state still arrives.
 *
 * <p>Immutable value. The default ({@link #DEFAULT}: a burst of 100, then 20 a second) never delays a healthy Envoy:
 * connecting takes about five responses (one per type, a few more as it learns names), and one edit at most a dozen
 * (three stages of make-before-break, each with its types, and the EDS or RDS re-requests for new names), while the
 * config source's debounce (150 ms, 800 ms at most) keeps edits to a few per second. A client that loops, asking again
 * for every response it gets, is held to 20 a second instead of the tens of thousands two processes on one host can
 * exchange.
 *
 * @param burst responses a stream may be sent back to back, at least 1
 * @param perSecond responses per second a stream may be sent beyond the burst, more than 0
 */
public record ResponsePacing(int burst, double perSecond) {

  /** A burst of 100 responses per stream, then 20 a second. */
  public static final ResponsePacing DEFAULT = new ResponsePacing(100, 20);

  /** Validates the numbers. */
  public ResponsePacing {
    if (burst < 1) {
      throw new IllegalArgumentException("a stream's response burst must be at least 1, got " + burst);
    }
    if (!(perSecond > 0) || Double.isInfinite(perSecond)) {
      throw new IllegalArgumentException("a stream's response rate must be a positive number, got " + perSecond);
    }
  }
}
