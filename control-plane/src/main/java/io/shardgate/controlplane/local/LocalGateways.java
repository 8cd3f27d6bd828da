package io.shardgate.controlplane.local;

import io.shardgate.controlplane.cli.ShardgateCli;
import io.shardgate.templates.BootstrapParams;
import io.shardgate.templates.BootstrapRenderer;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The launcher of a local Shardgate layout on loopback, shared by {@code shardgate demo} and the load-isolation
 * experiment: writes the layout's Gloo config ({@link LocalConfigWriter}), starts an echo backend per API
 * ({@link EchoBackend}), the control plane ({@code shardgate serve}) and one real Envoy per proxy of the layout (plus
 * the edge in {@link LocalLayout#EDGE}) from the project's own bootstrap, each a {@link ChildProcess} pinned where the
 * APIs say, and waits until every API answers 200 from its own backend through its entry.
 *
 * <p>The control plane runs as a child process too, not in this JVM: the demo's terminal then shows only what the demo
 * prints, the experiment can leave it off the measured CPUs, and every part stops the same way, by pid.
 *
 * <p>Stateful; {@link #close()} (idempotent, safe from a shutdown hook) stops every child by pid, Envoys first, and
 * deletes the work directory when the launcher created it. Not thread-safe otherwise.
 */
public final class LocalGateways implements AutoCloseable {

  /** How long a part may take to come up on a loaded machine before the start fails saying what it last saw. */
  public static final Duration LIVENESS = Duration.ofSeconds(90);

  /**
   * What to start.
   *
   * @param apis the APIs, in order (the first is the protected one in the experiment)
   * @param layout how they are placed on shards
   * @param envoy the Envoy binary ({@link EnvoyBinary#find})
   * @param envoyConcurrency Envoy's {@code --concurrency} (worker threads) for every Envoy
   * @param basePort ports are picked free upwards from here ({@link LoopbackPorts})
   * @param workDir where config, bootstraps, state and logs go; null for a temporary folder deleted by close()
   * @param edgeCpus the edge Envoy's CPUs; null for the union of the APIs' CPUs (unpinned when they are)
   */
  public record Options(List<LocalApi> apis, LocalLayout layout, Path envoy, int envoyConcurrency, int basePort,
      Path workDir, String edgeCpus) {
    public Options {
      apis = List.copyOf(apis);
      Objects.requireNonNull(layout, "layout");
      Objects.requireNonNull(envoy, "envoy");
      if (apis.isEmpty()) {
        throw new IllegalArgumentException("a layout needs at least one API");
      }
      if (envoyConcurrency < 1) {
        throw new IllegalArgumentException("Envoy concurrency must be at least 1, got " + envoyConcurrency);
      }
    }
  }

  private final Options options;
  private final PrintStream progress;
  private final Path workDir;
  private final boolean ownsWorkDir;
  private final List<ChildProcess> envoys = new ArrayList<>();
  private final List<ChildProcess> backends = new ArrayList<>();
  private final Map<String, Integer> gatewayPorts = new LinkedHashMap<>();
  private final Map<String, Integer> backendPorts = new LinkedHashMap<>();
  private ChildProcess controlPlane;
  private int edgePort;
  private int xdsPort;
  private int adminPort;
  private boolean closed;

  private LocalGateways(Options options, PrintStream progress, Path workDir, boolean ownsWorkDir) {
    this.options = options;
    this.progress = progress;
    this.workDir = workDir;
    this.ownsWorkDir = ownsWorkDir;
  }

  /** Starts everything and waits until it serves; on any failure stops what it started and rethrows. */
  public static LocalGateways start(Options options, PrintStream progress) throws IOException, InterruptedException {
    boolean owns = options.workDir() == null;
    Path dir = owns ? Files.createTempDirectory("shardgate-local-") : Files.createDirectories(options.workDir());
    LocalGateways gateways = new LocalGateways(options, progress, dir.toAbsolutePath(), owns);
    try {
      gateways.startAll();
      return gateways;
    } catch (IOException | InterruptedException | RuntimeException e) {
      gateways.close();
      throw e;
    }
  }

  private void startAll() throws IOException, InterruptedException {
    List<LocalApi> apis = options.apis();
    LocalLayout layout = options.layout();
    LoopbackPorts ports = new LoopbackPorts(options.basePort());
    for (LocalApi api : apis) {
      backendPorts.put(api.name(), ports.next());
    }
    for (String proxy : layout.proxies(apis)) {
      gatewayPorts.put(proxy, ports.next());
    }
    edgePort = layout == LocalLayout.EDGE ? ports.next() : 0;
    xdsPort = ports.next();
    adminPort = ports.next();
    Path config = workDir.resolve("config");
    LocalConfigWriter.write(config, apis, layout, new LocalConfigWriter.Ports(gatewayPorts, backendPorts, edgePort));
    Path logs = Files.createDirectories(workDir.resolve("logs"));

    String classPath = System.getProperty("java.class.path");
    for (LocalApi api : apis) {
      int port = backendPorts.get(api.name());
      backends.add(ChildProcess.start(api.backendName(), List.of(ChildProcess.javaExecutable(), "-XX:+UseSerialGC",
          "-Xms64m", "-Xmx128m", "-cp", classPath, EchoBackend.class.getName(), Integer.toString(port),
          api.backendName()), api.cpus(), logs.resolve(api.backendName() + ".log")));
    }
    controlPlane = ChildProcess.start("control-plane", List.of(ChildProcess.javaExecutable(), "-Xms128m", "-Xmx512m",
        "-cp", classPath, ShardgateCli.class.getName(), "serve", "--config-dir", config.toString(), "--state-dir",
        workDir.resolve("state").toString(), "--xds-port", Integer.toString(xdsPort), "--admin-port",
        Integer.toString(adminPort)), null, logs.resolve("control-plane.log"));
    for (int i = 0; i < apis.size(); i++) {
      LocalApi api = apis.get(i);
      ChildProcess backend = backends.get(i);
      int port = backendPorts.get(api.name());
      await(backend, "echo backend on 127.0.0.1:" + port, () -> answers(port, "backend", "/", api.backendName()));
    }
    await(controlPlane, "the control plane's first translation (GET /ready on 127.0.0.1:" + adminPort + ")",
        () -> status(adminPort, "127.0.0.1:" + adminPort, "/ready", 200));

    Map<String, String> proxyCpus = new LinkedHashMap<>();
    for (String proxy : layout.proxies(apis)) {
      proxyCpus.put(proxy, union(apis.stream().filter(a -> layout.proxyOf(a).equals(proxy)).toList()));
    }
    if (layout == LocalLayout.EDGE) {
      proxyCpus.put(LocalLayout.EDGE_PROXY, options.edgeCpus() != null ? options.edgeCpus() : union(apis));
    }
    Map<String, Integer> envoyAdmin = new LinkedHashMap<>();
    for (Map.Entry<String, String> proxy : proxyCpus.entrySet()) {
      int envoyAdminPort = ports.next();
      envoyAdmin.put(proxy.getKey(), envoyAdminPort);
      BootstrapParams params = BootstrapParams.builder(proxy.getKey()).namespace(LocalConfigWriter.NAMESPACE)
          .xdsHost("127.0.0.1").xdsPort(xdsPort).adminPort(envoyAdminPort).build();
      Path bootstrap = Files.writeString(workDir.resolve(proxy.getKey() + ".yaml"), BootstrapRenderer.render(params),
          StandardCharsets.UTF_8);
      envoys.add(ChildProcess.start(proxy.getKey(), List.of(options.envoy().toString(), "-c", bootstrap.toString(),
          "--disable-hot-restart", "--concurrency", Integer.toString(options.envoyConcurrency()), "--log-level",
          "warn"), proxy.getValue(), logs.resolve(proxy.getKey() + ".log")));
    }
    for (ChildProcess envoy : envoys) {
      int port = envoyAdmin.get(envoy.name());
      await(envoy, "Envoy " + envoy.name() + " ready (admin /ready on 127.0.0.1:" + port + ")",
          () -> status(port, "127.0.0.1:" + port, "/ready", 200));
    }
    for (LocalApi api : apis) {
      ChildProcess envoy = envoyOf(layout == LocalLayout.EDGE ? LocalLayout.EDGE_PROXY : layout.proxyOf(api));
      int port = entryPort(api);
      await(envoy, api.domain() + api.pathPrefix() + " through 127.0.0.1:" + port + " answered by "
          + api.backendName(), () -> answers(port, api.domain(), api.pathPrefix(), api.backendName()));
    }
    progress.println("Started the " + layout.label() + " layout in " + workDir + ":");
    for (String line : placement()) {
      progress.println("  " + line);
    }
  }

  private static String union(List<LocalApi> apis) {
    Set<String> cpus = new LinkedHashSet<>();
    for (LocalApi api : apis) {
      if (api.cpus() == null) {
        return null; // one unpinned API leaves its proxy unpinned
      }
      cpus.add(api.cpus());
    }
    return String.join(",", cpus);
  }

  /** A check polled until it holds; returns null when it holds, else what it saw. */
  @FunctionalInterface
  private interface Check {
    String failure() throws IOException;
  }

  private static void await(ChildProcess process, String what, Check check) throws InterruptedException {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    String last = "no answer yet";
    while (System.nanoTime() - deadline < 0) {
      process.checkAlive("waiting for " + what);
      try {
        String failure = check.failure();
        if (failure == null) {
          return;
        }
        last = failure;
      } catch (IOException notYet) {
        last = notYet.toString();
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException("timed out after " + LIVENESS + " waiting for " + what + "; last seen: " + last
        + "\nThe end of " + process.log() + ":\n" + process.logTail(30));
  }

  private static String status(int port, String host, String path, int status) throws IOException {
    LocalHttp.Answer answer = LocalHttp.get(port, host, path);
    return answer.status() == status ? null : "answered " + answer;
  }

  /** Null when GET answers 200 with a body from {@code backend}; anything else (another server!) is a failure. */
  private static String answers(int port, String host, String path, String backend) throws IOException {
    LocalHttp.Answer answer = LocalHttp.get(port, host, path);
    if (answer.status() == 200 && answer.body().startsWith(backend + " ")) {
      return null;
    }
    return "answered " + answer + " (expected 200 from " + backend + "; is another server on port " + port + "?)";
  }

  private ChildProcess envoyOf(String proxy) {
    return envoys.stream().filter(e -> e.name().equals(proxy)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no Envoy for " + proxy));
  }

  public Options options() {
    return options;
  }

  public Path workDir() {
    return workDir;
  }

  public Path configDir() {
    return workDir.resolve("config");
  }

  public int xdsPort() {
    return xdsPort;
  }

  public int adminPort() {
    return adminPort;
  }

  /** Where clients send {@code api}'s requests: the edge's port in {@link LocalLayout#EDGE}, else its shard's. */
  public int entryPort(LocalApi api) {
    return options.layout() == LocalLayout.EDGE ? edgePort : shardPort(options.layout().proxyOf(api));
  }

  /** The HTTP listener port of a shard's Gateway. */
  public int shardPort(String proxy) {
    Integer port = gatewayPorts.get(proxy);
    if (port == null) {
      throw new IllegalArgumentException("no shard " + proxy + " in the " + options.layout().label() + " layout");
    }
    return port;
  }

  /** The Envoy processes (the edge's last), for CPU accounting and pids. */
  public List<ChildProcess> envoys() {
    return List.copyOf(envoys);
  }

  /** The backend processes, in the order of the APIs. */
  public List<ChildProcess> backends() {
    return List.copyOf(backends);
  }

  /** One line per process: what it is, its pid, where it runs; and whether pinning was asked for. */
  public List<String> placement() {
    List<String> lines = new ArrayList<>();
    for (ChildProcess envoy : envoys) {
      lines.add("Envoy " + envoy.placement() + ", --concurrency " + options.envoyConcurrency());
    }
    for (ChildProcess backend : backends) {
      lines.add("backend " + backend.placement());
    }
    if (controlPlane != null) {
      lines.add("control plane " + controlPlane.placement() + " (xDS 127.0.0.1:" + xdsPort + ", admin 127.0.0.1:"
          + adminPort + ")");
    }
    return lines;
  }

  /** Stops every child by pid (Envoys, control plane, backends) and removes a temporary work directory. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    List<ChildProcess> all = new ArrayList<>(envoys);
    if (controlPlane != null) {
      all.add(controlPlane);
    }
    all.addAll(backends);
    for (ChildProcess child : all) {
      child.close();
    }
    if (ownsWorkDir) {
      deleteTree(workDir);
    }
  }

  /** Whether every child it started has ended. */
  public boolean allStopped() {
    return Stream.concat(Stream.concat(envoys.stream(), backends.stream()), Stream.ofNullable(controlPlane))
        .noneMatch(ChildProcess::isAlive);
  }

  /** Deletes a folder and everything in it (nothing when it is absent). */
  public static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove " + dir, e);
    }
  }
}
