package io.shardgate.controlplane.golden;

import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.discovery.ConsulInstance;
import io.shardgate.sharding.discovery.ConsulServiceEndpoints;
import io.shardgate.sharding.discovery.EndpointState;
import io.shardgate.sharding.discovery.KubeEndpoint;
import io.shardgate.sharding.discovery.ServiceEndpoints;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Golden cases give Service endpoints (what the Kubernetes source builds from EndpointSlices and Pods) as test-only
 * documents, so one file shows a kube Upstream, its discovered Upstream and the load assignment Envoy gets:
 *
 * <pre>
 * apiVersion: test.shardgate.io/v1
 * kind: ServiceEndpoints
 * spec:
 *   namespace: default
 *   service: api
 *   ports:
 *     "80": [{address: 10.0.0.1, port: 8080, health: READY, zone: z1, labels: {app: api}}]
 * </pre>
 *
 * <p>and the passing instances of a Consul service (what the Consul watcher reads from the health API) likewise; any
 * such document means a Consul agent is known (without one, consul Upstreams get a warning and no endpoints):
 *
 * <pre>
 * apiVersion: test.shardgate.io/v1
 * kind: ConsulServiceEndpoints
 * spec:
 *   service: web
 *   dataCenters:
 *     dc1: [{node: n1, id: web-1, address: 10.1.0.1, port: 8080, tags: [v1]}]
 * </pre>
 */
final class GoldenEndpoints {

  static final String API_VERSION = "test.shardgate.io/v1";

  record Split(List<SourceDocument> documents, EndpointState endpoints) {}

  private GoldenEndpoints() {}

  /** The Gloo documents, and the endpoint state the test-only documents describe. */
  @SuppressWarnings("unchecked")
  static Split split(List<SourceDocument> docs) {
    List<SourceDocument> gloo = new ArrayList<>();
    SortedMap<String, ServiceEndpoints> services = new TreeMap<>();
    SortedMap<String, ConsulServiceEndpoints> consul = null;
    for (SourceDocument d : docs) {
      if (!API_VERSION.equals(d.content().get("apiVersion"))) {
        gloo.add(d);
        continue;
      }
      Map<String, Object> spec = (Map<String, Object>) d.content().get("spec");
      if ("ConsulServiceEndpoints".equals(d.content().get("kind"))) {
        consul = consul == null ? new TreeMap<>() : consul;
        ConsulServiceEndpoints c = consul(spec);
        consul.put(c.key(), c);
        continue;
      }
      Map<Integer, List<KubeEndpoint>> byPort = new TreeMap<>();
      ((Map<Object, Object>) spec.getOrDefault("ports", Map.of())).forEach((port, list) -> {
        List<KubeEndpoint> endpoints = new ArrayList<>();
        for (Map<String, Object> e : (List<Map<String, Object>>) list) {
          endpoints.add(new KubeEndpoint(
              String.valueOf(e.get("address")),
              ((Number) e.get("port")).intValue(),
              KubeEndpoint.Health.valueOf(String.valueOf(e.getOrDefault("health", "READY"))),
              new TreeMap<>((Map<String, String>) e.getOrDefault("labels", Map.of())),
              (String) e.get("zone")));
        }
        byPort.put(Integer.parseInt(String.valueOf(port)), endpoints);
      });
      ServiceEndpoints s = new ServiceEndpoints((String) spec.get("namespace"), (String) spec.get("service"), byPort);
      services.put(s.key(), s);
    }
    EndpointState state = new EndpointState(services);
    return new Split(gloo, consul == null ? state : state.withConsul(consul));
  }

  @SuppressWarnings("unchecked")
  private static ConsulServiceEndpoints consul(Map<String, Object> spec) {
    SortedMap<String, List<ConsulInstance>> byDc = new TreeMap<>();
    ((Map<String, Object>) spec.getOrDefault("dataCenters", Map.of())).forEach((dc, list) -> {
      List<ConsulInstance> instances = new ArrayList<>();
      for (Map<String, Object> i : (List<Map<String, Object>>) list) {
        instances.add(new ConsulInstance(dc, String.valueOf(i.getOrDefault("node", "node")),
            String.valueOf(i.get("id")), String.valueOf(i.get("address")), ((Number) i.get("port")).intValue(),
            (List<String>) i.getOrDefault("tags", List.of())));
      }
      byDc.put(dc, instances);
    });
    return new ConsulServiceEndpoints((String) spec.get("service"), byDc);
  }
}
