package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.security.ServeSecurity;
import io.shardgate.controlplane.security.XdsTlsFiles;
import io.shardgate.templates.TestPki;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sharded example over mutual TLS with the role identity rule, nothing faked: the control plane runs in-process
 * with {@code --xds-tls-cert/--xds-tls-key/--xds-tls-client-ca --xds-require-role-identity}, and two <b>real Envoy
 * processes</b> started from {@code bootstrap --xds-tls ...} connect to it, each with a certificate naming its own
 * shard (one as a SPIFFE ID, one as a DNS name, one key in cert-manager's default SEC1 encoding), and route
 * <b>real HTTP</b> to the example's backends. Certificates are made per run by {@link TestPki}.
 *
 * <p>That a certificate cannot read another shard's role is checked on raw streams in XdsTlsProtocolTest. Timeouts
 * are liveness bounds.
 */
class XdsMutualTlsE2ETest {

  private static final Duration LIVENESS = Duration.ofSeconds(30);
  private static final String PAYMENTS_HOST = "payments.example.com";
  private static final String CATALOG_HOST = "catalog.example.com";

  @TempDir static Path work;

  private static ExampleConfig config;
  private static HttpServer paymentsBackend;
  private static HttpServer catalogBackend;
  private static ApplicationContext controlPlane;
  private static EnvoyProcess protectedEnvoy;
  private static EnvoyProcess noisyEnvoy;

  @BeforeAll
  static void startEverything() throws Exception {
    EnvoyProcess.binary(); // fails at once, with the install command, when Envoy is missing
    int[] ports = ExampleConfig.freePorts(8);
    config = ExampleConfig.copyTo(work.resolve("config"), ports);
    Path run = Files.createDirectories(work.resolve("run"));
    Path pki = Files.createDirectories(work.resolve("pki"));
    TestPki ca = TestPki.create("shardgate-e2e-ca");
    Path caFile = ca.writeCertificate(pki.resolve("ca.crt"));
    TestPki.Issued server = ca.leaf("shardgate").sans("IP:127.0.0.1").writeTo(pki, "xds-server");
    TestPki.Issued protectedCert = ca.leaf("gateway-proxy-protected")
        .sans("URI:spiffe://cluster.local/ns/gloo-system/sa/gateway-proxy-protected").writeTo(pki, "protected");
    TestPki.Issued noisyCert = ca.leaf("gateway-proxy-noisy").sans("DNS:gateway-proxy-noisy.gloo-system")
        .keyEncoding(TestPki.KeyEncoding.TRADITIONAL).writeTo(pki, "noisy");
    int xdsPort = ports[4];
    try {
      paymentsBackend = E2eSupport.echoBackend(config.paymentsPort(), "payments-backend");
      catalogBackend = E2eSupport.echoBackend(config.catalogPort(), "catalog-backend");
      ServeSecurity security = new ServeSecurity("127.0.0.1", List.of(),
          new XdsTlsFiles(server.certificateFile(), server.keyFile(), caFile), true, "cluster.local");
      controlPlane = ServeCommand.start(config.dir(), work.resolve("state"), xdsPort, ports[5], "127.0.0.1", security);
      ServeCommand.awaitFirstTranslation(controlPlane);
      protectedEnvoy = E2eSupport.startShardEnvoy("gateway-proxy-protected", "gateway-proxy-protected", xdsPort,
          ports[6], run, tlsArgs(caFile, protectedCert));
      noisyEnvoy = E2eSupport.startShardEnvoy("gateway-proxy-noisy", "gateway-proxy-noisy", xdsPort, ports[7], run,
          tlsArgs(caFile, noisyCert));
      protectedEnvoy.awaitReady(LIVENESS);
      noisyEnvoy.awaitReady(LIVENESS);
      protectedEnvoy.awaitListener(config.protectedPort(), PAYMENTS_HOST, "/healthz", LIVENESS);
      noisyEnvoy.awaitListener(config.noisyPort(), CATALOG_HOST, "/", LIVENESS);
    } catch (Throwable t) {
      E2eSupport.printEnvoyLogs("setup", protectedEnvoy, noisyEnvoy);
      throw t;
    }
  }

  private static String[] tlsArgs(Path caFile, TestPki.Issued client) {
    return new String[] {"--xds-tls", "--xds-tls-ca", caFile.toString(), "--xds-tls-cert",
        client.certificateFile().toString(), "--xds-tls-key", client.keyFile().toString()};
  }

  @AfterAll
  static void stopEverything() {
    E2eSupport.stopAll(Arrays.asList(protectedEnvoy, noisyEnvoy), controlPlane, paymentsBackend, catalogBackend);
  }

  @Test
  void eachEnvoyServesItsOwnShardsRoutesOverMutualTls() throws IOException {
    RawHttp.Response charges = RawHttp.get(config.protectedPort(), PAYMENTS_HOST, "/payments/v1/charges");
    assertEquals(200, charges.status(), charges::toString);
    assertTrue(charges.body().contains("payments-backend path=/payments/v1/charges"), charges::toString);
    RawHttp.Response items = RawHttp.get(config.noisyPort(), CATALOG_HOST, "/items/42");
    assertEquals(200, items.status(), items::toString);
    assertTrue(items.body().contains("catalog-backend path=/items/42"), items::toString);

    RawHttp.Response noisyPayments = RawHttp.get(config.noisyPort(), PAYMENTS_HOST, "/payments/v1/charges");
    assertEquals(404, noisyPayments.status(), noisyPayments::toString);
    RawHttp.Response protectedCatalog = RawHttp.get(config.protectedPort(), CATALOG_HOST, "/items/42");
    assertEquals(404, protectedCatalog.status(), protectedCatalog::toString);
  }
}
