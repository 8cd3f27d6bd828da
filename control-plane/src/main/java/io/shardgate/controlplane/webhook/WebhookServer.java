package io.shardgate.controlplane.webhook;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.shardgate.controlplane.security.XdsTlsCredentials;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The validating admission webhook's HTTPS server: AdmissionReview v1 at {@code POST /validation} (Gloo's path),
 * decided by an {@link AdmissionValidator}. Its own JDK server on its own few threads (a bounded queue; a connection
 * beyond it is closed unanswered, which the API server treats by the webhook's failurePolicy), so admissions never hold up the
 * xDS or admin servers. The certificate and key are {@link XdsTlsCredentials}, reloaded when the files change.
 *
 * <p>Each request is timed and its result counted ({@link Observer}); a refused request is logged with the resource
 * and the reason, never the object's content. Stage: edge (side effects: the socket, the log). Thread-safe.
 */
public final class WebhookServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(WebhookServer.class);

  /** Gloo's path of the validation webhook. */
  public static final String PATH = "/validation";

  /** The API server sends objects of at most about 3 MiB; a body beyond this is refused unread. */
  static final int MAX_BODY = 8 * 1024 * 1024;

  private static final int THREADS = 2;
  private static final int QUEUE = 64;

  /** Hears how each admission went, for metrics. */
  @FunctionalInterface
  public interface Observer {
    /**
     * One admission request was answered.
     *
     * @param kind the object's kind ({@code VirtualService}), or {@code other}
     * @param result {@link AdmissionVerdict#result()}, or {@code bad_request}
     * @param nanos from reading the request to writing the answer
     */
    void admission(String kind, String result, long nanos);
  }

  private final HttpsServer server;
  private final ThreadPoolExecutor executor;
  private final AdmissionValidator validator;
  private final Observer observer;

  private WebhookServer(HttpsServer server, ThreadPoolExecutor executor, AdmissionValidator validator,
      Observer observer) {
    this.server = server;
    this.executor = executor;
    this.validator = validator;
    this.observer = observer;
  }

  /**
   * Binds {@code address:port} (0: a free port) and serves until {@link #close}.
   *
   * @throws UncheckedIOException when the port cannot be bound
   */
  public static WebhookServer start(String address, int port, XdsTlsCredentials credentials,
      AdmissionValidator validator, Observer observer) {
    Objects.requireNonNull(validator, "validator");
    AtomicInteger n = new AtomicInteger();
    ThreadPoolExecutor executor = new ThreadPoolExecutor(THREADS, THREADS, 60, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(QUEUE), r -> {
          Thread t = new Thread(r, "shardgate-webhook-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        }, new ThreadPoolExecutor.AbortPolicy());
    HttpsServer server;
    try {
      server = HttpsServer.create(new InetSocketAddress(address, port), QUEUE);
    } catch (IOException e) {
      executor.shutdownNow();
      throw new UncheckedIOException("the validation webhook cannot listen on " + address + ":" + port + ": "
          + e.getMessage() + " (choose another --webhook-port or --webhook-address)", e);
    }
    server.setHttpsConfigurator(new HttpsConfigurator(credentials.jdkServerContext()));
    WebhookServer webhook = new WebhookServer(server, executor, validator, observer == null
        ? (k, r, ns) -> { } : observer);
    server.createContext("/", webhook::handle);
    server.setExecutor(executor);
    server.start();
    return webhook;
  }

  /** The port bound. */
  public int port() {
    return server.getAddress().getPort();
  }

  private void handle(HttpExchange exchange) throws IOException {
    long started = System.nanoTime();
    try (exchange) {
      if (!PATH.equals(exchange.getRequestURI().getPath())) {
        send(exchange, 404, "text/plain", ("not found: the validation webhook serves POST " + PATH + "\n")
            .getBytes(UTF_8));
        return;
      }
      if (!"POST".equals(exchange.getRequestMethod())) {
        exchange.getResponseHeaders().add("Allow", "POST");
        send(exchange, 405, "text/plain", ("POST an AdmissionReview to " + PATH + "\n").getBytes(UTF_8));
        return;
      }
      byte[] body = readBody(exchange.getRequestBody());
      if (body == null) {
        send(exchange, 413, "text/plain", "the AdmissionReview is too large\n".getBytes(UTF_8));
        observer.admission("other", "bad_request", System.nanoTime() - started);
        return;
      }
      AdmissionRequest request;
      try {
        request = AdmissionReviewCodec.read(body);
      } catch (AdmissionReviewCodec.BadReviewException e) {
        send(exchange, 400, "text/plain", (e.getMessage() + "\n").getBytes(UTF_8));
        observer.admission("other", "bad_request", System.nanoTime() - started);
        return;
      }
      AdmissionVerdict verdict;
      try {
        verdict = validator.decide(request);
      } catch (RuntimeException | StackOverflowError e) {
        // A bug: say so to the client rather than letting the failure policy guess.
        LOG.error("Validation webhook: deciding {} {} failed", request.operation(), request.describe(), e);
        verdict = new AdmissionVerdict(false, "Shardgate's validation webhook failed on " + request.describe() + " ("
            + e.getClass().getSimpleName() + "); this is a bug, please report it with the control plane's log",
            List.of(), AdmissionVerdict.ERROR, List.of());
      }
      send(exchange, 200, "application/json", AdmissionReviewCodec.write(request.uid(), verdict));
      long nanos = System.nanoTime() - started;
      String kind = request.kind() == null ? "other" : request.kind().kindName();
      observer.admission(kind, verdict.result(), nanos);
      if (!verdict.allowed()) {
        LOG.warn("Validation webhook refused {} of {}{} in {} ms: {}", request.operation(), request.describe(),
            request.dryRun() ? " (dry run)" : "", nanos / 1_000_000, verdict.message());
      } else {
        LOG.debug("Validation webhook {} {} of {}{} in {} ms (shards {}){}", verdict.result(), request.operation(),
            request.describe(), request.dryRun() ? " (dry run)" : "", nanos / 1_000_000, verdict.shards(),
            verdict.warnings().isEmpty() ? "" : ", warnings: " + verdict.warnings());
      }
    }
  }

  private static byte[] readBody(InputStream in) throws IOException {
    byte[] body = in.readNBytes(MAX_BODY + 1);
    return body.length > MAX_BODY ? null : body;
  }

  private static void send(HttpExchange exchange, int code, String type, byte[] body) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(code, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  /** Stops listening; requests in flight get up to a second to finish. */
  @Override
  public void close() {
    server.stop(1);
    executor.shutdownNow();
  }
}
