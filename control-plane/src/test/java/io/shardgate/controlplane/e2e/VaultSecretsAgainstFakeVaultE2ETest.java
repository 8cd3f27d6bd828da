package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import io.shardgate.controlplane.app.ServeFactory;
import io.shardgate.controlplane.vault.VaultKvFake;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A certificate held in Vault, served to a <b>real Envoy</b> by SNI, with Vault being a <b>fake</b> ({@link
 * VaultKvFake}: Vault's KV v2 HTTP API on the JDK's HttpServer; no Vault server builds here) and the rest of the
 * configuration in a directory: the control plane in-process with {@code --vault-addr} (a token file, a poll interval
 * of 1 s). The directory holds no secret at all.
 *
 * <ul>
 *   <li>the SSL Gateway's VirtualService, whose {@code secretRef} only Vault holds (at Gloo's path), is served with
 *       Vault's certificate;
 *   <li>each new version written to Vault is presented by Envoy (the time from the write to the first handshake
 *       presenting it is printed, not asserted), and Envoy counted SDS updates only: no LDS, RDS or CDS update, no
 *       listener modified;
 *   <li>with the token revoked (403) Envoy keeps presenting the last version read, and a new version is picked up
 *       again once the token is back;
 *   <li>no log line of the control plane (everything it logged once started) holds the token or a line of
 *       any certificate's or key's PEM body.
 * </ul>
 */
class VaultSecretsAgainstFakeVaultE2ETest {

  private static final String HOST = "vault-shop.example.com";
  private static final String NAMESPACE = "web";
  private static final String SECRET = "vault-tls";
  private static final String PATH = "gloo/gloo.solo.io/v1/Secret/" + NAMESPACE + "/" + SECRET;
  private static final String XDS_AND_LISTENER_STATS =
      "(update_success|update_rejected|update_failure)$|^listener_manager\\.listener_(added|modified|removed"
          + "|in_place_updated|create_success)$";

  @TempDir static Path work;

  private static final String TOKEN = "hvs.e2e-" + UUID.randomUUID();
  private static int httpsPort;
  private static VaultKvFake vault;
  private static ServedShard shard;
  private static TlsTestPki ca;
  private static TlsTestPki.Material first;
  private static final ListAppender<ILoggingEvent> LOG_LINES = new ListAppender<>();
  private static final Logger ROOT = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  private static final List<TlsTestPki.Material> ISSUED = new ArrayList<>();

  @RegisterExtension
  static final TestWatcher LOGS = E2eSupport.envoyLogsOnFailure(() -> shard == null ? new EnvoyProcess[0]
      : shard.envoys.toArray(EnvoyProcess[]::new));

  @BeforeAll
  static void serve() throws Exception {
    int[] ports = ExampleConfig.freePorts(4);
    httpsPort = ports[0];
    ca = TlsTestPki.create("vault-e2e-ca", work.resolve("pki"));
    first = ca.issue(HOST, HOST);
    vault = VaultKvFake.http("secret");
    vault.addToken(TOKEN);
    vault.put(PATH, glooSecret(first));
    Path config = work.resolve("config");
    TlsSecretFiles.replace(config.resolve(GlooYaml.gatewayFile("gateway-proxy-https")),
        GlooYaml.gateway("gateway-proxy-https", httpsPort, true));
    TlsSecretFiles.replace(config.resolve(GlooYaml.virtualServiceFile(NAMESPACE, "shop")),
        GlooYaml.directVirtualService(NAMESPACE, "shop", List.of(HOST), GlooYaml.secretRef(NAMESPACE, SECRET)));
    Path tokenFile = Files.writeString(work.resolve("vault-token"), TOKEN + "\n");
    shard = ServedShard.start(config, work.resolve("run"), ports[1], ports[2], ports[3], 0, Map.of(
        ServeFactory.VAULT_ADDR, vault.address(), ServeFactory.VAULT_TOKEN_FILE, tokenFile.toString(),
        ServeFactory.VAULT_POLL_MS, 1000));
    // After the start: the application context may set logging up again while it starts.
    LOG_LINES.start();
    ROOT.addAppender(LOG_LINES);
  }

  @AfterAll
  static void stop() {
    ROOT.detachAppender(LOG_LINES);
    if (shard != null) {
      shard.close();
    }
    if (vault != null) {
      vault.close();
    }
  }

  @Test
  void aVaultHeldCertificateIsServedBySniAndEachNewVersionReachesEnvoyOverSdsAlone() throws Exception {
    awaitPresented(first, null);
    Map<String, Long> before = ServedShard.stableEnvoyCounters(shard.envoy, XDS_AND_LISTENER_STATS);
    List<Long> latencies = new ArrayList<>();
    TlsTestPki.Material current = first;
    for (int i = 0; i < 3; i++) {
      TlsTestPki.Material next = ca.issue(HOST, HOST);
      long written = System.nanoTime();
      vault.put(PATH, glooSecret(next));
      latencies.add((awaitPresented(next, null) - written) / 1_000_000);
      current = next;
    }
    System.out.println("E2E Vault (fake) new version to the first handshake presenting it, ms, poll interval 1 s: "
        + latencies);

    vault.revoke(TOKEN);
    TlsTestPki.Material unread = ca.issue(HOST, HOST);
    vault.put(PATH, glooSecret(unread));
    long polls = vault.count("GET /v1/secret/data/" + PATH);
    long deadline = System.nanoTime() + ServedShard.LIVENESS.toNanos();
    while (vault.count("GET /v1/secret/data/" + PATH) < polls + 3) {
      if (System.nanoTime() - deadline > 0) {
        fail("the control plane stopped polling Vault: " + vault.requests());
      }
      Thread.sleep(100);
    }
    HttpsProbe.Outcome o = HttpsProbe.trusting(ca.caCertificate()).attempt(httpsPort, HOST, HOST, "/");
    assertEquals(current.fingerprint(), o.presentedFingerprint(), "with the token revoked (403), the last version"
        + " read keeps serving: " + o);
    assertEquals(200, o.response().status(), o::toString);
    vault.addToken(TOKEN);
    awaitPresented(unread, null);

    Map<String, Long> after = ServedShard.stableEnvoyCounters(shard.envoy, XDS_AND_LISTENER_STATS);
    Map<String, Long> moved = new TreeMap<>();
    after.forEach((k, v) -> {
      if (!v.equals(before.getOrDefault(k, 0L))) {
        moved.put(k, v - before.getOrDefault(k, 0L));
      }
    });
    System.out.println("E2E Vault (fake) Envoy counters that moved across 4 new versions: " + moved);
    assertTrue(!moved.isEmpty() && moved.keySet().stream().allMatch(k -> k.startsWith("sds.")
        && k.endsWith(".update_success")), () -> "only SDS may update: " + moved);
    assertTrue(moved.getOrDefault("sds." + SECRET + "_" + NAMESPACE + ".update_success", 0L) >= 4,
        () -> "one SDS update per version at least: " + moved);

    List<String> lines = new ArrayList<>();
    for (ILoggingEvent e : List.copyOf(LOG_LINES.list)) {
      lines.add(e.getFormattedMessage());
      if (e.getThrowableProxy() != null) {
        lines.add(ThrowableProxyUtil.asString(e.getThrowableProxy()));
      }
    }
    String logged = String.join("\n", lines);
    assertTrue(logged.contains("Vault secret " + NAMESPACE + "/" + SECRET + ": version "),
        () -> "the control plane's log was captured: " + lines);
    assertTrue(!logged.contains(TOKEN), "a log line shows the Vault token");
    for (TlsTestPki.Material m : ISSUED) {
      for (String line : (m.certChain() + m.privateKey()).split("\n")) {
        if (!line.startsWith("-----") && line.length() > 20) {
          assertTrue(!logged.contains(line), () -> "a log line shows PEM material of " + m);
        }
      }
    }
  }

  /** Gloo's Secret as solo-kit's Vault client writes it to {@code data.data}. */
  private static Map<String, Object> glooSecret(TlsTestPki.Material m) {
    ISSUED.add(m);
    return Map.of("metadata", Map.of("name", SECRET, "namespace", NAMESPACE),
        "tls", Map.of("certChain", m.certChain(), "privateKey", m.privateKey()));
  }

  /** Waits until {@link #HOST} answers 200 presenting {@code expected}; returns when it first did (nanoTime). */
  private static long awaitPresented(TlsTestPki.Material expected, Object unused) throws InterruptedException {
    HttpsProbe browser = HttpsProbe.trusting(ca.caCertificate());
    long deadline = System.nanoTime() + ServedShard.LIVENESS.toNanos();
    HttpsProbe.Outcome last = null;
    while (System.nanoTime() - deadline < 0) {
      shard.envoy.checkAlive();
      last = browser.attempt(httpsPort, HOST, HOST, "/");
      if (last.response() != null && last.response().status() == 200
          && expected.fingerprint().equals(last.presentedFingerprint())) {
        return last.presentedAt();
      }
      Thread.sleep(20);
    }
    fail("https://" + HOST + " never presented " + expected + " within " + ServedShard.LIVENESS + "; last: " + last
        + "; Vault saw: " + vault.requests().subList(Math.max(0, vault.requests().size() - 5),
        vault.requests().size()));
    return 0;
  }
}
