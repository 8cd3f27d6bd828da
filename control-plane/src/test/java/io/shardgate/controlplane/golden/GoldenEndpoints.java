package io.shardgate.controlplane.golden;

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
    for (SourceDocument d : docs) {
      if (!API_VERSION.equals(d.content().get("apiVersion"))) {
        gloo.add(d);
        continue;
      }
      Map<String, Object> spec = (Map<String, Object>) d.content().get("spec");
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
    return new Split(gloo, new EndpointState(services));
  }
}
