package io.shardgate.controlplane.cli;

import io.micronaut.context.ApplicationContext;
import io.micronaut.grpc.server.GrpcEmbeddedServer;
import io.micronaut.runtime.Micronaut;
import io.shardgate.controlplane.app.ServeFactory;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.security.ServeSecurity;
import io.shardgate.controlplane.security.TlsMaterialException;
import io.shardgate.controlplane.security.XdsTlsCredentials;
import io.shardgate.controlplane.status.LeaderElection;
import io.shardgate.controlplane.webhook.WebhookServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code serve}: runs the control plane until the process is stopped. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = {
      "Run the control plane: watch the config directory (or, with --kubernetes, the Gloo resources on the",
      "Kubernetes API server; with --consul, Consul's KV store), translate it into one xDS snapshot per shard and",
      "serve each shard over gRPC ADS to the Envoys whose node.metadata.role is <writeNamespace>~<proxyName>. With",
      "--consul or --consul-agent, consul Upstreams get the passing instances of their Consul service over EDS."
    })
public final class ServeCommand implements Callable<Integer> {

  private static volatile boolean serving;

  /** Injected by picocli: its writers are the terminal, or whatever a caller set with setErr. */
  @Spec CommandSpec spec;

  @Mixin ServeSecurityOptions security;

  @Mixin LeaderElectionOptions leaderElection;

  @Mixin WebhookOptions webhook;

  @Mixin VaultOptions vault;

  @Mixin ConsulOptions consul;

  @Option(
      names = "--config-dir",
      paramLabel = "DIR",
      defaultValue = "docs/examples/sharded",
      description = "Directory of Gloo Edge YAML to serve (default: ${DEFAULT-VALUE}).")
  Path configDir;

  @Option(
      names = "--kubernetes",
      description = {
        "Read the Gloo resources (Gateway, VirtualService, RouteTable, Upstream, UpstreamGroup, Settings; all",
        "namespaces) from the Kubernetes API server instead of a directory; the CRDs must be installed (see",
        "docs/kubernetes.md). Cannot be combined with --config-dir."
      })
  boolean kubernetes;

  @Option(
      names = "--kubeconfig",
      paramLabel = "FILE",
      description = "With --kubernetes: the kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, else the"
          + " in-cluster service account).")
  Path kubeconfig;

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
    PrintWriter usage = spec.commandLine().getErr();
    if (kubernetes && spec.commandLine().getParseResult().hasMatchedOption("--config-dir")) {
      usage.println("error: --kubernetes and --config-dir are mutually exclusive: serve either the Kubernetes API"
          + " server's resources or a directory of YAML.");
      usage.flush();
      return 2;
    }
    String consulProblem = consul.problem(spec.commandLine().getParseResult().hasMatchedOption("--consul-root-key"));
    if (consul.enabled() && (kubernetes || spec.commandLine().getParseResult().hasMatchedOption("--config-dir"))) {
      consulProblem = "--consul, --kubernetes and --config-dir are mutually exclusive: serve one source.";
    }
    if (consulProblem != null) {
      usage.println("error: " + consulProblem);
      usage.flush();
      return 2;
    }
    if (kubeconfig != null && !kubernetes) {
      usage.println("error: --kubeconfig is only read with --kubernetes.");
      usage.flush();
      return 2;
    }
    if (kubeconfig != null && !Files.isReadable(kubeconfig)) {
      usage.println("error: kubeconfig " + kubeconfig.toAbsolutePath() + " is not a readable file.");
      usage.flush();
      return 2;
    }
    if (!kubernetes && !consul.enabled() && !Files.isDirectory(configDir)) {
      System.err.println(
          "error: config directory " + configDir.toAbsolutePath() + " does not exist. Pass --config-dir DIR"
              + " (a directory of Gloo Edge YAML), or run from the repository root to serve docs/examples/sharded.");
      return 2;
    }
    ServeSecurity checked;
    LeaderElection.Options election;
    Map<String, Object> webhookProperties;
    try {
      election = leaderElection.toOptions();
      webhookProperties = new LinkedHashMap<>(webhook.properties());
      webhookProperties.putAll(vault.properties());
      checked = security.toSecurity();
      if (checked.xdsTls() != null) {
        XdsTlsCredentials.check(checked.xdsTls());
      }
    } catch (IllegalArgumentException | TlsMaterialException e) {
      PrintWriter err = spec.commandLine().getErr();
      err.println("error: " + e.getMessage());
      err.flush();
      return 2;
    }
    Map<String, Object> source = new LinkedHashMap<>(webhookProperties);
    if (kubernetes) {
      source.putAll(kubernetesProperties(kubeconfig, election));
    } else if (consul.enabled()) {
      source.putAll(consul.properties());
    } else {
      source.put("shardgate.config-dir", configDir.toAbsolutePath().normalize().toString());
    }
    if (!consul.enabled() && consul.agentAddress() != null) {
      source.putAll(consul.properties()); // an agent for service discovery beside the source
    }
    context = start(source, stateDir, xdsPort, adminPort, adminAddress, checked);
    serving = true;
    ApplicationContext running = context;
    // Runs beside Micronaut's own shutdown hook: ending the ADS streams at once lets its graceful gRPC stop finish
    // instead of waiting for streams that never end, and lets Envoys reconnect to a replacement right away.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> closeStreams(running), "shardgate-close-xds-streams"));
    boolean tls = checked.xdsTls() != null;
    boolean mutual = tls && checked.xdsTls().mutual();
    System.err.printf(
        "Shardgate serving %s: xDS on %s%s, admin on http://%s:%d (GET /api/status)%s. Attach an Envoy with:%n"
            + "  java -jar control-plane/target/shardgate.jar bootstrap --proxy <proxyName> --xds %s%s > envoy.yaml%n",
        kubernetes ? "the Kubernetes API server's Gloo resources"
            : consul.enabled() ? "Consul KV at " + consul.address + " under " + consul.rootKey + "/"
            : configDir.toAbsolutePath().normalize(),
        hostPort(checked.xdsAddress(), xdsPort),
        mutual ? " (mutual TLS)" : tls ? " (TLS)" : "", adminAddress, adminPort,
        webhook.port == null ? "" : ", validation webhook on https://" + hostPort(webhook.address, webhook.port)
            + WebhookServer.PATH,
        hostPort(dialable(checked.xdsAddress()), xdsPort),
        (tls ? " --xds-tls-ca <CA of the xDS certificate>" : "")
            + (mutual ? " --xds-tls-cert <client.crt> --xds-tls-key <client.key>" : ""));
    return 0;
  }

  /** An address an Envoy on this host can dial for a bind address: loopback for the wildcard addresses. */
  private static String dialable(String bindAddress) {
    return bindAddress.equals("0.0.0.0") || bindAddress.equals("::") ? "127.0.0.1" : bindAddress;
  }

  private static String hostPort(String host, int port) {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

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
      context.findBean(GrpcEmbeddedServer.class)
          .ifPresent(server -> server.getServer().shutdownNow());
    }
  }

  /**
   * Waits until a control plane started by {@link #start} has published its first translation (the ports open before
   * that; see {@code SourceStarter}), or fails after {@code timeout} saying so.
   */
  public static void awaitFirstTranslation(ApplicationContext context, Duration timeout) {
    ShardPipeline pipeline = context.getBean(ShardPipeline.class);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (pipeline.latest() == null) {
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("the control plane did not publish its first translation within " + timeout);
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the first translation", e);
      }
    }
  }

  /** {@link #awaitFirstTranslation(ApplicationContext, Duration)} with a generous bound of one minute. */
  public static void awaitFirstTranslation(ApplicationContext context) {
    awaitFirstTranslation(context, Duration.ofMinutes(1));
  }

  /** Starts the control plane with a fresh, temporary state directory (tests and throw-away runs). */
  public static ApplicationContext start(Path configDir, int xdsPort, int adminPort, String adminAddress) {
    try {
      return start(configDir, Files.createTempDirectory("shardgate-state"), xdsPort, adminPort, adminAddress);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a temporary state directory", e);
    }
  }

  /** Starts the control plane with its last good state in {@code stateDir}; closing the context stops it. */
  public static ApplicationContext start(
      Path configDir, Path stateDir, int xdsPort, int adminPort, String adminAddress) {
    return start(configDir, stateDir, xdsPort, adminPort, adminAddress, ServeSecurity.defaults());
  }

  /**
   * Starts the control plane with its last good state in {@code stateDir} and the given security settings; closing
   * the context stops it.
   */
  public static ApplicationContext start(
      Path configDir, Path stateDir, int xdsPort, int adminPort, String adminAddress, ServeSecurity security) {
    Map<String, Object> source = new LinkedHashMap<>();
    source.put("shardgate.config-dir", configDir.toAbsolutePath().normalize().toString());
    return start(source, stateDir, xdsPort, adminPort, adminAddress, security);
  }

  /**
   * Starts the control plane reading the Gloo resources from the Kubernetes API server, with the kubeconfig at
   * {@code kubeconfig} (null: fabric8's usual resolution); closing the context stops it.
   */
  public static ApplicationContext startKubernetes(
      Path kubeconfig, Path stateDir, int xdsPort, int adminPort, String adminAddress, ServeSecurity security) {
    return startKubernetes(kubeconfig, stateDir, xdsPort, adminPort, adminAddress, security,
        LeaderElection.Options.defaults());
  }

  /** As above, electing the status writer with {@code election}. */
  public static ApplicationContext startKubernetes(Path kubeconfig, Path stateDir, int xdsPort, int adminPort,
      String adminAddress, ServeSecurity security, LeaderElection.Options election) {
    return start(kubernetesProperties(kubeconfig, election), stateDir, xdsPort, adminPort, adminAddress, security);
  }

  private static Map<String, Object> kubernetesProperties(Path kubeconfig, LeaderElection.Options election) {
    Map<String, Object> source = new LinkedHashMap<>(LeaderElectionOptions.properties(election));
    source.put(ServeFactory.KUBERNETES, "true");
    if (kubeconfig != null) {
      source.put("shardgate.kubeconfig", kubeconfig.toAbsolutePath().normalize().toString());
    }
    return source;
  }

  /**
   * Starts the control plane with {@code source} (the properties of the config source and of the options beyond
   * security, such as the webhook's) added to the rest; closing the context stops it. For tests that start what
   * {@code serve} starts with options no other method takes.
   */
  public static ApplicationContext start(Map<String, Object> source, Path stateDir, int xdsPort, int adminPort,
      String adminAddress, ServeSecurity security) {
    Map<String, Object> props = new LinkedHashMap<>(security.properties());
    props.put("shardgate.state-dir", stateDir.toAbsolutePath().normalize().toString());
    props.putAll(source);
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
