package io.shardgate.controlplane.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.pipeline.Failures;
import io.shardgate.sharding.ir.Proxy;
import io.shardgate.sharding.ir.ProxyListener;
import io.shardgate.sharding.ir.ProxyVirtualHost;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.ir.UpstreamCluster;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.KubernetesNames;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.Upstream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Two resources that would become one Envoy name fail the shard's xDS translation with a message naming both, instead
 * of one silently replacing the other in Envoy. Decoding refuses the names that could collide (underscores, dots in
 * namespaces), so the shard configurations here are built directly, bypassing it, as a future source might.
 */
class EnvoyNameCollisionTest {

  private static final ResourceKey GATEWAY = new ResourceKey(Kind.GATEWAY, "gloo-system", "gateway-proxy");

  @Test
  void twoUpstreamsThatBecomeOneClusterNameAreNamedBoth() {
    ShardConfig shard = new ShardConfig(new Proxy("gateway-proxy", "gloo-system", List.of()), List.of(
        cluster(new ResourceRef("catalog_v9", "cat")), cluster(new ResourceRef("v9", "cat_catalog"))));

    EnvoyNameCollisionException e =
        assertThrows(EnvoyNameCollisionException.class, () -> new XdsTranslationCache().translate(shard));
    assertEquals("Upstream catalog_v9/cat and Upstream v9/cat_catalog would both become Envoy cluster"
        + " 'cat_catalog_v9'", e.getMessage());
    assertEquals("internal error while translating shard s to xDS: " + e.getMessage() + "; this is a bug in"
        + " Shardgate (names that Kubernetes accepts never collide), please report it with the control plane's log",
        Failures.describe("translating shard s to xDS", e));
  }

  @Test
  void twoVirtualServicesThatBecomeOneVirtualHostNameAreNamedBoth() {
    ProxyVirtualHost first = host("a.b.c", new ResourceKey(Kind.VIRTUAL_SERVICE, "a", "b.c"));
    ProxyVirtualHost second = host("a_b.c", new ResourceKey(Kind.VIRTUAL_SERVICE, "a_b", "c"));
    ProxyListener listener = new ProxyListener("listener-::-8080", "::", 8080, List.of(first, second), GATEWAY);
    ShardConfig shard = new ShardConfig(new Proxy("gateway-proxy", "gloo-system", List.of(listener)), List.of());

    EnvoyNameCollisionException e =
        assertThrows(EnvoyNameCollisionException.class, () -> new XdsTranslationCache().translate(shard));
    assertEquals("VirtualService a/b.c and VirtualService a_b/c would both become Envoy virtual host of"
        + " listener-::-8080 'a_b_c'", e.getMessage());
  }

  @Test
  void distinctNamesTranslate() {
    ShardConfig shard = new ShardConfig(new Proxy("gateway-proxy", "gloo-system", List.of()), List.of(
        cluster(new ResourceRef("catalog-v9", "cat")), cluster(new ResourceRef("v9", "cat-catalog"))));

    assertEquals(2, new XdsTranslationCache().translate(shard).clusters().size());
  }

  /**
   * Every namespace and name Kubernetes accepts, over a small alphabet that holds every character class that matters
   * (letters, digits, '-', '.', and '_', which validation refuses), gives distinct cluster and virtual host names.
   */
  @Test
  void namesThatKubernetesAcceptsNeverCollide() {
    List<String> candidates = strings("a1-._", 4);
    List<String> namespaces = candidates.stream().filter(n -> KubernetesNames.namespaceProblem(n) == null).toList();
    List<String> names = candidates.stream().filter(n -> KubernetesNames.objectNameProblem(n) == null).toList();
    Map<String, ResourceRef> clusters = new HashMap<>();
    Map<String, ResourceRef> hosts = new HashMap<>();
    for (String namespace : namespaces) {
      for (String name : names) {
        ResourceRef ref = new ResourceRef(namespace, name);
        ResourceRef earlier = clusters.put(XdsNames.cluster(ref), ref);
        assertNull(earlier, () -> ref + " and " + earlier + " share a cluster name");
        ResourceRef earlierHost = hosts.put(XdsNames.virtualHost(namespace + "." + name), ref);
        assertNull(earlierHost, () -> ref + " and " + earlierHost + " share a virtual host name");
      }
    }
    assertTrue(names.contains("a.1") && !names.contains("a_1") && !namespaces.contains("a.1"), names.toString());
  }

  private static List<String> strings(String alphabet, int maxLength) {
    List<String> out = new ArrayList<>();
    List<String> last = List.of("");
    for (int length = 1; length <= maxLength; length++) {
      List<String> next = new ArrayList<>();
      for (String prefix : last) {
        for (char c : alphabet.toCharArray()) {
          next.add(prefix + c);
        }
      }
      out.addAll(next);
      last = next;
    }
    return out;
  }

  private static UpstreamCluster cluster(ResourceRef ref) {
    return new UpstreamCluster(ref, List.of(new Upstream.StaticHost("127.0.0.1", 8080, null)), false, null, null);
  }

  private static ProxyVirtualHost host(String name, ResourceKey virtualService) {
    return new ProxyVirtualHost(name, List.of(name + ".example.com"), List.of(), virtualService);
  }
}
