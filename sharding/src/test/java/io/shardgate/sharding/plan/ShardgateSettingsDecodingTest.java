package io.shardgate.sharding.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.sharding.decode.DecodedResources;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.Settings;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.report.ResourceStatus;
import org.junit.jupiter.api.Test;

/** Decoding of {@code spec.shardgate} in Settings. */
class ShardgateSettingsDecodingTest {

  static final ResourceKey SETTINGS = new ResourceKey(Kind.SETTINGS, "gloo-system", "default");

  static DecodedResources decode(String shardgate) {
    return Docs.decode("""
        apiVersion: gloo.solo.io/v1
        kind: Settings
        metadata: {name: default, namespace: gloo-system}
        spec:
          discoveryNamespace: gloo-system
        """ + shardgate);
  }

  @Test
  void absentMeansDefaults() {
    DecodedResources d = decode("");
    assertEquals(Settings.Shardgate.DEFAULT, d.snapshot().settings().shardgate());
    assertFalse(d.snapshot().settings().shardgate().edge().enabled());
    assertEquals("gateway-proxy-edge", d.snapshot().settings().shardgate().edge().proxyName());
  }

  @Test
  void everyFieldDecodes() {
    DecodedResources d = decode("""
          shardgate:
            allUpstreamsPerShard: true
            edge:
              enabled: true
              proxyName: edge
              bindAddress: 0.0.0.0
              bindPort: 80
              tlsBindPort: 443
              shardAddresses:
                a: a.example.internal:8080
                b: "[fd00::1]:8080"
              shardTlsAddresses:
                a: 10.0.0.1:8443
        """);
    Settings.Shardgate sg = d.snapshot().settings().shardgate();
    assertTrue(sg.allUpstreamsPerShard());
    Settings.Edge e = sg.edge();
    assertTrue(e.enabled());
    assertEquals("edge", e.proxyName());
    assertEquals("0.0.0.0", e.bindAddress());
    assertEquals(80, e.bindPort());
    assertEquals(443, e.tlsBindPort());
    assertEquals(new Settings.HostPort("a.example.internal", 8080), e.shardAddresses().get("a"));
    assertEquals(new Settings.HostPort("fd00::1", 8080), e.shardAddresses().get("b"));
    assertEquals("[fd00::1]:8080", e.shardAddresses().get("b").toString());
    assertEquals(new Settings.HostPort("10.0.0.1", 8443), e.shardTlsAddresses().get("a"));
    assertEquals(ResourceState.ACCEPTED, d.statuses().get(SETTINGS).state(), d.statuses().get(SETTINGS)::reason);
  }

  @Test
  void unknownFieldsAreErrorsWithANearMiss() {
    DecodedResources d = decode("""
          shardgate:
            allUpstreamsPerShard: false
            sharding: everything
            edge:
              enabled: true
              proxyNam: edge
        """);
    ResourceStatus s = d.statuses().get(SETTINGS);
    assertEquals(ResourceState.REJECTED, s.state());
    assertTrue(s.errors().stream().anyMatch(w -> w.startsWith("spec.shardgate.sharding ")
        && w.endsWith("'sharding' is not a field of ShardgateSettings")), s::reason);
    assertTrue(s.errors().stream().anyMatch(w -> w.startsWith("spec.shardgate.edge.proxyNam ")
        && w.endsWith("did you mean 'proxyName'?")), s::reason);
  }

  @Test
  void badValuesAreErrorsNamingTheField() {
    DecodedResources d = decode("""
          shardgate:
            edge:
              enabled: yes please
              bindAddress: everywhere
              bindPort: 70000
              shardAddresses:
                a: "no-port"
                b: "::1:80"
        """);
    ResourceStatus s = d.statuses().get(SETTINGS);
    assertEquals(ResourceState.REJECTED, s.state());
    assertTrue(s.errors().stream().anyMatch(e -> e.startsWith("spec.shardgate.edge.enabled ")), s::reason);
    assertTrue(s.errors().stream().anyMatch(e -> e.startsWith("spec.shardgate.edge.bindAddress ")), s::reason);
    assertTrue(s.errors().stream().anyMatch(e -> e.startsWith("spec.shardgate.edge.bindPort ")), s::reason);
    assertTrue(s.errors().stream().anyMatch(e -> e.startsWith("spec.shardgate.edge.shardAddresses.a ")), s::reason);
    assertTrue(s.errors().stream().anyMatch(e -> e.startsWith("spec.shardgate.edge.shardAddresses.b ")), s::reason);
  }

  @Test
  void theTwoEdgeListenersNeedTwoPorts() {
    DecodedResources d = decode("""
          shardgate:
            edge: {enabled: true, bindPort: 8443}
        """);
    ResourceStatus s = d.statuses().get(SETTINGS);
    assertTrue(s.errors().stream().anyMatch(e -> e.startsWith("spec.shardgate.edge.tlsBindPort ")), s::reason);
  }
}
