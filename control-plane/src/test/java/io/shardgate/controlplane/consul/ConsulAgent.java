package io.shardgate.controlplane.consul;

import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.e2e.OrphanedServers;
import io.shardgate.controlplane.e2e.ScriptBuiltTool;
import io.shardgate.controlplane.kube.ServerProcess;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * A real Consul 1.16.1 agent (in {@code -dev} mode, or a persistent single server) for one test class, built from the Go module proxy by
 * {@code tools/consul-test-server.sh} (once per machine, into a cache outside the work tree) and started on free
 * loopback ports (HTTP, Serf LAN and WAN, server RPC; gRPC off, DNS off unless {@link #withDns()}), its data in a
 * temporary folder. Stopped by its own pid after the class; a test JVM killed before that leaves an owner file by
 * which the next run stops the orphan ({@link #reapOrphans()}).
 *
 * <p>Register it on a static field: {@code @RegisterExtension static final ConsulAgent CONSUL = new ConsulAgent();}.
 * A failing test gets the agent's log tail. A build or start that fails fails the class; it never skips.
 *
 * <p>Stateful; used from the test thread.
 */
public final class ConsulAgent implements BeforeAllCallback, AfterAllCallback, TestWatcher {

  static final String SCRIPT = "tools/consul-test-server.sh";
  private static final String TAG = "consul-agent";
  private static final String WORK_PREFIX = "shardgate-consul-";
  private static final String OWNER_FILE = "owner.pid";
  private static final String PIDS_FILE = "agents.pids";
  private static final ScriptBuiltTool BUILD = new ScriptBuiltTool(SCRIPT,
      "The Consul tests run a real Consul agent", "Go 1.20+ and the Go module proxy");
  private static final Duration READY_BOUND = Duration.ofSeconds(90);
  private static final int START_ATTEMPTS = 3;

  private static boolean reaped;

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private Path work;
  private Path dataDir;
  private ServerProcess process;
  private final boolean persistent;
  private final boolean dns;
  private final String config;
  private int[] ports;
  private int generation;
  private Thread shutdownHook;

  /** A {@code -dev} agent: everything in memory, a leader at once. */
  public ConsulAgent() {
    this(false);
  }

  /**
   * With {@code persistent}, a single server ({@code -server -bootstrap-expect 1}) that keeps its KV store and
   * index in its data folder, so a {@link #restart} is a real restart; else a {@code -dev} agent, whose restart
   * starts empty.
   */
  public ConsulAgent(boolean persistent) {
    this(persistent, false, null);
  }

  /**
   * As {@link #ConsulAgent(boolean)}, with {@code config} (HCL, for example an {@code acl} block) written to a file
   * the agent reads with {@code -config-file}; null for none.
   */
  public ConsulAgent(boolean persistent, String config) {
    this(persistent, false, config);
  }

  private ConsulAgent(boolean persistent, boolean dns, String config) {
    this.persistent = persistent;
    this.dns = dns;
    this.config = config;
  }

  /**
   * A {@code -dev} agent with its DNS interface on (UDP and TCP on a free loopback port, {@link #dnsPort()}), so a
   * real Envoy can resolve {@code <service>.service.consul} through it.
   */
  public static ConsulAgent withDns() {
    return new ConsulAgent(false, true, null);
  }

  /** The port of the agent's DNS interface on 127.0.0.1; only for an agent made by {@link #withDns()}. */
  public int dnsPort() {
    if (!dns) {
      throw new IllegalStateException("this agent runs without DNS: make it with ConsulAgent.withDns()");
    }
    address(); // fails outside a test class, as address() does
    return ports[4];
  }

  /** The agent's HTTP address, {@code http://127.0.0.1:PORT}. */
  public String address() {
    if (process == null) {
      throw new IllegalStateException("the agent runs only inside a test class that registers it on a static field");
    }
    return "http://127.0.0.1:" + ports[0];
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    Path bin = binary();
    reapOrphans();
    work = Files.createTempDirectory(WORK_PREFIX);
    Files.writeString(work.resolve(OWNER_FILE), ProcessHandle.current().pid() + "\n");
    shutdownHook = new Thread(this::stopAndDelete, "consul-agent-stop");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
    start(bin, true);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    stopAndDelete();
    if (shutdownHook != null) {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs anyway
      }
    }
  }

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    if (process != null) {
      System.out.println("[consul-agent] log tail of the agent (pid " + process.pid() + "):\n" + process.logTail(60));
    }
  }

  /** Whether the agent process runs. */
  public boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** Stops the agent (by its pid) without starting it again: Consul is unreachable until {@link #restart}. */
  public void stop() {
    if (process != null) {
      process.stop();
    }
  }

  /**
   * Stops the agent and starts it again on the same ports; with {@code freshData} its data folder is new, so its KV
   * store is empty and its index starts again from low numbers (a {@code -dev} agent always starts empty).
   */
  public void restart(boolean freshData) throws Exception {
    stop();
    start(binary(), freshData);
  }

  private void start(Path bin, boolean freshData) throws Exception {
    if (freshData || dataDir == null) {
      generation++;
      dataDir = Files.createDirectories(work.resolve("data-" + generation));
    }
    // A restart keeps every port: clients keep their address, and a server's Raft peer is its server port.
    boolean samePorts = ports != null;
    for (int attempt = 1; ; attempt++) {
      int[] picked = samePorts ? ports : ExampleConfig.freePorts(dns ? 5 : 4);
      Path log = work.resolve("consul-" + generation + "-" + attempt + "-" + System.nanoTime() + ".log");
      List<String> argv = new ArrayList<>(List.of(bin.toString(), "agent"));
      argv.addAll(persistent
          ? List.of("-server", "-bootstrap-expect", "1", "-node", "shardgate-test", "-ui=false")
          : List.of("-dev"));
      argv.addAll(List.of("-bind", "127.0.0.1", "-client", "127.0.0.1",
          "-http-port", Integer.toString(picked[0]), "-dns-port", dns ? Integer.toString(picked[4]) : "-1",
          "-grpc-port", "-1", "-grpc-tls-port", "-1",
          "-serf-lan-port", Integer.toString(picked[1]), "-serf-wan-port", Integer.toString(picked[2]),
          "-server-port", Integer.toString(picked[3]), "-data-dir", dataDir.toString(), "-log-level", "info"));
      if (config != null) {
        Path file = work.resolve("extra.hcl");
        Files.writeString(file, config);
        argv.addAll(List.of("-config-file", file.toString()));
      }
      process = ServerProcess.start("consul", argv, log);
      Files.writeString(work.resolve(PIDS_FILE), process.pid() + " " + bin.toRealPath() + "\n",
          StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      try {
        awaitLeader(picked[0]);
        ports = picked;
        return;
      } catch (AssertionError e) {
        process.stop();
        if (attempt < START_ATTEMPTS && process.logContains("address already in use")) {
          System.out.println("[consul-agent] a port was taken meanwhile; starting again"
              + (samePorts ? " on the same ports" : " on others"));
          Thread.sleep(1000);
          continue;
        }
        throw new AssertionError(e.getMessage() + "\nlog tail:\n" + process.logTail(60), e);
      }
    }
  }

  /** Consul's snapshot of its whole state ({@code GET /v1/snapshot}), to restore later. */
  public byte[] saveSnapshot() throws IOException, InterruptedException {
    HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(address() + "/v1/snapshot"))
        .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofByteArray());
    if (r.statusCode() != 200) {
      throw new AssertionError("GET /v1/snapshot answered " + r.statusCode() + ": " + new String(r.body(),
          StandardCharsets.UTF_8));
    }
    return r.body();
  }

  /**
   * Restores a snapshot ({@code PUT /v1/snapshot}): the KV store becomes what it was, atomically, and its index
   * goes back to the snapshot's.
   */
  public void restoreSnapshot(byte[] snapshot) throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(address() + "/v1/snapshot"))
        .timeout(Duration.ofSeconds(60)).PUT(HttpRequest.BodyPublishers.ofByteArray(snapshot)).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new AssertionError("PUT /v1/snapshot answered " + r.statusCode() + ": " + r.body());
    }
  }

  private void awaitLeader(int port) throws InterruptedException {
    URI leader = URI.create("http://127.0.0.1:" + port + "/v1/status/leader");
    long deadline = System.nanoTime() + READY_BOUND.toNanos();
    String last = "no answer";
    while (System.nanoTime() - deadline < 0) {
      if (!process.isAlive()) {
        throw new AssertionError(process.exitDescription() + " before it had a leader");
      }
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(leader).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
        last = r.statusCode() + " " + r.body();
        if (r.statusCode() == 200 && r.body().contains(":")) {
          return;
        }
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(100);
    }
    throw new AssertionError("Consul had no leader within " + READY_BOUND + "; last answer: " + last);
  }

  private synchronized void stopAndDelete() {
    if (process != null) {
      process.stop();
      process = null;
    }
    if (work != null) {
      deleteTree(work);
      work = null;
    }
  }

  /** The agent binary: built by the script the first time on a machine, found in its cache after that. */
  static Path binary() {
    return BUILD.path();
  }

  /**
   * Stops the agents of test JVMs that were killed before their afterAll or shutdown hook ran, and deletes their
   * folders. Only folders whose owning JVM is gone are touched; a recorded pid is stopped only while it still runs
   * the recorded binary, so a reused pid is never hit.
   */
  private static synchronized void reapOrphans() {
    if (reaped) {
      return;
    }
    reaped = true;
    OrphanedServers.reap(TAG, WORK_PREFIX, OWNER_FILE, PIDS_FILE);
  }

  private static void deleteTree(Path root) {
    OrphanedServers.deleteTree(TAG, root);
  }
}
