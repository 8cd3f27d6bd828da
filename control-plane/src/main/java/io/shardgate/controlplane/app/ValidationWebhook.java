package io.shardgate.controlplane.app;

import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.security.XdsTlsCredentials;
import io.shardgate.controlplane.webhook.AdmissionValidator;
import io.shardgate.controlplane.webhook.WebhookServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The validation webhook of {@code serve --webhook-port} (docs/validation-webhook.md): its validator, fed every input
 * the pipeline translated (the pass listener only hands the input over; the validator translates it on a thread of
 * its own, so the pipeline never waits), its HTTPS server, and the watch on its certificate files. Stateful;
 * thread-safe; closed with the context.
 */
public final class ValidationWebhook implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ValidationWebhook.class);

  private final AdmissionValidator validator = new AdmissionValidator();
  private final XdsTlsCredentials credentials;
  private final WebhookServer server;
  private final ExecutorService refresher = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "shardgate-webhook-view");
    t.setDaemon(true);
    return t;
  });

  ValidationWebhook(ShardPipeline pipeline, String address, int port, Path cert, Path key, Duration reloadInterval,
      WebhookServer.Observer observer) {
    credentials = XdsTlsCredentials.loadWebhook(cert, key);
    credentials.watch(reloadInterval);
    pipeline.addPassListener(() -> {
      Translation t = pipeline.latest();
      if (t != null) {
        validator.sourceChanged(t.input(), t.gateway().lastGood());
        try {
          refresher.execute(this::refresh);
        } catch (RejectedExecutionException closing) {
          // the context is closing: no more requests to validate
        }
      }
    });
    server = WebhookServer.start(address, port, credentials, validator, observer);
    LOG.info("Validation webhook: AdmissionReview v1 on https://{}:{}{} with the certificate in {}", address,
        server.port(), WebhookServer.PATH, cert);
  }

  private void refresh() {
    try {
      validator.refresh();
    } catch (RuntimeException | StackOverflowError e) {
      LOG.error("Validation webhook: translating the source's latest input failed; requests will try again", e);
    }
  }

  /** The validator, for tests. */
  public AdmissionValidator validator() {
    return validator;
  }

  /** The port the webhook listens on. */
  public int port() {
    return server.port();
  }

  /** The certificate new connections get, for tests of rotation. */
  public XdsTlsCredentials credentials() {
    return credentials;
  }

  @Override
  public void close() {
    server.close();
    credentials.close();
    refresher.shutdownNow();
  }
}
