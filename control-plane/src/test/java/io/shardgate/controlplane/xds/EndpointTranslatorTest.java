package io.shardgate.controlplane.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.shardgate.sharding.discovery.EndpointState;
import io.shardgate.sharding.discovery.KubeEndpoint;
import io.shardgate.sharding.discovery.ServiceEndpoints;
import io.shardgate.sharding.ir.UpstreamCluster;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.Upstream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** What Envoy is told about a Service's endpoints: health, Pod labels, zones, order, and nothing for no endpoints. */
class EndpointTranslatorTest {

  private static final ResourceRef UPSTREAM = new ResourceRef("gloo-system", "default-api-80");

  private static UpstreamCluster cluster(Map<String, String> selector) {
    return new UpstreamCluster(UPSTREAM, List.of(), false, null, null,
        new Upstream.KubeSpec("default", "api", 80, new TreeMap<>(selector)));
  }

  private static KubeEndpoint endpoint(String address, KubeEndpoint.Health health, String zone, String... labels) {
    TreeMap<String, String> l = new TreeMap<>();
    for (int i = 0; i < labels.length; i += 2) {
      l.put(labels[i], labels[i + 1]);
    }
    return new KubeEndpoint(address, 8080, health, l, zone);
  }

  private static List<String> addresses(LocalityLbEndpoints locality) {
    List<String> out = new ArrayList<>();
    for (LbEndpoint e : locality.getLbEndpointsList()) {
      out.add(e.getEndpoint().getAddress().getSocketAddress().getAddress() + ":"
          + e.getEndpoint().getAddress().getSocketAddress().getPortValue());
    }
    return out;
  }

  @Test
  void readyIsHealthyDrainingIsDrainingAndPodLabelsAreLbMetadata() {
    ServiceEndpoints service = new ServiceEndpoints("default", "api", Map.of(80, List.of(
        endpoint("10.0.0.2", KubeEndpoint.Health.DRAINING, "", "app", "api", "version", "v1"),
        endpoint("10.0.0.1", KubeEndpoint.Health.READY, ""))));
    ClusterLoadAssignment cla = EndpointTranslator.loadAssignment(cluster(Map.of()), service);

    assertEquals("default-api-80_gloo-system", cla.getClusterName(), "named like the cluster (its EDS service name)");
    assertEquals(1, cla.getEndpointsCount());
    LocalityLbEndpoints locality = cla.getEndpoints(0);
    assertFalse(locality.hasLocality(), "no zone, no locality");
    assertEquals(List.of("10.0.0.1:8080", "10.0.0.2:8080"), addresses(locality));
    LbEndpoint ready = locality.getLbEndpoints(0);
    LbEndpoint draining = locality.getLbEndpoints(1);
    assertEquals(HealthStatus.HEALTHY, ready.getHealthStatus());
    assertEquals(HealthStatus.DRAINING, draining.getHealthStatus());
    assertFalse(ready.hasMetadata(), "no Pod labels, no metadata");
    var lb = draining.getMetadata().getFilterMetadataOrThrow(EndpointTranslator.LB_METADATA);
    assertEquals("api", lb.getFieldsOrThrow("app").getStringValue());
    assertEquals("v1", lb.getFieldsOrThrow("version").getStringValue());
    assertEquals(List.of("app", "version"), List.copyOf(lb.getFieldsMap().keySet()), "labels in key order");
    assertEquals(2, EndpointTranslator.endpointCount(cla));
  }

  @Test
  void oneLocalityPerZoneSortedWithEndpointsInAddressOrderWhateverTheInputOrder() {
    List<KubeEndpoint> endpoints = new ArrayList<>(List.of(
        endpoint("10.0.0.9", KubeEndpoint.Health.READY, "zone-b"),
        endpoint("10.0.0.3", KubeEndpoint.Health.READY, "zone-a"),
        endpoint("10.0.0.7", KubeEndpoint.Health.READY, ""),
        endpoint("10.0.0.1", KubeEndpoint.Health.READY, "zone-b")));
    ClusterLoadAssignment forward = EndpointTranslator.loadAssignment(cluster(Map.of()),
        new ServiceEndpoints("default", "api", Map.of(80, endpoints)));
    Collections.reverse(endpoints);
    ClusterLoadAssignment reversed = EndpointTranslator.loadAssignment(cluster(Map.of()),
        new ServiceEndpoints("default", "api", Map.of(80, endpoints)));

    assertEquals(forward, reversed);
    assertEquals(forward.toByteString(), reversed.toByteString(), "byte-identical");
    assertEquals(3, forward.getEndpointsCount());
    assertFalse(forward.getEndpoints(0).hasLocality(), "the zone-less endpoints first");
    assertEquals(List.of("10.0.0.7:8080"), addresses(forward.getEndpoints(0)));
    assertEquals("zone-a", forward.getEndpoints(1).getLocality().getZone());
    assertEquals(List.of("10.0.0.3:8080"), addresses(forward.getEndpoints(1)));
    assertEquals("zone-b", forward.getEndpoints(2).getLocality().getZone());
    assertEquals(List.of("10.0.0.1:8080", "10.0.0.9:8080"), addresses(forward.getEndpoints(2)));
  }

  @Test
  void noServiceNoPortOrNoEndpointsGiveAnEmptyAssignment() {
    ClusterLoadAssignment unknown = EndpointTranslator.loadAssignment(cluster(Map.of()), null);
    assertEquals("default-api-80_gloo-system", unknown.getClusterName());
    assertEquals(0, unknown.getEndpointsCount());
    ServiceEndpoints otherPort = new ServiceEndpoints("default", "api", Map.of(81, List.of(
        endpoint("10.0.0.1", KubeEndpoint.Health.READY, ""))));
    assertEquals(unknown, EndpointTranslator.loadAssignment(cluster(Map.of()), otherPort));
    ServiceEndpoints none = new ServiceEndpoints("default", "api", Map.of(80, List.of()));
    assertEquals(unknown, EndpointTranslator.loadAssignment(cluster(Map.of()), none));
    assertEquals(0, EndpointTranslator.endpointCount(unknown));
  }

  @Test
  void aSelectorKeepsOnlyThePodsWithAllItsLabels() {
    ServiceEndpoints service = new ServiceEndpoints("default", "api", Map.of(80, List.of(
        endpoint("10.0.0.1", KubeEndpoint.Health.READY, "", "app", "api", "version", "v1"),
        endpoint("10.0.0.2", KubeEndpoint.Health.READY, "", "app", "api", "version", "v2"),
        endpoint("10.0.0.3", KubeEndpoint.Health.READY, ""))));
    ClusterLoadAssignment v2 = EndpointTranslator.loadAssignment(cluster(Map.of("version", "v2")), service);
    assertEquals(List.of("10.0.0.2:8080"), addresses(v2.getEndpoints(0)));
    ClusterLoadAssignment all = EndpointTranslator.loadAssignment(cluster(Map.of()), service);
    assertEquals(3, EndpointTranslator.endpointCount(all));
  }

  @Test
  void translateGivesOneAssignmentPerEdsClusterAndNoneForStaticClusters() {
    UpstreamCluster eds = cluster(Map.of());
    UpstreamCluster fixed = new UpstreamCluster(new ResourceRef("default", "fixed"),
        List.of(new Upstream.StaticHost("127.0.0.1", 9000, null)), false, null, null);
    EndpointState state = new EndpointState(new TreeMap<>(Map.of("default/api", new ServiceEndpoints("default", "api",
        Map.of(80, List.of(endpoint("10.0.0.1", KubeEndpoint.Health.READY, "")))))));
    List<ClusterLoadAssignment> out = EndpointTranslator.translate(List.of(fixed, eds), state);
    assertEquals(1, out.size());
    assertEquals(1, EndpointTranslator.endpointCount(out.get(0)));
    assertTrue(eds.eds());
    assertFalse(fixed.eds());
    assertThrows(IllegalArgumentException.class, () -> EndpointTranslator.loadAssignment(fixed, null));
  }
}
