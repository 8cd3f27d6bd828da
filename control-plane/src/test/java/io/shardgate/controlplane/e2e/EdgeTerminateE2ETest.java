package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.templates.TestPki;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code spec.shardgate.edge.tlsMode: Terminate} end to end, with <b>three real Envoys</b> (protected, noisy, edge)
 * from the project's bootstraps and a certificate made by the test in a Kubernetes Secret document of the config
 * directory: an HTTPS client that trusts only the test CA reaches the protected shard's TLS-only host through the
 * edge. The edge presents the shard's certificate (served to the edge over SDS, the same secret the shard uses),
 * routes by Host, and re-encrypts to the shard's SSL listener with the Host as SNI, whose direct response proves
 * where the request ended.
 */
class EdgeTerminateE2ETest {

  private static final Duration LIVENESS = Duration.ofSeconds(30);
  private static final String SECURE_HOST = "secure.payments.example.com";
  private static final String EDGE = "gateway-proxy-edge";

  @TempDir static Path work;

  private static ExampleConfig config;
  private static int edgeTlsPort;
  private static X509Certificate ca;
  private static ApplicationContext controlPlane;
  private static EnvoyProcess protectedEnvoy;
  private static EnvoyProcess noisyEnvoy;
  private static EnvoyProcess edgeEnvoy;

  @RegisterExtension
  static final TestWatcher ENVOY_LOGS_ON_FAILURE =
      E2eSupport.envoyLogsOnFailure(() -> new EnvoyProcess[] {protectedEnvoy, noisyEnvoy, edgeEnvoy});

  @BeforeAll
  static void startEverything() throws Exception {
    EnvoyProcess.binary(); // fails at once, with the install command, when Envoy is missing
    int[] ports = ExampleConfig.freePorts(12);
    config = ExampleConfig.copyTo(work.resolve("config"), ports);
    int xdsPort = ports[4];
    int adminPort = ports[5];
    int edgePort = ports[9];
    edgeTlsPort = ports[10];
    int protectedTlsPort = ports[11];
    config.replace("settings/gloo-system/default.yaml", "gateway:\n", """
        shardgate:
          edge:
            enabled: true
            tlsMode: Terminate
            bindAddress: 127.0.0.1
            bindPort: %d
            tlsBindPort: %d
            shardAddresses:
              gateway-proxy-protected: 127.0.0.1:%d
              gateway-proxy-noisy: 127.0.0.1:%d
            shardTlsAddresses:
              gateway-proxy-protected: 127.0.0.1:%d
        gateway:
        """.formatted(edgePort, edgeTlsPort, config.protectedPort(), config.noisyPort(), protectedTlsPort));
    TestPki pki = TestPki.create("edge-terminate-ca");
    ca = pki.certificate();
    TestPki.Issued cert = pki.leaf(SECURE_HOST).sans("DNS:" + SECURE_HOST).writeTo(work.resolve("pki"), "secure");
    Base64.Encoder b64 = Base64.getEncoder();
    Files.writeString(config.dir().resolve("secure-payments.yaml"), """
        apiVersion: v1
        kind: Secret
        type: kubernetes.io/tls
        metadata: {name: secure-payments-tls, namespace: payments}
        data:
          tls.crt: %s
          tls.key: %s
        ---
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata: {name: gateway-proxy-protected-https, namespace: gloo-system}
        spec:
          bindAddress: 127.0.0.1
          bindPort: %d
          ssl: true
          proxyNames: [gateway-proxy-protected]
          httpGateway: {virtualServiceSelector: {shard: protected}}
        ---
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: secure-payments, namespace: payments, labels: {shard: protected}}
        spec:
          sslConfig: {secretRef: {name: secure-payments-tls}}
          virtualHost:
            domains: [%s]
            routes: [{directResponseAction: {status: 200, body: "secure payments on the protected shard"}}]
        """.formatted(b64.encodeToString(Files.readAllBytes(cert.certificateFile())),
        b64.encodeToString(Files.readAllBytes(cert.keyFile())), protectedTlsPort, SECURE_HOST));
    Path run = Files.createDirectories(work.resolve("run"));
    controlPlane = ServeCommand.start(config.dir(), xdsPort, adminPort, "127.0.0.1");
    ServeCommand.awaitFirstTranslation(controlPlane);
    protectedEnvoy = E2eSupport.startShardEnvoy("gateway-proxy-protected", "gateway-proxy-protected", xdsPort,
        ports[6], run);
    noisyEnvoy = E2eSupport.startShardEnvoy("gateway-proxy-noisy", "gateway-proxy-noisy", xdsPort, ports[7], run);
    edgeEnvoy = E2eSupport.startShardEnvoy(EDGE, EDGE, xdsPort, ports[8], run);
    for (EnvoyProcess envoy : new EnvoyProcess[] {protectedEnvoy, noisyEnvoy, edgeEnvoy}) {
      envoy.awaitReady(LIVENESS);
    }
  }

  @AfterAll
  static void stopEverything() {
    E2eSupport.stopAll(Arrays.asList(edgeEnvoy, protectedEnvoy, noisyEnvoy), controlPlane);
  }

  @Test
  void theEdgeTerminatesWithTheShardsCertificateAndTheShardAnswers() throws Exception {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    Response last = null;
    // The edge's TLS listener warms once its SDS secret arrives: wait for the answer, reporting what was last seen.
    while (System.nanoTime() - deadline < 0) {
      try {
        last = get(SECURE_HOST, "/");
        if (last.status() == 200) {
          break;
        }
      } catch (IOException e) {
        last = new Response(-1, e.toString(), null);
      }
      Thread.sleep(250);
    }
    Response r = last;
    assertEquals(200, r.status(), () -> "through the edge's TLS port: " + r);
    assertTrue(r.body().contains("secure payments on the protected shard"), r::toString);
    // The certificate the client saw is the shard's (the edge serves the same secret), verified against the test CA.
    assertEquals("CN=" + SECURE_HOST, r.certificate().getSubjectX500Principal().getName());
    assertEquals(ca.getSubjectX500Principal(), r.certificate().getIssuerX500Principal());
    // Terminated at the edge, not passed through (the shard would answer the same): the edge's own HTTPS
    // connection manager counted the request.
    String stats = E2eSupport.admin(edgeEnvoy, "/stats?filter=http.edge_https.downstream_rq_2xx");
    long served = stats.lines().filter(l -> l.startsWith("http.edge_https.downstream_rq_2xx:"))
        .mapToLong(l -> Long.parseLong(l.substring(l.indexOf(':') + 1).trim())).sum();
    assertTrue(served >= 1, "the edge's HTTPS connection manager served nothing:\n" + stats);
  }

  @Test
  void aNameNoShardTerminatesGetsNoCertificate() {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    // Wait until the listener serves the real host, so a refusal below is not just a listener still warming.
    while (System.nanoTime() - deadline < 0) {
      try {
        if (get(SECURE_HOST, "/").status() == 200) {
          break;
        }
      } catch (IOException | InterruptedException e) {
        // not yet
      }
    }
    IOException refused = null;
    try {
      get("other.example.com", "/");
    } catch (IOException e) {
      refused = e;
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    assertTrue(refused != null, "a TLS handshake for a name no shard terminates must fail");
  }

  private record Response(int status, String body, X509Certificate certificate) {}

  /** An HTTPS/1.1 request to the edge's TLS port with {@code host} as SNI and Host, trusting only the test CA. */
  private static Response get(String host, String path) throws IOException, InterruptedException {
    SSLContext tls;
    try {
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      trust.setCertificateEntry("ca", ca);
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      tls = SSLContext.getInstance("TLS");
      tls.init(null, tmf.getTrustManagers(), null);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    try (SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket()) {
      SSLParameters params = socket.getSSLParameters();
      params.setServerNames(List.of(new SNIHostName(host)));
      params.setApplicationProtocols(new String[] {"http/1.1"});
      socket.setSSLParameters(params);
      socket.connect(new InetSocketAddress("127.0.0.1", edgeTlsPort), 2_000);
      socket.setSoTimeout(10_000);
      socket.startHandshake();
      X509Certificate served = (X509Certificate) socket.getSession().getPeerCertificates()[0];
      OutputStream out = socket.getOutputStream();
      out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      in.transferTo(bytes);
      String text = bytes.toString(StandardCharsets.ISO_8859_1);
      int space = text.indexOf(' ');
      int status = space < 0 ? -1 : Integer.parseInt(text.substring(space + 1, space + 4));
      return new Response(status, text, served);
    }
  }
}
