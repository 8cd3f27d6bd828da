package io.shardgate.controlplane.source;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.shardgate.controlplane.source.ConsulKvClient.AgentAnswer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this control plane's xDS endpoint registered as a service in the local Consul agent ({@code serve
 * --consul-register}), so gateway-proxies find it by name ({@code bootstrap --xds-consul}), and removes it on a clean
 * shutdown.
 *
 * <p>The health check is an HTTP check of the admin API's {@code /ready} on an address the agent can reach (loopback
 * when the admin API is bound there or to a wildcard; the agent normally runs on the same host). {@code /ready} is
 * the most truthful answer to "can this instance serve": 503 until the first snapshot of every shard is published,
 * 200 afterwards (also while the config source is unreachable, when the last config is still served). A TCP or gRPC
 * check of the xDS port would pass before any shard has a snapshot. {@code DeregisterCriticalServiceAfter} lets the
 * agent drop an instance that died without deregistering.
 *
 * <p>A thread registers once the xDS port is open ({@link #start}), then asks the agent every {@code recheck} whether
 * it still holds the service and registers it again when not (an agent restarted without its state has lost it). An
 * agent that cannot be reached or refuses is retried with a back-off (1 s doubling up to {@code recheck}), never
 * fatal; each change of state (registered, failing and why) is logged once. {@link #close} stops the thread and
 * deregisters.
 *
 * <p>Stage: edge (I/O towards the agent). Stateful; {@link #start} and {@link #close} may be called from any thread.
 */
public final class ConsulServiceRegistration implements AutoCloseable {

  /** The service name gateway-proxies look up by default, as Gloo's own control plane registers. */
  public static final String DEFAULT_SERVICE_NAME = "gloo-xds";
  /** The tags of the service: what it is, so a catalog reader can tell it from other gRPC services. */
  public static final List<String> TAGS = List.of("shardgate", "xds", "grpc");

  private static final Logger LOG = LoggerFactory.getLogger(ConsulServiceRegistration.class);
  private static final JsonFactory JSON = new JsonFactory();
  private static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);

  /**
   * What to register.
   *
   * @param serviceName the Consul service name ({@code gloo-xds} by default)
   * @param address the address Envoys dial: the xDS bind address, or {@code --consul-service-address}
   * @param port the xDS port
   * @param checkUrl the URL the agent's HTTP check GETs: the admin API's {@code /ready}
   * @param checkInterval how often the agent runs the check
   * @param deregisterAfter how long the check may be critical before the agent drops the instance
   * @param version this build's version, for the service's meta
   * @param recheck how often the agent is asked whether it still holds the service
   */
  public record Settings(String serviceName, String address, int port, String checkUrl, Duration checkInterval,
      Duration deregisterAfter, String version, Duration recheck) {

    public Settings {
      Objects.requireNonNull(serviceName, "serviceName");
      Objects.requireNonNull(address, "address");
      Objects.requireNonNull(checkUrl, "checkUrl");
      Objects.requireNonNull(version, "version");
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("the xDS port " + port + " is out of range");
      }
    }

    /** Stable across restarts of the same instance, unique per address and port: a restart replaces itself. */
    public String serviceId() {
      return serviceName + "-" + address.replace(':', '_') + "-" + port;
    }

    String checkId() {
      return serviceId() + ":ready";
    }
  }

  private enum State { NOT_YET, REGISTERED, FAILING }

  private final ConsulKvClient agent;
  private final Settings settings;
  private final Object lock = new Object();
  private final Object closing = new Object();
  private Thread thread;
  private boolean closed;
  private volatile State state = State.NOT_YET;
  private String lastFailure;
  private boolean everRegistered; // only the registering thread touches it
  private final AtomicLong failedAttempts = new AtomicLong();

  public ConsulServiceRegistration(ConsulKvClient agent, Settings settings) {
    this.agent = Objects.requireNonNull(agent, "agent");
    this.settings = Objects.requireNonNull(settings, "settings");
  }

  public Settings settings() {
    return settings;
  }

  /** Whether the agent held the service at the last look. */
  public boolean registered() {
    return state == State.REGISTERED;
  }

  /** Attempts that failed (agent unreachable or refusing) since the start; each is retried after a back-off. */
  public long failedAttempts() {
    return failedAttempts.get();
  }

  /** Starts registering (once; later calls do nothing). Call when the xDS port is open. */
  public void start() {
    synchronized (lock) {
      if (thread != null || closed) {
        return;
      }
      thread = new Thread(this::run, "shardgate-consul-register");
      thread.setDaemon(true);
      thread.start();
    }
  }

  private void run() {
    Duration firstBackoff = FIRST_BACKOFF.compareTo(settings.recheck()) < 0 ? FIRST_BACKOFF : settings.recheck();
    Duration backoff = firstBackoff;
    while (!Thread.currentThread().isInterrupted()) {
      try {
        ensureRegistered();
        backoff = firstBackoff;
        Thread.sleep(settings.recheck().toMillis());
      } catch (InterruptedException e) {
        return;
      } catch (IOException e) {
        failed(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        try {
          Thread.sleep(backoff.toMillis());
        } catch (InterruptedException stop) {
          return;
        }
        backoff = backoff.multipliedBy(2).compareTo(settings.recheck()) > 0 ? settings.recheck()
            : backoff.multipliedBy(2);
      }
    }
  }

  /**
   * Registers at the first call (replacing what an earlier run of this instance left, whose check may differ); after
   * that only when the agent no longer holds the service (an agent restarted without its state).
   */
  private void ensureRegistered() throws IOException, InterruptedException {
    if (everRegistered) {
      AgentAnswer held = agent.agent("GET", "service/" + encoded(settings.serviceId()), null);
      if (held.status() == 200) {
        if (state != State.REGISTERED) {
          registeredNow("reachable again and still holding");
        }
        return;
      }
      if (held.status() != 404) {
        throw refused("looking up the service", held);
      }
    }
    AgentAnswer put = agent.agent("PUT", "service/register?replace-existing-checks=true", definition());
    if (put.status() != 200) {
      throw refused("registering the service", put);
    }
    registeredNow(everRegistered ? "registered again (the agent did not hold it)" : "registered");
  }

  private void registeredNow(String how) {
    synchronized (lock) {
      if (closed) {
        return;
      }
      LOG.info("Consul agent {}: {} service {} (id {}) at {}:{}, checked by GET {} every {}", agent.options().address(),
          how, settings.serviceName(), settings.serviceId(), settings.address(), settings.port(), settings.checkUrl(),
          seconds(settings.checkInterval()));
      state = State.REGISTERED;
      lastFailure = null;
      everRegistered = true;
    }
  }

  private void failed(String why) {
    failedAttempts.incrementAndGet();
    synchronized (lock) {
      if (closed) {
        return;
      }
      if (state != State.FAILING || !why.equals(lastFailure)) {
        LOG.warn("Cannot register service {} in the Consul agent (retrying with a back-off): {}",
            settings.serviceName(), why);
      }
      state = State.FAILING;
      lastFailure = why;
    }
  }

  private IOException refused(String what, AgentAnswer answer) {
    String hint = answer.status() == 403 ? " (the ACL token lacks service:write on " + settings.serviceName() + ")"
        : "";
    return new IOException("Consul agent " + agent.options().address() + " refused " + what + ": HTTP "
        + answer.status() + (answer.body().isEmpty() ? "" : " " + answer.body()) + hint);
  }

  /** The agent's service definition (its JSON names, as {@code PUT /v1/agent/service/register} takes them). */
  byte[] definition() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("ID", settings.serviceId());
      g.writeStringField("Name", settings.serviceName());
      g.writeStringField("Address", settings.address());
      g.writeNumberField("Port", settings.port());
      g.writeArrayFieldStart("Tags");
      for (String tag : TAGS) {
        g.writeString(tag);
      }
      g.writeEndArray();
      g.writeObjectFieldStart("Meta");
      g.writeStringField("shardgate_version", settings.version());
      g.writeEndObject();
      g.writeObjectFieldStart("Check");
      g.writeStringField("CheckID", settings.checkId());
      g.writeStringField("Name", "Shardgate serves xDS (admin /ready)");
      g.writeStringField("HTTP", settings.checkUrl());
      g.writeStringField("Method", "GET");
      g.writeStringField("Interval", seconds(settings.checkInterval()));
      g.writeStringField("Timeout", "5s");
      g.writeStringField("DeregisterCriticalServiceAfter", seconds(settings.deregisterAfter()));
      g.writeEndObject();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write a service definition in memory", e);
    }
    return out.toByteArray();
  }

  /**
   * Stops re-registering and deregisters the service, so Envoys resolving the name stop getting this instance before
   * its gRPC server stops. Failures are logged, not thrown: the agent drops the instance after
   * {@code DeregisterCriticalServiceAfter} anyway. Idempotent.
   */
  @Override
  public void close() {
    // One close at a time, and a second caller waits for the first: serve's shutdown hook and Micronaut's both
    // close, and neither may stop the gRPC server while the other is still deregistering.
    synchronized (closing) {
      deregister();
    }
  }

  private void deregister() {
    Thread running;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      running = thread;
    }
    if (running != null) {
      running.interrupt();
      try {
        running.join(Duration.ofSeconds(15).toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (running == null) {
      return; // never started: nothing was registered
    }
    try {
      AgentAnswer answer = agent.agent("PUT", "service/deregister/" + encoded(settings.serviceId()), null);
      if (answer.status() == 200) {
        LOG.info("Consul agent {}: deregistered service {} (id {})", agent.options().address(),
            settings.serviceName(), settings.serviceId());
      } else if (answer.status() != 404) {
        LOG.warn("Consul agent {} refused to deregister service id {}: HTTP {} {}", agent.options().address(),
            settings.serviceId(), answer.status(), answer.body());
      }
    } catch (IOException e) {
      LOG.warn("Cannot deregister service id {} (the agent drops it after {} critical): {}", settings.serviceId(),
          seconds(settings.deregisterAfter()), e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    state = State.NOT_YET;
  }

  private static String encoded(String id) {
    return URLEncoder.encode(id, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static String seconds(Duration d) {
    return Math.max(1, d.toSeconds()) + "s";
  }

  @Override
  public String toString() {
    return "registration of " + settings.serviceId() + " in " + agent;
  }
}
