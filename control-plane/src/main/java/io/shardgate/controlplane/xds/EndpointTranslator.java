package io.shardgate.controlplane.xds;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.shardgate.sharding.discovery.EndpointState;
import io.shardgate.sharding.discovery.KubeEndpoint;
import io.shardgate.sharding.discovery.ServiceEndpoints;
import io.shardgate.sharding.ir.UpstreamCluster;
import io.shardgate.sharding.model.Upstream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * EDS translation: the endpoints of the Kubernetes Service port an EDS cluster targets, as the cluster's
 * {@link ClusterLoadAssignment} (named like the cluster, which is also its EDS service name).
 *
 * <p>Stage: xDS translation, endpoints only. Pure function of its arguments (no clock, no fields); the only place
 * that builds load assignments for Kubernetes endpoints. Thread-safe.
 *
 * <p>What Envoy is told: one locality per zone (sorted, the zone-less one first) with the endpoints in address order;
 * a ready endpoint is HEALTHY, a terminating one that still serves is DRAINING (it finishes what it has, gets nothing
 * new); the Pod's labels are the endpoint's {@code envoy.lb} filter metadata, as Gloo sets them, for subset routing.
 * A Service that does not exist, has no such port or no usable endpoint gives an empty assignment: Envoy answers 503.
 * An Upstream's {@code selector} keeps only the endpoints whose Pod carries all of its labels.
 */
public final class EndpointTranslator {

  /** The filter metadata namespace Envoy's subset load balancer reads, where Gloo puts the Pod labels. */
  public static final String LB_METADATA = "envoy.lb";

  private EndpointTranslator() {}

  /** The load assignments of every EDS cluster of {@code clusters}, in their order. */
  public static List<ClusterLoadAssignment> translate(List<UpstreamCluster> clusters, EndpointState endpoints) {
    List<ClusterLoadAssignment> out = new ArrayList<>();
    for (UpstreamCluster c : clusters) {
      if (c.eds()) {
        out.add(loadAssignment(c, endpoints.of(c.service().serviceNamespace(), c.service().serviceName())));
      }
    }
    return out;
  }

  /**
   * The load assignment of one EDS cluster.
   *
   * @param service the endpoints of the Service the cluster targets, or null when the Service is not known
   */
  public static ClusterLoadAssignment loadAssignment(UpstreamCluster cluster, ServiceEndpoints service) {
    if (!cluster.eds()) {
      throw new IllegalArgumentException("cluster of " + cluster.upstream() + " does not use EDS");
    }
    Upstream.KubeSpec spec = cluster.service();
    List<KubeEndpoint> endpoints = service == null ? List.of() : service.of(spec.servicePort());
    Map<String, LocalityLbEndpoints.Builder> byZone = new TreeMap<>();
    for (KubeEndpoint e : endpoints) {
      if (!selects(spec, e)) {
        continue;
      }
      byZone.computeIfAbsent(e.zone(), EndpointTranslator::locality).addLbEndpoints(lbEndpoint(e));
    }
    ClusterLoadAssignment.Builder cla =
        ClusterLoadAssignment.newBuilder().setClusterName(XdsNames.cluster(cluster.upstream()));
    byZone.values().forEach(cla::addEndpoints);
    return cla.build();
  }

  /** How many endpoints a load assignment gives Envoy, over all its localities. */
  public static int endpointCount(ClusterLoadAssignment cla) {
    int n = 0;
    for (LocalityLbEndpoints l : cla.getEndpointsList()) {
      n += l.getLbEndpointsCount();
    }
    return n;
  }

  private static boolean selects(Upstream.KubeSpec spec, KubeEndpoint e) {
    for (Map.Entry<String, String> s : spec.selector().entrySet()) {
      if (!s.getValue().equals(e.labels().get(s.getKey()))) {
        return false;
      }
    }
    return true;
  }

  private static LocalityLbEndpoints.Builder locality(String zone) {
    LocalityLbEndpoints.Builder b = LocalityLbEndpoints.newBuilder();
    if (!zone.isEmpty()) {
      b.setLocality(Locality.newBuilder().setZone(zone));
    }
    return b;
  }

  private static LbEndpoint lbEndpoint(KubeEndpoint e) {
    LbEndpoint.Builder b = LbEndpoint.newBuilder()
        .setEndpoint(Endpoint.newBuilder().setAddress(Address.newBuilder()
            .setSocketAddress(SocketAddress.newBuilder().setAddress(e.address()).setPortValue(e.port()))))
        .setHealthStatus(e.health() == KubeEndpoint.Health.READY ? HealthStatus.HEALTHY : HealthStatus.DRAINING);
    if (!e.labels().isEmpty()) {
      Struct.Builder labels = Struct.newBuilder();
      // Sorted (the labels are a sorted map), so equal endpoints serialize to equal bytes.
      e.labels().forEach((k, v) -> labels.putFields(k, Value.newBuilder().setStringValue(v).build()));
      b.setMetadata(Metadata.newBuilder().putFilterMetadata(LB_METADATA, labels.build()));
    }
    return b.build();
  }
}
