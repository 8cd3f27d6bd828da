package io.shardgate.snapshot;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Paces the responses of one xDS stream with a token bucket ({@link ResponsePacing}) (xDS serving stage).
 *
 * <p>Stateful and thread-safe: responses are handed in from gRPC threads and from whatever thread publishes a
 * snapshot. A response within the budget is sent at once, on the calling thread; beyond it, responses wait in arrival
 * order and a scheduler thread sends them as tokens come back. A waiting response of a type is replaced in place by a
 * newer response of the same type: both are the full answer to the client's latest request of that type (state of the
 * world), or both are computed against the same tracked versions because the client could not ACK the first (delta),
 * so the newer one is all the client needs. Sends happen under this pacer's lock, which keeps them in order; nothing
 * under that lock takes the cache's lock.
 */
final class StreamPacer {

  private static final Logger LOG = LoggerFactory.getLogger(StreamPacer.class);
  private static final long NANOS_PER_SECOND = TimeUnit.SECONDS.toNanos(1);

  private final ResponsePacing pacing;
  private final ScheduledExecutorService scheduler;
  private final Runnable onDelay;
  /** By type URL, in arrival order; replacing a type keeps its place. */
  private final Map<String, Runnable> waiting = new LinkedHashMap<>();
  private double tokens;
  private long refilledAt;
  private boolean drainScheduled;
  private boolean closed;

  /**
   * @param onDelay called (under this pacer's lock, so it must be quick) for each response that has to wait
   */
  StreamPacer(ResponsePacing pacing, ScheduledExecutorService scheduler, Runnable onDelay) {
    this.pacing = pacing;
    this.scheduler = scheduler;
    this.onDelay = onDelay;
    this.tokens = pacing.burst();
    this.refilledAt = System.nanoTime();
  }

  /** Sends a response of {@code typeUrl} now if the budget allows and nothing waits, else as soon as it does. */
  synchronized void send(String typeUrl, Runnable send) {
    if (closed) {
      return; // the stream is gone: there is no one to send to
    }
    if (scheduler.isShutdown()) {
      // The cache is closing and nothing would send what waits: never drop, send it all now, in order.
      waiting.values().forEach(StreamPacer::run);
      waiting.clear();
      run(send);
      return;
    }
    refill();
    if (waiting.isEmpty() && tokens >= 1) {
      tokens -= 1;
      run(send);
      return;
    }
    onDelay.run();
    waiting.put(typeUrl, send);
    scheduleDrain();
  }

  /** Forgets what waits; called when the stream closes. */
  synchronized void close() {
    closed = true;
    waiting.clear();
  }

  private synchronized void drain() {
    drainScheduled = false;
    if (closed) {
      return;
    }
    refill();
    Iterator<Runnable> it = waiting.values().iterator();
    while (it.hasNext() && tokens >= 1) {
      Runnable send = it.next();
      it.remove();
      tokens -= 1;
      run(send);
    }
    if (!waiting.isEmpty()) {
      scheduleDrain();
    }
  }

  private void scheduleDrain() {
    if (drainScheduled) {
      return;
    }
    long waitNanos = (long) Math.ceil((1 - tokens) / pacing.perSecond() * NANOS_PER_SECOND);
    try {
      scheduler.schedule(this::drain, Math.max(1, waitNanos), TimeUnit.NANOSECONDS);
      drainScheduled = true;
    } catch (RejectedExecutionException closing) {
      // The cache is closing; never drop: send what waits now.
      waiting.values().forEach(StreamPacer::run);
      waiting.clear();
    }
  }

  private void refill() {
    long now = System.nanoTime();
    tokens = Math.min(pacing.burst(), tokens + (now - refilledAt) * pacing.perSecond() / NANOS_PER_SECOND);
    refilledAt = now;
  }

  private static void run(Runnable send) {
    try {
      send.run();
    } catch (RuntimeException e) {
      // One failed send (a stream failing underneath) must not stop the others waiting behind it.
      LOG.warn("sending an xDS response failed: {}", e.toString());
    }
  }
}
