package io.shardgate.controlplane.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.templates.TestPki;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which roles a client certificate names, read from real certificates (TestPki). */
class RoleIdentityTest {

  private static final String PROTECTED = "gloo-system~gateway-proxy-protected";

  @TempDir Path dir;

  private final TestPki ca = TestPki.create("role-identity-test-ca");

  private RoleIdentity identity(String... sans) {
    return RoleIdentity.of(ca.leaf("client").sans(sans).writeTo(dir, "client-" + sans.length).certificate());
  }

  @Test
  void aSpiffeIdNamesExactlyItsNamespaceAndServiceAccount() {
    RoleIdentity id = identity("URI:spiffe://cluster.local/ns/gloo-system/sa/gateway-proxy-protected");
    assertTrue(id.permits(PROTECTED, null));
    assertTrue(id.permits(PROTECTED, "cluster.local"));
    assertTrue(id.permits(PROTECTED, "Cluster.Local"), "trust domains compare case-insensitively");
    assertFalse(id.permits(PROTECTED, "other.example"), "a pinned trust domain must match");
    assertFalse(id.permits("gloo-system~gateway-proxy-noisy", null));
    assertFalse(id.permits("team-a~gateway-proxy-protected", null));
    assertFalse(id.permits("gloo-system~gateway-proxy", null), "no prefix matches");
    assertEquals("URI spiffe://cluster.local/ns/gloo-system/sa/gateway-proxy-protected", id.describe());
  }

  @Test
  void aDnsNameProxyDotNamespaceNamesTheRole() {
    RoleIdentity id = identity("DNS:Gateway-Proxy-Protected.gloo-system");
    assertTrue(id.permits(PROTECTED, null));
    assertTrue(id.permits(PROTECTED, "cluster.local"), "the trust domain pins SPIFFE IDs only");
    assertFalse(id.permits("gloo-system~gateway-proxy-noisy", null));
    assertFalse(identity("DNS:gateway-proxy-protected.gloo-system.svc").permits(PROTECTED, null));
  }

  @Test
  void onlyWellFormedSpiffeIdsAndRolesCount() {
    for (String uri : List.of(
        "spiffe://td/ns/gloo-system/sa/gateway-proxy-protected/extra",
        "spiffe://td/ns/gloo-system/sa/gateway-proxy-protected?x=1",
        "https://td/ns/gloo-system/sa/gateway-proxy-protected",
        "spiffe:///ns/gloo-system/sa/gateway-proxy-protected",
        "spiffe://td/sa/gateway-proxy-protected/ns/gloo-system")) {
      assertFalse(identity("URI:" + uri).permits(PROTECTED, null), uri);
    }
    RoleIdentity id = identity("URI:spiffe://td/ns/a/sa/b", "DNS:b.a");
    for (String role : List.of("", "~", "a~", "~b", "a~b~c", "misconfigured-node", "a.b")) {
      assertFalse(id.permits(role, null), () -> "'" + role + "' is not a role");
    }
    assertTrue(id.permits("a~b", null));
  }

  @Test
  void theCommonNameIsNeverAnIdentity() {
    RoleIdentity id = RoleIdentity.of(ca.leaf(PROTECTED).writeTo(dir, "cn-only").certificate());
    assertFalse(id.permits(PROTECTED, null));
    assertEquals("no URI or DNS subject alternative name", id.describe());
  }

  @Test
  void theExpectedNamesAreSpelledOutForTheRole() {
    assertEquals("a certificate for role gloo-system~gw carries the URI SAN"
        + " spiffe://<trust-domain>/ns/gloo-system/sa/gw or the DNS SAN gw.gloo-system",
        RoleIdentity.expectedFor("gloo-system~gw", null));
    assertTrue(RoleIdentity.expectedFor("gloo-system~gw", "cluster.local").contains("spiffe://cluster.local/"));
  }
}
