package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.templates.TestPki;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;

/**
 * The edge shard end to end: the sharded example with {@code spec.shardgate.edge} enabled in its Settings, served by
 * the control plane in-process to <b>three real Envoys</b> (protected, noisy, and the edge, each from the project's
 * own {@code bootstrap} command). Requests sent to the edge Envoy reach the right shard by Host, and through it the
 * right backend; a host no shard claims gets 404 at the edge. TLS is passed through by SNI without being terminated,
 * for the names the protected shard's TLS filter chains match: a plain TCP server standing in for that shard's TLS
 * address receives the client's ClientHello as sent.
 */
class EdgeShardE2ETest {

  private static final Duration LIVENESS = Duration.ofSeconds(20);
  private static final String PAYMENTS_HOST = "payments.example.com";
  private static final String CATALOG_HOST = "catalog.example.com";
  private static final String EDGE = "gateway-proxy-edge";

  @TempDir static Path work;

  private static ExampleConfig config;
  private static int edgePort;
  private static int edgeTlsPort;
  private static int adminPort;
  private static HttpServer paymentsBackend;
  private static HttpServer catalogBackend;
  private static TlsStandIn protectedTls;
  private static ApplicationContext controlPlane;
  private static EnvoyProcess protectedEnvoy;
  private static EnvoyProcess noisyEnvoy;
  private static EnvoyProcess edgeEnvoy;

  @RegisterExtension
  static final TestWatcher ENVOY_LOGS_ON_FAILURE = new TestWatcher() {
    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
      printEnvoyLogs(context.getDisplayName());
    }
  };

  @BeforeAll
  static void startEverything() throws Exception {
    EnvoyProcess.binary(); // fails at once, with the install command, when Envoy is missing
    int[] ports = ExampleConfig.freePorts(13);
    config = ExampleConfig.copyTo(work.resolve("config"), ports);
    int xdsPort = ports[4];
    adminPort = ports[5];
    edgePort = ports[9];
    edgeTlsPort = ports[10];
    int tlsStandInPort = ports[11];
    // The Settings file is in Gloo's flat form: the shardgate block goes at the top level.
    config.replace("settings/gloo-system/default.yaml", "gateway:\n", """
        shardgate:
          edge:
            enabled: true
            bindAddress: 127.0.0.1
            bindPort: %d
            tlsBindPort: %d
            shardAddresses:
              gateway-proxy-protected: 127.0.0.1:%d
              gateway-proxy-noisy: 127.0.0.1:%d
            shardTlsAddresses:
              gateway-proxy-protected: 127.0.0.1:%d
        gateway:
        """.formatted(edgePort, edgeTlsPort, config.protectedPort(), config.noisyPort(), tlsStandInPort));
    // The protected shard terminates TLS for the payments host (an SSL Gateway with a certificate made here): the
    // edge passes through exactly the SNI names of the shards' TLS filter chains.
    TestPki.Issued cert = TestPki.create("edge-e2e-ca").leaf(PAYMENTS_HOST).sans("DNS:" + PAYMENTS_HOST)
        .writeTo(work.resolve("pki"), "payments");
    Files.writeString(config.dir().resolve("payments-https.yaml"), """
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
        metadata: {name: payments-https, namespace: payments, labels: {shard: protected}}
        spec:
          sslConfig: {sslFiles: {tlsCert: "%s", tlsKey: "%s"}}
          virtualHost:
            domains: [%s]
            routes: [{directResponseAction: {status: 200, body: payments over TLS}}]
        """.formatted(ports[12], cert.certificateFile(), cert.keyFile(), PAYMENTS_HOST));
    Path run = Files.createDirectories(work.resolve("run"));
    try {
      paymentsBackend = E2eSupport.echoBackend(config.paymentsPort(), "payments-backend");
      catalogBackend = E2eSupport.echoBackend(config.catalogPort(), "catalog-backend");
      protectedTls = new TlsStandIn(tlsStandInPort);
      controlPlane = ServeCommand.start(config.dir(), xdsPort, adminPort, "127.0.0.1");
      ServeCommand.awaitFirstTranslation(controlPlane);
      protectedEnvoy = E2eSupport.startShardEnvoy("gateway-proxy-protected", "gateway-proxy-protected", xdsPort, ports[6], run);
      noisyEnvoy = E2eSupport.startShardEnvoy("gateway-proxy-noisy", "gateway-proxy-noisy", xdsPort, ports[7], run);
      edgeEnvoy = E2eSupport.startShardEnvoy(EDGE, EDGE, xdsPort, ports[8], run);
      for (EnvoyProcess envoy : new EnvoyProcess[] {protectedEnvoy, noisyEnvoy, edgeEnvoy}) {
        envoy.awaitReady(LIVENESS);
      }
      protectedEnvoy.awaitListener(config.protectedPort(), PAYMENTS_HOST, "/healthz", LIVENESS);
      noisyEnvoy.awaitListener(config.noisyPort(), CATALOG_HOST, "/", LIVENESS);
      edgeEnvoy.awaitListener(edgePort, PAYMENTS_HOST, "/healthz", LIVENESS);
    } catch (Throwable t) {
      printEnvoyLogs("setup");
      throw t;
    }
  }

  @AfterAll
  static void stopEverything() throws IOException {
    E2eSupport.stopAll(Arrays.asList(edgeEnvoy, protectedEnvoy, noisyEnvoy), controlPlane, paymentsBackend,
        catalogBackend);
    if (protectedTls != null) {
      protectedTls.close();
    }
  }

  @Test
  void thePaymentsHostGoesThroughTheEdgeToTheProtectedShard() throws IOException {
    RawHttp.Response r = RawHttp.get(edgePort, PAYMENTS_HOST, "/payments/v1/charges");
    assertEquals(200, r.status(), r::toString);
    assertTrue(r.body().contains("payments-backend"), r::toString);
    assertTrue(r.body().contains("path=/payments/v1/charges"), r::toString);
    // A route only the protected shard has (a direct response), so the answer cannot come from anywhere else.
    RawHttp.Response health = RawHttp.get(edgePort, PAYMENTS_HOST, "/healthz");
    assertEquals(200, health.status(), health::toString);
    assertTrue(health.body().contains("payments gateway ok"), health::toString);
  }

  @Test
  void theCatalogHostGoesThroughTheEdgeToTheNoisyShard() throws IOException {
    RawHttp.Response r = RawHttp.get(edgePort, CATALOG_HOST, "/items/42");
    assertEquals(200, r.status(), r::toString);
    assertTrue(r.body().contains("catalog-backend"), r::toString);
    assertTrue(r.body().contains("path=/items/42"), r::toString);
  }

  @Test
  void anUnknownHostGets404AtTheEdge() throws IOException {
    RawHttp.Response r = RawHttp.get(edgePort, "unknown.example.com", "/items/42");
    assertEquals(404, r.status(), r::toString);
    assertFalse(r.body().contains("backend"), r::toString);
  }

  @Test
  void tlsIsPassedThroughBySniToTheShardThatClaimsTheName() throws Exception {
    protectedTls.received.clear();
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    byte[] hello = null;
    // The TLS listener arrives with the edge's first snapshot, but may be warming a moment after /ready.
    while (hello == null && System.nanoTime() - deadline < 0) {
      tryTls(PAYMENTS_HOST);
      hello = protectedTls.received.poll(1, TimeUnit.SECONDS);
    }
    assertTrue(hello != null, "the protected shard's TLS port never received the ClientHello for " + PAYMENTS_HOST);
    assertEquals(0x16, hello[0], "a TLS handshake record, passed through untouched");
    assertTrue(new String(hello, StandardCharsets.ISO_8859_1).contains(PAYMENTS_HOST), "the SNI is in it");

    // A name no shard claims matches no filter chain: the edge closes the connection and nothing is forwarded.
    protectedTls.received.clear();
    tryTls("unknown.example.com");
    assertEquals(null, protectedTls.received.poll(1, TimeUnit.SECONDS));
  }

  @Test
  void shardsApiAndPlanCommandShowTheEdge() throws Exception {
    RawHttp.Response r = RawHttp.get(adminPort, "127.0.0.1:" + adminPort, "/api/shards");
    assertEquals(200, r.status(), r::toString);
    assertTrue(r.body().contains("\"gloo-system~" + EDGE + "\""), r::toString);
    assertTrue(r.body().contains("\"gloo-system~gateway-proxy-protected\""), r::toString);
    assertTrue(r.body().contains("\"fingerprint\""), r::toString);
    assertTrue(r.body().contains("\"connectedEnvoys\":1"), r::toString);

    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = E2eSupport.cli(out, err, "plan", "--config-dir", config.dir().toString());
    assertEquals(0, exit, () -> out + "\n" + err);
    assertTrue(out.toString().contains("Edge " + EDGE), out::toString);
    assertTrue(out.toString().matches("(?s).*payments\\.example\\.com\\s+gateway-proxy-protected\\s+127\\.0\\.0\\.1:"
        + config.protectedPort() + ".*"), out::toString);
  }

  // ---- helpers ----

  /** Starts a TLS handshake with {@code sni} against the edge's TLS port; it cannot complete, and need not. */
  private static void tryTls(String sni) throws Exception {
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, null, null);
    try (SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket()) {
      SSLParameters params = socket.getSSLParameters();
      params.setServerNames(List.of(new SNIHostName(sni)));
      socket.setSSLParameters(params);
      socket.connect(new InetSocketAddress("127.0.0.1", edgeTlsPort), 1_000);
      socket.setSoTimeout(2_000);
      socket.startHandshake();
    } catch (IOException expected) {
      // the stand-in never answers the ClientHello; the edge may also refuse or close
    }
  }

  /** A plain TCP server that records the first bytes of each connection: where the protected shard takes TLS. */
  private static final class TlsStandIn implements AutoCloseable {
    final BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
    private final ServerSocket server;
    private final Thread acceptor;

    TlsStandIn(int port) throws IOException {
      server = new ServerSocket(port, 50, InetAddress.getLoopbackAddress());
      acceptor = new Thread(this::acceptLoop, "tls-stand-in");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    private void acceptLoop() {
      while (!server.isClosed()) {
        try (Socket s = server.accept()) {
          s.setSoTimeout(1_000);
          InputStream in = s.getInputStream();
          ByteArrayOutputStream bytes = new ByteArrayOutputStream();
          byte[] buf = new byte[4096];
          try {
            int n;
            while (bytes.size() < 5 + 512 && (n = in.read(buf)) > 0) {
              bytes.write(buf, 0, n);
            }
          } catch (SocketTimeoutException enough) {
            // the client sent its ClientHello and waits for an answer that never comes
          }
          if (bytes.size() > 0) {
            received.add(bytes.toByteArray());
          }
        } catch (IOException e) {
          // closed, or a connection that went away: keep accepting while open
        }
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }

  private static void printEnvoyLogs(String what) {
    E2eSupport.printEnvoyLogs(what, protectedEnvoy, noisyEnvoy, edgeEnvoy);
  }
}
