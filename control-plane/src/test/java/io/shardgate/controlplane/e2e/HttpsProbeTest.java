package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTPS test tools against each other, no Envoy: {@link HttpsProbe} reports the certificate a server presents
 * and sends the SNI it is given, verifies names against it (a mismatch is an {@link SSLException}), presents its
 * client certificate, and reports a connection that got no answer; {@link HttpsBackend} records SNI and client. The
 * end-to-end tests' TLS assertions rest on these.
 */
class HttpsProbeTest {

  @TempDir static Path work;

  private static TlsTestPki serverCa;
  private static TlsTestPki clientCa;
  private static TlsTestPki.Material serverCert;
  private static HttpsBackend backend;

  @BeforeAll
  static void start() throws Exception {
    serverCa = TlsTestPki.create("probe-server-ca", work.resolve("server"));
    clientCa = TlsTestPki.create("probe-client-ca", work.resolve("client"));
    serverCert = serverCa.issue("backend.example.com", "backend.example.com");
    backend = HttpsBackend.start("probe-backend", serverCert, clientCa.caCertificate());
  }

  @AfterAll
  static void stop() {
    if (backend != null) {
      backend.close();
    }
  }

  @Test
  void reportsThePresentedCertificateAndSendsTheSniAndClientCertificate() {
    TlsTestPki.Material client = clientCa.issue("probe-client");
    HttpsProbe.Outcome o = HttpsProbe.trusting(serverCa.caCertificate()).withClientCertificate(client)
        .attempt(backend.port, "backend.example.com", "backend.example.com", "/x");
    assertNotNull(o.response(), o::toString);
    assertEquals(200, o.response().status(), o::toString);
    assertEquals("CN=backend.example.com", o.presentedSubject());
    assertEquals(serverCert.fingerprint(), o.presentedFingerprint());
    assertTrue(o.presentedAt() != 0);
    HttpsBackend.Seen seen = backend.seen().get(backend.seen().size() - 1);
    assertEquals(new HttpsBackend.Seen("backend.example.com", "CN=probe-client", "/x"), seen);
  }

  @Test
  void aCertificateWhoseNamesDoNotMatchTheSniFailsVerificationButIsStillReported() {
    TlsTestPki.Material client = clientCa.issue("probe-client");
    HttpsProbe.Outcome o = HttpsProbe.trusting(serverCa.caCertificate()).withClientCertificate(client)
        .attempt(backend.port, "elsewhere.example.com", "elsewhere.example.com", "/");
    assertNull(o.response(), o::toString);
    assertInstanceOf(SSLException.class, o.failure(), o::toString);
    assertEquals(serverCert.fingerprint(), o.presentedFingerprint(), o::toString);
  }

  @Test
  void aServerRequiringAClientCertificateGivesAProbeWithoutOneNoAnswer() {
    // The JDK server just closes (Envoy sends a TLS alert, which the Envoy tests assert); either way no answer.
    HttpsProbe.Outcome o = HttpsProbe.trusting(serverCa.caCertificate())
        .attempt(backend.port, "backend.example.com", "backend.example.com", "/");
    assertNull(o.response(), o::toString);
    assertNotNull(o.failure(), o::toString);
    assertTrue(backend.seen().stream().noneMatch(s -> s.clientSubject().isEmpty()), backend.seen()::toString);
  }

  @Test
  void aConnectionCarriesSeveralRequests() throws Exception {
    TlsTestPki.Material client = clientCa.issue("probe-client");
    try (HttpsProbe.Connection c = HttpsProbe.trusting(serverCa.caCertificate()).withClientCertificate(client)
        .open(backend.port, "backend.example.com")) {
      for (int i = 0; i < 3; i++) {
        assertEquals(200, c.get("backend.example.com", "/k/" + i).status());
      }
      assertEquals(3, c.requests());
    }
  }
}
