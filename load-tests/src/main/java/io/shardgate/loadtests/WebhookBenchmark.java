package io.shardgate.loadtests;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.shardgate.controlplane.kube.ChartWebhookConfiguration;
import io.shardgate.controlplane.kube.KubeApiServer;
import io.shardgate.controlplane.kube.KubeObjects;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The validation webhook at scale, through the real parts: a real kube-apiserver with etcd ({@link KubeApiServer}),
 * the chart's CRDs, {@code java -jar shardgate.jar serve --kubernetes --webhook-port ...} as a child process with a
 * self-signed certificate (made with the JDK's keytool), and a ValidatingWebhookConfiguration pointing the API server
 * at it with {@code failurePolicy: Fail}.
 *
 * <p>Workload: {@code --shards} Gateways, each selecting its team's VirtualServices by label; {@code --vs}
 * VirtualServices spread round-robin over them, each with its own domain and two routes to its own static Upstream.
 * Once the control plane holds them all and the API server calls the webhook, {@code --admissions} requests go
 * through the API server one after the other (the fabric8 client, server-side apply, timing each request end to
 * end): in turn a new VirtualService (admitted), an update of an existing one's routes (admitted) and a new one
 * claiming an existing domain (refused). Prints p50/p90/p99/max of the client's times and of the webhook's own
 * {@code shardgate_webhook_admission_seconds}, by result, as a Markdown report (written under {@code --out}).
 *
 * <p>Single-threaded driver. Run by hand ({@code load-tests/run-webhook-benchmark.sh --help}); not part of verify.
 */
public final class WebhookBenchmark implements BenchmarkLauncher.Run {

  private static final String WEBHOOK_NAME = ChartWebhookConfiguration.WEBHOOK_NAME;

  private final Options options;
  private final Deque<AutoCloseable> cleanup = new ArrayDeque<>();

  private WebhookBenchmark(Options options) {
    this.options = options;
  }

  public static void main(String[] args) {
    BenchmarkLauncher.main(args, "webhook benchmark", "load-tests/run-webhook-benchmark.sh",
        "webhook-benchmark-usage.txt", Options::parse, WebhookBenchmark::new);
  }

  /** One admission as the client saw it. */
  private record Sample(String what, boolean allowed, double ms) {}

  @Override
  public void run() throws Exception {
    BenchmarkMachine machine = BenchmarkMachine.describe();
    Files.createDirectories(options.out);
    log("machine: " + machine.summary() + "; load " + BenchmarkMachine.loadAverage());
    KubeApiServer api = KubeApiServer.start("the webhook benchmark");
    cleanup.push(api);
    KubernetesClient client = api.client();
    KubeApiServer.installCrds(client, KubeApiServer.chartCrds());
    List<String> namespaces = new ArrayList<>(List.of("gloo-system"));
    for (int s = 0; s < options.shards; s++) {
      namespaces.add(team(s));
    }
    KubeObjects.namespaces(client, namespaces.toArray(String[]::new));
    long t = System.nanoTime();
    List<String> documents = new ArrayList<>();
    for (int s = 0; s < options.shards; s++) {
      documents.add(gateway(s));
    }
    for (int i = 0; i < options.virtualServices; i++) {
      documents.add(upstream(i));
      documents.add(virtualService(i, "vs-" + i, domain(i), 0));
    }
    applyAll(client, documents);
    log(String.format(Locale.ROOT, "%,d objects written in %.0f ms", documents.size(), ms(System.nanoTime() - t)));

    Path certs = Files.createDirectories(options.out.resolve("webhook-tls"));
    String caPem = selfSignedCertificate(certs);
    int webhookPort = ServeProcess.freePorts(1)[0];
    Path stateDir = Files.createTempDirectory("shardgate-webhook-bench-state");
    ServeProcess serve = ServeProcess.startKubernetes(options.jar, options.serveJvm, api.kubeconfig(),
        List.of("--webhook-port", Integer.toString(webhookPort), "--webhook-cert",
            certs.resolve("tls.crt").toString(), "--webhook-key", certs.resolve("tls.key").toString()),
        stateDir, options.out.resolve("serve.log"));
    cleanup.push(() -> deleteTree(stateDir)); // after serve has stopped (the stack closes it first)
    cleanup.push(serve);
    t = System.nanoTime();
    await("serve to hold every VirtualService", () -> "VirtualServices: " + held(serve), () -> {
      serve.checkAlive("the first read");
      return held(serve) >= options.virtualServices;
    });
    log(String.format(Locale.ROOT, "serve holds %,d VirtualServices after %.0f ms", options.virtualServices,
        ms(System.nanoTime() - t)));

    await("serve's first pass (GET /ready answers 200)", () -> "not ready", () -> {
      try {
        return serve.get("/ready").statusCode() == 200;
      } catch (IOException e) {
        return false;
      }
    });
    String webhookConfiguration = ChartWebhookConfiguration.forLocalWebhook(
        Files.createDirectories(options.out.resolve("helm")), webhookPort, caPem);
    KubeObjects.apply(client, webhookConfiguration);
    cleanup.push(() -> KubeObjects.delete(client, webhookConfiguration));
    String[] last = {""};
    await("the API server to call the webhook", () -> last[0], () -> {
      try {
        KubeObjects.apply(client, virtualService(0, "probe", domain(0), 0));
        KubeObjects.delete(client, virtualService(0, "probe", domain(0), 0));
        last[0] = "the probe was admitted";
        return false;
      } catch (KubernetesClientException e) {
        last[0] = e.getMessage();
        return String.valueOf(e.getMessage()).contains(WEBHOOK_NAME)
            && String.valueOf(e.getMessage()).contains("domain conflict");
      }
    });

    List<Sample> samples = new ArrayList<>();
    for (int n = 0; n < options.admissions; n++) {
      int k = (n * 7919) % options.virtualServices; // an existing VirtualService, spread over the shards
      String what;
      String yaml;
      switch (n % 3) {
        case 0 -> {
          what = "create";
          yaml = virtualService(k, "new-" + n, "new-" + n + ".example.com", 0);
        }
        case 1 -> {
          what = "update";
          yaml = virtualService(k, "vs-" + k, domain(k), n);
        }
        default -> {
          what = "refused create";
          yaml = virtualService(k, "clash-" + n, domain(k), 0);
        }
      }
      long started = System.nanoTime();
      boolean allowed;
      try {
        KubeObjects.apply(client, yaml);
        allowed = true;
      } catch (KubernetesClientException e) {
        if (!String.valueOf(e.getMessage()).contains(WEBHOOK_NAME)) {
          throw e;
        }
        allowed = false;
      }
      samples.add(new Sample(what, allowed, ms(System.nanoTime() - started)));
      boolean expected = !what.equals("refused create");
      if (allowed != expected) {
        throw new IllegalStateException("admission " + n + " (" + what + " of " + team(k % options.shards) + "/"
            + (what.equals("update") ? "vs-" + k : "new-" + n) + ") was " + (allowed ? "admitted" : "refused"));
      }
    }
    Map<String, Double> metrics = serve.metrics();
    String report = report(machine, api, serve, samples, metrics);
    Files.writeString(options.out.resolve("report.md"), report, StandardCharsets.UTF_8);
    System.out.println(report);
    log("report: " + options.out.resolve("report.md").toAbsolutePath());
  }

  /** The VirtualServices serve holds, or -1 while its admin port is not open yet. */
  private static long held(ServeProcess serve) {
    if (!ServeProcess.accepts(serve.adminPort())) {
      return -1;
    }
    return Math.round(PrometheusText.value(serve.metrics(),
        "shardgate_source_kubernetes_objects{kind=\"VirtualService\"}"));
  }

  private void applyAll(KubernetesClient client, List<String> documents) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> writes = new ArrayList<>();
      for (String d : documents) {
        writes.add(pool.submit(() -> KubeObjects.apply(client, d)));
      }
      for (Future<?> f : writes) {
        f.get();
      }
    } finally {
      pool.shutdown();
    }
  }

  // ---- the report

  private String report(BenchmarkMachine machine, KubeApiServer api, ServeProcess serve, List<Sample> samples,
      Map<String, Double> metrics) {
    StringBuilder out = new StringBuilder();
    out.append("### Validation webhook at ").append(String.format(Locale.ROOT, "%,d", options.virtualServices))
        .append(" VirtualServices (").append(LocalDate.now()).append(")\n\n");
    out.append("- command: `").append(options.command).append("`\n");
    out.append("- machine: ").append(machine.summary()).append("; load ").append(BenchmarkMachine.loadAverage())
        .append('\n');
    out.append("- kube-apiserver and etcd: ").append(KubeApiServer.class.getSimpleName())
        .append(" (tools/kube-test-servers.sh); serve JVM: `").append(String.join(" ", options.serveJvm))
        .append("`\n");
    out.append(String.format(Locale.ROOT, "- workload: %d shards, %,d VirtualServices with %,d Upstreams; %d"
        + " admissions one after the other (creates, route updates, refused domain clashes in turn)%n%n",
        options.shards, options.virtualServices, options.virtualServices, samples.size()));
    out.append("| measured | requests | p50 ms | p90 ms | p99 ms | max ms |\n|---|---|---|---|---|---|\n");
    for (String what : List.of("create", "update", "refused create")) {
      row(out, "kubectl-like client, " + what, samples.stream().filter(s -> s.what.equals(what))
          .map(Sample::ms).toList());
    }
    row(out, "kubectl-like client, all", samples.stream().map(Sample::ms).toList());
    for (String result : List.of("admitted", "refused")) {
      String labels = "kind=\"VirtualService\",result=\"" + result + "\"";
      double count = PrometheusText.value(metrics, "shardgate_webhook_admission_seconds_count{" + labels + "}");
      out.append(String.format(Locale.ROOT, "| webhook histogram, %s | %.0f | %.1f | %.1f | %.1f | %.1f |%n",
          result, count, quantile(metrics, result, "0.5"), quantile(metrics, result, "0.9"),
          quantile(metrics, result, "0.99"),
          1000 * PrometheusText.value(metrics, "shardgate_webhook_admission_seconds_max{" + labels + "}")));
    }
    out.append("\nThe client's time is the whole API server round trip (authentication, the webhook call over"
        + " HTTPS, etcd); the webhook's is from reading the AdmissionReview to writing the answer (the dry-run"
        + " translation). The webhook's quantiles are Micrometer's over its last minutes, and include the"
        + " probe requests that waited for the API server to call it.\n");
    return out.toString();
  }

  private static double quantile(Map<String, Double> metrics, String result, String q) {
    return 1000 * PrometheusText.sum(metrics, "shardgate_webhook_admission_seconds", "kind=\"VirtualService\"",
        "result=\"" + result + "\"", "quantile=\"" + q + "\"");
  }

  private static void row(StringBuilder out, String what, List<Double> values) {
    double[] sorted = Percentiles.sorted(values);
    out.append(String.format(Locale.ROOT, "| %s | %d | %.1f | %.1f | %.1f | %.1f |%n", what, sorted.length,
        Percentiles.percentile(sorted, 50), Percentiles.percentile(sorted, 90), Percentiles.percentile(sorted, 99),
        sorted.length == 0 ? Double.NaN : sorted[sorted.length - 1]));
  }

  // ---- the workload

  private static String team(int shard) {
    return "team-" + shard;
  }

  private static String domain(int i) {
    return "vs-" + i + ".example.com";
  }

  private String gateway(int s) {
    return """
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata: {name: shard-%d, namespace: gloo-system}
        spec:
          bindAddress: 127.0.0.1
          bindPort: %d
          proxyNames: [shard-%d]
          httpGateway: {virtualServiceSelector: {shard: shard-%d}}
        """.formatted(s, 20000 + s, s, s);
  }

  private String upstream(int i) {
    return """
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata: {name: us-%d, namespace: %s}
        spec: {static: {hosts: [{addr: 10.0.%d.%d, port: 8080}]}}
        """.formatted(i, team(i % options.shards), i / 250, i % 250 + 1);
  }

  /** VirtualService {@code name} of {@code i}'s team and shard routing to Upstream {@code us-i}. */
  private String virtualService(int i, String name, String domain, int generation) {
    int s = i % options.shards;
    return """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: %s, namespace: %s, labels: {shard: shard-%d}}
        spec:
          virtualHost:
            domains: [%s]
            routes:
            - matchers: [{prefix: /api/v%d}]
              routeAction: {single: {upstream: {name: us-%d, namespace: %s}}}
            - matchers: [{prefix: /}]
              routeAction: {single: {upstream: {name: us-%d, namespace: %s}}}
        """.formatted(name, team(s), s, domain, generation, i, team(s), i, team(s));
  }


  /**
   * A self-signed certificate for 127.0.0.1 ({@code tls.crt}, {@code tls.key} in {@code dir}), made with the JDK's
   * keytool so the benchmark needs no test libraries; returns the certificate's PEM, which is its own CA.
   */
  private static String selfSignedCertificate(Path dir) throws Exception {
    Path store = dir.resolve("webhook.p12");
    Files.deleteIfExists(store);
    char[] password = "bench-only".toCharArray();
    Process p = new ProcessBuilder(ServeProcess.jdkTool("keytool"), "-genkeypair", "-alias", "webhook", "-keyalg",
        "EC", "-groupname", "secp256r1", "-dname", "CN=shardgate-webhook-bench", "-ext", "SAN=ip:127.0.0.1",
        "-validity", "2", "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass",
        new String(password)).redirectErrorStream(true).redirectOutput(dir.resolve("keytool.log").toFile()).start();
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("keytool failed: " + Files.readString(dir.resolve("keytool.log")));
    }
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (var in = Files.newInputStream(store)) {
      ks.load(in, password);
    }
    Key key = ks.getKey("webhook", password);
    Certificate cert = ks.getCertificate("webhook");
    String certPem = pem("CERTIFICATE", cert.getEncoded());
    Files.writeString(dir.resolve("tls.crt"), certPem, StandardCharsets.US_ASCII);
    Files.writeString(dir.resolve("tls.key"), pem("PRIVATE KEY", key.getEncoded()), StandardCharsets.US_ASCII);
    return certPem;
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
        .encodeToString(der) + "\n-----END " + type + "-----\n";
  }

  // ---- helpers

  private void await(String what, Supplier<String> lastSeen, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(options.timeoutS).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("waited " + options.timeoutS + " s for " + what + "; last seen: "
            + lastSeen.get());
      }
      Thread.sleep(200);
    }
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

  private static void log(String message) {
    System.err.println("[webhook-bench] " + message);
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (var paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  @Override
  public void cleanUp() {
    while (!cleanup.isEmpty()) {
      try {
        cleanup.pop().close();
      } catch (Exception e) {
        log("clean-up: " + e);
      }
    }
  }

  record Options(int shards, int virtualServices, int admissions, int timeoutS, List<String> serveJvm, Path jar,
      Path out, String command) {

    /** The options, or null for --help. */
    static Options parse(String[] args) {
      BenchmarkArgs values = BenchmarkArgs.parse(args, List.of("--help"),
          List.of("--shards", "--vs", "--admissions", "--timeout-s", "--serve-jvm", "--jar", "--out"));
      if (values.has("--help")) {
        return null;
      }
      return new Options(values.positive("--shards", 4), values.positive("--vs", 1000),
          values.positive("--admissions", 300), values.positive("--timeout-s", 300),
          List.of(values.get("--serve-jvm", "-Xms512m -Xmx2g").trim().split("\\s+")),
          Path.of(values.get("--jar", "control-plane/target/shardgate.jar")),
          Path.of(values.get("--out", "load-tests/target/webhook-benchmark")),
          System.getProperty("shardgate.bench.command", "WebhookBenchmark " + String.join(" ", args)));
    }
  }
}
