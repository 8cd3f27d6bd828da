package io.shardgate.controlplane.consul;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.shardgate.controlplane.source.ConsulKvClient;
import io.shardgate.controlplane.source.ConsulServiceRegistration;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * {@link ConsulServiceRegistration} against a real Consul 1.16.1 dev agent that is down when the registration starts:
 * it is retried with a back-off, never fatal, and logged once per change of state (not once per retry); the service
 * appears once the agent is up, and {@code close()} deregisters it. The HTTP check here points at a closed port, so
 * the instance is registered but critical: only registration is under test (ConsulRegistrationE2ETest has the
 * passing check of a real serve).
 */
class ConsulServiceRegistrationTest {

  private static final Duration BOUND = Duration.ofSeconds(60);

  @RegisterExtension static final ConsulAgent CONSUL = new ConsulAgent();

  private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
  private final Logger logger = (Logger) LoggerFactory.getLogger(ConsulServiceRegistration.class);
  private final HttpClient http = HttpClient.newHttpClient();
  private ConsulServiceRegistration registration;

  @BeforeEach
  void captureLog() {
    lines.start();
    logger.addAppender(lines);
  }

  @AfterEach
  void stop() {
    if (registration != null) {
      registration.close();
    }
    logger.detachAppender(lines);
  }

  @Test
  void anAgentDownAtStartIsRetriedAndLoggedOnceThenTheServiceIsRegisteredAndCloseDeregistersIt() throws Exception {
    CONSUL.stop();
    ConsulKvClient agent = new ConsulKvClient(ConsulKvClient.Options.of(CONSUL.address()));
    registration = new ConsulServiceRegistration(agent, new ConsulServiceRegistration.Settings("gloo-xds",
        "127.0.0.1", 19977, "http://127.0.0.1:1/ready", Duration.ofSeconds(10), Duration.ofMinutes(1), "test",
        Duration.ofMillis(300)));
    registration.start();
    // The back-off is capped by the 300 ms recheck here: several retries within a second or two.
    await("three failed attempts", () -> registration.failedAttempts() >= 3);
    assertEquals(1, warnings().size(), () -> "one warning for one state, not one per retry: " + warnings());
    assertTrue(warnings().get(0).contains("Cannot register service gloo-xds in the Consul agent"),
        warnings()::toString);
    assertFalse(registration.registered());

    CONSUL.restart(false);
    await("the registration once the agent is up", () -> registration.registered());
    String services = get("/v1/agent/services");
    assertTrue(services.contains("\"gloo-xds-127.0.0.1-19977\""), services);
    assertTrue(services.contains("\"Port\": 19977"), services);
    assertEquals(1, infos(": registered service gloo-xds"), () -> "" + messages());

    registration.close();
    assertFalse(get("/v1/agent/services").contains("gloo-xds"), "deregistered on close");
    assertEquals(1, infos(": deregistered service gloo-xds"), () -> "" + messages());
  }

  private List<String> warnings() {
    return List.copyOf(lines.list).stream().filter(e -> e.getLevel() == Level.WARN)
        .map(ILoggingEvent::getFormattedMessage).toList();
  }

  private long infos(String text) {
    return messages().stream().filter(m -> m.contains(text)).count();
  }

  private List<String> messages() {
    return List.copyOf(lines.list).stream().map(ILoggingEvent::getFormattedMessage).toList();
  }

  private String get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(CONSUL.address() + path)).timeout(Duration.ofSeconds(10))
        .build(), HttpResponse.BodyHandlers.ofString()).body();
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + BOUND.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("waited " + BOUND + " for " + what);
      }
      Thread.sleep(100);
    }
  }
}
