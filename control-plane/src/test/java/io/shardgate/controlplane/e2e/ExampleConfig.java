package io.shardgate.controlplane.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * A copy of {@code docs/examples/sharded} with its fixed ports replaced by free loopback ports, for tests that run
 * the control plane (and Envoys) against the example without clashing with anything else on the host.
 *
 * @param dir the copied config directory
 * @param protectedPort listener port of the gateway-proxy-protected Gateway (8080 in the example)
 * @param noisyPort listener port of the gateway-proxy-noisy Gateway (8090 in the example)
 * @param paymentsPort port of the payments Upstream (9101 in the example)
 * @param catalogPort port of the catalog Upstream (9102 in the example)
 */
public record ExampleConfig(Path dir, int protectedPort, int noisyPort, int paymentsPort, int catalogPort) {

  static final String EXAMPLE = "docs/examples/sharded";

  public static final String PROTECTED_ROLE = "gloo-system~gateway-proxy-protected";
  public static final String NOISY_ROLE = "gloo-system~gateway-proxy-noisy";

  /** The Envoy listener of a Gateway on 127.0.0.1, as Gloo names it. */
  public static String listenerName(int port) {
    return "listener-127.0.0.1-" + port;
  }

  /** The RDS route configuration of that listener. */
  public static String routeConfigName(int port) {
    return listenerName(port) + "-routes";
  }

  public Path file(String relative) {
    return dir.resolve(relative);
  }

  /** Copies the example into {@code target} (created if needed) with fresh free ports. */
  public static ExampleConfig copyTo(Path target) throws IOException {
    return copyTo(target, freePorts(4));
  }

  /**
   * Copies the example into {@code target} (created if needed) with the given ports: protected listener, noisy
   * listener, payments backend, catalog backend. Callers that need more ports pick them all in one
   * {@link #freePorts} call, so no two are the same.
   */
  public static ExampleConfig copyTo(Path target, int[] ports) throws IOException {
    ExampleConfig config = new ExampleConfig(target, ports[0], ports[1], ports[2], ports[3]);
    Path source = repoRoot().resolve(EXAMPLE);
    try (Stream<Path> files = Files.walk(source)) {
      for (Path from : files.toList()) {
        Path to = target.resolve(source.relativize(from).toString());
        if (Files.isDirectory(from)) {
          Files.createDirectories(to);
        } else {
          Files.copy(from, to);
        }
      }
    }
    config.replace("gateways/gloo-system/gateway-proxy-protected.yaml", "bindPort: 8080",
        "bindPort: " + config.protectedPort);
    config.replace("gateways/gloo-system/gateway-proxy-noisy.yaml", "bindPort: 8090",
        "bindPort: " + config.noisyPort);
    config.replace("upstreams/payments/payments.yaml", "port: 9101", "port: " + config.paymentsPort);
    config.replace("upstreams/catalog/catalog.yaml", "port: 9102", "port: " + config.catalogPort);
    return config;
  }

  /**
   * Replaces exactly one occurrence of {@code from} in a file of the copy, failing if there is none, so a changed
   * example cannot silently leave a test on the example's fixed ports.
   */
  public void replace(String relative, String from, String to) throws IOException {
    Path file = file(relative);
    String text = Files.readString(file, StandardCharsets.UTF_8);
    int at = text.indexOf(from);
    if (at < 0 || text.indexOf(from, at + 1) >= 0) {
      throw new IllegalStateException(relative + " must contain '" + from + "' exactly once; the example changed?");
    }
    Files.writeString(file, text.replace(from, to), StandardCharsets.UTF_8);
  }

  /**
   * The repository root: system property {@code shardgate.repo.root} (Surefire sets it), else the first folder
   * upwards from {@code user.dir} that holds the example.
   */
  public static Path repoRoot() {
    String configured = System.getProperty("shardgate.repo.root");
    if (configured != null && !configured.isBlank() && Files.isDirectory(Path.of(configured).resolve(EXAMPLE))) {
      return Path.of(configured).toAbsolutePath().normalize();
    }
    for (Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve(EXAMPLE))) {
        return p;
      }
    }
    throw new IllegalStateException("cannot find " + EXAMPLE + " from shardgate.repo.root=" + configured
        + " or upwards from " + System.getProperty("user.dir"));
  }

  /** {@code count} distinct free loopback ports (held open together while picking, then closed). */
  public static int[] freePorts(int count) {
    ServerSocket[] sockets = new ServerSocket[count];
    try {
      int[] ports = new int[count];
      for (int i = 0; i < count; i++) {
        sockets[i] = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        ports[i] = sockets[i].getLocalPort();
      }
      return ports;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot pick free ports", e);
    } finally {
      for (ServerSocket socket : sockets) {
        if (socket != null) {
          try {
            socket.close();
          } catch (IOException ignored) {
            // the port is free again either way
          }
        }
      }
    }
  }

  /** The last {@code maxLines} lines of a log file, or a note that it is missing. */
  public static String tail(Path log, int maxLines) {
    try {
      if (!Files.exists(log)) {
        return "(no log at " + log + ")";
      }
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      if (lines.isEmpty()) {
        return "(empty)";
      }
      return String.join("\n", lines.subList(Math.max(0, lines.size() - maxLines), lines.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(cannot read " + log + ": " + e + ")";
    }
  }
}
