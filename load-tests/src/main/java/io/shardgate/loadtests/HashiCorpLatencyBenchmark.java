package io.shardgate.loadtests;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The HashiCorp deployment's two latencies the issue asks for, through the real parts: a real Consul 1.16.1 {@code -dev}
 * agent (built by {@code tools/consul-test-server.sh}, as the tests' ConsulAgent does, and started on free loopback
 * ports), {@code java -jar shardgate.jar serve --consul ADDR} as a child process with
 * the config only in Consul KV, and one real Envoy per shard (two shards) from {@code shardgate bootstrap}.
 *
 * <ul>
 *   <li><b>KV write to served</b>: a VirtualService of one shard gets a new domain ({@code PUT /v1/kv/...}); the time
 *       from the PUT returning to the first 200 for that domain through the shard's Envoy, polled every millisecond;
 *   <li><b>health check to EDS</b>: an instance of a Consul service behind a {@code consul} Upstream has its TTL check
 *       failed, later passed ({@code PUT /v1/agent/check/fail|pass/ID}); the time from the PUT returning to the
 *       endpoint gone from (back in) the Envoy's admin {@code /clusters}, polled every 2 ms.
 * </ul>
 *
 * <p>Each change is made after the previous one was seen and {@code --settle-ms} passed. Prints a Markdown report
 * (median, p90, max per measure; machine and versions) and writes it and the raw CSV under {@code --out}.
 *
 * <p>Stateful, single-threaded driver. Run by hand ({@code load-tests/run-hashicorp-benchmark.sh --help}); not part of
 * {@code verify}.
 */
public final class HashiCorpLatencyBenchmark implements BenchmarkLauncher.Run {

  private static final String USAGE = "hashicorp-benchmark-usage.txt";
  private static final String SERVICE = "bench-service";
  private static final String CONSUL_CLUSTER = SERVICE + "_gloo-system";

  private final Options options;
  private final Deque<AutoCloseable> cleanup = new ArrayDeque<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private String consul;

  private HashiCorpLatencyBenchmark(Options options) {
    this.options = options;
  }

  public static void main(String[] args) {
    BenchmarkLauncher.main(args, "hashicorp benchmark", "load-tests/run-hashicorp-benchmark.sh", USAGE,
        Options::parse, HashiCorpLatencyBenchmark::new);
  }

  @Override
  public void run() throws Exception {
    BenchmarkMachine machine = BenchmarkMachine.describe();
    String loadBefore = BenchmarkMachine.loadAverage();
    Files.createDirectories(options.out);
    log("machine: " + machine.summary() + "; load " + loadBefore);
    if (!Files.isExecutable(options.envoy)) {
      throw new IllegalStateException("no Envoy at " + options.envoy + " (bash tools/install-envoy.sh 1.40.0)");
    }
    String envoyVersion = ServeProcess.run(List.of(options.envoy.toString(), "--version"), Duration.ofSeconds(30))
        .strip();

    consul = startConsul();
    String consulVersion = firstGroup(get(consul + "/v1/agent/self"), "\"Version\":\\s*\"([^\"]+)\"");
    log("Consul " + consulVersion + " at " + consul);

    int[] ports = ServeProcess.freePorts(7);
    int protectedPort = ports[0];
    int noisyPort = ports[1];
    int[] instances = {ports[3], ports[4]};
    backend(ports[2], "static");
    backend(instances[0], "instance-1");
    backend(instances[1], "instance-2");
    kvPut("gloo/gateway.solo.io/v1/Gateway/gloo-system/gateway-proxy-protected", gateway("protected", protectedPort));
    kvPut("gloo/gateway.solo.io/v1/Gateway/gloo-system/gateway-proxy-noisy", gateway("noisy", noisyPort));
    kvPut("gloo/gloo.solo.io/v1/Upstream/gloo-system/static", """
        metadata: {name: static, namespace: gloo-system}
        static: {hosts: [{addr: 127.0.0.1, port: %d}]}
        """.formatted(ports[2]));
    kvPut("gloo/gateway.solo.io/v1/VirtualService/payments/kv-bench", kvVirtualService(0));
    kvPut("gloo/gateway.solo.io/v1/VirtualService/catalog/noisy", routedVirtualService("noisy", "catalog",
        "noisy.example.com", "static"));
    if (!options.skipHealth) {
      for (int i = 0; i < 2; i++) {
        consulPut("/v1/agent/service/register", """
            {"ID": "%s-%d", "Name": "%s", "Address": "127.0.0.1", "Port": %d,
             "Check": {"CheckID": "%s-%d-ttl", "TTL": "60m", "Status": "passing"}}
            """.formatted(SERVICE, i + 1, SERVICE, instances[i], SERVICE, i + 1));
      }
      kvPut("gloo/gloo.solo.io/v1/Upstream/gloo-system/" + SERVICE, """
          metadata: {name: %s, namespace: gloo-system}
          consul: {serviceName: %s}
          """.formatted(SERVICE, SERVICE));
      kvPut("gloo/gateway.solo.io/v1/VirtualService/catalog/" + SERVICE, routedVirtualService(SERVICE, "catalog",
          "consul.example.com", SERVICE));
    }

    Path stateDir = Files.createTempDirectory("shardgate-hashicorp-bench-state");
    ServeProcess serve = ServeProcess.startConsul(options.jar, options.serveJvm, consul, List.of(), stateDir,
        options.out.resolve("serve.log"));
    cleanup.push(serve);
    await("serve's first pass", () -> {
      serve.checkAlive("its first pass");
      return serve.passesLogged() >= 1;
    });
    int protectedAdmin = ports[5];
    int noisyAdmin = ports[6];
    startEnvoy("gateway-proxy-protected", serve.xdsPort(), protectedAdmin);
    startEnvoy("gateway-proxy-noisy", serve.xdsPort(), noisyAdmin);
    await("the protected Envoy serving", () -> status(protectedPort, "kv-bench-0.example.com") == 200);
    await("the noisy Envoy serving", () -> status(noisyPort, "noisy.example.com") == 200);
    String endpoint1 = CONSUL_CLUSTER + "::127.0.0.1:" + instances[0] + "::";
    String endpoint2 = CONSUL_CLUSTER + "::127.0.0.1:" + instances[1] + "::";
    if (!options.skipHealth) {
      await("both Consul instances at the noisy Envoy", () -> clusters(noisyAdmin).contains(endpoint1)
          && clusters(noisyAdmin).contains(endpoint2));
    }
    String loadReady = BenchmarkMachine.loadAverage();
    log("serving; load " + loadReady + "; " + options.warmup + " warm-up and " + options.iterations
        + " measured changes of each kind");

    CsvFile csv = new CsvFile(options.out.resolve("samples.csv"), "measure,iteration,ms");
    cleanup.push(csv::close);
    List<Double> kvMs = new ArrayList<>();
    List<Double> failMs = new ArrayList<>();
    List<Double> passMs = new ArrayList<>();
    int total = options.warmup + options.iterations;
    for (int i = 1; i <= total; i++) {
      boolean measured = i > options.warmup;
      String host = "kv-bench-" + i + ".example.com";
      long put = kvPut("gloo/gateway.solo.io/v1/VirtualService/payments/kv-bench", kvVirtualService(i));
      long seen = awaitTightly("200 for " + host, Duration.ofMillis(1), () -> status(protectedPort, host) == 200);
      record(csv, "kv-write-to-200", i, seen - put, measured, kvMs);
      settle();
      if (options.skipHealth) {
        continue;
      }
      long failed = consulPut("/v1/agent/check/fail/" + SERVICE + "-1-ttl", "");
      long gone = awaitTightly("instance 1 gone from /clusters", Duration.ofMillis(2),
          () -> !clusters(noisyAdmin).contains(endpoint1));
      record(csv, "check-fail-to-eds", i, gone - failed, measured, failMs);
      settle();
      long passed = consulPut("/v1/agent/check/pass/" + SERVICE + "-1-ttl", "");
      long back = awaitTightly("instance 1 back in /clusters", Duration.ofMillis(2),
          () -> clusters(noisyAdmin).contains(endpoint1));
      record(csv, "check-pass-to-eds", i, back - passed, measured, passMs);
      settle();
    }
    String loadAfter = BenchmarkMachine.loadAverage();

    StringBuilder report = new StringBuilder();
    report.append("## HashiCorp mode: KV write and health check to the Envoy\n\n")
        .append("| measure | n | median ms | p90 ms | max ms |\n|---|---:|---:|---:|---:|\n");
    row(report, "KV write (PUT returned) to the first 200 on the new domain", kvMs);
    if (!options.skipHealth) {
      row(report, "TTL check fail (PUT returned) to the endpoint gone from /clusters", failMs);
      row(report, "TTL check pass (PUT returned) to the endpoint back in /clusters", passMs);
    }
    report.append("\n- machine: ").append(machine.summary()).append('\n')
        .append("- load average (1/5/15 min): before ").append(loadBefore).append(", serving ").append(loadReady)
        .append(", after ").append(loadAfter).append('\n')
        .append("- Envoy: ").append(envoyVersion.replaceAll("\\s+", " ")).append('\n')
        .append("- Consul: ").append(consulVersion).append(" (-dev agent on loopback)\n")
        .append("- serve JVM: ").append(String.join(" ", options.serveJvm)).append("; Micronaut ")
        .append(machine.micronaut()).append(", gRPC ").append(machine.grpc()).append(", java-control-plane api ")
        .append(machine.javaControlPlane()).append('\n')
        .append("- command: `").append(options.command).append("`\n");
    Files.writeString(options.out.resolve("report.md"), report, StandardCharsets.UTF_8);
    System.out.println(report);
    cleanup.push(() -> deleteTree(stateDir));
  }

  /**
   * Starts a {@code -dev} agent on free loopback ports (HTTP, Serf LAN and WAN, server RPC; DNS and gRPC off), the
   * binary from the project's build script (built on first use), stopped by its own handle at clean-up.
   */
  private String startConsul() throws Exception {
    String[] lines = ServeProcess.run(List.of("bash", "tools/consul-test-server.sh", "path"), Duration.ofMinutes(30))
        .strip().split("\n");
    String bin = lines[lines.length - 1].strip();
    int[] p = ServeProcess.freePorts(4);
    Process agent = new ProcessBuilder(bin, "agent", "-dev", "-bind", "127.0.0.1", "-client", "127.0.0.1",
        "-http-port", Integer.toString(p[0]), "-dns-port", "-1", "-grpc-port", "-1", "-grpc-tls-port", "-1",
        "-serf-lan-port", Integer.toString(p[1]), "-serf-wan-port", Integer.toString(p[2]),
        "-server-port", Integer.toString(p[3]))
        .redirectErrorStream(true).redirectOutput(options.out.resolve("consul.log").toFile()).start();
    cleanup.push(() -> {
      agent.destroy();
      if (!agent.waitFor(15, TimeUnit.SECONDS)) {
        agent.destroyForcibly();
      }
    });
    String address = "http://127.0.0.1:" + p[0];
    await("Consul's leader", () -> {
      if (!agent.isAlive()) {
        throw new IllegalStateException("consul exited; see " + options.out.resolve("consul.log"));
      }
      try {
        return get(address + "/v1/status/leader").contains(":");
      } catch (Exception notYet) {
        return false;
      }
    });
    return address;
  }

  // ---- the config (Gloo's flat form, as consul kv put stores Gloo's files)

  private static String gateway(String shard, int port) {
    return """
        metadata: {name: gateway-proxy-%s, namespace: gloo-system}
        bindAddress: 127.0.0.1
        bindPort: %d
        proxyNames: [gateway-proxy-%s]
        httpGateway: {virtualServiceSelector: {shard: %s}}
        """.formatted(shard, port, shard, shard);
  }

  private static String kvVirtualService(int generation) {
    return routedVirtualService("kv-bench", "payments", "kv-bench-" + generation + ".example.com", "static")
        .replace("shard: noisy", "shard: protected");
  }

  private static String routedVirtualService(String name, String namespace, String domain, String upstream) {
    return """
        metadata: {name: %s, namespace: %s, labels: {shard: noisy}}
        virtualHost:
          domains: [%s]
          routes:
          - matchers: [{prefix: /}]
            routeAction: {single: {upstream: {name: %s, namespace: gloo-system}}}
        """.formatted(name, namespace, domain, upstream);
  }

  // ---- the parts

  private void backend(int port, String name) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
    byte[] body = (name + "\n").getBytes(StandardCharsets.UTF_8);
    server.createContext("/", exchange -> {
      try (exchange) {
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream os = exchange.getResponseBody()) {
          os.write(body);
        }
      }
    });
    server.start();
    cleanup.push(() -> server.stop(0));
  }

  private void startEnvoy(String proxy, int xdsPort, int adminPort) throws Exception {
    String bootstrap = ServeProcess.run(List.of(ServeProcess.javaExecutable(), "-jar", options.jar.toString(),
        "bootstrap", "--proxy", proxy, "--xds", "127.0.0.1:" + xdsPort, "--admin-port", Integer.toString(adminPort)),
        Duration.ofSeconds(120));
    Path file = Files.writeString(options.out.resolve(proxy + ".yaml"), bootstrap, StandardCharsets.UTF_8);
    Process envoy = new ProcessBuilder(options.envoy.toString(), "-c", file.toString(), "--disable-hot-restart",
        "--concurrency", "1", "--log-level", "warn")
        .redirectErrorStream(true).redirectOutput(options.out.resolve(proxy + ".log").toFile()).start();
    cleanup.push(() -> {
      envoy.destroy();
      if (!envoy.waitFor(10, TimeUnit.SECONDS)) {
        envoy.destroyForcibly();
      }
    });
    await(proxy + "'s /ready", () -> {
      if (!envoy.isAlive()) {
        throw new IllegalStateException(proxy + "'s Envoy exited; see " + options.out.resolve(proxy + ".log"));
      }
      return status(adminPort, "127.0.0.1:" + adminPort, "/ready") == 200;
    });
  }

  // ---- HTTP

  /** Writes a KV value; returns when the PUT returned (nanoTime). */
  private long kvPut(String key, String value) throws Exception {
    return consulPut("/v1/kv/" + key, value);
  }

  private long consulPut(String path, String body) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(consul + path))
        .timeout(Duration.ofSeconds(30)).PUT(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
    long returned = System.nanoTime();
    if (r.statusCode() != 200) {
      throw new IllegalStateException("PUT " + path + " answered " + r.statusCode() + ": " + r.body());
    }
    return returned;
  }

  private String get(String url) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
        .build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IllegalStateException("GET " + url + " answered " + r.statusCode() + ": " + r.body());
    }
    return r.body();
  }

  private String clusters(int adminPort) {
    try {
      return get("http://127.0.0.1:" + adminPort + "/clusters");
    } catch (Exception e) {
      return "";
    }
  }

  private static int status(int port, String host) {
    return status(port, host, "/");
  }

  /** One {@code GET path} with {@code Host: host} on 127.0.0.1:port over a fresh connection: its status, or -1. */
  private static int status(int port, String host, String path) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      // The status line is all that is needed; waiting for the close instead would add Envoy's delayed_close_timeout
      // (1 s) to every answer.
      InputStream in = s.getInputStream();
      String head = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
      return head.startsWith("HTTP/1.1 ") ? Integer.parseInt(head.substring(9, 12)) : -1;
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  // ---- measuring

  private void record(CsvFile csv, String measure, int iteration, long nanos, boolean measured, List<Double> into) {
    double ms = nanos / 1e6;
    csv.row(measure, measured ? iteration : "warmup-" + iteration, String.format(Locale.ROOT, "%.3f", ms));
    if (measured) {
      into.add(ms);
    }
  }

  private static void row(StringBuilder report, String measure, List<Double> ms) {
    double[] sorted = Percentiles.sorted(ms);
    report.append(String.format(Locale.ROOT, "| %s | %d | %.1f | %.1f | %.1f |%n", measure, sorted.length,
        Percentiles.percentile(sorted, 50), Percentiles.percentile(sorted, 90),
        sorted.length == 0 ? Double.NaN : sorted[sorted.length - 1]));
  }

  private void settle() {
    ServeBenchmark.sleep(options.settle);
  }

  private void await(String what, BooleanSupplier condition) {
    awaitTightly(what, Duration.ofMillis(20), condition);
  }

  /** Polls {@code condition} every {@code poll} until it holds; returns when it first did (nanoTime). */
  private long awaitTightly(String what, Duration poll, BooleanSupplier condition) {
    long deadline = System.nanoTime() + Duration.ofSeconds(options.timeoutS).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("waited " + options.timeoutS + " s for " + what);
      }
      ServeBenchmark.sleep(poll);
    }
    return System.nanoTime();
  }

  private static String firstGroup(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    return m.find() ? m.group(1) : "unknown";
  }

  private static void log(String line) {
    System.err.println("[hashicorp-benchmark] " + line);
  }

  @Override
  public synchronized void cleanUp() {
    while (!cleanup.isEmpty()) {
      try {
        cleanup.pop().close();
      } catch (Exception e) {
        System.err.println("clean-up: " + e);
      }
    }
  }

  private static void deleteTree(Path root) throws IOException {
    try (var paths = Files.walk(root)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** Command-line options (see hashicorp-benchmark-usage.txt). */
  record Options(int warmup, int iterations, Duration settle, int timeoutS, boolean skipHealth, List<String> serveJvm,
      Path jar, Path envoy, Path out, String command) {

    /** The options, or null for --help. */
    static Options parse(String[] args) {
      BenchmarkArgs values = BenchmarkArgs.parse(args, List.of("--skip-health", "--help"),
          List.of("--warmup", "--iterations", "--settle-ms", "--timeout-s", "--serve-jvm", "--jar", "--envoy",
              "--out"));
      if (values.has("--help")) {
        return null;
      }
      return new Options(values.atLeastZero("--warmup", 5), values.positive("--iterations", 50),
          Duration.ofMillis(values.atLeastZero("--settle-ms", 500)), values.positive("--timeout-s", 60),
          values.has("--skip-health"),
          List.of(values.get("--serve-jvm", "-Xms256m -Xmx1g").trim().split("\\s+")),
          Path.of(values.get("--jar", "control-plane/target/shardgate.jar")),
          Path.of(values.get("--envoy", ".tools/envoy-1.40.0/envoy/_bin/envoy")),
          Path.of(values.get("--out", "load-tests/target/hashicorp-benchmark")),
          System.getProperty("shardgate.bench.command", "HashiCorpLatencyBenchmark " + String.join(" ", args)));
    }
  }
}
