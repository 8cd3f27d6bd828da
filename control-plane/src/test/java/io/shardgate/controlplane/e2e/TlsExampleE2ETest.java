package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worked example {@code docs/examples/tls} runs as its README says: its Gateways, VirtualServices and Upstream,
 * copied with free ports, plus the secrets {@code make-certs.sh} writes, made here in Java the way the script makes
 * them (same CAs, names and subject alternative names, same files and forms: Gloo's TLS secret for the shop, a
 * Kubernetes TLS Secret with {@code ca.crt} for the partners), so the test needs no openssl. Served by the control
 * plane in-process to one <b>real Envoy process</b>, with a real backend behind the shop's Upstream; then the
 * README's curls, done with {@link HttpsProbe}: both HTTPS hosts by SNI, the partners' client certificate, and the
 * plain Gateway's redirect.
 */
class TlsExampleE2ETest {

  private static final String EXAMPLE = "docs/examples/tls";
  private static final String SHOP = "shop.example.com";
  private static final String PARTNERS = "partners.example.com";

  @TempDir static Path work;

  private static int httpsPort;
  private static int httpPort;
  private static TlsTestPki exampleCa;
  private static TlsTestPki.Material shopCert;
  private static TlsTestPki.Material partnersCert;
  private static TlsTestPki.Material partnerClient;
  private static HttpServer shopBackend;
  private static ServedShard shard;

  @RegisterExtension
  static final TestWatcher LOGS = E2eSupport.envoyLogsOnFailure(() -> new EnvoyProcess[] {
      shard == null ? null : shard.envoy});

  @BeforeAll
  static void serveTheExample() throws Exception {
    int[] ports = ExampleConfig.freePorts(6);
    httpsPort = ports[0];
    httpPort = ports[1];
    Path config = copyExample(work.resolve("config"));
    replaceOnce(config.resolve("gateways/gloo-system/gateway-proxy-https.yaml"), "bindPort: 8443",
        "bindPort: " + httpsPort);
    replaceOnce(config.resolve("gateways/gloo-system/gateway-proxy-http.yaml"), "bindPort: 8080",
        "bindPort: " + httpPort);
    replaceOnce(config.resolve("upstreams/shop/shop.yaml"), "port: 9201", "port: " + ports[2]);

    // What make-certs.sh makes (see its ca and leaf calls).
    Path pki = work.resolve("pki");
    exampleCa = TlsTestPki.create("shardgate-example-ca", pki.resolve("example"));
    TlsTestPki clientCa = TlsTestPki.create("shardgate-example-partners-client-ca", pki.resolve("partners-client"));
    shopCert = exampleCa.issue(SHOP, SHOP);
    partnersCert = exampleCa.issue(PARTNERS, PARTNERS);
    partnerClient = clientCa.issue("partner-client");
    TlsSecretFiles.writeGlooTlsSecret(config, "shop", "shop-tls", shopCert, null);
    TlsSecretFiles.writeKubernetesTlsSecret(config.resolve("secrets/partners/partners-tls.yaml"), "partners",
        "partners-tls", partnersCert, clientCa.caPem());

    shopBackend = E2eSupport.echoBackend(ports[2], "shop-backend");
    try {
      shard = ServedShard.start(config, work.resolve("run"), ports[3], ports[4], ports[5]);
    } catch (Throwable t) {
      shopBackend.stop(0);
      throw t;
    }
  }

  @AfterAll
  static void stop() {
    if (shard != null) {
      shard.close();
    }
    if (shopBackend != null) {
      shopBackend.stop(0);
    }
  }

  @Test
  void theScriptWritesTheSecretsThisTestMakes() throws IOException {
    String script = Files.readString(ExampleConfig.repoRoot().resolve(EXAMPLE).resolve("make-certs.sh"),
        StandardCharsets.UTF_8);
    for (String expected : List.of("$config/secrets/shop/shop-tls.yaml", "$config/secrets/partners/partners-tls.yaml",
        "ca example-ca shardgate-example-ca", "ca partners-client-ca shardgate-example-partners-client-ca",
        "leaf shop shop.example.com example-ca shop.example.com",
        "leaf partners partners.example.com example-ca partners.example.com",
        "leaf partner-client partner-client partners-client-ca", "ca.crt: $(b64 \"$pki/partners-client-ca.crt\")")) {
      assertTrue(script.contains(expected), () -> "make-certs.sh no longer has: " + expected);
    }
  }

  @Test
  void theShopIsServedOverHttpsWithItsCertificate() throws Exception {
    HttpsProbe curl = HttpsProbe.trusting(exampleCa.caCertificate());
    HttpsProbe.Outcome o = awaitAnswer(curl, SHOP, "/index.html");
    assertEquals(200, o.response().status(), o::toString);
    assertEquals("shop-backend path=/index.html", o.response().body().strip(), o::toString);
    assertEquals("CN=" + SHOP, o.presentedSubject(), o::toString);
    assertEquals(shopCert.fingerprint(), o.presentedFingerprint(), o::toString);
  }

  @Test
  void thePartnersApiAnswersOnlyAClientWithTheirCertificate() throws Exception {
    HttpsProbe curl = HttpsProbe.trusting(exampleCa.caCertificate());
    HttpsProbe.Outcome with = awaitAnswer(curl.withClientCertificate(partnerClient), PARTNERS, "/");
    assertEquals(200, with.response().status(), with::toString);
    assertEquals("hello, partner", with.response().body().strip(), with::toString);
    assertEquals(partnersCert.fingerprint(), with.presentedFingerprint(), with::toString);

    String noCert = "listener.127.0.0.1_" + httpsPort + ".ssl.fail_verify_no_cert";
    long before = shard.envoyCounter(noCert);
    HttpsProbe.Outcome without = curl.attempt(httpsPort, PARTNERS, PARTNERS, "/");
    assertNull(without.response(), without::toString);
    assertEquals(before + 1, shard.envoyCounter(noCert), () -> noCert + " did not move: " + without);
  }

  @Test
  void thePlainGatewayRedirectsTheShopToHttps() throws Exception {
    E2eSupport.awaitStatus(shard.envoy, httpPort, SHOP, "/cart", 301, ServedShard.LIVENESS);
    RawHttp.Response r = RawHttp.get(httpPort, SHOP, "/cart");
    assertEquals(301, r.status(), r::toString);
    assertEquals("https://" + SHOP + "/cart", r.headers().get("location"), r::toString);
  }

  /** Polls {@code https://host/path} (SNI {@code host}) until it is answered; the listener warms once. */
  private static HttpsProbe.Outcome awaitAnswer(HttpsProbe probe, String host, String path)
      throws InterruptedException {
    long deadline = System.nanoTime() + ServedShard.LIVENESS.toNanos();
    HttpsProbe.Outcome last = null;
    while (System.nanoTime() - deadline < 0) {
      shard.envoy.checkAlive();
      last = probe.attempt(httpsPort, host, host, path);
      if (last.response() != null) {
        return last;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("https://" + host + path + " was never answered within " + ServedShard.LIVENESS
        + "; last: " + last);
  }

  /** The example's Gloo folders (what make-certs.sh copies into its config directory), into {@code target}. */
  private static Path copyExample(Path target) throws IOException {
    Path source = ExampleConfig.repoRoot().resolve(EXAMPLE);
    for (String folder : List.of("gateways", "virtualservices", "upstreams")) {
      try (Stream<Path> files = Files.walk(source.resolve(folder))) {
        for (Path from : files.toList()) {
          Path to = target.resolve(source.relativize(from).toString());
          if (Files.isDirectory(from)) {
            Files.createDirectories(to);
          } else {
            Files.copy(from, to);
          }
        }
      }
    }
    return target;
  }

  private static void replaceOnce(Path file, String from, String to) throws IOException {
    String text = Files.readString(file, StandardCharsets.UTF_8);
    int at = text.indexOf(from);
    if (at < 0 || text.indexOf(from, at + 1) >= 0) {
      throw new IllegalStateException(file + " must contain '" + from + "' exactly once; the example changed?");
    }
    Files.writeString(file, text.replace(from, to), StandardCharsets.UTF_8);
  }
}
