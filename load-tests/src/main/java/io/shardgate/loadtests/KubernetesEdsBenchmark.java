package io.shardgate.loadtests;

import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.shardgate.controlplane.kube.KubeApiServer;
import io.shardgate.controlplane.kube.KubeObjects;
import io.shardgate.controlplane.source.DirectorySource;
import io.shardgate.loadtests.RecordingAdsClient.Response;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Kubernetes mode under endpoint churn, through the real parts: a real kube-apiserver with etcd (started by
 * {@link KubeApiServer}, the same code the tests use), the chart's CRDs, {@code java -jar shardgate.jar serve
 * --kubernetes --kubeconfig ...} as a child process, and raw ADS clients ({@link RecordingAdsClient}, Envoy-like:
 * CDS, then EDS for the EDS clusters, LDS, RDS, every response ACKed) on every shard.
 *
 * <p>Workload: {@code --services} Services with {@code --endpoints} ready endpoints each (one EndpointSlice per
 * Service), spread round-robin over {@code --shards} team namespaces, one per shard; each shard a Gateway
 * ({@code proxyNames: [shard-<s>]}) selecting its team's VirtualService by label, which routes one prefix per
 * Service: even Services through a route's {@code kube} destination, odd ones through a {@code kube} Upstream.
 *
 * <p>Measures: for every change of one Service's EndpointSlice (one endpoint's address replaced), the time from the
 * write to the API server to the EDS ACK at each client of the Service's shard (p50/p99/max over all changes and
 * clients), the EDS responses per client per change, and every response at clients of other shards (must be zero)
 * and of other types at the affected shard (must be zero); and the control plane's live heap after a full GC with
 * the Gateways only vs. with the whole workload, per watched object. Prints a Markdown report and writes it and the
 * raw samples under {@code --out}.
 *
 * <p>Stateful, single-threaded driver (the clients record on their event loops). Run by hand (see
 * {@code load-tests/run-kubernetes-eds-benchmark.sh --help}); not part of {@code verify}.
 */
public final class KubernetesEdsBenchmark implements BenchmarkLauncher.Run {

  private static final Duration POLL = Duration.ofMillis(2);
  private static final int BASE_PORT = 20000;
  private static final int SERVICE_PORT = 8080;

  private final Options options;
  private final Deque<AutoCloseable> cleanup = new ArrayDeque<>();

  private KubernetesEdsBenchmark(Options options) {
    this.options = options;
  }

  public static void main(String[] args) {
    BenchmarkLauncher.main(args, "kubernetes EDS benchmark", "load-tests/run-kubernetes-eds-benchmark.sh",
        "kubernetes-eds-benchmark-usage.txt", Options::parse, KubernetesEdsBenchmark::new);
  }

  static String usage() {
    return BenchmarkLauncher.usage("kubernetes-eds-benchmark-usage.txt");
  }

  // ---- the run

  @Override
  public void run() throws Exception {
    BenchmarkMachine machine = BenchmarkMachine.describe();
    Files.createDirectories(options.out);
    log("machine: " + machine.summary() + "; load " + BenchmarkMachine.loadAverage());
    long t = System.nanoTime();
    KubeApiServer api = KubeApiServer.start("the Kubernetes EDS benchmark");
    cleanup.push(api);
    KubernetesClient client = api.client();
    KubeApiServer.installCrds(client, KubeApiServer.chartCrds());
    List<String> namespaces = new ArrayList<>(List.of("gloo-system"));
    for (int s = 0; s < options.shards; s++) {
      namespaces.add(team(s));
    }
    KubeObjects.namespaces(client, namespaces.toArray(String[]::new));
    for (int s = 0; s < options.shards; s++) {
      KubeObjects.apply(client, gateway(s));
    }
    double apiStartMs = ms(System.nanoTime() - t);
    log(String.format(Locale.ROOT, "API server up, CRDs and %d Gateways applied in %.0f ms", options.shards,
        apiStartMs));

    Path stateDir = Files.createTempDirectory("shardgate-kube-bench-state");
    ServeProcess serve = ServeProcess.startKubernetes(options.jar, options.serveJvm, api.kubeconfig(), stateDir,
        options.out.resolve("serve.log"));
    cleanup.push(serve);
    await("serve's first pass", Duration.ofSeconds(options.timeoutS), () -> "passes " + serve.passesLogged(),
        () -> {
          serve.checkAlive("its first pass");
          return serve.passesLogged() >= 1;
        });

    List<RecordingAdsClient> clients = new ArrayList<>();
    List<List<RecordingAdsClient>> byShard = new ArrayList<>();
    for (int s = 0; s < options.shards; s++) {
      List<RecordingAdsClient> shard = new ArrayList<>();
      for (int i = 0; i < options.clients; i++) {
        RecordingAdsClient c = RecordingAdsClient.create(options.delta, "envoy-" + s + "-" + i, s, role(s),
            serve.xdsPort(), i == 0);
        cleanup.push(c);
        c.start();
        shard.add(c);
        clients.add(c);
      }
      byShard.add(shard);
    }
    // A state-of-the-world client gets its (empty) clusters at once; a delta one gets nothing while there are none.
    if (!options.delta) {
      await("every client's first clusters", Duration.ofSeconds(options.timeoutS), () -> missing(clients),
          () -> clients.stream().allMatch(c -> c.responses().stream()
              .anyMatch(r -> r.typeUrl().equals(RecordingAdsClient.CDS))));
    }
    sleep(Duration.ofSeconds(3));
    failOnStreamErrors(clients);
    long heapEmptyKiB = ServeBenchmark.liveHeapKiB(serve);
    log("live heap with the Gateways only: " + heapEmptyKiB / 1024 + " MiB");

    t = System.nanoTime();
    int objects = createWorkload(client);
    double createMs = ms(System.nanoTime() - t);
    log(String.format(Locale.ROOT, "%,d objects written in %.0f ms", objects, createMs));
    await("every shard's clients holding all their Services' endpoints", Duration.ofSeconds(options.timeoutS * 5L),
        () -> convergence(byShard), () -> {
          serve.checkAlive("convergence");
          return converged(byShard);
        });
    double convergedMs = ms(System.nanoTime() - t);
    log(String.format(Locale.ROOT, "all %d shards converged %.0f ms after the first write", options.shards,
        convergedMs));
    sleep(Duration.ofSeconds(3));
    long heapFullKiB = ServeBenchmark.liveHeapKiB(serve);
    log("live heap with the workload: " + heapFullKiB / 1024 + " MiB");

    Random random = new Random(42);
    int[] generation = new int[options.services];
    for (int i = 0; i < options.warmup; i++) {
      change(client, byShard, random, generation, i);
    }
    List<Change> measured = new ArrayList<>();
    for (int i = 0; i < options.changes; i++) {
      measured.add(change(client, byShard, random, generation, options.warmup + i));
    }
    failOnStreamErrors(clients);
    long otherShards = measured.stream().mapToLong(c -> c.otherShardResponses).sum();
    long nonEds = measured.stream().mapToLong(c -> c.nonEdsResponses).sum();
    long extraEds = measured.stream().mapToLong(c -> c.extraEdsResponses).sum();
    writeSamples(measured);
    String report = report(machine, api, objects, heapEmptyKiB, heapFullKiB, createMs, convergedMs, apiStartMs,
        measured, otherShards, nonEds, extraEds, serve);
    Files.writeString(options.out.resolve("report.md"), report, StandardCharsets.UTF_8);
    System.out.println(report);
    log("report: " + options.out.resolve("report.md").toAbsolutePath());
    if (!options.keep) {
      cleanup.push(() -> deleteTree(stateDir));
    }
  }

  /** Services, their EndpointSlices, the kube Upstreams of the odd ones, one VirtualService per shard. */
  private int createWorkload(KubernetesClient client) throws Exception {
    List<String> documents = new ArrayList<>();
    for (int j = 0; j < options.services; j++) {
      documents.add(service(j));
      documents.add(endpointSlice(j, 0));
      if (j % 2 == 1) {
        documents.add(upstream(j));
      }
    }
    for (int s = 0; s < options.shards; s++) {
      documents.add(virtualService(s));
    }
    // A few writers at once: the API server, not this loop, should be what the creation time measures.
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
    return documents.size();
  }

  /** One measured change: Service {@code j}'s EndpointSlice with one endpoint's address replaced, to every ACK. */
  private Change change(KubernetesClient client, List<List<RecordingAdsClient>> byShard, Random random,
      int[] generation, int index) {
    List<RecordingAdsClient> all = byShard.stream().flatMap(List::stream).toList();
    int j = random.nextInt(options.services);
    int shard = j % options.shards;
    generation[j]++;
    String slice = endpointSlice(j, generation[j]);
    String newAddress = address(j, generation[j], (generation[j] - 1) % options.endpoints);
    List<RecordingAdsClient> affected = byShard.get(shard);
    int[] edsBefore = new int[affected.size()];
    for (int i = 0; i < affected.size(); i++) {
      edsBefore[i] = edsResponses(affected.get(i)).size();
    }
    Map<RecordingAdsClient, Map<String, Integer>> before = typeCounts(all);
    long t0 = System.nanoTime();
    KubeObjects.apply(client, slice);
    long written = System.nanoTime();
    RecordingAdsClient probe = affected.get(0);
    await("the EDS ACKs of change " + index + " (Service " + j + ", shard " + shard + ")",
        Duration.ofSeconds(options.timeoutS), () -> "EDS responses " + edsCounts(affected) + ", before "
            + Arrays.toString(edsBefore), () -> {
          for (int i = 0; i < affected.size(); i++) {
            if (edsResponses(affected.get(i)).size() <= edsBefore[i]) {
              return false;
            }
          }
          return holds(probe, newAddress);
        });
    Change c = new Change(index, j, shard, ms(written - t0));
    for (int i = 0; i < affected.size(); i++) {
      List<Response> eds = edsResponses(affected.get(i));
      Response first = eds.get(edsBefore[i]);
      c.ackMs.add(ms(first.ackNanos() - t0));
    }
    // Whatever else this change caused arrives within the settle time, and is counted against it.
    sleep(options.settle);
    Map<RecordingAdsClient, Map<String, Integer>> after = typeCounts(all);
    for (RecordingAdsClient x : all) {
      Map<String, Integer> b = before.get(x);
      for (Map.Entry<String, Integer> e : after.get(x).entrySet()) {
        int d = e.getValue() - b.getOrDefault(e.getKey(), 0);
        if (x.shard() != shard) {
          c.otherShardResponses += d;
        } else if (!e.getKey().equals(RecordingAdsClient.EDS)) {
          c.nonEdsResponses += d;
        } else if (d > 1) {
          c.extraEdsResponses += d - 1;
        }
      }
    }
    return c;
  }

  private static boolean holds(RecordingAdsClient probe, String address) {
    for (String name : probe.edsNames()) {
      ClusterLoadAssignment cla = probe.endpoints(name);
      if (cla != null && addresses(cla).contains(address)) {
        return true;
      }
    }
    return false;
  }

  private static List<String> addresses(ClusterLoadAssignment cla) {
    List<String> out = new ArrayList<>();
    for (LocalityLbEndpoints l : cla.getEndpointsList()) {
      for (LbEndpoint e : l.getLbEndpointsList()) {
        out.add(e.getEndpoint().getAddress().getSocketAddress().getAddress());
      }
    }
    return out;
  }

  /** Whether every shard's probe holds one load assignment per Service of its shard, each with all endpoints. */
  private boolean converged(List<List<RecordingAdsClient>> byShard) {
    for (int s = 0; s < options.shards; s++) {
      RecordingAdsClient probe = byShard.get(s).get(0);
      if (probe.edsNames().size() != servicesOf(s)) {
        return false;
      }
      for (String name : probe.edsNames()) {
        ClusterLoadAssignment cla = probe.endpoints(name);
        if (cla == null || addresses(cla).size() != options.endpoints) {
          return false;
        }
      }
      for (RecordingAdsClient c : byShard.get(s)) {
        if (!c.hasInitialConfig()) {
          return false;
        }
      }
    }
    return true;
  }

  private String convergence(List<List<RecordingAdsClient>> byShard) {
    StringBuilder sb = new StringBuilder();
    for (int s = 0; s < options.shards; s++) {
      RecordingAdsClient probe = byShard.get(s).get(0);
      long full = probe.edsNames().stream().map(probe::endpoints)
          .filter(cla -> cla != null && addresses(cla).size() == options.endpoints).count();
      sb.append(String.format(Locale.ROOT, "shard %d: %d EDS names, %d full of %d; ", s, probe.edsNames().size(),
          full, servicesOf(s)));
    }
    return sb.toString();
  }

  private int servicesOf(int shard) {
    return (options.services - shard + options.shards - 1) / options.shards;
  }

  private static List<Response> edsResponses(RecordingAdsClient c) {
    return c.responses().stream().filter(r -> r.typeUrl().equals(RecordingAdsClient.EDS)).toList();
  }

  private static String edsCounts(List<RecordingAdsClient> clients) {
    return clients.stream().map(c -> Integer.toString(edsResponses(c).size())).toList().toString();
  }

  private static Map<RecordingAdsClient, Map<String, Integer>> typeCounts(List<RecordingAdsClient> clients) {
    Map<RecordingAdsClient, Map<String, Integer>> out = new LinkedHashMap<>();
    for (RecordingAdsClient c : clients) {
      Map<String, Integer> counts = new LinkedHashMap<>();
      for (Response r : c.responses()) {
        counts.merge(r.typeUrl(), 1, Integer::sum);
      }
      out.put(c, counts);
    }
    return out;
  }

  private static void failOnStreamErrors(List<RecordingAdsClient> clients) {
    for (RecordingAdsClient c : clients) {
      if (c.error() != null) {
        throw new IllegalStateException("the stream of " + c.id() + " failed: " + c.error(), c.error());
      }
    }
  }

  private static String missing(List<RecordingAdsClient> clients) {
    List<String> ids = clients.stream().filter(c -> c.responses().isEmpty()).map(RecordingAdsClient::id).toList();
    return ids.size() + " clients without any response, e.g. " + ids.stream().limit(5).toList();
  }

  // ---- the report

  /** One change as measured. */
  private static final class Change {
    final int index;
    final int service;
    final int shard;
    final double writeMs;
    final List<Double> ackMs = new ArrayList<>();
    long otherShardResponses;
    long nonEdsResponses;
    long extraEdsResponses;

    Change(int index, int service, int shard, double writeMs) {
      this.index = index;
      this.service = service;
      this.shard = shard;
      this.writeMs = writeMs;
    }
  }

  private void writeSamples(List<Change> measured) throws IOException {
    CsvFile csv = new CsvFile(options.out.resolve("changes.csv"),
        "change,service,shard,client,write_ms,ack_ms,other_shard_responses,non_eds_responses,extra_eds_responses");
    try {
      for (Change c : measured) {
        for (int i = 0; i < c.ackMs.size(); i++) {
          csv.row(c.index, c.service, c.shard, i, fmt(c.writeMs), fmt(c.ackMs.get(i)), c.otherShardResponses,
              c.nonEdsResponses, c.extraEdsResponses);
        }
      }
    } finally {
      csv.close();
    }
  }

  private String report(BenchmarkMachine machine, KubeApiServer api, int objects, long heapEmptyKiB,
      long heapFullKiB, double createMs, double convergedMs, double apiStartMs, List<Change> measured,
      long otherShards, long nonEds, long extraEds, ServeProcess serve) {
    List<Double> acks = new ArrayList<>();
    List<Double> afterWrite = new ArrayList<>();
    List<Double> writes = new ArrayList<>();
    for (Change c : measured) {
      acks.addAll(c.ackMs);
      c.ackMs.forEach(ack -> afterWrite.add(ack - c.writeMs));
      writes.add(c.writeMs);
    }
    double[] a = Percentiles.sorted(acks);
    double[] aw = Percentiles.sorted(afterWrite);
    double[] w = Percentiles.sorted(writes);
    long debounceMs = DirectorySource.DEFAULT_DEBOUNCE.toMillis();
    double perObjectKiB = (double) (heapFullKiB - heapEmptyKiB) / objects;
    StringBuilder sb = new StringBuilder();
    sb.append("## Kubernetes mode: EndpointSlice churn to EDS (").append(LocalDate.now()).append(")\n\n");
    sb.append("`").append(options.command).append("`\n\n");
    sb.append("Machine: ").append(machine.summary()).append("; load average at the end ")
        .append(BenchmarkMachine.loadAverage()).append(". Micronaut ").append(machine.micronaut())
        .append(", grpc-java ").append(machine.grpc()).append(", java-control-plane api ")
        .append(machine.javaControlPlane()).append("; kube-apiserver and etcd from tools/kube-test-servers.sh; ")
        .append(api.residentMemory()).append("; serve JVM ").append(String.join(" ", options.serveJvm))
        .append(".\n\n");
    sb.append(String.format(Locale.ROOT, "Workload: %,d Services x %d endpoints (one EndpointSlice each) over %d"
        + " shards, %s clients per shard (%s), %,d objects written (Services, EndpointSlices, %,d kube Upstreams,"
        + " %d VirtualServices); %d warm-up and %d measured changes, one endpoint address each, %d ms apart.%n%n",
        options.services, options.endpoints, options.shards, options.clients, options.delta ? "delta" : "SotW",
        objects, options.services / 2, options.shards, options.warmup, options.changes, options.settle.toMillis()));
    sb.append("| measurement | target | result |\n|---|---|---|\n");
    sb.append(String.format(Locale.ROOT, "| EndpointSlice write to EDS ACK, every client of the shard, p50 / p99 /"
        + " max (%d samples) | p99 <= debounce + 50 = %d ms | %.0f / **%.0f** / %.0f ms |%n", a.length,
        debounceMs + 50, Percentiles.percentile(a, 50), Percentiles.percentile(a, 99), a[a.length - 1]));
    sb.append(String.format(Locale.ROOT, "| the API server write alone (apply returns), p50 / p99 | | %.1f / %.1f ms"
        + " |%n", Percentiles.percentile(w, 50), Percentiles.percentile(w, 99)));
    sb.append(String.format(Locale.ROOT, "| from the write's return to EDS ACK (watch, debounce, pass, push), p50 /"
        + " p99 / max | | %.0f / %.0f / %.0f ms |%n", Percentiles.percentile(aw, 50), Percentiles.percentile(aw, 99),
        aw[aw.length - 1]));
    sb.append(String.format(Locale.ROOT, "| responses to the %d clients of the other %d shards, from each change's"
        + " write to the end of its settle time, all changes | 0 | **%d** |%n", options.clients * (options.shards - 1),
        options.shards - 1, otherShards));
    sb.append(String.format(Locale.ROOT, "| CDS/LDS/RDS responses to the affected shard's clients | 0 | **%d** |%n",
        nonEds));
    sb.append(String.format(Locale.ROOT, "| EDS responses beyond one per change and client of the affected shard"
        + " | 0 | %d |%n", extraEds));
    sb.append(String.format(Locale.ROOT, "| live heap after a full GC: Gateways only / whole workload | | %.1f /"
        + " %.1f MiB |%n", heapEmptyKiB / 1024.0, heapFullKiB / 1024.0));
    sb.append(String.format(Locale.ROOT, "| heap per watched object ((full - empty) / %,d objects) | | **%.1f KiB**"
        + " (%.1f KiB per Service with its slice and its share of Upstreams and VirtualServices) |%n", objects,
        perObjectKiB, (double) (heapFullKiB - heapEmptyKiB) / options.services));
    sb.append(String.format(Locale.ROOT, "| writing the workload / until every shard's clients held it | | %.1f /"
        + " %.1f s |%n", createMs / 1000, convergedMs / 1000));
    sb.append(String.format(Locale.ROOT, "| API server start, CRDs, Gateways | | %.1f s |%n", apiStartMs / 1000));
    sb.append("\nRaw samples: ").append(options.out.resolve("changes.csv")).append("; serve log: ")
        .append(serve.log()).append('\n');
    return sb.toString();
  }

  // ---- the objects

  private static String team(int shard) {
    return String.format(Locale.ROOT, "team-%02d", shard);
  }

  private static String role(int shard) {
    return "gloo-system~shard-" + shard;
  }

  private String gateway(int s) {
    return KubeObjects.gateway("gateway-proxy-" + s, "shard-" + s, "s-" + s, BASE_PORT + s);
  }

  private String service(int j) {
    return """
        apiVersion: v1
        kind: Service
        metadata:
          name: svc-%d
          namespace: %s
          labels:
            app: svc-%d
        spec:
          ports:
          - name: http
            port: %d
            targetPort: %d
        """.formatted(j, team(j % options.shards), j, SERVICE_PORT, SERVICE_PORT);
  }

  private String upstream(int j) {
    return """
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata:
          name: svc-%d-kube
          namespace: %s
        spec:
          kube:
            serviceName: svc-%d
            serviceNamespace: %s
            servicePort: %d
        """.formatted(j, team(j % options.shards), j, team(j % options.shards), SERVICE_PORT);
  }

  private String virtualService(int s) {
    StringBuilder routes = new StringBuilder();
    for (int j = s; j < options.services; j += options.shards) {
      String destination = j % 2 == 0
          ? """
                  kube:
                    ref:
                      name: svc-%d
                      namespace: %s
                    port: %d
            """.formatted(j, team(s), SERVICE_PORT)
          : """
                  upstream:
                    name: svc-%d-kube
                    namespace: %s
            """.formatted(j, team(s));
      routes.append("""
          - matchers:
            - prefix: /svc-%d
            routeAction:
              single:
          """.formatted(j)).append(destination);
    }
    return """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata:
          name: routes
          namespace: %s
          labels:
            shard: s-%d
        spec:
          virtualHost:
            domains: [s%d.example.com]
            routes:
        %s""".formatted(team(s), s, s, routes.toString().indent(4));
  }

  /** Service {@code j}'s slice at {@code generation}: endpoint k's address moves on each generation, in turn. */
  private String endpointSlice(int j, int generation) {
    List<String> addresses = new ArrayList<>(options.endpoints);
    for (int k = 0; k < options.endpoints; k++) {
      // Endpoint k last changed at the latest generation g <= generation with (g - 1) % endpoints == k.
      int g = generation - Math.floorMod(generation - 1 - k, options.endpoints);
      addresses.add(address(j, g > 0 ? g : 0, k));
    }
    return KubeObjects.readyEndpointSlice(team(j % options.shards), "svc-" + j + "-1", "svc-" + j, SERVICE_PORT,
        addresses);
  }

  /**
   * A private address unique per Service, generation (modulo 64) and endpoint, so that the endpoints of one slice
   * never share one; never dialled.
   */
  private static String address(int service, int generation, int endpoint) {
    long n = ((long) service * 64 + generation % 64) * 64 + endpoint;
    return "10." + ((n >> 16) & 0xff) + "." + ((n >> 8) & 0xff) + "." + (n & 0xff);
  }

  // ---- helpers

  private static void await(String what, Duration bound, Supplier<String> lastSeen, BooleanSupplier condition) {
    long deadline = System.nanoTime() + bound.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("waited " + bound + " for " + what + "; last seen: " + lastSeen.get());
      }
      sleep(POLL);
    }
  }

  private static void sleep(Duration d) {
    ServeBenchmark.sleep(d);
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, "%.3f", v);
  }

  private static void log(String line) {
    System.err.println("[kubernetes-eds-benchmark] " + line);
  }

  @Override
  public synchronized void cleanUp() {
    while (!cleanup.isEmpty()) {
      AutoCloseable c = cleanup.pop();
      try {
        c.close();
      } catch (Exception e) {
        System.err.println("clean-up: " + e);
      }
    }
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** Command-line options (see kubernetes-eds-benchmark-usage.txt). */
  record Options(int services, int endpoints, int shards, int clients, boolean delta, int warmup, int changes,
      Duration settle, int timeoutS, List<String> serveJvm, Path jar, Path out, boolean keep, String command) {

    /** The options, or null for --help. */
    static Options parse(String[] args) {
      BenchmarkArgs values = BenchmarkArgs.parse(args, List.of("--delta", "--keep", "--help"),
          List.of("--services", "--endpoints", "--shards", "--clients", "--warmup", "--changes", "--settle-ms",
              "--timeout-s", "--serve-jvm", "--jar", "--out"));
      if (values.has("--help")) {
        return null;
      }
      int shards = values.positive("--shards", 16);
      int services = values.positive("--services", 1000);
      if (services < shards) {
        throw new IllegalArgumentException("--services (" + services + ") must be at least --shards (" + shards
            + "): every shard routes to at least one Service");
      }
      if (services > 4000) {
        throw new IllegalArgumentException("--services must be at most 4000 (the endpoint addresses are 10.x.y.z)");
      }
      int endpoints = values.positive("--endpoints", 10);
      if (endpoints > 60) {
        throw new IllegalArgumentException("--endpoints must be at most 60 (one EndpointSlice per Service)");
      }
      return new Options(services, endpoints, shards, values.positive("--clients", 2), values.has("--delta"),
          values.atLeastZero("--warmup", 20), values.positive("--changes", 200),
          Duration.ofMillis(values.atLeastZero("--settle-ms", 300)), values.positive("--timeout-s", 120),
          List.of(values.get("--serve-jvm", "-Xms512m -Xmx2g").trim().split("\\s+")),
          Path.of(values.get("--jar", "control-plane/target/shardgate.jar")),
          Path.of(values.get("--out", "load-tests/target/kubernetes-eds-benchmark")),
          values.has("--keep"),
          System.getProperty("shardgate.bench.command", "KubernetesEdsBenchmark " + String.join(" ", args)));
    }
  }
}
