package io.shardgate.controlplane.cli;

import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code serve}: runs the control plane until the process is stopped. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = {
      "Run the control plane: watch the config directory, translate it into one xDS snapshot per shard and serve",
      "each shard over gRPC ADS to the Envoys whose node.metadata.role is <writeNamespace>~<proxyName>."
    })
public final class ServeCommand implements Callable<Integer> {

  private static volatile boolean serving;

  @Option(
      names = "--config-dir",
      paramLabel = "DIR",
      defaultValue = "docs/examples/sharded",
      description = "Directory of Gloo Edge YAML to serve (default: ${DEFAULT-VALUE}).")
  Path configDir;

  @Option(
      names = "--state-dir",
      paramLabel = "DIR",
      defaultValue = ".shardgate/state",
      description = "Where the last good config of rejected resources is kept across restarts (default: ${DEFAULT-VALUE}).")
  Path stateDir;

  @Option(names = "--xds-port", paramLabel = "PORT", defaultValue = "9977", description = "gRPC xDS (ADS) port (default: ${DEFAULT-VALUE}).")
  int xdsPort;

  @Option(names = "--admin-port", paramLabel = "PORT", defaultValue = "9091", description = "Admin API port (default: ${DEFAULT-VALUE}).")
  int adminPort;

  @Option(
      names = "--admin-address",
      paramLabel = "ADDR",
      defaultValue = "127.0.0.1",
      description = "Address the admin API binds to (default: ${DEFAULT-VALUE}, loopback only).")
  String adminAddress;

  /** The running context, for tests that start the server in-process. */
  private ApplicationContext context;

  static boolean isServing() {
    return serving;
  }

  @Override
  public Integer call() {
    if (!Files.isDirectory(configDir)) {
      System.err.println(
          "error: config directory " + configDir.toAbsolutePath() + " does not exist. Pass --config-dir DIR"
              + " (a directory of Gloo Edge YAML), or run from the repository root to serve docs/examples/sharded.");
      return 2;
    }
    context = start(configDir, stateDir, xdsPort, adminPort, adminAddress);
    serving = true;
    ApplicationContext running = context;
    // Runs beside Micronaut's own shutdown hook: ending the ADS streams at once lets its graceful gRPC stop finish
    // instead of waiting for streams that never end, and lets Envoys reconnect to a replacement right away.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> closeStreams(running), "shardgate-close-xds-streams"));
    System.err.printf(
        "Shardgate serving %s: xDS on :%d, admin on http://%s:%d (GET /api/status). Attach an Envoy with:%n"
            + "  java -jar control-plane/target/shardgate.jar bootstrap --proxy <proxyName> --xds 127.0.0.1:%d > envoy.yaml%n",
        configDir.toAbsolutePath().normalize(), xdsPort, adminAddress, adminPort, xdsPort);
    return 0;
  }

  /** Starts the control plane and returns its context; closing the context stops it. */
  /**
   * Stops a control plane started by {@link #start}: ends every xDS stream first (Envoys reconnect elsewhere at
   * once), then closes the context.
   */
  public static void stop(ApplicationContext context) {
    closeStreams(context);
    context.close();
  }

  private static void closeStreams(ApplicationContext context) {
    if (context.isRunning()) {
      context.findBean(io.micronaut.grpc.server.GrpcEmbeddedServer.class)
          .ifPresent(server -> server.getServer().shutdownNow());
    }
  }

  /** Starts the control plane with a fresh, temporary state directory (tests and throw-away runs). */
  public static ApplicationContext start(Path configDir, int xdsPort, int adminPort, String adminAddress) {
    try {
      return start(configDir, Files.createTempDirectory("shardgate-state"), xdsPort, adminPort, adminAddress);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("cannot create a temporary state directory", e);
    }
  }

  /** Starts the control plane with its last good state in {@code stateDir}; closing the context stops it. */
  public static ApplicationContext start(
      Path configDir, Path stateDir, int xdsPort, int adminPort, String adminAddress) {
    Map<String, Object> props = new LinkedHashMap<>();
    props.put("shardgate.state-dir", stateDir.toAbsolutePath().normalize().toString());
    props.put("shardgate.config-dir", configDir.toAbsolutePath().normalize().toString());
    props.put("grpc.server.port", xdsPort);
    props.put("micronaut.server.port", adminPort);
    props.put("micronaut.server.host", adminAddress);
    return Micronaut.build(new String[0])
        .mainClass(ShardgateCli.class)
        .banner(false)
        .properties(props)
        .start();
  }
}
