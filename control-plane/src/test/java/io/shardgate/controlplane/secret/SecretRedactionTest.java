package io.shardgate.controlplane.secret;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.shardgate.controlplane.ads.SotwClient;
import io.shardgate.controlplane.cli.ShardgateCli;
import io.shardgate.controlplane.e2e.ExampleConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Secret material never leaves the process except to Envoys over SDS: a real {@code shardgate serve} child process
 * on a config directory with test-made keys (a Gloo secret file and a Kubernetes Secret document) serves them over
 * ADS, goes through a rotation, an invalid secret (key not matching its certificate) and its fix, and then its whole
 * stdout/stderr, every admin endpoint, and the output of {@code translate}, {@code validate} and {@code status} are
 * searched for every private key's PEM body (whole and line by line) and the base64 of each key file: zero hits.
 *
 * <p>Positive controls make the search able to fail: the keys are found in what SDS sends and in
 * {@code translate --show-secrets}, searched the same way.
 */
class SecretRedactionTest {

  private static final Duration LIVENESS = Duration.ofSeconds(60);
  private static final String SDS = Resources.V3.SECRET_TYPE_URL;
  private static final String ROLE = "gloo-system~proxy-tls";
  private static final String WEB = "web-tls_shop";
  private static final String API = "api-tls_shop";

  @TempDir Path work;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @Test
  void noKeyMaterialInLogsApiOrCommandOutputThroughARotationAndAnInvalidSecret() throws Exception {
    Path config = work.resolve("config");
    TestSecrets pki = new TestSecrets("redaction-ca", work.resolve("pki"));
    TestSecrets.Pem v1 = pki.leaf("web.example.com");
    TestSecrets.Pem api = pki.leaf("api.example.com");
    List<TestSecrets.Pem> keys = new ArrayList<>(List.of(v1, api));
    write(config.resolve("gateways/gloo-system/https.yaml"),
        "bindPort: 8443\nssl: true\nproxyNames: [proxy-tls]\nhttpGateway: {}\n");
    write(config.resolve("virtualservices/shop/web.yaml"), """
        sslConfig: {secretRef: {name: web-tls, namespace: shop}}
        virtualHost: {domains: [web.example.com], routes: [{directResponseAction: {status: 200}}]}
        """);
    write(config.resolve("virtualservices/shop/api.yaml"), """
        sslConfig: {secretRef: {name: api-tls, namespace: shop}}
        virtualHost: {domains: [api.example.com], routes: [{directResponseAction: {status: 200}}]}
        """);
    write(config.resolve("secrets/shop/web-tls.yaml"), glooSecret(v1));
    write(config.resolve("team/api-secret.yaml"), "apiVersion: v1\nkind: Secret\nmetadata: {name: api-tls, namespace:"
        + " shop}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: " + b64(api.certificate()) + "\n  tls.key: "
        + b64(api.key()) + "\n");

    int[] ports = ExampleConfig.freePorts(2);
    Path out = work.resolve("serve.out");
    Process serve = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx384m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
        ShardgateCli.class.getName(), "serve", "--config-dir", config.toString(), "--state-dir",
        work.resolve("state").toString(), "--xds-port", String.valueOf(ports[0]), "--admin-port",
        String.valueOf(ports[1])).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    String admin = "http://127.0.0.1:" + ports[1];
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", ports[0]).usePlaintext().build();
    SotwClient envoy = null;
    Map<String, String> haystacks = new LinkedHashMap<>();
    List<String> served = new ArrayList<>();
    try {
      await("both VirtualServices accepted", () -> get(admin + "/api/status") + tail(out),
          () -> accepted(get(admin + "/api/status"), "VirtualService shop/web")
              && accepted(get(admin + "/api/status"), "VirtualService shop/api"));
      envoy = new SotwClient(channel, "envoy-tls", ROLE);
      DiscoveryResponse first = envoy.subscribeAndAck(SDS, List.of(API, WEB), LIVENESS);
      envoy.autoAck();
      assertEquals(v1.key(), keyOf(first, WEB), "SDS serves the secret file's key");
      assertEquals(api.key(), keyOf(first, API), "SDS serves the Kubernetes Secret's key");

      // Rotation: a new valid certificate for web-tls, written as editors and cert-manager do (a rename).
      TestSecrets.Pem v2 = pki.leaf("web.example.com");
      keys.add(v2);
      long written = System.nanoTime();
      write(config.resolve("secrets/shop/web-tls.yaml"), glooSecret(v2));
      SotwClient e = envoy;
      await("the rotated key over SDS", () -> e.received().size() + " SDS responses",
          () -> v2.key().equals(lastKey(e, WEB)));
      System.out.printf("rotation: file written to new SDS response in %d ms%n",
          (System.nanoTime() - written) / 1_000_000);

      // Invalid: v2's certificate with another key. The Secret and the VirtualService using it get errors.
      TestSecrets.Pem other = pki.leaf("other.example.com");
      keys.add(other);
      write(config.resolve("secrets/shop/web-tls.yaml"), glooSecret(new TestSecrets.Pem(v2.certificate(),
          other.key())));
      await("the Secret and its VirtualService rejected", () -> get(admin + "/api/status"),
          () -> rejected(get(admin + "/api/status"), "Secret shop/web-tls")
              && rejected(get(admin + "/api/status"), "VirtualService shop/web"));
      String status = get(admin + "/api/status");
      assertTrue(status.contains("tls.key does not match the certificate's public key"), status);
      assertTrue(status.contains("secrets/shop/web-tls.yaml:1"), "the Secret's origin: " + status);
      haystacks.put("/api/status while invalid", status);
      haystacks.put("status while invalid", run("status", "--admin", admin));
      assertEquals(v2.key(), lastKey(envoy, WEB), "the last good key keeps serving");

      TestSecrets.Pem v3 = pki.leaf("web.example.com");
      keys.add(v3);
      write(config.resolve("secrets/shop/web-tls.yaml"), glooSecret(v3));
      await("the fixed secret accepted and served", () -> get(admin + "/api/status"),
          () -> accepted(get(admin + "/api/status"), "Secret shop/web-tls")
              && accepted(get(admin + "/api/status"), "VirtualService shop/web") && v3.key().equals(lastKey(e, WEB)));

      for (String path : List.of("/api/status", "/api/shards", "/healthz", "/ready", "/metrics")) {
        haystacks.put(path, get(admin + path));
      }
      haystacks.put("status", run("status", "--admin", admin));
      envoy.received().forEach(r -> served.add(r.toString()));
    } finally {
      if (envoy != null) {
        envoy.close();
      }
      channel.shutdownNow();
      serve.destroy();
      if (!serve.waitFor(30, TimeUnit.SECONDS)) {
        serve.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      }
    }
    haystacks.put("serve stdout and stderr", Files.readString(out, StandardCharsets.UTF_8));
    haystacks.put("translate", run("translate", "--config-dir", config.toString()));
    haystacks.put("validate", run("validate", "--config-dir", config.toString()));
    assertTrue(haystacks.get("serve stdout and stderr").contains("Secret shop/web-tls is rejected"),
        "the log says the Secret was rejected");
    assertTrue(haystacks.get("translate").contains("<redacted: "), "translate shows secrets redacted");

    List<String> needles = new ArrayList<>();
    for (TestSecrets.Pem k : keys) {
      needles.addAll(needles(k.key()));
    }
    for (Map.Entry<String, String> h : haystacks.entrySet()) {
      String text = normalized(h.getValue());
      for (String needle : needles) {
        if (text.contains(needle)) {
          fail("key material in " + h.getKey() + ": " + needle.length() + " characters of a key were found");
        }
      }
    }
    // Positive controls: the same search finds the keys where they must be.
    String shown = normalized(run("translate", "--show-secrets", "--config-dir", config.toString()));
    String sent = normalized(String.join("\n", served));
    for (TestSecrets.Pem k : List.of(api, keys.get(keys.size() - 1))) {
      assertTrue(needles(k.key()).stream().anyMatch(shown::contains), "the search finds a key in translate"
          + " --show-secrets");
      assertTrue(needles(k.key()).stream().anyMatch(sent::contains), "the search finds a key in what SDS sent");
    }
  }

  /** What a leak of {@code pem} would look like: its base64 body, each of its lines, and the base64 of the file. */
  private static List<String> needles(String pem) {
    List<String> out = new ArrayList<>();
    out.add(TestSecrets.pemBody(pem));
    for (String line : pem.split("\n")) {
      if (!line.startsWith("-----") && line.strip().length() >= 16) {
        out.add(line.strip());
      }
    }
    out.add(b64(pem));
    out.replaceAll(SecretRedactionTest::normalized);
    return out;
  }

  /**
   * {@code text} without whitespace and without JSON's {@code \\n} escapes, so a key that YAML folds across lines or
   * JSON escapes is still found; needles are compared the same way.
   */
  private static String normalized(String text) {
    return text.replace("\\n", "").replaceAll("\\s+", "");
  }

  private static String keyOf(DiscoveryResponse response, String name) throws IOException {
    for (var any : response.getResourcesList()) {
      Secret s = any.unpack(Secret.class);
      if (s.getName().equals(name)) {
        return s.getTlsCertificate().getPrivateKey().getInlineBytes().toString(StandardCharsets.UTF_8);
      }
    }
    return null;
  }

  private static String lastKey(SotwClient c, String name) {
    List<DiscoveryResponse> all = c.received();
    for (int i = all.size() - 1; i >= 0; i--) {
      if (all.get(i).getTypeUrl().equals(SDS)) {
        try {
          return keyOf(all.get(i), name);
        } catch (IOException e) {
          throw new AssertionError(e);
        }
      }
    }
    return null;
  }

  private static boolean accepted(String status, String key) {
    return state(status, key).equals("Accepted");
  }

  private static boolean rejected(String status, String key) {
    return state(status, key).equals("Rejected");
  }

  /** The state of {@code key} in an /api/status body (JSON), or "" when it is not there. */
  private static String state(String status, String key) {
    int at = status.indexOf("\"" + key + "\"");
    if (at < 0) {
      return "";
    }
    int s = status.indexOf("\"state\":\"", at);
    return s < 0 ? "" : status.substring(s + 9, status.indexOf('"', s + 9));
  }

  private String get(String url) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
          .build(), HttpResponse.BodyHandlers.ofString());
      return r.body();
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Runs a CLI command in this JVM; its stdout and stderr together. */
  private static String run(String... args) {
    StringWriter text = new StringWriter();
    PrintWriter w = new PrintWriter(text, true);
    new CommandLine(new ShardgateCli()).setOut(w).setErr(w).execute(args);
    w.flush();
    return text.toString();
  }

  private static void await(String what, Supplier<String> seen, BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("not within " + LIVENESS + ": " + what + "; last seen: " + seen.get());
      }
      Thread.sleep(50);
    }
  }

  private static String tail(Path log) {
    return "\n" + ExampleConfig.tail(log, 30);
  }

  private static String glooSecret(TestSecrets.Pem pem) {
    return "tls:\n  certChain: |\n" + indent(pem.certificate()) + "  privateKey: |\n" + indent(pem.key());
  }

  private static String indent(String text) {
    StringBuilder out = new StringBuilder();
    for (String line : text.split("\n")) {
      out.append("    ").append(line).append('\n');
    }
    return out.toString();
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  /** Writes {@code file} whole at once (a rename), as editors and cert-manager do. */
  private static void write(Path file, String content) throws IOException {
    Files.createDirectories(file.getParent());
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
    Files.writeString(tmp, content);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
