package io.shardgate.loadtests;

import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.PipelineObserver;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.pipeline.TranslationEngine;
import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.discovery.DiscoveredUpstreams;
import io.shardgate.sharding.discovery.EndpointState;
import io.shardgate.sharding.discovery.KubeEndpoint;
import io.shardgate.sharding.discovery.ServiceEndpoints;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The in-process cost of endpoint churn: Services with their discovered Upstreams, spread over 16 shards, each
 * Service reached by one route of one shard; then one endpoint of one Service changes per pass, as the Kubernetes
 * source delivers it (the same documents, one new endpoints object). Measures the CPU time of the pipeline thread
 * for the whole pass (load assignments and publishing into the snapshot cache) against a full pass of the same
 * input, and how many shards each endpoint change pushed. Prints one Markdown row.
 *
 * <p>Usage: {@code EndpointChurnBenchmark [services endpointsPerService]}; default 1000 10.
 */
public final class EndpointChurnBenchmark {

  private static final int SHARDS = 16;
  private static final int CHANGES = 500;

  private EndpointChurnBenchmark() {}

  public static void main(String[] args) throws Exception {
    int services = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    int perService = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    List<SourceDocument> docs = new YamlDocumentReader().read("generated.yaml", generate(services));
    SortedMap<String, ServiceEndpoints> endpoints = new TreeMap<>();
    for (int s = 0; s < services; s++) {
      endpoints.put("apps/svc-" + s, endpoints(s, perService, 0));
    }

    // Full passes: the same content as new document objects each time, so nothing is taken for endpoints-only.
    long[] full = new long[10];
    for (int i = 0; i < 20 + full.length; i++) {
      ShardSnapshotCache freshCache = new ShardSnapshotCache();
      ShardPipeline fresh = new ShardPipeline(freshCache);
      List<SourceDocument> copies = docs.stream()
          .map(d -> new SourceDocument(d.origin(), d.line(), d.content(), d.fieldLines())).toList();
      long start = threads.getCurrentThreadCpuTime();
      fresh.accept(new ConfigInput("full", copies, List.of(), new EndpointState(endpoints)));
      if (i >= 20) {
        full[i - 20] = threads.getCurrentThreadCpuTime() - start;
      }
      freshCache.close();
    }

    ShardSnapshotCache cache = new ShardSnapshotCache();
    TranslationEngine engine = new TranslationEngine();
    ShardPipeline pipeline = new ShardPipeline(cache, null, PipelineObserver.NONE, engine);
    pipeline.accept(new ConfigInput("start", docs, List.of(), new EndpointState(endpoints)));
    long pushesBefore = totalPushes(pipeline);
    long[] churn = new long[CHANGES];
    for (int i = 0; i < 200 + CHANGES; i++) {
      int s = (i * 7919) % services;
      endpoints.put("apps/svc-" + s, endpoints(s, perService, i + 1));
      ConfigInput input = new ConfigInput("churn", docs, List.of(), new EndpointState(endpoints));
      long start = threads.getCurrentThreadCpuTime();
      pipeline.accept(input);
      if (i >= 200) {
        churn[i - 200] = threads.getCurrentThreadCpuTime() - start;
      }
    }
    long pushes = totalPushes(pipeline) - pushesBefore;
    Arrays.sort(full);
    Arrays.sort(churn);
    System.out.println("| Services | endpoints each | shards | full pass CPU p50 (ms) | endpoint change CPU p50 (ms)"
        + " | p90 (ms) | p99 (ms) | max (ms) | shards pushed per change | full passes run during churn |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|");
    System.out.printf("| %d | %d | %d | %.1f | %.3f | %.3f | %.3f | %.3f | %.2f | %d |%n", services, perService, SHARDS,
        ms(full[full.length / 2]), ms(churn[churn.length / 2]), ms(churn[churn.length * 9 / 10]),
        ms(churn[churn.length * 99 / 100]), ms(churn[churn.length - 1]), pushes / (double) (200 + CHANGES),
        engine.fullPasses() - 1);
    cache.close();
  }

  private static long totalPushes(ShardPipeline pipeline) {
    long n = 0;
    for (int shard = 0; shard < SHARDS; shard++) {
      n += pipeline.pushes("gloo-system~shard-" + shard);
    }
    return n;
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

  /** Service {@code s}'s endpoints; {@code generation} moves its first endpoint, so each call is a change. */
  private static ServiceEndpoints endpoints(int s, int n, int generation) {
    List<KubeEndpoint> list = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int host = i == 0 ? 100 + generation % 100 : i;
      list.add(new KubeEndpoint("10." + (s / 250) + "." + (s % 250) + "." + host, 8080, KubeEndpoint.Health.READY,
          new TreeMap<>(Map.of("app", "svc-" + s)), "zone-" + (i % 3)));
    }
    return new ServiceEndpoints("apps", "svc-" + s, Map.of(80, list));
  }

  /** One Gateway and VirtualService per shard; Service s is routed from shard s mod 16, by a kube destination. */
  static String generate(int services) {
    StringBuilder y = new StringBuilder();
    for (int shard = 0; shard < SHARDS; shard++) {
      y.append("""
          apiVersion: gateway.solo.io/v1
          kind: Gateway
          metadata: {name: shard-%1$d, namespace: gloo-system}
          spec: {bindPort: 8080, proxyNames: [shard-%1$d], httpGateway: {virtualServiceSelector: {shard: s%1$d}}}
          ---
          apiVersion: gateway.solo.io/v1
          kind: VirtualService
          metadata: {name: vs-%1$d, namespace: apps, labels: {shard: s%1$d}}
          spec:
            virtualHost:
              domains: [shard-%1$d.example.com]
              routes:
          """.formatted(shard));
      for (int s = shard; s < services; s += SHARDS) {
        y.append("      - matchers: [{prefix: /svc-").append(s).append("}]\n")
            .append("        routeAction: {single: {kube: {ref: {name: svc-").append(s).append("}, port: 80}}}\n");
      }
      y.append("---\n");
    }
    for (int s = 0; s < services; s++) {
      y.append("""
          apiVersion: gloo.solo.io/v1
          kind: Upstream
          metadata: {name: %s, namespace: gloo-system, labels: {discovered_by: kubernetesplugin}}
          spec: {kube: {serviceName: svc-%d, serviceNamespace: apps, servicePort: 80}}
          ---
          """.formatted(DiscoveredUpstreams.name("apps", "svc-" + s, 80), s));
    }
    return y.toString();
  }
}
