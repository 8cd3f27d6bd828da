package io.shardgate.sharding.model;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** Kubernetes' validation rules (k8s.io/apimachinery IsDNS1123Label, IsDNS1123Subdomain, IsQualifiedName, IsValidLabelValue). */
class KubernetesNamesTest {

  @Test
  void labelKeys() {
    for (String ok : new String[] {"app", "app.kubernetes.io/name", "a-b_c.d", "A1", "x".repeat(63),
        "example.com/" + "x".repeat(63), "shard"}) {
      assertNull(KubernetesNames.labelKeyProblem(ok), ok);
    }
    for (String bad : new String[] {"", "-app", "app-", "a b", "a/b/c", "/name", "Example.com/name", "example.com/",
        "x".repeat(64), "a".repeat(254) + "/name", "app$"}) {
      assertNotNull(KubernetesNames.labelKeyProblem(bad), bad);
    }
  }

  @Test
  void labelValues() {
    for (String ok : new String[] {"", "orders", "v1.2_3-x", "X", "1", "z".repeat(63)}) {
      assertNull(KubernetesNames.labelValueProblem(ok), ok);
    }
    for (String bad : new String[] {"-1", "a.", "_a", "a b", "a/b", "z".repeat(64)}) {
      assertNotNull(KubernetesNames.labelValueProblem(bad), bad);
    }
  }

  @Test
  void namesAndNamespaces() {
    assertNull(KubernetesNames.objectNameProblem("gateway-proxy.v2"));
    assertNotNull(KubernetesNames.objectNameProblem("Gateway"));
    assertNotNull(KubernetesNames.objectNameProblem("a..b"));
    assertNotNull(KubernetesNames.objectNameProblem("a_b"));
    assertNull(KubernetesNames.namespaceProblem("gloo-system"));
    assertNotNull(KubernetesNames.namespaceProblem("gloo.system"), "a namespace is a label, without dots");
    assertNotNull(KubernetesNames.namespaceProblem("-gloo"));
  }
}
