package io.shardgate.sharding.discovery;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The endpoints of every port of one Kubernetes Service, merged from all of its EndpointSlices. Immutable value.
 * Sources keep the very same object while nothing of the Service, its slices or their Pods changed, so a consumer
 * can tell by identity which Services changed.
 *
 * @param namespace the Service's namespace
 * @param service the Service's name
 * @param byServicePort sorted by port; per Service port ({@code spec.ports[].port}, what Gloo's {@code servicePort} names), the
 *     endpoints that take traffic for it, sorted; a port whose slices list no usable address maps to an empty list
 */
public record ServiceEndpoints(String namespace, String service, Map<Integer, List<KubeEndpoint>> byServicePort)
    implements DiscoveredEndpoints {

  public ServiceEndpoints {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(service, "service");
    SortedMap<Integer, List<KubeEndpoint>> copy = new TreeMap<>();
    for (Map.Entry<Integer, List<KubeEndpoint>> e : byServicePort.entrySet()) {
      List<KubeEndpoint> sorted = new ArrayList<>(e.getValue());
      Collections.sort(sorted);
      copy.put(e.getKey(), List.copyOf(sorted));
    }
    byServicePort = Collections.unmodifiableSortedMap(copy);
  }

  /** {@code namespace/service}, the key of {@link EndpointState}. */
  @Override
  public String key() {
    return key(namespace, service);
  }

  /** The key of a Service in {@link EndpointState}. */
  public static String key(String namespace, String service) {
    return namespace + "/" + service;
  }

  /** The endpoints of one Service port; empty when the Service has no such port or no usable address for it. */
  public List<KubeEndpoint> of(int servicePort) {
    List<KubeEndpoint> out = byServicePort.get(servicePort);
    return out == null ? List.of() : out;
  }
}
