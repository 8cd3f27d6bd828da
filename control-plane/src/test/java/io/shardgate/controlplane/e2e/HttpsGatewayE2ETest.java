package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTPS on one shard, seen by a real TLS client: the control plane in-process on a config directory and one <b>real
 * Envoy process</b> of the shard, certificates made by the test (a tenants' CA, a client CA, an unrelated CA), and
 * real handshakes with the SNI of each host ({@link HttpsProbe}).
 *
 * <p>The config: an SSL Gateway and a plain HTTP Gateway of the same shard; tenant alpha's two VirtualServices share
 * one secret (a Kubernetes {@code kubernetes.io/tls} Secret document outside Gloo's folders), tenant beta's one
 * VirtualService has its own (Gloo's {@code secrets/<ns>/<name>.yaml} layout), tenant gamma's secret has a CA
 * ({@code rootCa}), so its host requires client certificates; a VirtualService without {@code sslConfig} is served
 * on the plain Gateway only; tenant delta's VirtualService names a secret that does not exist. Every route answers
 * with its VirtualService's name.
 */
class HttpsGatewayE2ETest {

  private static final String WWW_ALPHA = "www.alpha.example.com";
  private static final String API_ALPHA = "api.alpha.example.com";
  private static final String BETA = "beta.example.com";
  private static final String GAMMA = "gamma.example.com";
  private static final String PLAIN = "plain.example.com";
  private static final String DELTA = "delta.example.com";

  @TempDir static Path work;

  private static int httpsPort;
  private static int httpPort;
  private static ServedShard shard;
  private static TlsTestPki tenantsCa;
  private static TlsTestPki clientCa;
  private static TlsTestPki.Material alphaCert;
  private static TlsTestPki.Material betaCert;
  private static TlsTestPki.Material gammaCert;
  private static TlsTestPki.Material client;
  private static TlsTestPki.Material strangerClient;

  @RegisterExtension
  static final TestWatcher LOGS = E2eSupport.envoyLogsOnFailure(() -> new EnvoyProcess[] {
      shard == null ? null : shard.envoy});

  @BeforeAll
  static void serve() throws Exception {
    int[] ports = ExampleConfig.freePorts(5);
    httpsPort = ports[0];
    httpPort = ports[1];
    Path pki = work.resolve("pki");
    tenantsCa = TlsTestPki.create("tenants-ca", pki.resolve("tenants"));
    clientCa = TlsTestPki.create("gamma-clients-ca", pki.resolve("clients"));
    TlsTestPki strangers = TlsTestPki.create("stranger-ca", pki.resolve("strangers"));
    alphaCert = tenantsCa.issue("alpha.example.com", WWW_ALPHA, API_ALPHA);
    betaCert = tenantsCa.issue(BETA, BETA);
    gammaCert = tenantsCa.issue(GAMMA, GAMMA);
    client = clientCa.issue("partner-client");
    strangerClient = strangers.issue("stranger-client");

    Path config = work.resolve("config");
    TlsSecretFiles.writeKubernetesTlsSecret(config.resolve("tenants/alpha/alpha-tls.yaml"), "alpha", "alpha-tls",
        alphaCert, null);
    TlsSecretFiles.writeGlooTlsSecret(config, "beta", "beta-tls", betaCert, null);
    TlsSecretFiles.writeGlooTlsSecret(config, "gamma", "gamma-mtls", gammaCert, clientCa.caPem());
    write(config, GlooYaml.gatewayFile("gateway-proxy-https"),
        GlooYaml.gateway("gateway-proxy-https", httpsPort, true));
    write(config, GlooYaml.gatewayFile("gateway-proxy-http"), GlooYaml.gateway("gateway-proxy-http", httpPort, false));
    virtualService(config, "alpha", "alpha-www", WWW_ALPHA, GlooYaml.secretRef("alpha", "alpha-tls"));
    virtualService(config, "alpha", "alpha-api", API_ALPHA, GlooYaml.secretRef("alpha", "alpha-tls"));
    virtualService(config, "beta", "beta", BETA, GlooYaml.secretRef("beta", "beta-tls"));
    virtualService(config, "gamma", "gamma", GAMMA, GlooYaml.secretRef("gamma", "gamma-mtls"));
    virtualService(config, "delta", "delta", DELTA, GlooYaml.secretRef("delta", "no-such-tls"));
    virtualService(config, "plain", "plain", PLAIN, null);

    shard = ServedShard.start(config, work.resolve("run"), ports[2], ports[3], ports[4]);
    // Serving starts when the listener has warmed, i.e. every secret it references has arrived by SDS.
    E2eSupport.awaitStatus(shard.envoy, httpPort, PLAIN, "/", 200, ServedShard.LIVENESS);
    awaitHttps(BETA);
  }

  @AfterAll
  static void stop() {
    if (shard != null) {
      shard.close();
    }
  }

  @Test
  void eachHostGetsItsOwnTenantsCertificateBySni() throws Exception {
    HttpsProbe browser = HttpsProbe.trusting(tenantsCa.caCertificate());
    Map<String, TlsTestPki.Material> expected = Map.of(WWW_ALPHA, alphaCert, API_ALPHA, alphaCert, BETA, betaCert);
    Map<String, String> vs = Map.of(WWW_ALPHA, "alpha-www", API_ALPHA, "alpha-api", BETA, "beta");
    for (String host : List.of(WWW_ALPHA, API_ALPHA, BETA)) {
      HttpsProbe.Outcome o = browser.attempt(httpsPort, host, host, "/");
      assertNotNull(o.response(), () -> host + ": " + o);
      assertEquals(200, o.response().status(), () -> host + ": " + o);
      assertEquals(vs.get(host), o.response().body().strip(), () -> host + " reached another virtual host: " + o);
      // The subject, and the very certificate: alpha's two hosts share one secret, so one certificate.
      assertEquals(expected.get(host).subject(), o.presentedSubject(), () -> host + ": " + o);
      assertEquals(expected.get(host).fingerprint(), o.presentedFingerprint(), () -> host + ": " + o);
      System.out.println("E2E TLS SNI " + host + " -> " + o.presentedSubject());
    }
  }

  /**
   * Every filter chain of the SSL listener matches server names (a VirtualService's {@code sniDomains}, by default its
   * domains), and Shardgate, like Gloo, adds no catch-all chain: a client whose SNI no chain claims, or that sends
   * none, matches no filter chain, and Envoy closes the connection before any certificate is sent. So it can never
   * be handed another tenant's certificate. Envoy's {@code no_filter_chain_match} counter says that was the reason.
   */
  @Test
  void aHostWithoutAnSniMatchGetsNoCertificateOfAnotherTenant() throws Exception {
    HttpsProbe anything = HttpsProbe.recordingAnything();
    String noMatch = "listener.127.0.0.1_" + httpsPort + ".no_filter_chain_match";
    Set<String> tenants = Set.of(alphaCert.fingerprint(), betaCert.fingerprint(), gammaCert.fingerprint());
    for (String sni : new String[] {"unknown.example.com", "alpha.example.com", null}) {
      long before = shard.envoyCounter(noMatch);
      HttpsProbe.Outcome o = anything.attempt(httpsPort, sni, WWW_ALPHA, "/");
      assertFalse(tenants.contains(o.presentedFingerprint()), () -> "SNI " + sni + " got a tenant's certificate: " + o);
      assertNull(o.presented(), () -> "SNI " + sni + " was presented a certificate: " + o);
      assertNull(o.response(), () -> "SNI " + sni + " was answered: " + o);
      assertEquals(before + 1, shard.envoyCounter(noMatch), () -> "SNI " + sni + " failed for another reason: " + o);
      System.out.println("E2E TLS SNI " + sni + " -> no certificate, " + o.failure());
    }
  }

  @Test
  void mutualTlsRequiresAClientCertificateIssuedByTheSecretsCa() throws Exception {
    HttpsProbe browser = HttpsProbe.trusting(tenantsCa.caCertificate());
    // Envoy's own counters say why it refused (the client sees a TLS alert, or a reset if its request crossed it).
    String noCert = listenerSsl("fail_verify_no_cert");
    String badCert = listenerSsl("fail_verify_error");

    long noCertBefore = shard.envoyCounter(noCert);
    HttpsProbe.Outcome without = browser.attempt(httpsPort, GAMMA, GAMMA, "/");
    assertNull(without.response(), () -> "no client certificate was answered: " + without);
    assertEquals(gammaCert.fingerprint(), without.presentedFingerprint(), without::toString);
    assertEquals(noCertBefore + 1, shard.envoyCounter(noCert), () -> noCert + " did not move: " + without);

    long badCertBefore = shard.envoyCounter(badCert);
    HttpsProbe.Outcome stranger = browser.withClientCertificate(strangerClient).attempt(httpsPort, GAMMA, GAMMA, "/");
    assertNull(stranger.response(), () -> "a client certificate of another CA was answered: " + stranger);
    assertEquals(badCertBefore + 1, shard.envoyCounter(badCert), () -> badCert + " did not move: " + stranger);

    HttpsProbe.Outcome with = browser.withClientCertificate(client).attempt(httpsPort, GAMMA, GAMMA, "/");
    assertNotNull(with.response(), () -> "the CA's client certificate was refused: " + with);
    assertEquals(200, with.response().status(), with::toString);
    assertEquals("gamma", with.response().body().strip(), with::toString);
    assertEquals(gammaCert.fingerprint(), with.presentedFingerprint(), with::toString);

    // A secret without a CA asks for no client certificate: alpha answers a client that has none.
    HttpsProbe.Outcome alpha = browser.attempt(httpsPort, WWW_ALPHA, WWW_ALPHA, "/");
    assertEquals(200, alpha.response() == null ? -1 : alpha.response().status(), alpha::toString);
    System.out.println("E2E TLS mTLS: without client cert -> " + without.failure() + "; stranger's -> "
        + stranger.failure() + "; CA's -> " + with.response().status());
  }

  @Test
  void httpAndHttpsGatewaysAnswerSideBySideOnOneShard() throws Exception {
    RawHttp.Response plain = RawHttp.get(httpPort, PLAIN, "/");
    assertEquals(200, plain.status(), plain::toString);
    assertEquals("plain", plain.body().strip(), plain::toString);
    RawHttp.Response secure = HttpsProbe.trusting(tenantsCa.caCertificate()).get(httpsPort, BETA, BETA, "/");
    assertEquals(200, secure.status(), secure::toString);
    assertEquals("beta", secure.body().strip(), secure::toString);

    // Each Gateway serves only its own kind of VirtualService (Gloo's ssl rule): no TLS host over plain HTTP, and
    // the plain host not behind another tenant's certificate.
    RawHttp.Response betaOverHttp = RawHttp.get(httpPort, BETA, "/");
    assertEquals(404, betaOverHttp.status(), betaOverHttp::toString);
    RawHttp.Response plainOverHttps = HttpsProbe.trusting(tenantsCa.caCertificate()).get(httpsPort, BETA, PLAIN, "/");
    assertEquals(404, plainOverHttps.status(), plainOverHttps::toString);

    String listeners = E2eSupport.admin(shard.envoy, "/listeners");
    assertTrue(listeners.contains(ExampleConfig.listenerName(httpsPort))
        && listeners.contains(ExampleConfig.listenerName(httpPort)), listeners);
  }

  /**
   * A secret that does not exist cannot be served, so its VirtualService gets no filter chain (a chain naming an SDS
   * secret nobody sends would keep the whole listener warming forever): it is rejected naming the secret, and every
   * other host of the Gateway is served, as the other tests show.
   */
  @Test
  void aVirtualServiceWhoseSecretIsMissingIsRejectedAndGetsNoFilterChain() throws Exception {
    String vs = "VirtualService delta/delta";
    Map<?, ?> resources = shard.awaitStatus(vs + " rejected", r -> "Rejected".equals(ServedShard.status(r, vs)
        .get("state")));
    assertTrue(ServedShard.errors(resources, vs).toString().contains("delta/no-such-tls"),
        () -> "the error does not name the secret: " + ServedShard.status(resources, vs));
    HttpsProbe.Outcome o = HttpsProbe.recordingAnything().attempt(httpsPort, DELTA, DELTA, "/");
    assertNull(o.presented(), o::toString);
    assertNull(o.response(), o::toString);
    System.out.println("E2E TLS missing secret: " + vs + " " + ServedShard.status(resources, vs));
  }

  private static String listenerSsl(String counter) {
    return "listener.127.0.0.1_" + httpsPort + ".ssl." + counter;
  }

  private static void awaitHttps(String host) throws InterruptedException {
    HttpsProbe browser = HttpsProbe.trusting(tenantsCa.caCertificate());
    long deadline = System.nanoTime() + ServedShard.LIVENESS.toNanos();
    HttpsProbe.Outcome last = null;
    while (System.nanoTime() - deadline < 0) {
      shard.envoy.checkAlive();
      last = browser.attempt(httpsPort, host, host, "/");
      if (last.response() != null && last.response().status() == 200) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("https://" + host + " never answered 200 within " + ServedShard.LIVENESS + "; last: "
        + last + "\nGET /api/status: " + statusOrError());
  }

  private static String statusOrError() {
    try {
      return shard.statusBody();
    } catch (Exception e) {
      return e.toString();
    }
  }

  private static void virtualService(Path config, String namespace, String name, String host, String sslConfig)
      throws Exception {
    write(config, GlooYaml.virtualServiceFile(namespace, name),
        GlooYaml.directVirtualService(namespace, name, List.of(host), sslConfig));
  }

  private static void write(Path config, String relative, String text) throws Exception {
    TlsSecretFiles.replace(config.resolve(relative), text);
  }
}
