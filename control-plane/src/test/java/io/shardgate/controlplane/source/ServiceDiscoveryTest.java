package io.shardgate.controlplane.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditionsBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.shardgate.controlplane.source.ServiceDiscovery.ServiceView;
import io.shardgate.controlplane.source.ServiceDiscovery.SliceView;
import io.shardgate.sharding.decode.DecodedDocument;
import io.shardgate.sharding.decode.ResourceDecoder;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.discovery.KubeEndpoint;
import io.shardgate.sharding.discovery.KubeEndpoint.Health;
import io.shardgate.sharding.discovery.ServiceEndpoints;
import io.shardgate.sharding.model.Upstream;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The pure half of Kubernetes discovery: Service to Upstream documents, slices and Pod labels to endpoints. */
class ServiceDiscoveryTest {

  private static Service service(String rv, String... portNames) {
    ServiceBuilder b = new ServiceBuilder().withNewMetadata().withNamespace("shop").withName("cart")
        .withResourceVersion(rv).withLabels(Map.of("team", "shop")).endMetadata()
        .withNewSpec().withSelector(Map.of("app", "cart")).endSpec();
    int port = 8080;
    for (String name : portNames) {
      b.editSpec().addNewPort().withName(name.isEmpty() ? null : name).withPort(port++).endPort().endSpec();
    }
    b.editSpec().addNewPort().withName("dns").withPort(53).withProtocol("UDP").endPort().endSpec();
    return b.build();
  }

  @Test
  void everyTcpPortIsAnUpstreamNamedAsGlooNamesItAndTheDecoderTakesIt() {
    ServiceView view = ServiceView.of(service("7", "http", "admin"));
    List<SourceDocument> docs = ServiceDiscovery.upstreamDocuments(view, "gloo-system", List.of());
    assertEquals(2, docs.size(), "two TCP ports; the UDP one is not discovered");
    assertEquals("Service shop/cart@7", docs.get(0).origin());
    DecodedDocument decoded = ResourceDecoder.decodeDocument(docs.get(1));
    assertEquals(List.of(), decoded.errors());
    Upstream upstream = (Upstream) decoded.resource();
    assertEquals("shop-cart-8081", upstream.meta().name());
    assertEquals("gloo-system", upstream.meta().namespace());
    assertEquals(Map.of("discovered_by", "kubernetesplugin"), upstream.meta().labels());
    assertEquals(Map.of("apiVersion", "gloo.solo.io/v1", "kind", "Upstream",
        "metadata", Map.of("name", "shop-cart-8081", "namespace", "gloo-system",
            "labels", Map.of("discovered_by", "kubernetesplugin")),
        "spec", Map.of("discoveryMetadata", Map.of("labels", Map.of("team", "shop")),
            "kube", Map.of("serviceName", "cart", "serviceNamespace", "shop", "servicePort", 8081L,
                "selector", Map.of("app", "cart")))), docs.get(1).content());
  }

  @Test
  void anUnchangedPortKeepsItsDocumentWhenTheServiceChanges() {
    List<SourceDocument> before = ServiceDiscovery.upstreamDocuments(ServiceView.of(service("7", "http")),
        "gloo-system", List.of());
    List<SourceDocument> after = ServiceDiscovery.upstreamDocuments(ServiceView.of(service("8", "http", "admin")),
        "gloo-system", before);
    assertSame(before.get(0), after.get(0));
    assertEquals("Service shop/cart@8", after.get(1).origin());
  }

  private static EndpointSlice slice(String name, String portName, int port, Endpoint... endpoints) {
    EndpointSliceBuilder b = new EndpointSliceBuilder().withNewMetadata().withNamespace("shop").withName(name)
        .withLabels(Map.of(ServiceDiscovery.SERVICE_NAME_LABEL, "cart")).endMetadata().withAddressType("IPv4")
        .addNewPort().withName(portName).withPort(port).endPort();
    for (Endpoint e : endpoints) {
      b.addNewEndpoint().withAddresses(e.address).withZone(e.zone)
          .withConditions(new EndpointConditionsBuilder().withReady(e.ready).withServing(e.serving)
              .withTerminating(e.terminating).build())
          .withNewTargetRef().withKind("Pod").withName(e.pod).endTargetRef().endEndpoint();
    }
    return b.build();
  }

  private record Endpoint(String address, Boolean ready, Boolean serving, Boolean terminating, String pod,
      String zone) {}

  @Test
  void slicesGiveReadyAndDrainingEndpointsByServicePortWithPodLabels() {
    ServiceView view = ServiceView.of(service("1", "http", "admin"));
    SortedMap<String, String> v1 = new TreeMap<>(Map.of("version", "v1"));
    List<SliceView> slices = List.of(
        SliceView.of(slice("cart-a", "http", 9090,
            new Endpoint("10.0.0.2", null, null, null, "p2", "z1"),
            new Endpoint("10.0.0.1", true, true, false, "p1", "z1"),
            new Endpoint("10.0.0.3", false, true, true, "p3", null),
            new Endpoint("10.0.0.4", false, false, false, "p4", null))),
        SliceView.of(slice("cart-b", "admin", 9091, new Endpoint("10.0.0.1", true, true, false, "p1", "z1"))));
    ServiceEndpoints eps = ServiceDiscovery.endpoints(view, slices, pod -> pod.equals("shop/p1") ? v1 : null);
    assertEquals(List.of(
        new KubeEndpoint("10.0.0.1", 9090, Health.READY, v1, "z1"),
        new KubeEndpoint("10.0.0.2", 9090, Health.READY, null, "z1"),
        new KubeEndpoint("10.0.0.3", 9090, Health.DRAINING, null, "")), eps.of(8080),
        "ready (unset counts as ready), serving and terminating drains, the rest is left out; sorted");
    assertEquals(List.of(new KubeEndpoint("10.0.0.1", 9091, Health.READY, v1, "z1")), eps.of(8081),
        "slice ports match Service ports by name");
    assertEquals(List.of(8080, 8081), List.copyOf(eps.byServicePort().keySet()), "the UDP port has no endpoints");
  }

  @Test
  void anUnnamedPortMatchesTheUnnamedSlicePortAndNoSliceMeansNoPorts() {
    ServiceView view = ServiceView.of(service("1", ""));
    assertEquals(Map.of(), ServiceDiscovery.endpoints(view, List.of(), p -> null).byServicePort());
    ServiceEndpoints eps = ServiceDiscovery.endpoints(view,
        List.of(SliceView.of(slice("cart-a", null, 9090, new Endpoint("10.0.0.1", true, null, null, "p", null)))),
        p -> null);
    assertEquals(List.of(new KubeEndpoint("10.0.0.1", 9090, Health.READY, null, "")), eps.of(8080));
    ServiceEndpoints misnamed = ServiceDiscovery.endpoints(view,
        List.of(SliceView.of(slice("cart-a", "http", 9090, new Endpoint("10.0.0.1", true, null, null, "p", null)))),
        p -> null);
    assertEquals(List.of(), misnamed.of(8080), "a named slice port is not the unnamed Service port");
  }

  @Test
  void healthFollowsKubernetesConditions() {
    assertEquals(Health.READY, ServiceDiscovery.health(null));
    assertEquals(Health.DRAINING, ServiceDiscovery.health(new EndpointConditionsBuilder().withReady(false)
        .withServing(true).withTerminating(true).build()));
    assertNull(ServiceDiscovery.health(new EndpointConditionsBuilder().withReady(false).withServing(true)
        .withTerminating(false).build()), "serving but not ready and not terminating: not yet in");
  }
}
