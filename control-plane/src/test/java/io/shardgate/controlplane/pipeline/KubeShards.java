package io.shardgate.controlplane.pipeline;

import io.shardgate.controlplane.source.SourceException;
import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.discovery.EndpointState;
import io.shardgate.sharding.discovery.KubeEndpoint;
import io.shardgate.sharding.discovery.ServiceEndpoints;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Two shards fed as the Kubernetes source feeds the pipeline: shard A routes to the Service {@code default/s}, shard
 * B to {@code default/t} (both by kube destinations, resolved to their discovered Upstreams). The documents are
 * parsed once, so every {@link #input} hands over the very same objects, as the source does when only endpoints
 * changed; {@link #scale} replaces one Service's endpoints object and keeps the other's. Not thread-safe.
 */
public final class KubeShards {

  public static final String ROLE_A = "gloo-system~proxy-a";
  public static final String ROLE_B = "gloo-system~proxy-b";
  public static final String CLUSTER_S = "default-s-80_gloo-system";
  public static final String CLUSTER_T = "default-t-80_gloo-system";

  private static final String YAML = """
      apiVersion: gateway.solo.io/v1
      kind: Gateway
      metadata: {name: gw-a, namespace: gloo-system}
      spec: {bindPort: 8080, proxyNames: [proxy-a], httpGateway: {virtualServiceSelector: {shard: a}}}
      ---
      apiVersion: gateway.solo.io/v1
      kind: Gateway
      metadata: {name: gw-b, namespace: gloo-system}
      spec: {bindPort: 8080, proxyNames: [proxy-b], httpGateway: {virtualServiceSelector: {shard: b}}}
      ---
      apiVersion: gateway.solo.io/v1
      kind: VirtualService
      metadata: {name: a, namespace: default, labels: {shard: a}}
      spec:
        virtualHost:
          domains: [a.example.com]
          routes:
          - routeAction: {single: {kube: {ref: {name: s}, port: 80}}}
      ---
      apiVersion: gateway.solo.io/v1
      kind: VirtualService
      metadata: {name: b, namespace: default, labels: {shard: b}}
      spec:
        virtualHost:
          domains: [b.example.com]
          routes:
          - routeAction: {single: {kube: {ref: {name: t}, port: 80}}}
      ---
      apiVersion: gloo.solo.io/v1
      kind: Upstream
      metadata: {name: default-s-80, namespace: gloo-system, labels: {discovered_by: kubernetesplugin}}
      spec: {kube: {serviceName: s, serviceNamespace: default, servicePort: 80}}
      ---
      apiVersion: gloo.solo.io/v1
      kind: Upstream
      metadata: {name: default-t-80, namespace: gloo-system, labels: {discovered_by: kubernetesplugin}}
      spec: {kube: {serviceName: t, serviceNamespace: default, servicePort: 80}}
      """;

  private final List<SourceDocument> documents;
  private final SortedMap<String, ServiceEndpoints> services = new TreeMap<>();

  /** Each Service starts with one endpoint. */
  public KubeShards() {
    try {
      documents = List.copyOf(new YamlDocumentReader().read("kube-shards.yaml", YAML));
    } catch (SourceException e) {
      throw new AssertionError(e);
    }
    scale("s", 1);
    scale("t", 1);
  }

  /** The documents (always the same objects) with the current endpoints. */
  public ConfigInput input() {
    return new ConfigInput("kube shards", documents, List.of(), new EndpointState(services));
  }

  /** Gives the Service {@code default/<service>} port 80 {@code n} ready endpoints, as a new object. */
  public void scale(String service, int n) {
    services.put("default/" + service, endpoints(service, n));
  }

  /** Adds a Service no route reaches. */
  public void addUnreachedService(String service, int n) {
    services.put("default/" + service, endpoints(service, n));
  }

  private static ServiceEndpoints endpoints(String service, int n) {
    List<KubeEndpoint> list = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      list.add(new KubeEndpoint("10.0." + (i / 250) + "." + (i % 250 + 1), 8080, KubeEndpoint.Health.READY,
          new TreeMap<>(Map.of("app", service)), "zone-a"));
    }
    return new ServiceEndpoints("default", service, Map.of(80, list));
  }
}
