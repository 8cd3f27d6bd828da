package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * One shard served for real, what the HTTPS end-to-end tests share per class: the control plane in-process on a
 * config directory ({@code serve --config-dir}) and one <b>real Envoy process</b> of shard {@value #PROXY},
 * bootstrapped by the project's own {@code bootstrap} command, over real gRPC ADS. Plus what those tests read: the
 * Envoy's admin counters and the control plane's {@code GET /api/status}.
 *
 * <p>{@link #close()} stops the Envoy by its own process handle, then the control plane.
 */
final class ServedShard implements AutoCloseable {

  static final String PROXY = "gateway-proxy";
  static final Duration LIVENESS = Duration.ofSeconds(60);

  final Path configDir;
  final int adminPort;
  final ApplicationContext controlPlane;
  final EnvoyProcess envoy;

  private ServedShard(Path configDir, int adminPort, ApplicationContext controlPlane, EnvoyProcess envoy) {
    this.configDir = configDir;
    this.adminPort = adminPort;
    this.controlPlane = controlPlane;
    this.envoy = envoy;
  }

  /**
   * Serves {@code configDir} (already written) on the given ports and starts the shard's Envoy, its bootstrap and log
   * under {@code run}; waits until the Envoy is ready (its first xDS fetch done, listeners warmed).
   */
  static ServedShard start(Path configDir, Path run, int xdsPort, int adminPort, int envoyAdminPort)
      throws Exception {
    EnvoyProcess.binary(); // fails at once, with the install command, when Envoy is missing
    Files.createDirectories(run);
    ApplicationContext controlPlane = ServeCommand.start(configDir, run.resolve("state"), xdsPort, adminPort,
        "127.0.0.1");
    EnvoyProcess envoy = null;
    try {
      ServeCommand.awaitFirstTranslation(controlPlane);
      envoy = E2eSupport.startShardEnvoy(PROXY, PROXY, xdsPort, envoyAdminPort, run);
      envoy.awaitReady(LIVENESS);
      return new ServedShard(configDir, adminPort, controlPlane, envoy);
    } catch (Throwable t) {
      E2eSupport.printEnvoyLogs("the start of " + configDir, envoy);
      E2eSupport.stopAll(envoy == null ? List.of() : List.of(envoy), controlPlane);
      throw t;
    }
  }

  /** Writes {@code text} to {@code relative} under the config directory, atomically. */
  void write(String relative, String text) throws IOException {
    TlsSecretFiles.replace(configDir.resolve(relative), text);
  }

  // ---- Envoy ----

  /** The Envoy's numeric stats whose names match {@code regex} (Envoy's admin {@code /stats?filter=}). */
  Map<String, Long> envoyCounters(String regex) throws IOException {
    Map<String, Long> out = new TreeMap<>();
    for (String line : E2eSupport.admin(envoy, "/stats?filter=" + regex).split("\n")) {
      int colon = line.lastIndexOf(": ");
      if (colon > 0) {
        String value = line.substring(colon + 2).trim();
        if (value.matches("\\d+")) {
          out.put(line.substring(0, colon).trim(), Long.parseLong(value));
        }
      }
    }
    return out;
  }

  /** {@link #envoyCounters}, read until two reads 300 ms apart agree (no update in flight). */
  Map<String, Long> stableEnvoyCounters(String regex) throws Exception {
    Map<String, Long> last = envoyCounters(regex);
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    while (System.nanoTime() - deadline < 0) {
      Thread.sleep(300);
      Map<String, Long> now = envoyCounters(regex);
      if (now.equals(last)) {
        return now;
      }
      last = now;
    }
    return fail(envoy.name + " stats " + regex + " never settled within " + LIVENESS + ": " + last);
  }

  /** One counter's value, 0 when Envoy does not have it (yet). */
  long envoyCounter(String name) throws IOException {
    return envoyCounters("^" + name.replace(".", "\\.") + "$").getOrDefault(name, 0L);
  }

  // ---- control plane ----

  /** The body of {@code GET /api/status}. */
  String statusBody() throws IOException {
    RawHttp.Response r = RawHttp.get(adminPort, "127.0.0.1:" + adminPort, "/api/status");
    assertEquals(200, r.status(), () -> "GET /api/status: " + r);
    return r.body();
  }

  /** The {@code resources} of {@code GET /api/status}, by {@code Kind namespace/name}. */
  Map<?, ?> statusResources() throws IOException {
    String body = statusBody();
    if (new Yaml(new LoaderOptions()).load(body) instanceof Map<?, ?> status
        && status.get("resources") instanceof Map<?, ?> resources) {
      return resources;
    }
    throw new AssertionError("GET /api/status has no resources yet: " + body);
  }

  /** Polls {@code GET /api/status} until its resources satisfy {@code condition}; returns them then. */
  Map<?, ?> awaitStatus(String what, Predicate<Map<?, ?>> condition) throws InterruptedException {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    Object last = "no answer";
    while (System.nanoTime() - deadline < 0) {
      try {
        Map<?, ?> resources = statusResources();
        if (condition.test(resources)) {
          return resources;
        }
        last = resources;
      } catch (IOException | AssertionError e) {
        last = e.toString();
      }
      Thread.sleep(50);
    }
    return fail("GET /api/status never showed " + what + " within " + LIVENESS + "; last: " + last);
  }

  /** The status of {@code resource} ({@code Kind namespace/name}) in {@code resources}, or an empty map. */
  static Map<?, ?> status(Map<?, ?> resources, String resource) {
    return resources.get(resource) instanceof Map<?, ?> s ? s : Map.of();
  }

  /** The errors of a resource's status, or an empty list. */
  static List<?> errors(Map<?, ?> resources, String resource) {
    return status(resources, resource).get("errors") instanceof List<?> l ? l : List.of();
  }

  @Override
  public void close() {
    E2eSupport.stopAll(List.of(envoy), controlPlane);
  }
}
