package io.shardgate.controlplane.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.sharding.decode.DecodedDocument;
import io.shardgate.sharding.decode.ResourceDecoder;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.discovery.ConsulInstance;
import io.shardgate.sharding.discovery.ConsulServiceEndpoints;
import io.shardgate.sharding.discovery.EndpointState;
import io.shardgate.sharding.discovery.KubeEndpoint;
import io.shardgate.sharding.discovery.ServiceEndpoints;
import io.shardgate.sharding.model.Upstream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The pure parts of Consul service discovery: reading Consul's health and catalog answers, which services an input's
 * Upstreams name, the Upstream Gloo's consul discovery writes (and that it decodes as a consul Upstream), and the
 * endpoint state's keys, which never collide with Kubernetes ones.
 */
class ConsulCatalogWatcherTest {

  @Test
  void aHealthAnswerGivesTheInstancesAtTheServiceAddressElseTheNodes() throws Exception {
    String body = """
        [{"Node":{"Node":"n2","Address":"10.0.0.2","Datacenter":"dc1"},
          "Service":{"ID":"web-2","Service":"web","Tags":["v2"],"Address":"","Port":8080},"Checks":[]},
         {"Node":{"Node":"n1","Address":"10.0.0.1","Datacenter":"dc1"},
          "Service":{"ID":"web-1","Service":"web","Tags":null,"Address":"192.168.1.1","Port":9090},"Checks":[]}]
        """;
    List<ConsulInstance> instances = ConsulCatalogWatcher.instances("dc1", body.getBytes(StandardCharsets.UTF_8));
    assertEquals(List.of(
        new ConsulInstance("dc1", "n2", "web-2", "10.0.0.2", 8080, List.of("v2")),
        new ConsulInstance("dc1", "n1", "web-1", "192.168.1.1", 9090, List.of())), instances);
  }

  @Test
  void aCatalogAnswerGivesTheServicesWithTheirTags() throws Exception {
    SortedMap<String, List<String>> services = ConsulCatalogWatcher.catalog(
        "{\"consul\":[],\"web\":[\"v1\",\"v2\"]}".getBytes(StandardCharsets.UTF_8));
    assertEquals(Map.of("consul", List.of(), "web", List.of("v1", "v2")), services);
  }

  @Test
  void theServicesNamedByConsulUpstreamsWithTheirDataCenters() {
    List<SourceDocument> docs = List.of(
        upstream("a", Map.of("serviceName", "web", "dataCenters", List.of("east"))),
        upstream("b", Map.of("serviceName", "web", "dataCenters", List.of("west"))),
        upstream("c", Map.of("service_name", "api", "data_centers", List.of("east"))),
        upstream("d", Map.of("serviceName", "api")),
        upstream("e", Map.of("dataCenters", List.of("east"))));
    assertEquals(Map.of("web", List.of("east", "west"), "api", List.of()),
        ConsulCatalogWatcher.consulServices(docs), "an Upstream without dataCenters wants every data center");
  }

  @Test
  void aDiscoveredUpstreamIsGloosAndDecodesAsAConsulUpstream() {
    Map<String, Object> content = ConsulCatalogWatcher.upstreamContent("web", "gloo-system", List.of("west", "east"),
        List.of("v2", "v1"));
    DecodedDocument decoded = ResourceDecoder.decodeDocument(new SourceDocument("t", 0, content, Map.of()));
    assertTrue(decoded.errors().isEmpty() && decoded.warnings().isEmpty(), () -> "" + decoded);
    Upstream u = (Upstream) decoded.resource();
    assertEquals(new Upstream.ConsulSpec("web", List.of("v1", "v2"), List.of(), List.of(), List.of("east", "west")),
        u.consulSpec());
    assertEquals("consulplugin", u.meta().labels().get("discovered_by"));
    assertEquals("web", ConsulCatalogWatcher.discoveredName("web"));
    assertEquals("my-web-v1", ConsulCatalogWatcher.discoveredName("My_Web.v1"));
  }

  @Test
  void consulKeysNeverCollideWithKubernetesKeysAndChangesAreByIdentity() {
    ServiceEndpoints kube = new ServiceEndpoints("consul", "web", Map.of(80,
        List.of(new KubeEndpoint("10.0.0.1", 8080, KubeEndpoint.Health.READY, null, null))));
    ConsulServiceEndpoints consul = new ConsulServiceEndpoints("web", new TreeMap<>(Map.of("dc1",
        List.of(new ConsulInstance("dc1", "n", "web-1", "10.0.0.9", 80, List.of())))));
    EndpointState before = new EndpointState(new TreeMap<>(Map.of(kube.key(), kube)))
        .withConsul(new TreeMap<>(Map.of(consul.key(), consul)));
    assertEquals("consul/web", kube.key());
    assertEquals("consul:web", consul.key());
    assertSame(kube, before.get("consul/web"));
    assertSame(consul, before.get("consul:web"));
    assertTrue(before.consulAgent());
    assertFalse(new EndpointState(new TreeMap<>()).consulAgent());

    ConsulServiceEndpoints equalButNew = new ConsulServiceEndpoints("web", consul.byDataCenter());
    EndpointState after = before.withConsul(new TreeMap<>(Map.of(equalButNew.key(), equalButNew)));
    assertNotSame(consul, equalButNew);
    assertEquals(List.of("consul:web"), List.copyOf(after.changedSince(before)), "a new object is a change");
    assertEquals(List.of(), List.copyOf(before.withConsul(before.consul()).changedSince(before)));
  }

  private static SourceDocument upstream(String name, Map<String, Object> consul) {
    return new SourceDocument(name, 0, Map.of("apiVersion", "gloo.solo.io/v1", "kind", "Upstream",
        "metadata", Map.of("name", name, "namespace", "default"), "spec", Map.of("consul", consul)), Map.of());
  }
}
