package io.shardgate.controlplane.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.source.DirectoryLoader;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.snapshot.ShardResources;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Envoy resource names of the sharded example's protected shard mapped back to the Gloo resources they came from. */
class XdsSourcesTest {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;

  private static final ResourceKey GATEWAY = new ResourceKey(Kind.GATEWAY, "gloo-system", "gateway-proxy-protected");
  private static final ResourceKey UPSTREAM = new ResourceKey(Kind.UPSTREAM, "payments", "payments");
  private static final ResourceKey VIRTUAL_SERVICE = new ResourceKey(Kind.VIRTUAL_SERVICE, "payments", "payments");
  private static final ResourceKey ROUTE_TABLE = new ResourceKey(Kind.ROUTE_TABLE, "payments", "payments-api");

  private static ShardResources resources;
  private static XdsSources sources;

  @BeforeAll
  static void translateTheExample() {
    Path example = ExampleConfig.repoRoot().resolve("docs/examples/sharded");
    Translation t = Translation.of(ConfigInput.of(example.toString(), new DirectoryLoader().load(example)));
    ShardConfig shard = t.gateway().shards().values().stream()
        .filter(s -> s.proxy().role().equals(ExampleConfig.PROTECTED_ROLE))
        .findFirst().orElseThrow();
    resources = t.xds().get(ExampleConfig.PROTECTED_ROLE);
    sources = XdsSources.of(shard);
  }

  @Test
  void everyNameTheTranslatorEmitsMapsToItsSource() {
    // Built from the real translator's output, so the two cannot drift apart unnoticed.
    Map<String, Optional<ResourceKey>> got = new TreeMap<>();
    Map<String, Optional<ResourceKey>> expected = new TreeMap<>();
    for (Listener l : resources.listeners()) {
      got.put("LDS " + l.getName(), sources.sourceOf(LDS, l.getName()));
      expected.put("LDS " + l.getName(), Optional.of(GATEWAY));
    }
    for (Cluster c : resources.clusters()) {
      got.put("CDS " + c.getName(), sources.sourceOf(CDS, c.getName()));
      expected.put("CDS " + c.getName(), Optional.of(UPSTREAM));
    }
    for (RouteConfiguration rc : resources.routes()) {
      got.put("RDS " + rc.getName(), sources.sourceOf(RDS, rc.getName()));
      expected.put("RDS " + rc.getName(), Optional.of(GATEWAY));
      for (VirtualHost vh : rc.getVirtualHostsList()) {
        got.put("RDS " + vh.getName(), sources.sourceOf(RDS, vh.getName()));
        expected.put("RDS " + vh.getName(), Optional.of(VIRTUAL_SERVICE));
        for (Route r : vh.getRoutesList()) {
          got.put("RDS " + r.getName(), sources.sourceOf(RDS, r.getName()));
          // the VirtualService's own route answers directly; the delegated ones come from the team's RouteTable
          expected.put("RDS " + r.getName(), Optional.of(r.hasDirectResponse() ? VIRTUAL_SERVICE : ROUTE_TABLE));
        }
      }
    }
    assertEquals(expected, got);
    assertEquals(3, resources.routes().get(0).getVirtualHosts(0).getRoutesCount(), "the example has three routes");
  }

  @Test
  void namesAreLookedUpPerTypeBecauseTheyAreOnlyUniqueWithinOne() {
    // VirtualService payments/payments and Upstream payments/payments are both "payments_payments".
    assertEquals(Optional.of(UPSTREAM), sources.sourceOf(CDS, "payments_payments"));
    assertEquals(Optional.of(UPSTREAM), sources.sourceOf(EDS, "payments_payments"));
    assertEquals(Optional.of(VIRTUAL_SERVICE), sources.sourceOf(RDS, "payments_payments"));
    assertEquals(Optional.empty(), sources.sourceOf(LDS, "payments_payments"));
    assertEquals(Optional.of(GATEWAY), sources.sourceOf(LDS, "listener-127.0.0.1-8080"));
    assertEquals(Optional.of(GATEWAY), sources.sourceOf(RDS, "listener-127.0.0.1-8080-routes"));
    assertEquals(Optional.empty(), sources.sourceOf(CDS, "catalog_catalog"), "not this shard's");
    String other = "type.googleapis.com/some.Other";
    assertEquals(Optional.of(GATEWAY), sources.sourceOf(other, "listener-127.0.0.1-8080"), "looks in every type");
    assertEquals(Set.of(UPSTREAM, VIRTUAL_SERVICE), sources.sourcesNamedIn(other, "payments_payments"),
        "and finds every resource of that name");
  }

  @Test
  void messagesNameResourcesOnlyAsWholeWords() {
    assertEquals(Set.of(GATEWAY), sources.sourcesNamedIn(LDS,
        "Error adding/updating listener(s) listener-127.0.0.1-8080: cannot bind '127.0.0.1:8080': Address in use"));
    assertEquals(Set.of(UPSTREAM), sources.sourcesNamedIn(CDS, "Error adding/updating cluster(s) payments_payments."));
    assertEquals(Set.of(UPSTREAM), sources.sourcesNamedIn(CDS, "cluster 'payments_payments': bad"));
    assertEquals(Set.of(GATEWAY, VIRTUAL_SERVICE), sources.sourcesNamedIn(RDS,
        "route config 'listener-127.0.0.1-8080-routes': virtual host payments_payments: duplicate domain"));
    assertEquals(Set.of(), sources.sourcesNamedIn(CDS,
        "xpayments_payments and payments_paymentsx and listener-127.0.0.1-8080"));
    assertEquals(Set.of(), sources.sourcesNamedIn(RDS, "Only unique values for domains are permitted"));
    assertEquals(Set.of(), sources.sourcesNamedIn(LDS, ""));
  }
}
