package io.shardgate.sharding.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class DiscoveredUpstreamsTest {

  @Test
  void aServicePortIsNamedNamespaceServicePort() {
    assertEquals("default-petstore-8080", DiscoveredUpstreams.name("default", "petstore", 8080));
  }

  @Test
  void charactersANameCannotHoldBecomeDashesAndCaseIsLowered() {
    assertEquals("my-ns-svc-v1-80", DiscoveredUpstreams.sanitize("My_NS-svc.v1-80"));
    assertEquals("a-b", DiscoveredUpstreams.sanitize("[a]:b'"));
  }

  @Test
  void aNameOverSixtyThreeCharactersKeepsItsStartAndAHashOfTheWhole() {
    String longName = "team-payments-a-very-long-service-name-for-the-checkout-api-8443"; // 64 characters
    assertEquals("team-payments-a-very-long-servi-b76ecd84dc19b32275d5600884cda0c",
        DiscoveredUpstreams.sanitize(longName));
    assertNotEquals(DiscoveredUpstreams.sanitize(longName), DiscoveredUpstreams.sanitize(longName + "4"));
    assertEquals(longName.substring(0, 63), DiscoveredUpstreams.sanitize(longName.substring(0, 63)));
  }

  @Test
  void endpointStateNamesTheServicesThatChangedByIdentity() {
    ServiceEndpoints a = new ServiceEndpoints("ns", "a", Map.of());
    ServiceEndpoints b = new ServiceEndpoints("ns", "b", Map.of(80, List.of(
        new KubeEndpoint("10.0.0.2", 8080, KubeEndpoint.Health.READY, null, null),
        new KubeEndpoint("10.0.0.1", 8080, KubeEndpoint.Health.DRAINING, null, null))));
    EndpointState before = new EndpointState(new TreeMap<>(Map.of(a.key(), a, b.key(), b)));
    ServiceEndpoints bAgain = new ServiceEndpoints("ns", "b", b.byServicePort());
    ServiceEndpoints c = new ServiceEndpoints("ns", "c", Map.of());
    EndpointState after = new EndpointState(new TreeMap<>(Map.of(a.key(), a, b.key(), bAgain, c.key(), c)));
    assertEquals(List.of("ns/b", "ns/c"), List.copyOf(after.changedSince(before)));
    assertEquals(List.of("ns/a", "ns/b", "ns/c"), List.copyOf(EndpointState.EMPTY.changedSince(after)));
    assertEquals("10.0.0.1", b.of(80).get(0).address(), "endpoints are sorted by address");
    assertEquals(List.of(), b.of(81));
  }
}
