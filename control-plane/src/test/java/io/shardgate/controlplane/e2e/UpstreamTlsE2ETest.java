package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;

/**
 * An Upstream with {@code sslConfig} reaches an HTTPS backend through a real Envoy: the control plane in-process,
 * one <b>real Envoy process</b> of the shard, and a JDK HTTPS backend ({@link HttpsBackend}) that serves a
 * certificate of its own CA and requires a client certificate of another. The Upstream's secret holds Envoy's client
 * certificate and, as {@code ca.crt}, the backend's CA; its {@code sni} names the backend.
 *
 * <p>Proven from both ends: the request is answered by the backend, which saw the Upstream's SNI and Envoy's client
 * certificate; and the root CA is really checked, because a second Upstream to the same backend whose secret trusts
 * another CA gets no answer from it (503, Envoy's TLS verification failure counter moves, the backend sees no
 * request).
 */
class UpstreamTlsE2ETest {

  private static final String HOST = "api.example.com";
  private static final String BACKEND_SNI = "backend.internal.example.com";

  @TempDir static Path work;

  private static int httpPort;
  private static ServedShard shard;
  private static HttpsBackend backend;

  @RegisterExtension
  static final TestWatcher LOGS = E2eSupport.envoyLogsOnFailure(() -> new EnvoyProcess[] {
      shard == null ? null : shard.envoy});

  @BeforeAll
  static void serve() throws Exception {
    int[] ports = ExampleConfig.freePorts(4);
    httpPort = ports[0];
    Path pki = work.resolve("pki");
    TlsTestPki backendCa = TlsTestPki.create("backend-ca", pki.resolve("backend"));
    TlsTestPki envoyClientCa = TlsTestPki.create("envoy-client-ca", pki.resolve("envoy-clients"));
    TlsTestPki otherCa = TlsTestPki.create("other-ca", pki.resolve("other"));
    backend = HttpsBackend.start("https-backend", backendCa.issue(BACKEND_SNI, BACKEND_SNI),
        envoyClientCa.caCertificate());
    TlsTestPki.Material envoyClient = envoyClientCa.issue("gateway-proxy");

    Path config = work.resolve("config");
    TlsSecretFiles.writeKubernetesTlsSecret(config.resolve("secrets-k8s/backend-client.yaml"), "api",
        "backend-client", envoyClient, backendCa.caPem());
    TlsSecretFiles.writeKubernetesTlsSecret(config.resolve("secrets-k8s/backend-client-other-ca.yaml"), "api",
        "backend-client-other-ca", envoyClient, otherCa.caPem());
    TlsSecretFiles.replace(config.resolve(GlooYaml.gatewayFile("gateway-proxy-http")),
        GlooYaml.gateway("gateway-proxy-http", httpPort, false));
    TlsSecretFiles.replace(config.resolve(GlooYaml.upstreamFile("api", "backend")),
        GlooYaml.staticUpstream("api", "backend", backend.port, upstreamSsl("backend-client")));
    TlsSecretFiles.replace(config.resolve(GlooYaml.upstreamFile("api", "backend-other-ca")),
        GlooYaml.staticUpstream("api", "backend-other-ca", backend.port, upstreamSsl("backend-client-other-ca")));
    TlsSecretFiles.replace(config.resolve(GlooYaml.virtualServiceFile("api", "api")), """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata:
          name: api
          namespace: api
        spec:
          virtualHost:
            domains:
            - %s
            routes:
            - matchers:
              - prefix: /other-ca
              routeAction:
                single:
                  upstream:
                    name: backend-other-ca
                    namespace: api
            - matchers:
              - prefix: /
              routeAction:
                single:
                  upstream:
                    name: backend
                    namespace: api
        """.formatted(HOST));
    try {
      shard = ServedShard.start(config, work.resolve("run"), ports[1], ports[2], ports[3]);
    } catch (Throwable t) {
      backend.close();
      throw t;
    }
  }

  private static String upstreamSsl(String secret) {
    return """
            secretRef:
              name: %s
              namespace: api
            sni: %s
        """.formatted(secret, BACKEND_SNI);
  }

  @AfterAll
  static void stop() {
    if (shard != null) {
      shard.close();
    }
    if (backend != null) {
      backend.close();
    }
  }

  @Test
  void anUpstreamWithSslConfigReachesTheHttpsBackendWithItsSniAndClientCertificate() throws Exception {
    E2eSupport.awaitStatus(shard.envoy, httpPort, HOST, "/hello", 200, ServedShard.LIVENESS);
    RawHttp.Response r = RawHttp.get(httpPort, HOST, "/hello");
    assertEquals(200, r.status(), r::toString);
    assertEquals("https-backend path=/hello", r.body().strip(), r::toString);
    List<HttpsBackend.Seen> seen = backend.seen();
    assertTrue(seen.stream().anyMatch(s -> s.path().equals("/hello")), seen::toString);
    for (HttpsBackend.Seen s : seen) {
      assertEquals(BACKEND_SNI, s.sni(), () -> "the backend saw another SNI: " + seen);
      assertEquals("CN=gateway-proxy", s.clientSubject(), () -> "the backend saw another client: " + seen);
    }
    System.out.println("E2E TLS upstream: backend saw " + seen.get(seen.size() - 1));
  }

  @Test
  void anUpstreamWhoseRootCaDidNotIssueTheBackendsCertificateGetsNoAnswerFromIt() throws Exception {
    // Served once the route to the good Upstream answers: the whole shard's configuration has arrived.
    E2eSupport.awaitStatus(shard.envoy, httpPort, HOST, "/hello", 200, ServedShard.LIVENESS);
    String failVerify = "cluster.backend-other-ca_api.ssl.fail_verify_error";
    long before = shard.envoyCounter(failVerify);
    RawHttp.Response r = RawHttp.get(httpPort, HOST, "/other-ca/x");
    assertEquals(503, r.status(), r::toString);
    assertTrue(shard.envoyCounter(failVerify) > before, () -> failVerify + " did not move: " + r);
    assertTrue(backend.seen().stream().noneMatch(s -> s.path().startsWith("/other-ca")), backend.seen()::toString);
  }
}
