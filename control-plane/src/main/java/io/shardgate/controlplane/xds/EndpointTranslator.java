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
import io.shardgate.sharding.discovery.ConsulInstance;
import io.shardgate.sharding.discovery.ConsulServiceEndpoints;
import io.shardgate.sharding.discovery.DiscoveredEndpoints;
import io.shardgate.sharding.discovery.EndpointState;
import io.shardgate.sharding.discovery.KubeEndpoint;
import io.shardgate.sharding.discovery.ServiceEndpoints;
import io.shardgate.sharding.ir.UpstreamCluster;
import io.shardgate.sharding.model.IpLiterals;
import io.shardgate.sharding.model.Upstream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * EDS translation: the endpoints of the Kubernetes Service port or the Consul service an EDS cluster targets, as the
 * cluster's {@link ClusterLoadAssignment} (named like the cluster, which is also its EDS service name).
 *
 * <p>Stage: xDS translation, endpoints only. Pure function of its arguments (no clock, no fields); the only place
 * that builds load assignments for Kubernetes and Consul endpoints. Thread-safe.
 *
 * <p>Consul, as Gloo's consul plugin: the passing instances in the Upstream's {@code dataCenters} (every data center
 * watched when it names none) that carry all of its {@code instanceTags} and none of its
 * {@code instanceBlacklistTags}, at the service address (else the node's) and the service port, HEALTHY (only
 * passing instances are listed), in one locality in data center then address order; an address that is not an IP
 * literal is left out (EDS takes no names) and a second instance at the same address and port adds nothing. Each
 * endpoint's {@code envoy.lb} metadata has {@code tag_<tag>} for each of the Upstream's subset tags and
 * {@code dc_<dc>} for each of its data centers, {@code "1"} when the instance has that tag or is in that data center
 * and {@code "0"} otherwise, the keys Gloo writes, so Gloo's consul destinations' subset matches work.
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

  /** Gloo's metadata keys and values for Consul instances: {@code tag_<tag>} and {@code dc_<dc>}, "1" or "0". */
  public static final String CONSUL_TAG_PREFIX = "tag_";
  public static final String CONSUL_DC_PREFIX = "dc_";
  public static final String CONSUL_MATCH = "1";
  public static final String CONSUL_NO_MATCH = "0";

  private EndpointTranslator() {}

  /** The load assignments of every EDS cluster of {@code clusters}, in their order. */
  public static List<ClusterLoadAssignment> translate(List<UpstreamCluster> clusters, EndpointState endpoints) {
    List<ClusterLoadAssignment> out = new ArrayList<>();
    for (UpstreamCluster c : clusters) {
      if (c.eds()) {
        out.add(loadAssignment(c, endpoints.get(c.service().serviceKey())));
      }
    }
    return out;
  }

  /**
   * The load assignment of one EDS cluster.
   *
   * @param service the endpoints of the service the cluster targets ({@code cluster.service().serviceKey()}), or
   *     null when the service is not known
   */
  public static ClusterLoadAssignment loadAssignment(UpstreamCluster cluster, DiscoveredEndpoints service) {
    if (!cluster.eds()) {
      throw new IllegalArgumentException("cluster of " + cluster.upstream() + " does not use EDS");
    }
    if (cluster.service() instanceof Upstream.ConsulSpec consul) {
      return consulAssignment(cluster, consul, service instanceof ConsulServiceEndpoints c ? c : null);
    }
    return kubeAssignment(cluster, (Upstream.KubeSpec) cluster.service(),
        service instanceof ServiceEndpoints s ? s : null);
  }

  private static ClusterLoadAssignment kubeAssignment(UpstreamCluster cluster, Upstream.KubeSpec spec,
      ServiceEndpoints service) {
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

  private static ClusterLoadAssignment consulAssignment(UpstreamCluster cluster, Upstream.ConsulSpec spec,
      ConsulServiceEndpoints service) {
    ClusterLoadAssignment.Builder cla =
        ClusterLoadAssignment.newBuilder().setClusterName(XdsNames.cluster(cluster.upstream()));
    if (service == null) {
      return cla.build();
    }
    LocalityLbEndpoints.Builder locality = LocalityLbEndpoints.newBuilder();
    Set<String> seen = new HashSet<>();
    for (ConsulInstance i : service.in(spec.dataCenters())) {
      boolean selected = i.tags().containsAll(spec.instanceTags())
          && spec.instanceBlacklistTags().stream().noneMatch(i.tags()::contains);
      if (!selected || !IpLiterals.isIp(i.address()) || !seen.add(i.address() + " " + i.port())) {
        continue;
      }
      // Sorted keys, so equal instances serialize to equal bytes.
      SortedMap<String, String> labels = new TreeMap<>();
      for (String tag : spec.subsetTags()) {
        labels.put(CONSUL_TAG_PREFIX + tag, i.tags().contains(tag) ? CONSUL_MATCH : CONSUL_NO_MATCH);
      }
      for (String dc : spec.dataCenters()) {
        labels.put(CONSUL_DC_PREFIX + dc, dc.equals(i.dataCenter()) ? CONSUL_MATCH : CONSUL_NO_MATCH);
      }
      locality.addLbEndpoints(lbEndpoint(i.address(), i.port(), HealthStatus.HEALTHY, labels));
    }
    if (locality.getLbEndpointsCount() > 0) {
      cla.addEndpoints(locality);
    }
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
    return lbEndpoint(e.address(), e.port(),
        e.health() == KubeEndpoint.Health.READY ? HealthStatus.HEALTHY : HealthStatus.DRAINING, e.labels());
  }

  private static LbEndpoint lbEndpoint(String address, int port, HealthStatus health,
      SortedMap<String, String> metadata) {
    LbEndpoint.Builder b = LbEndpoint.newBuilder()
        .setEndpoint(Endpoint.newBuilder().setAddress(Address.newBuilder()
            .setSocketAddress(SocketAddress.newBuilder().setAddress(address).setPortValue(port))))
        .setHealthStatus(health);
    if (!metadata.isEmpty()) {
      Struct.Builder labels = Struct.newBuilder();
      // Sorted (a sorted map), so equal endpoints serialize to equal bytes.
      metadata.forEach((k, v) -> labels.putFields(k, Value.newBuilder().setStringValue(v).build()));
      b.setMetadata(Metadata.newBuilder().putFilterMetadata(LB_METADATA, labels.build()));
    }
    return b.build();
  }
}
