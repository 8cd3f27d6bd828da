package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTPS through the edge shard ends on a real HTTPS listener: the control plane in-process, two <b>real Envoy
 * processes</b> (the edge, and shard team-a with an SSL Gateway whose VirtualService has a test-made certificate),
 * and a real TLS client at the edge's TLS port.
 *
 * <ul>
 *   <li>{@code tlsMode: Passthrough} (the default): the edge relays the connection by SNI, the shard terminates it:
 *       the client is shown the shard's certificate, and only the shard's listener counts a TLS handshake;
 *   <li>{@code tlsMode: Terminate} (the Settings edited while serving): the edge terminates with the shard's own
 *       certificate (the same SDS secret) and sends the request to the shard's TLS listener, TLS again: both count a
 *       handshake, and the client is shown the same certificate.
 * </ul>
 *
 * <p>The two tests run in that order: the second edits the Settings the first served.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EdgeTlsE2ETest {

  private static final String EDGE = "gateway-proxy-edge";
  private static final String SHARD = "team-a";
  private static final String SHOP = "shop.example.com";
  private static final String SETTINGS = "settings/gloo-system/default.yaml";

  @TempDir static Path work;

  private static Path config;
  private static int shardHttpPort;
  private static int shardTlsPort;
  private static int edgePort;
  private static int edgeTlsPort;
  private static TlsTestPki ca;
  private static TlsTestPki.Material shopCert;
  private static ApplicationContext controlPlane;
  private static EnvoyProcess shardEnvoy;
  private static EnvoyProcess edgeEnvoy;

  @RegisterExtension
  static final TestWatcher LOGS = E2eSupport.envoyLogsOnFailure(() -> new EnvoyProcess[] {shardEnvoy, edgeEnvoy});

  @BeforeAll
  static void serve() throws Exception {
    EnvoyProcess.binary();
    int[] ports = ExampleConfig.freePorts(8);
    shardHttpPort = ports[0];
    shardTlsPort = ports[1];
    edgePort = ports[2];
    edgeTlsPort = ports[3];
    ca = TlsTestPki.create("edge-test-ca", work.resolve("pki"));
    shopCert = ca.issue(SHOP, SHOP);
    config = work.resolve("config");
    TlsSecretFiles.writeGlooTlsSecret(config, SHARD, "shop-tls", shopCert, null);
    TlsSecretFiles.replace(config.resolve(SETTINGS), settings("Passthrough"));
    TlsSecretFiles.replace(config.resolve(GlooYaml.gatewayFile("team-a-http")), gateway("team-a-http", shardHttpPort,
        false));
    TlsSecretFiles.replace(config.resolve(GlooYaml.gatewayFile("team-a-https")), gateway("team-a-https",
        shardTlsPort, true));
    TlsSecretFiles.replace(config.resolve(GlooYaml.virtualServiceFile(SHARD, "shop")),
        GlooYaml.directVirtualService(SHARD, "shop", List.of(SHOP), GlooYaml.secretRef(SHARD, "shop-tls")));
    Path run = Files.createDirectories(work.resolve("run"));
    try {
      controlPlane = ServeCommand.start(config, run.resolve("state"), ports[4], ports[5], "127.0.0.1");
      ServeCommand.awaitFirstTranslation(controlPlane);
      shardEnvoy = E2eSupport.startShardEnvoy(SHARD, SHARD, ports[4], ports[6], run);
      edgeEnvoy = E2eSupport.startShardEnvoy(EDGE, EDGE, ports[4], ports[7], run);
      shardEnvoy.awaitReady(ServedShard.LIVENESS);
      edgeEnvoy.awaitReady(ServedShard.LIVENESS);
    } catch (Throwable t) {
      E2eSupport.printEnvoyLogs("setup", shardEnvoy, edgeEnvoy);
      throw t;
    }
  }

  @AfterAll
  static void stop() {
    E2eSupport.stopAll(Arrays.asList(edgeEnvoy, shardEnvoy), controlPlane);
  }

  @Test
  @Order(1)
  void passthroughEndsOnTheShardsHttpsListener() throws Exception {
    HttpsProbe.Outcome o = awaitThroughEdge();
    assertEquals("shop", o.response().body().strip(), o::toString);
    assertEquals(shopCert.fingerprint(), o.presentedFingerprint(), o::toString);
    long shardBefore = handshakes(shardEnvoy, shardTlsPort);
    long edgeBefore = handshakes(edgeEnvoy, edgeTlsPort);
    HttpsProbe.Outcome again = probe();
    assertEquals(200, again.response() == null ? -1 : again.response().status(), again::toString);
    assertEquals(shardBefore + 1, handshakes(shardEnvoy, shardTlsPort), "the shard did not terminate the TLS");
    assertEquals(edgeBefore, handshakes(edgeEnvoy, edgeTlsPort), "the edge terminated the TLS it should relay");
    System.out.println("E2E TLS edge passthrough: " + again);
  }

  @Test
  @Order(2)
  void terminateAtTheEdgePresentsTheShardsCertificateAndReencryptsToTheShard() throws Exception {
    TlsSecretFiles.replace(config.resolve(SETTINGS), settings("Terminate"));
    // Served once a request through the edge is terminated by the edge itself.
    long deadline = System.nanoTime() + ServedShard.LIVENESS.toNanos();
    HttpsProbe.Outcome o = null;
    while (System.nanoTime() - deadline < 0) {
      edgeEnvoy.checkAlive();
      long edgeBefore = handshakes(edgeEnvoy, edgeTlsPort);
      long shardBefore = handshakes(shardEnvoy, shardTlsPort);
      o = probe();
      if (o.response() != null && handshakes(edgeEnvoy, edgeTlsPort) > edgeBefore) {
        assertEquals(200, o.response().status(), o.toString());
        assertEquals("shop", o.response().body().strip(), o.toString());
        assertEquals(shopCert.fingerprint(), o.presentedFingerprint(), o.toString());
        assertTrue(handshakes(shardEnvoy, shardTlsPort) > shardBefore, "the edge did not re-encrypt to the shard");
        System.out.println("E2E TLS edge terminate: " + o);
        return;
      }
      Thread.sleep(100);
    }
    fail("the edge never terminated TLS within " + ServedShard.LIVENESS + "; last: " + o + "\nedge listeners: "
        + adminOrError(edgeEnvoy, "/config_dump?resource=dynamic_listeners") + "\nedge secrets: "
        + adminOrError(edgeEnvoy, "/config_dump?resource=dynamic_active_secrets") + "\nedge warming secrets: "
        + adminOrError(edgeEnvoy, "/config_dump?resource=dynamic_warming_secrets"));
  }

  @Test
  @Order(3)
  void aNameNoShardTerminatesGetsNoCertificateFromTheEdge() {
    // Runs after the edge terminated for the shop (order 2), so the refusal is not a listener still warming.
    HttpsProbe.Outcome o = HttpsProbe.trusting(ca.caCertificate())
        .attempt(edgeTlsPort, "other.example.com", "other.example.com", "/");
    assertTrue(o.presented() == null && o.response() == null,
        "a name no shard terminates must get no certificate and no answer from the edge: " + o);
  }

  /** An admin page for a failure message; never the secrets' content (config_dump redacts private keys). */
  private static String adminOrError(EnvoyProcess envoy, String path) {
    try {
      return E2eSupport.admin(envoy, path);
    } catch (Exception | AssertionError e) {
      return e.toString();
    }
  }

  private static HttpsProbe.Outcome probe() {
    return HttpsProbe.trusting(ca.caCertificate()).attempt(edgeTlsPort, SHOP, SHOP, "/");
  }

  private static HttpsProbe.Outcome awaitThroughEdge() throws InterruptedException {
    long deadline = System.nanoTime() + ServedShard.LIVENESS.toNanos();
    HttpsProbe.Outcome last = null;
    while (System.nanoTime() - deadline < 0) {
      edgeEnvoy.checkAlive();
      shardEnvoy.checkAlive();
      last = probe();
      if (last.response() != null && last.response().status() == 200) {
        return last;
      }
      Thread.sleep(50);
    }
    return fail("https://" + SHOP + " through the edge never answered 200 within " + ServedShard.LIVENESS
        + "; last: " + last);
  }

  /** TLS handshakes Envoy's listener on 127.0.0.1:port completed (0 when it terminates none). */
  private static long handshakes(EnvoyProcess envoy, int port) throws Exception {
    String name = "listener.127.0.0.1_" + port + ".ssl.handshake";
    return ServedShard.envoyCounters(envoy, "^" + name.replace(".", "\\.") + "$").getOrDefault(name, 0L);
  }

  private static String settings(String tlsMode) {
    return """
        apiVersion: gloo.solo.io/v1
        kind: Settings
        metadata:
          name: default
          namespace: gloo-system
        spec:
          discoveryNamespace: gloo-system
          shardgate:
            edge:
              enabled: true
              tlsMode: %s
              bindAddress: 127.0.0.1
              bindPort: %d
              tlsBindPort: %d
              shardAddresses:
                team-a: 127.0.0.1:%d
              shardTlsAddresses:
                team-a: 127.0.0.1:%d
        """.formatted(tlsMode, edgePort, edgeTlsPort, shardHttpPort, shardTlsPort);
  }

  private static String gateway(String name, int port, boolean ssl) {
    return GlooYaml.gateway(name, port, ssl).replace("- " + ServedShard.PROXY + "\n", "- " + SHARD + "\n");
  }
}
