package io.shardgate.controlplane.secret;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.source.GlooSecretContent;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.secret.KubeSecret;
import io.shardgate.sharding.secret.SecretState;
import io.shardgate.sharding.secret.TlsSecretCatalog;
import io.shardgate.sharding.secret.TlsSecretContent;
import io.shardgate.sharding.secret.TlsSecretLookup.TlsSecretView;
import io.shardgate.templates.TestPki;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TLS secret catalog on real certificates and keys made by the test (BouncyCastle via TestPki): what it accepts,
 * why it rejects (in words that never quote the content), that last good content keeps serving, and that it
 * recovers. Lives in control-plane because TestPki is proxy-templates' test code, which this module's tests use.
 */
class TlsSecretCatalogTest {

  private static final ResourceRef WEB = new ResourceRef("shop", "web-tls");
  private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);

  @TempDir Path dir;
  private TestSecrets pki;

  @BeforeEach
  void pki() {
    pki = new TestSecrets("catalog-ca", dir);
  }

  private static TlsSecretCatalog build(TlsSecretCatalog previous, KubeSecret... secrets) {
    TreeMap<String, KubeSecret> m = new TreeMap<>();
    for (KubeSecret s : secrets) {
      m.put(s.key(), s);
    }
    return TlsSecretCatalog.build(new SecretState(m), NOW, previous, GlooSecretContent::read);
  }

  @Test
  void aValidSecretServesItsContentAndCarriesItsRootCa() {
    TestSecrets.Pem pem = pki.leaf("web.example.com");
    KubeSecret s = TestSecrets.kubeTls("shop", "web-tls", pem, pki.caPem(), "file.yaml:1");
    TlsSecretCatalog c = build(TlsSecretCatalog.EMPTY, s);
    assertEquals(TlsSecretView.valid(true), c.find(WEB));
    TlsSecretContent served = c.served(WEB).orElseThrow();
    assertEquals(pem.certificate(), new String(served.certificateChain(), StandardCharsets.UTF_8));
    assertTrue(c.problems().isEmpty());
    assertTrue(served.toString().contains("bytes"), served::toString);
    assertFalse(served.toString().contains(TestSecrets.pemBody(pem.key()).substring(0, 20)), "toString is redacted");
  }

  @Test
  void withoutCaTheViewSaysNoRootCaAndAnUnknownSecretIsMissing() {
    TlsSecretCatalog c = build(TlsSecretCatalog.EMPTY,
        TestSecrets.kubeTls("shop", "web-tls", pki.leaf("web.example.com"), null, "f:1"));
    assertEquals(TlsSecretView.valid(false), c.find(WEB));
    TlsSecretView missing = c.find(new ResourceRef("shop", "nope"));
    assertFalse(missing.servable());
    assertEquals("secret shop/nope not found", missing.problem());
  }

  @Test
  void aSecretWithOnlyARootCaIsValidWithoutACertificateAndHalfAPairStaysInvalid() {
    TestSecrets.Pem pem = pki.leaf("web.example.com");
    String glooCaOnly = "rootCa: |\n" + indent(pki.caPem());
    TlsSecretCatalog c = build(TlsSecretCatalog.EMPTY,
        TestSecrets.kubeTls("shop", "web-tls", Map.of("ca.crt", pki.caPem()), "f:1"),
        new KubeSecret("shop", "gloo-ca", "Opaque",
            new TreeMap<>(Map.of("tls", glooCaOnly.getBytes(StandardCharsets.UTF_8))), "Secret shop/gloo-ca@1"),
        TestSecrets.kubeTls("shop", "cert-no-key", Map.of("tls.crt", pem.certificate(), "ca.crt", pki.caPem()),
            "f:2"),
        TestSecrets.kubeTls("shop", "key-no-cert", Map.of("tls.key", pem.key(), "ca.crt", pki.caPem()), "f:3"),
        TestSecrets.kubeTls("shop", "bad-ca-only", Map.of("ca.crt", "hello"), "f:4"));
    assertEquals(TlsSecretView.rootCaOnly(), c.find(WEB));
    assertFalse(c.find(WEB).hasCertificate());
    assertEquals(TlsSecretView.rootCaOnly(), c.find(new ResourceRef("shop", "gloo-ca")));
    TlsSecretContent served = c.served(WEB).orElseThrow();
    assertEquals(pki.caPem(), new String(served.rootCa(), StandardCharsets.UTF_8));
    assertFalse(served.hasCertificateChain());
    Map<String, String> problems = new TreeMap<>();
    c.problems().forEach((k, e) -> problems.put(k, e.problem()));
    assertEquals(Map.of(
        "shop/cert-no-key", "secret shop/cert-no-key: tls.key is missing or empty",
        "shop/key-no-cert", "secret shop/key-no-cert: tls.crt is missing or empty",
        "shop/bad-ca-only", "secret shop/bad-ca-only: ca.crt holds no certificate: expected a PEM block"
            + " -----BEGIN CERTIFICATE-----"), problems);
    assertEquals(Optional.empty(), c.nextChange(), "a root CA alone is not rechecked by time");

    // From a full secret to only its root CA: the view changes (gateway translation sees it), the content serves.
    TlsSecretCatalog full = build(TlsSecretCatalog.EMPTY, TestSecrets.kubeTls("shop", "web-tls", pem, pki.caPem(),
        "f:5"));
    TlsSecretCatalog caOnly = build(full, TestSecrets.kubeTls("shop", "web-tls", Map.of("ca.crt", pki.caPem()),
        "f:6"));
    assertEquals(Set.of("shop/web-tls"), caOnly.viewsChangedSince(full));
    assertEquals(TlsSecretView.rootCaOnly(), caOnly.find(WEB));
  }

  @Test
  void rsaAndTraditionalKeyEncodingsAreRead() {
    TestSecrets.Pem rsa = pki.leaf(pki.ca().leaf("rsa.example.com").rsa()
        .keyEncoding(TestPki.KeyEncoding.TRADITIONAL));
    TestSecrets.Pem ec = pki.leaf(pki.ca().leaf("ec.example.com").keyEncoding(TestPki.KeyEncoding.TRADITIONAL));
    assertTrue(rsa.key().contains("BEGIN RSA PRIVATE KEY"));
    assertTrue(ec.key().contains("BEGIN EC PRIVATE KEY"));
    TlsSecretCatalog c = build(TlsSecretCatalog.EMPTY, TestSecrets.kubeTls("shop", "rsa", rsa, null, "f:1"),
        TestSecrets.kubeTls("shop", "ec", ec, null, "f:2"));
    assertTrue(c.problems().isEmpty(), () -> c.problems().toString());
  }

  @Test
  void anRsaKeyOfAnotherPairIsAMismatchAndAnEcKeyForAnRsaCertificateToo() {
    // RSA keys are matched by their public half (no signature): this holds that comparison to the same verdict.
    TestSecrets.Pem rsa = pki.leaf(pki.ca().leaf("rsa.example.com").rsa());
    TestSecrets.Pem otherRsa = pki.leaf(pki.ca().leaf("other.example.com").rsa());
    TestSecrets.Pem ec = pki.leaf("ec.example.com");
    TlsSecretCatalog c = build(TlsSecretCatalog.EMPTY,
        TestSecrets.kubeTls("shop", "rsa-pair", new TestSecrets.Pem(rsa.certificate(), otherRsa.key()), null, "f:1"),
        TestSecrets.kubeTls("shop", "ec-for-rsa", new TestSecrets.Pem(rsa.certificate(), ec.key()), null, "f:2"),
        TestSecrets.kubeTls("shop", "rsa-for-ec", new TestSecrets.Pem(ec.certificate(), rsa.key()), null, "f:3"));
    Map<String, String> problems = new TreeMap<>();
    c.problems().forEach((k, e) -> problems.put(k, e.problem()));
    assertEquals(Map.of(
        "shop/rsa-pair", "secret shop/rsa-pair: tls.key does not match the certificate's public key",
        "shop/ec-for-rsa", "secret shop/ec-for-rsa: tls.key does not match the certificate's public key",
        "shop/rsa-for-ec", "secret shop/rsa-for-ec: tls.key does not match the certificate's public key"), problems);
  }

  @Test
  void badPemKeyMismatchExpiredAndNotYetValidAreRejectedWithoutQuotingContent() {
    TestSecrets.Pem a = pki.leaf("a.example.com");
    TestSecrets.Pem b = pki.leaf("b.example.com");
    TestSecrets.Pem expired = pki.leaf("old.example.com", NOW.minus(Duration.ofDays(10)),
        NOW.minus(Duration.ofDays(1)));
    TestSecrets.Pem future = pki.leaf("new.example.com", NOW.plus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(10)));
    String garbage = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    TlsSecretCatalog c = build(TlsSecretCatalog.EMPTY,
        TestSecrets.kubeTls("shop", "bad-pem", Map.of("tls.crt", garbage, "tls.key", a.key()), "f:1"),
        TestSecrets.kubeTls("shop", "not-pem", Map.of("tls.crt", "hello", "tls.key", a.key()), "f:2"),
        TestSecrets.kubeTls("shop", "mismatch", new TestSecrets.Pem(a.certificate(), b.key()), null, "f:3"),
        TestSecrets.kubeTls("shop", "expired", expired, null, "f:4"),
        TestSecrets.kubeTls("shop", "future", future, null, "f:5"),
        TestSecrets.kubeTls("shop", "no-key", Map.of("tls.crt", a.certificate()), "f:6"),
        TestSecrets.kubeTls("shop", "bad-ca", a, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "f:7"));
    Map<String, String> problems = new TreeMap<>();
    c.problems().forEach((k, e) -> problems.put(k, e.problem()));
    assertEquals(Map.of(
        "shop/bad-pem", "secret shop/bad-pem: tls.crt line 1: the CERTIFICATE block is not a valid X.509 certificate",
        "shop/not-pem", "secret shop/not-pem: tls.crt holds no certificate: expected a PEM block"
            + " -----BEGIN CERTIFICATE-----",
        "shop/mismatch", "secret shop/mismatch: tls.key does not match the certificate's public key",
        "shop/expired", "secret shop/expired: certificate expired "
            + NOW.minus(Duration.ofDays(1)),
        "shop/future", "secret shop/future: certificate is not valid before " + NOW.plus(Duration.ofDays(1)),
        "shop/no-key", "secret shop/no-key: tls.key is missing or empty",
        "shop/bad-ca", "secret shop/bad-ca: ca.crt line 1: the CERTIFICATE block is not a valid X.509 certificate"),
        problems);
    for (String key : problems.keySet()) {
      String[] ns = key.split("/");
      TlsSecretView v = c.find(new ResourceRef(ns[0], ns[1]));
      assertFalse(v.servable(), key + " has no last good content to serve");
      assertEquals(problems.get(key), v.problem());
    }
    String all = problems.toString();
    for (TestSecrets.Pem p : new TestSecrets.Pem[] {a, b, expired, future}) {
      assertFalse(all.contains(TestSecrets.pemBody(p.key()).substring(0, 16)), "no key material in a problem");
      assertFalse(all.contains(TestSecrets.pemBody(p.certificate()).substring(0, 16)), "no certificate either");
    }
    assertEquals(Optional.of(NOW.plus(Duration.ofDays(1))), c.nextChange(), "the future certificate's start");
  }

  @Test
  void lastGoodContentKeepsServingUntilTheSecretIsValidAgainThenTheProblemGoes() {
    TestSecrets.Pem v1 = pki.leaf("web.example.com");
    TestSecrets.Pem other = pki.leaf("other.example.com");
    KubeSecret good = TestSecrets.kubeTls("shop", "web-tls", v1, pki.caPem(), "f:1");
    TlsSecretCatalog c1 = build(TlsSecretCatalog.EMPTY, good);
    TlsSecretContent served1 = c1.served(WEB).orElseThrow();

    KubeSecret broken = TestSecrets.kubeTls("shop", "web-tls", new TestSecrets.Pem(v1.certificate(), other.key()),
        null, "f:1");
    TlsSecretCatalog c2 = build(c1, broken);
    TlsSecretView v2 = c2.find(WEB);
    assertTrue(v2.servable(), "the last good content serves");
    assertTrue(v2.hasRootCa(), "the last good content's CA");
    assertEquals("secret shop/web-tls: tls.key does not match the certificate's public key; its last valid content"
        + " keeps serving", v2.problem());
    assertSame(served1, c2.served(WEB).orElseThrow(), "the very last good content");
    assertEquals(Set.of("shop/web-tls"), c2.viewsChangedSince(c1));
    assertEquals(Set.of(), c2.servedChangedSince(c1), "what is served did not change");

    TestSecrets.Pem v2pem = pki.leaf("web.example.com");
    TlsSecretCatalog c3 = build(c2, TestSecrets.kubeTls("shop", "web-tls", v2pem, null, "f:1"));
    assertEquals(TlsSecretView.valid(false), c3.find(WEB));
    assertTrue(c3.problems().isEmpty());
    assertEquals(Set.of("shop/web-tls"), c3.servedChangedSince(c2));
    assertEquals(v2pem.certificate(), new String(c3.served(WEB).orElseThrow().certificateChain(),
        StandardCharsets.UTF_8));
  }

  @Test
  void aValidRotationAnswersTheSameViewAndAnUnchangedSecretKeepsItsEntry() {
    KubeSecret v1 = TestSecrets.kubeTls("shop", "web-tls", pki.leaf("web.example.com"), null, "f:1");
    KubeSecret other = TestSecrets.kubeTls("shop", "other", pki.leaf("o.example.com"), null, "f:2");
    TlsSecretCatalog c1 = build(TlsSecretCatalog.EMPTY, v1, other);
    TlsSecretCatalog c2 = build(c1, TestSecrets.kubeTls("shop", "web-tls", pki.leaf("web.example.com"), null, "f:1"),
        other);
    assertEquals(Set.of(), c2.viewsChangedSince(c1), "valid to valid: gateway translation sees nothing");
    assertEquals(Set.of("shop/web-tls"), c2.servedChangedSince(c1));
    assertSame(c1.entries().get("shop/other"), c2.entries().get("shop/other"));
    assertNotSame(c1.entries().get("shop/web-tls"), c2.entries().get("shop/web-tls"));

    // Equal content in a new object (a resync, a re-read file): the very served content, so nothing is rebuilt.
    KubeSecret sameContent = new KubeSecret("shop", "other", other.type(), other.data(), "f:9");
    TlsSecretCatalog c3 = build(c2, c2.entries().get("shop/web-tls").source(), sameContent);
    assertSame(c2.served(new ResourceRef("shop", "other")).orElseThrow(),
        c3.served(new ResourceRef("shop", "other")).orElseThrow());
    assertEquals(Set.of(), c3.servedChangedSince(c2));
  }

  @Test
  void expiryIsSeenAtTheFirstBuildPastNotAfterAndTheLastGoodContentKeepsServing() {
    Instant notAfter = NOW.plus(Duration.ofHours(1));
    KubeSecret s = TestSecrets.kubeTls("shop", "web-tls", pki.leaf("web.example.com", NOW.minus(Duration.ofHours(1)),
        notAfter), null, "f:1");
    SecretState state = new SecretState(new TreeMap<>(Map.of(s.key(), s)));
    TlsSecretCatalog before = TlsSecretCatalog.build(state, NOW, TlsSecretCatalog.EMPTY);
    assertEquals(Optional.of(notAfter), before.nextChange());
    assertSame(before.entries().get(s.key()), TlsSecretCatalog.build(state, notAfter, before).entries()
        .get(s.key()), "at notAfter itself the certificate is still valid");
    TlsSecretCatalog after = TlsSecretCatalog.build(state, notAfter.plusSeconds(1), before);
    TlsSecretView v = after.find(WEB);
    assertTrue(v.servable());
    assertEquals("secret shop/web-tls: certificate expired " + notAfter + "; its last valid content keeps serving",
        v.problem());
    assertEquals(Optional.empty(), after.nextChange());
  }

  @Test
  void glooOpaqueTlsEntryIsReadAndABrokenOneSaysSoWithoutQuotingIt() {
    TestSecrets.Pem pem = pki.leaf("gloo.example.com");
    String yaml = "certChain: |\n" + indent(pem.certificate()) + "privateKey: |\n" + indent(pem.key());
    KubeSecret gloo = new KubeSecret("shop", "gloo-tls", "Opaque",
        new TreeMap<>(Map.of("tls", yaml.getBytes(StandardCharsets.UTF_8))), "Secret shop/gloo-tls@1");
    KubeSecret broken = new KubeSecret("shop", "gloo-bad", "Opaque",
        new TreeMap<>(Map.of("tls", ("certChain: [" + pem.key()).getBytes(StandardCharsets.UTF_8))), "s:2");
    TlsSecretCatalog c = build(TlsSecretCatalog.EMPTY, gloo, broken);
    assertEquals(TlsSecretView.valid(false), c.find(new ResourceRef("shop", "gloo-tls")));
    assertTrue(Arrays.equals(pem.key().getBytes(StandardCharsets.UTF_8),
        c.served(new ResourceRef("shop", "gloo-tls")).orElseThrow().privateKey()));
    String problem = c.find(new ResourceRef("shop", "gloo-bad")).problem();
    assertEquals("secret shop/gloo-bad: the tls entry is not YAML (Gloo's TlsSecret: certChain, privateKey, rootCa)",
        problem);
    assertNull(c.find(new ResourceRef("shop", "gloo-tls")).problem());
  }

  private static String indent(String pem) {
    StringBuilder out = new StringBuilder();
    for (String line : pem.split("\n")) {
      out.append("  ").append(line).append('\n');
    }
    return out.toString();
  }
}
