package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.security.ServeSecurity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * One shard served for real, what the HTTPS end-to-end tests share per class: the control plane in-process on a
 * config directory ({@code serve --config-dir}) and one <b>real Envoy process</b> of shard {@value #PROXY},
 * bootstrapped by the project's own {@code bootstrap} command, over real gRPC ADS (state of the world; optionally a
 * second one over delta ADS, on the same listener ports by {@code SO_REUSEPORT}, as replicas of a shard run). Plus
 * what those tests read: the Envoys' admin counters and the control plane's {@code GET /api/status}.
 *
 * <p>{@link #close()} stops the Envoys by their own process handles, then the control plane.
 */
final class ServedShard implements AutoCloseable {

  static final String PROXY = "gateway-proxy";
  static final Duration LIVENESS = Duration.ofSeconds(60);

  final Path configDir;
  final int adminPort;
  final ApplicationContext controlPlane;
  /** The state-of-the-world Envoy. */
  final EnvoyProcess envoy;
  /** Every Envoy of the shard: {@link #envoy}, then the delta one if started. */
  final List<EnvoyProcess> envoys;

  private ServedShard(Path configDir, int adminPort, ApplicationContext controlPlane, List<EnvoyProcess> envoys) {
    this.configDir = configDir;
    this.adminPort = adminPort;
    this.controlPlane = controlPlane;
    this.envoy = envoys.get(0);
    this.envoys = List.copyOf(envoys);
  }

  /**
   * Serves {@code configDir} (already written) on the given ports and starts the shard's Envoy, its bootstrap and log
   * under {@code run}; waits until the Envoy is ready (its first xDS fetch done, listeners warmed).
   */
  static ServedShard start(Path configDir, Path run, int xdsPort, int adminPort, int envoyAdminPort)
      throws Exception {
    return start(configDir, run, xdsPort, adminPort, envoyAdminPort, 0);
  }

  /**
   * As {@link #start(Path, Path, int, int, int)}, plus a second Envoy of the shard over delta ADS with its admin on
   * {@code deltaAdminPort} (none when 0).
   */
  static ServedShard start(Path configDir, Path run, int xdsPort, int adminPort, int envoyAdminPort,
      int deltaAdminPort) throws Exception {
    return start(configDir, run, xdsPort, adminPort, envoyAdminPort, deltaAdminPort, Map.of());
  }

  /** As above, with {@code properties} added to the control plane's (what options beyond the directory set). */
  static ServedShard start(Path configDir, Path run, int xdsPort, int adminPort, int envoyAdminPort,
      int deltaAdminPort, Map<String, Object> properties) throws Exception {
    EnvoyProcess.binary(); // fails at once, with the install command, when Envoy is missing
    Files.createDirectories(run);
    Map<String, Object> source = new LinkedHashMap<>(properties);
    source.put("shardgate.config-dir", configDir.toAbsolutePath().normalize().toString());
    ApplicationContext controlPlane = ServeCommand.start(source, run.resolve("state"), xdsPort, adminPort,
        "127.0.0.1", ServeSecurity.defaults());
    List<EnvoyProcess> envoys = new ArrayList<>();
    try {
      ServeCommand.awaitFirstTranslation(controlPlane);
      envoys.add(E2eSupport.startShardEnvoy(PROXY, PROXY, xdsPort, envoyAdminPort, run));
      if (deltaAdminPort != 0) {
        envoys.add(E2eSupport.startShardEnvoy(PROXY + "-delta", PROXY, xdsPort, deltaAdminPort, run, "--node-id",
            PROXY + "-delta", "--delta"));
      }
      for (EnvoyProcess e : envoys) {
        e.awaitReady(LIVENESS);
      }
      return new ServedShard(configDir, adminPort, controlPlane, envoys);
    } catch (Throwable t) {
      E2eSupport.printEnvoyLogs("the start of " + configDir, envoys.toArray(EnvoyProcess[]::new));
      E2eSupport.stopAll(envoys, controlPlane);
      throw t;
    }
  }

  /** Writes {@code text} to {@code relative} under the config directory, atomically. */
  void write(String relative, String text) throws IOException {
    TlsSecretFiles.replace(configDir.resolve(relative), text);
  }

  // ---- Envoy ----

  /** The numeric stats of {@link #envoy} whose names match {@code regex} (Envoy's admin {@code /stats?filter=}). */
  Map<String, Long> envoyCounters(String regex) throws IOException {
    return envoyCounters(envoy, regex);
  }

  /** The numeric stats of {@code e} whose names match {@code regex}. */
  static Map<String, Long> envoyCounters(EnvoyProcess e, String regex) throws IOException {
    Map<String, Long> out = new TreeMap<>();
    for (String line : E2eSupport.admin(e, "/stats?filter=" + regex).split("\n")) {
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

  /** {@link #envoyCounters(EnvoyProcess, String)}, read until two reads 300 ms apart agree (no update in flight). */
  static Map<String, Long> stableEnvoyCounters(EnvoyProcess e, String regex) throws Exception {
    Map<String, Long> last = envoyCounters(e, regex);
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    while (System.nanoTime() - deadline < 0) {
      Thread.sleep(300);
      Map<String, Long> now = envoyCounters(e, regex);
      if (now.equals(last)) {
        return now;
      }
      last = now;
    }
    return fail(e.name + " stats " + regex + " never settled within " + LIVENESS + ": " + last);
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
    E2eSupport.stopAll(envoys, controlPlane);
  }
}
