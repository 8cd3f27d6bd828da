package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.net.httpserver.HttpServer;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.app.ServeFactory;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.consul.ConsulAgent;
import io.shardgate.controlplane.security.ServeSecurity;
import io.shardgate.controlplane.source.ConsulKvClient;
import io.shardgate.controlplane.vault.VaultKvFake;
import java.io.IOException;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HashiCorp deployment end to end, with two shards. Real: a <b>Consul 1.16.1</b> agent ({@link ConsulAgent}) that
 * holds the whole config in its KV store (loaded by the project's own {@code shardgate consul push}, the control plane
 * started as {@code serve --consul ADDR} does, with no config directory), the control plane in-process, <b>real gRPC
 * ADS</b> and one <b>real Envoy 1.40.0</b> per shard ({@code gateway-proxy-protected}, {@code gateway-proxy-noisy}),
 * each from the project's own {@code bootstrap}. Faked: <b>Vault</b> only ({@link VaultKvFake}, Vault's documented KV
 * v2 HTTP API on the JDK's HttpServer), because no Vault server builds or runs here.
 *
 * <ul>
 *   <li>a KV write (a new VirtualService on the protected shard) is served by that shard's Envoy, which gets RDS and
 *       nothing else; the noisy shard's Envoy gets nothing (its own xDS counters);
 *   <li>a certificate held only in Vault, named by a VirtualService's {@code sslConfig.secretRef}, is presented by SNI
 *       on the protected shard's HTTPS listener;
 *   <li>a {@code consul} Upstream on the noisy shard: backends registered in Consul's catalog with a passing TTL check
 *       get the traffic; failing one check removes its endpoint (the noisy Envoy gets EDS alone, the protected one
 *       nothing); passing it again brings it back.
 * </ul>
 *
 * <p>The times from a KV write and from a check change to the Envoy are printed, not asserted; they are measured
 * properly by {@code load-tests}' HashiCorpLatencyBenchmark (docs/benchmarks.md).
 */
class HashiCorpE2ETest {

  private static final Duration LIVENESS = Duration.ofSeconds(60);
  private static final String PROTECTED = "gateway-proxy-protected";
  private static final String NOISY = "gateway-proxy-noisy";
  private static final String PAYMENTS_HOST = "payments.example.com";
  private static final String CATALOG_HOST = "catalog.example.com";
  private static final String SECURE_HOST = "secure.example.com";
  private static final String INVENTORY_HOST = "inventory.example.com";
  private static final String SECRET_PATH = "gloo/gloo.solo.io/v1/Secret/payments/payments-tls";
  private static final String INVENTORY_CLUSTER = "inventory_gloo-system";
  /** Every xDS update counter Envoy keeps (LDS, CDS, RDS, EDS per cluster, SDS) and the listener changes. */
  private static final String XDS_STATS = "(update_success|update_rejected|update_failure)$"
      + "|^listener_manager\\.listener_(added|modified|removed|in_place_updated|create_success)$";

  @RegisterExtension
  static final ConsulAgent CONSUL = new ConsulAgent();

  @TempDir static Path work;

  private static final String VAULT_TOKEN = "hvs.e2e-" + UUID.randomUUID();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static ExampleConfig config;
  private static int httpsPort;
  private static int[] inventoryPorts;
  private static ConsulKvClient kv;
  private static VaultKvFake vault;
  private static TlsTestPki ca;
  private static TlsTestPki.Material vaultCertificate;
  private static ApplicationContext controlPlane;
  private static EnvoyProcess protectedEnvoy;
  private static EnvoyProcess noisyEnvoy;
  private static final List<HttpServer> backends = new ArrayList<>();

  @RegisterExtension
  static final TestWatcher LOGS = E2eSupport.envoyLogsOnFailure(() -> new EnvoyProcess[] {protectedEnvoy, noisyEnvoy});

  @BeforeAll
  static void start() throws Exception {
    EnvoyProcess.binary();
    int[] ports = ExampleConfig.freePorts(11);
    config = ExampleConfig.copyTo(work.resolve("config"), ports);
    httpsPort = ports[4];
    inventoryPorts = new int[] {ports[9], ports[10]};
    backends.add(E2eSupport.echoBackend(config.paymentsPort(), "payments"));
    backends.add(E2eSupport.echoBackend(config.catalogPort(), "catalog"));
    backends.add(E2eSupport.echoBackend(inventoryPorts[0], "inventory-1"));
    backends.add(E2eSupport.echoBackend(inventoryPorts[1], "inventory-2"));

    // The protected shard also gets an HTTPS Gateway and a VirtualService whose certificate only Vault holds.
    Files.writeString(config.file("gateways/gloo-system/gateway-proxy-protected-ssl.yaml"), """
        metadata: {name: gateway-proxy-protected-ssl, namespace: gloo-system}
        bindAddress: 127.0.0.1
        bindPort: %d
        ssl: true
        proxyNames: [gateway-proxy-protected]
        httpGateway: {virtualServiceSelector: {shard: protected}}
        """.formatted(httpsPort));
    Files.writeString(config.file("virtualservices/payments/secure.yaml"), """
        metadata: {name: secure, namespace: payments, labels: {shard: protected}}
        sslConfig:
          secretRef: {name: payments-tls, namespace: payments}
        virtualHost:
          domains: [%s]
          routes:
          - matchers: [{prefix: /}]
            directResponseAction: {status: 200, body: "secure\\n"}
        """.formatted(SECURE_HOST));
    ca = TlsTestPki.create("hashicorp-e2e-ca", work.resolve("pki"));
    vaultCertificate = ca.issue(SECURE_HOST, SECURE_HOST);
    vault = VaultKvFake.http("secret");
    vault.addToken(VAULT_TOKEN);
    vault.put(SECRET_PATH, Map.of("metadata", Map.of("name", "payments-tls", "namespace", "payments"),
        "tls", Map.of("certChain", vaultCertificate.certChain(), "privateKey", vaultCertificate.privateKey())));
    Path vaultToken = Files.writeString(work.resolve("vault-token"), VAULT_TOKEN + "\n");

    // The config lives only in Consul KV: pushed there with the project's own command, served from there.
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = E2eSupport.cli(out, err, "consul", "push", config.dir().toString(), "--consul", CONSUL.address());
    assertEquals(0, exit, () -> "consul push failed:\n" + out + err);
    assertTrue(out.toString().contains("gloo/gateway.solo.io/v1/VirtualService/payments/secure"), out::toString);
    kv = new ConsulKvClient(ConsulKvClient.Options.of(CONSUL.address()));

    Path run = Files.createDirectories(work.resolve("run"));
    controlPlane = ServeCommand.start(Map.of(ServeFactory.CONSUL, CONSUL.address(),
        ServeFactory.VAULT_ADDR, vault.address(), ServeFactory.VAULT_TOKEN_FILE, vaultToken.toString(),
        ServeFactory.VAULT_POLL_MS, 1000), run.resolve("state"), ports[5], ports[6], "127.0.0.1",
        ServeSecurity.defaults());
    ServeCommand.awaitFirstTranslation(controlPlane);
    protectedEnvoy = E2eSupport.startShardEnvoy(PROTECTED, PROTECTED, ports[5], ports[7], run);
    noisyEnvoy = E2eSupport.startShardEnvoy(NOISY, NOISY, ports[5], ports[8], run);
    protectedEnvoy.awaitReady(LIVENESS);
    noisyEnvoy.awaitReady(LIVENESS);
    awaitBody(protectedEnvoy, config.protectedPort(), PAYMENTS_HOST, "/payments/v1", "payments");
    awaitBody(noisyEnvoy, config.noisyPort(), CATALOG_HOST, "/", "catalog");
  }

  @AfterAll
  static void stop() {
    List<EnvoyProcess> envoys = new ArrayList<>();
    envoys.add(protectedEnvoy);
    envoys.add(noisyEnvoy);
    E2eSupport.stopAll(envoys, controlPlane, backends.toArray(HttpServer[]::new));
    if (vault != null) {
      vault.close();
    }
  }

  @Test
  void aKvWriteReachesItsShardsEnvoyOverRdsAloneAndTheOtherShardGetsNothing() throws Exception {
    Map<String, Long> protectedBefore = ServedShard.stableEnvoyCounters(protectedEnvoy, XDS_STATS);
    Map<String, Long> noisyBefore = ServedShard.stableEnvoyCounters(noisyEnvoy, XDS_STATS);
    String host = "kv-" + UUID.randomUUID().toString().substring(0, 8) + ".example.com";
    String name = host.substring(0, host.indexOf('.'));

    kv.put("gloo/gateway.solo.io/v1/VirtualService/payments/" + name, """
        metadata: {name: %s, namespace: payments, labels: {shard: protected}}
        virtualHost:
          domains: [%s]
          routes:
          - matchers: [{prefix: /}]
            routeAction: {single: {upstream: {name: payments, namespace: payments}}}
        """.formatted(name, host).getBytes(StandardCharsets.UTF_8));
    long written = System.nanoTime();
    long served = awaitBody(protectedEnvoy, config.protectedPort(), host, "/kv", "payments path=/kv");
    System.out.println("E2E HashiCorp KV write (PUT returned) to the first 200 through the shard's Envoy: "
        + (served - written) / 1_000_000 + " ms");

    Map<String, Long> protectedMoved = moved(protectedBefore, ServedShard.stableEnvoyCounters(protectedEnvoy,
        XDS_STATS));
    String rds = "http.http.rds." + ExampleConfig.routeConfigName(config.protectedPort()) + ".update_success";
    // State of the world: the shard's other route configuration (its HTTPS listener's) is sent along, unchanged.
    assertTrue(protectedMoved.get(rds) != null && protectedMoved.keySet().stream()
        .allMatch(k -> k.matches("http\\..+\\.rds\\..+\\.update_success")),
        () -> "the protected shard's Envoy gets the new route over RDS alone: " + protectedMoved);
    assertEquals(Map.of(), moved(noisyBefore, ServedShard.stableEnvoyCounters(noisyEnvoy, XDS_STATS)),
        "the noisy shard's Envoy is sent nothing for the protected shard's KV write");
  }

  @Test
  void aCertificateHeldInVaultIsServedBySniOnTheShardsHttpsListener() throws Exception {
    HttpsProbe browser = HttpsProbe.trusting(ca.caCertificate());
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    HttpsProbe.Outcome last = null;
    while (System.nanoTime() - deadline < 0) {
      protectedEnvoy.checkAlive();
      last = browser.attempt(httpsPort, SECURE_HOST, SECURE_HOST, "/");
      if (last.response() != null && last.response().status() == 200) {
        break;
      }
      Thread.sleep(50);
    }
    HttpsProbe.Outcome seen = last;
    assertTrue(seen != null && seen.response() != null && seen.response().status() == 200,
        () -> "https://" + SECURE_HOST + " never answered 200 within " + LIVENESS + "; last: " + seen);
    assertEquals(vaultCertificate.fingerprint(), seen.presentedFingerprint(),
        () -> "the certificate presented for " + SECURE_HOST + " is the one Vault holds: " + seen);
    assertEquals("secure\n", seen.response().body());
    assertTrue(vault.count("GET /v1/secret/data/" + SECRET_PATH) >= 1, () -> "read from Vault: " + vault.requests());
  }

  /**
   * Needs Consul service discovery (the {@code consul} Upstream and its EDS from Consul's health API). Written against
   * the issue's contract: the Upstream as Gloo writes it, the instances registered through the agent API with TTL
   * checks that the test drives.
   */
  @Test
  void aConsulUpstreamFollowsTheHealthOfItsInstancesOverEdsOnItsShardAlone() throws Exception {
    register("inventory-1", inventoryPorts[0]);
    register("inventory-2", inventoryPorts[1]);
    kv.put("gloo/gloo.solo.io/v1/Upstream/gloo-system/inventory", """
        metadata: {name: inventory, namespace: gloo-system}
        consul:
          serviceName: inventory
        """.getBytes(StandardCharsets.UTF_8));
    kv.put("gloo/gateway.solo.io/v1/VirtualService/catalog/inventory", """
        metadata: {name: inventory, namespace: catalog, labels: {shard: noisy}}
        virtualHost:
          domains: [%s]
          routes:
          - matchers: [{prefix: /}]
            routeAction: {single: {upstream: {name: inventory, namespace: gloo-system}}}
        """.formatted(INVENTORY_HOST).getBytes(StandardCharsets.UTF_8));
    awaitEndpoints("both passing instances", s -> s.contains(endpoint(0)) && s.contains(endpoint(1)));
    awaitBody(noisyEnvoy, config.noisyPort(), INVENTORY_HOST, "/", "inventory-");
    assertTrue(!E2eSupport.admin(protectedEnvoy, "/clusters").contains(INVENTORY_CLUSTER + "::"),
        "the protected shard does not route to the consul Upstream and has no cluster of it");

    Map<String, Long> protectedBefore = ServedShard.stableEnvoyCounters(protectedEnvoy, XDS_STATS);
    Map<String, Long> noisyBefore = ServedShard.stableEnvoyCounters(noisyEnvoy, XDS_STATS);
    check("fail", "inventory-1");
    long failed = System.nanoTime();
    long gone = awaitEndpoints("inventory-1 gone", s -> !s.contains(endpoint(0)) && s.contains(endpoint(1)));
    System.out.println("E2E HashiCorp check fail (PUT returned) to the endpoint gone from the Envoy's /clusters: "
        + (gone - failed) / 1_000_000 + " ms");
    for (int i = 0; i < 10; i++) {
      RawHttp.Response r = RawHttp.get(config.noisyPort(), INVENTORY_HOST, "/");
      assertEquals(200, r.status(), r::toString);
      assertTrue(r.body().startsWith("inventory-2"), () -> "only the passing instance answers: " + r);
    }
    Map<String, Long> noisyMoved = moved(noisyBefore, ServedShard.stableEnvoyCounters(noisyEnvoy, XDS_STATS));
    assertTrue(noisyMoved.containsKey("cluster." + INVENTORY_CLUSTER + ".update_success")
        && noisyMoved.keySet().stream().allMatch(k -> k.matches("cluster\\.[^.]+\\.update_success")),
        () -> "the noisy shard's Envoy gets EDS alone (no CDS, LDS or RDS): " + noisyMoved);
    assertEquals(Map.of(), moved(protectedBefore, ServedShard.stableEnvoyCounters(protectedEnvoy, XDS_STATS)),
        "the protected shard's Envoy is sent nothing for the other shard's instance change");

    check("pass", "inventory-1");
    long passed = System.nanoTime();
    long back = awaitEndpoints("inventory-1 back", s -> s.contains(endpoint(0)) && s.contains(endpoint(1)));
    System.out.println("E2E HashiCorp check pass (PUT returned) to the endpoint back in the Envoy's /clusters: "
        + (back - passed) / 1_000_000 + " ms");
    awaitBody(noisyEnvoy, config.noisyPort(), INVENTORY_HOST, "/", "inventory-1");
  }

  // ---- Consul's agent API ----

  /** Registers an instance of service {@code inventory} on 127.0.0.1:port with a passing TTL check {@code id-ttl}. */
  private static void register(String id, int port) throws Exception {
    consulPut("/v1/agent/service/register", """
        {"ID": "%s", "Name": "inventory", "Address": "127.0.0.1", "Port": %d,
         "Check": {"CheckID": "%s-ttl", "TTL": "10m", "Status": "passing"}}
        """.formatted(id, port, id));
  }

  /** {@code PUT /v1/agent/check/pass|fail/<id>-ttl}: the test decides the health, no timing involved. */
  private static void check(String passOrFail, String id) throws Exception {
    consulPut("/v1/agent/check/" + passOrFail + "/" + id + "-ttl", "");
  }

  private static void consulPut(String path, String body) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(CONSUL.address() + path))
        .timeout(Duration.ofSeconds(30)).PUT(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), () -> "PUT " + path + ": " + r.body());
  }

  // ---- what the Envoys show ----

  private static String endpoint(int instance) {
    return INVENTORY_CLUSTER + "::127.0.0.1:" + inventoryPorts[instance] + "::";
  }

  /** Polls the noisy Envoy's {@code /clusters} until {@code condition} holds; returns when it first did. */
  private static long awaitEndpoints(String what, Predicate<String> condition) throws Exception {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    String last = "";
    while (System.nanoTime() - deadline < 0) {
      noisyEnvoy.checkAlive();
      last = E2eSupport.admin(noisyEnvoy, "/clusters");
      if (condition.test(last)) {
        return System.nanoTime();
      }
      Thread.sleep(10);
    }
    String seen = last;
    return fail("the noisy Envoy's /clusters never showed " + what + " within " + LIVENESS + "; its inventory lines: "
        + seen.lines().filter(l -> l.startsWith(INVENTORY_CLUSTER)).toList());
  }

  /** Polls {@code host path} on an Envoy's listener until it answers 200 with a body starting with {@code body}. */
  private static long awaitBody(EnvoyProcess envoy, int port, String host, String path, String body)
      throws InterruptedException {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    String last = "no answer";
    while (System.nanoTime() - deadline < 0) {
      envoy.checkAlive();
      try {
        RawHttp.Response r = RawHttp.get(port, host, path);
        if (r.status() == 200 && r.body().startsWith(body)) {
          return System.nanoTime();
        }
        last = r.toString();
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(5);
    }
    return fail(host + path + " on " + envoy.name + " never answered 200 '" + body + "...' within " + LIVENESS
        + "; last: " + last);
  }

  /** The counters whose values differ, by how much. */
  private static Map<String, Long> moved(Map<String, Long> before, Map<String, Long> after) {
    Map<String, Long> moved = new TreeMap<>();
    after.forEach((k, v) -> {
      if (!v.equals(before.getOrDefault(k, 0L))) {
        moved.put(k, v - before.getOrDefault(k, 0L));
      }
    });
    return moved;
  }
}
