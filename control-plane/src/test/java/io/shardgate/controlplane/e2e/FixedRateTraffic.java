package io.shardgate.controlplane.e2e;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * HTTP traffic at a fixed rate (open loop: a slow answer does not slow the sending down) to one loopback port, one
 * connection per request ({@link RawHttp}, or any other {@link Sender}, e.g. HTTPS through {@link HttpsProbe}), for
 * end-to-end tests that must see every failed request while the configuration changes underneath. Bounded: it stops
 * by itself after {@code maxDuration}.
 *
 * <p>It classifies each answer: a 200 counts for the backend named at the start of its body (the echo backends of
 * {@link E2eSupport#echoBackend} answer with their name), anything else is an error with its status, and a request
 * that got no HTTP answer at all (refused, reset, timed out) is a connection error. The first few errors are kept
 * as samples for the failure message.
 */
final class FixedRateTraffic implements AutoCloseable {

  private static final int SAMPLES = 10;

  /** Sends request number {@code n} on a connection of its own and returns the answer. */
  @FunctionalInterface
  interface Sender {
    RawHttp.Response send(long n) throws IOException;
  }

  private final Sender sender;
  private final ScheduledExecutorService ticker;
  private final ExecutorService senders;
  private final LongAdder sent = new LongAdder();
  private final LongAdder ok = new LongAdder();
  private final LongAdder non2xx = new LongAdder();
  private final LongAdder connectionErrors = new LongAdder();
  private final AtomicLong sequence = new AtomicLong();
  private final Map<String, LongAdder> byBackend = new ConcurrentHashMap<>();
  private final AtomicReference<String> lastBackend = new AtomicReference<>("");
  private final AtomicLong lastBackendSequence = new AtomicLong(-1);
  private final List<String> errorSamples = new CopyOnWriteArrayList<>();

  private FixedRateTraffic(Sender sender, int perSecond, long maxDurationMillis) {
    this.sender = sender;
    this.ticker = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "traffic-ticker"));
    // Enough senders that requests overlap when Envoy or a backend is slow, as real clients would.
    this.senders = Executors.newFixedThreadPool(32, r -> daemon(r, "traffic-sender"));
    long periodNanos = TimeUnit.SECONDS.toNanos(1) / perSecond;
    long stopAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(maxDurationMillis);
    ticker.scheduleAtFixedRate(() -> {
      if (System.nanoTime() - stopAt > 0) {
        ticker.shutdown();
        return;
      }
      try {
        senders.execute(this::one);
      } catch (RejectedExecutionException closing) {
        ticker.shutdown();
      }
    }, 0, periodNanos, TimeUnit.NANOSECONDS);
  }

  /** Starts sending {@code perSecond} requests a second to {@code host} on 127.0.0.1:{@code port}. */
  static FixedRateTraffic start(int port, String host, int perSecond, long maxDurationMillis) {
    return new FixedRateTraffic(n -> RawHttp.get(port, host, "/traffic/" + n), perSecond, maxDurationMillis);
  }

  /** Starts sending {@code perSecond} requests a second, each one by {@code sender}. */
  static FixedRateTraffic start(Sender sender, int perSecond, long maxDurationMillis) {
    return new FixedRateTraffic(sender, perSecond, maxDurationMillis);
  }

  private void one() {
    long n = sequence.incrementAndGet();
    sent.increment();
    RawHttp.Response r;
    try {
      r = sender.send(n);
    } catch (IOException e) {
      connectionErrors.increment();
      sample("#" + n + " no answer: " + e);
      return;
    }
    if (r.status() != 200) {
      non2xx.increment();
      sample("#" + n + " " + r.status() + " " + r.headers() + " " + r.body().strip());
      return;
    }
    ok.increment();
    String body = r.body();
    int space = body.indexOf(' ');
    String backend = space < 0 ? body.strip() : body.substring(0, space);
    byBackend.computeIfAbsent(backend, b -> new LongAdder()).increment();
    // Keep the backend of the latest request (by sequence) that was answered.
    while (true) {
      long seen = lastBackendSequence.get();
      if (n <= seen) {
        break;
      }
      if (lastBackendSequence.compareAndSet(seen, n)) {
        lastBackend.set(backend);
        break;
      }
    }
  }

  private void sample(String what) {
    if (errorSamples.size() < SAMPLES) {
      errorSamples.add(what);
    }
  }

  /** The number of the request sent last; answers to later requests come from a later state of the Envoys. */
  long sequence() {
    return sequence.get();
  }

  /** The backend that answered the latest answered request, if that request is later than {@code afterSequence}. */
  String backendAnsweringAfter(long afterSequence) {
    return lastBackendSequence.get() > afterSequence ? lastBackend.get() : "";
  }

  long sent() {
    return sent.sum();
  }

  long ok() {
    return ok.sum();
  }

  long non2xx() {
    return non2xx.sum();
  }

  long connectionErrors() {
    return connectionErrors.sum();
  }

  long errors() {
    return non2xx() + connectionErrors();
  }

  List<String> errorSamples() {
    return List.copyOf(errorSamples);
  }

  Map<String, Long> byBackend() {
    Map<String, Long> out = new TreeMap<>();
    byBackend.forEach((b, n) -> out.put(b, n.sum()));
    return out;
  }

  /** Stops sending and waits (bounded) for the requests in flight, so the counts are final. */
  @Override
  public void close() throws InterruptedException {
    ticker.shutdownNow();
    ticker.awaitTermination(10, TimeUnit.SECONDS);
    senders.shutdown();
    if (!senders.awaitTermination(30, TimeUnit.SECONDS)) {
      senders.shutdownNow();
    }
  }

  @Override
  public String toString() {
    return sent() + " sent, " + ok() + " ok " + byBackend() + ", " + non2xx() + " non-2xx, " + connectionErrors()
        + " without answer; samples: " + errorSamples();
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }
}
