package io.shardgate.controlplane.webhook;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.security.XdsTlsCredentials;
import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.templates.TestPki;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * The webhook over real HTTPS on a loopback port: a JDK client that trusts only a test CA posts AdmissionReviews and
 * reads the answers; the certificate files are replaced and the next handshake presents the new certificate; other
 * paths, methods and bodies get plain HTTP errors.
 */
class WebhookServerTest {

  @TempDir Path dir;

  private final KubernetesSerialization json = new KubernetesSerialization();
  private final List<AutoCloseable> closing = new ArrayList<>();
  private final List<String> observed = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closing) {
      c.close();
    }
  }

  private static final String VS = """
      apiVersion: gateway.solo.io/v1
      kind: VirtualService
      metadata: {name: orders, namespace: team, labels: {shard: a}}
      spec:
        virtualHost:
          domains: [%s]
          routes:
          - matchers: [{prefix: /}]
            directResponseAction: {status: 200}
      """;

  private static final String GATEWAY = """
      apiVersion: gateway.solo.io/v1
      kind: Gateway
      metadata: {name: gw-a, namespace: gloo-system}
      spec:
        bindPort: 8080
        proxyNames: [gw-a]
        httpGateway: {virtualServiceSelector: {shard: a}}
      ---
      apiVersion: gateway.solo.io/v1
      kind: VirtualService
      metadata: {name: shop, namespace: team, labels: {shard: a}}
      spec:
        virtualHost:
          domains: [shop.example.com]
          routes:
          - matchers: [{prefix: /}]
            directResponseAction: {status: 200}
      """;

  private WebhookServer start(TestPki.Issued leaf, Path certFile, Path keyFile) throws Exception {
    XdsTlsCredentials credentials = XdsTlsCredentials.loadWebhook(certFile, keyFile);
    closing.add(credentials);
    AdmissionValidator validator = new AdmissionValidator();
    validator.sourceChanged(new ConfigInput("test", new YamlDocumentReader().read("c.yaml", GATEWAY), List.of()),
        null);
    WebhookServer server = WebhookServer.start("127.0.0.1", 0, credentials, validator,
        (kind, result, nanos) -> {
          synchronized (observed) {
            observed.add(kind + " " + result);
          }
        });
    closing.add(0, server);
    return server;
  }

  /** A fresh client (no session to resume) trusting only {@code ca}. */
  private static HttpClient client(X509Certificate ca) throws Exception {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    store.setCertificateEntry("ca", ca);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(store);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    return HttpClient.newBuilder().sslContext(context).connectTimeout(Duration.ofSeconds(30)).build();
  }

  private String review(String domain) {
    Map<String, Object> object = new Yaml().load(VS.formatted(domain));
    return json.asJson(Map.of("apiVersion", "admission.k8s.io/v1", "kind", "AdmissionReview", "request", Map.of(
        "uid", "3c6a-uid", "operation", "CREATE", "name", "orders", "namespace", "team",
        "kind", Map.of("group", "gateway.solo.io", "version", "v1", "kind", "VirtualService"),
        "object", object)));
  }

  private static HttpResponse<String> post(HttpClient client, int port, String path, String body) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString(UTF_8));
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> response(HttpResponse<String> r) {
    assertEquals(200, r.statusCode(), r::body);
    Map<String, Object> review = json.unmarshal(r.body(), Map.class);
    assertEquals("admission.k8s.io/v1", review.get("apiVersion"));
    assertEquals("AdmissionReview", review.get("kind"));
    return (Map<String, Object>) review.get("response");
  }

  @Test
  void answersAdmissionReviewsOverHttpsAndPresentsARotatedCertificateOnTheNextHandshake() throws Exception {
    TestPki ca = TestPki.create("webhook-test-ca");
    Path cert = dir.resolve("tls.crt");
    Path key = dir.resolve("tls.key");
    TestPki.Issued first = ca.leaf("webhook-1").sans("IP:127.0.0.1").writeTo(cert, key);
    WebhookServer server = start(first, cert, key);
    XdsTlsCredentials credentials = (XdsTlsCredentials) closing.get(1);

    HttpResponse<String> ok = post(client(ca.certificate()), server.port(), WebhookServer.PATH,
        review("orders.example.com"));
    Map<String, Object> admitted = response(ok);
    assertEquals("3c6a-uid", admitted.get("uid"));
    assertEquals(true, admitted.get("allowed"), ok::body);
    assertEquals(first.certificate(), ok.sslSession().orElseThrow().getPeerCertificates()[0]);

    Map<String, Object> refused = response(post(client(ca.certificate()), server.port(), WebhookServer.PATH,
        review("shop.example.com")));
    assertEquals(false, refused.get("allowed"));
    Map<?, ?> status = (Map<?, ?>) refused.get("status");
    assertEquals(400, ((Number) status.get("code")).intValue());
    assertTrue(String.valueOf(status.get("message")).startsWith("VirtualService team/orders:"
        + " spec.virtualHost.domains: domain conflict: the domain 'shop.example.com' is also claimed by"
        + " VirtualService team/shop"), status::toString);

    // cert-manager's rotation: new files in place (written beside, then moved over the old ones).
    TestPki.Issued second = ca.leaf("webhook-2").sans("IP:127.0.0.1").writeTo(dir.resolve("new.crt"),
        dir.resolve("new.key"));
    Files.move(dir.resolve("new.key"), key, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    Files.move(dir.resolve("new.crt"), cert, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    assertTrue(credentials.reloadIfChanged());
    HttpResponse<String> after = post(client(ca.certificate()), server.port(), WebhookServer.PATH,
        review("orders.example.com"));
    assertEquals(true, response(after).get("allowed"));
    assertEquals(second.certificate(), after.sslSession().orElseThrow().getPeerCertificates()[0]);
    assertFalse(second.certificate().equals(first.certificate()));
    synchronized (observed) {
      assertEquals(List.of("VirtualService admitted", "VirtualService refused", "VirtualService admitted"),
          observed);
    }
  }

  @Test
  void otherPathsMethodsAndBodiesGetPlainErrors() throws Exception {
    TestPki ca = TestPki.create("webhook-test-ca");
    TestPki.Issued leaf = ca.leaf("webhook").sans("IP:127.0.0.1").writeTo(dir, "webhook");
    WebhookServer server = start(leaf, leaf.certificateFile(), leaf.keyFile());
    HttpClient client = client(ca.certificate());
    assertEquals(404, post(client, server.port(), "/validate", review("a.example.com")).statusCode());
    HttpResponse<String> get = client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.port()
        + WebhookServer.PATH)).timeout(Duration.ofSeconds(60)).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(405, get.statusCode());
    HttpResponse<String> notJson = post(client, server.port(), WebhookServer.PATH, "{not json");
    assertEquals(400, notJson.statusCode());
    assertTrue(notJson.body().startsWith("the body is not JSON"), notJson::body);
    HttpResponse<String> v1beta1 = post(client, server.port(), WebhookServer.PATH,
        review("a.example.com").replace("admission.k8s.io/v1", "admission.k8s.io/v1beta1"));
    assertEquals(400, v1beta1.statusCode());
    assertTrue(v1beta1.body().contains("admission.k8s.io/v1"), v1beta1::body);
  }
}
