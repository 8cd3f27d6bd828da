package io.shardgate.controlplane.vault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.source.GlooSecretContent;
import io.shardgate.controlplane.source.KubernetesSource;
import io.shardgate.controlplane.source.SourceProblem;
import io.shardgate.controlplane.source.VaultSecretStore;
import io.shardgate.controlplane.source.VaultSettings;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.discovery.EndpointState;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.SameObjects;
import io.shardgate.sharding.secret.KubeSecret;
import io.shardgate.sharding.secret.SecretState;
import io.shardgate.sharding.secret.TlsSecretCatalog;
import io.shardgate.templates.TestPki;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The Vault secret store with the real client (vault-java-driver) <b>against a Vault KV v2 fake</b>
 * ({@link VaultKvFake}; no Vault server builds here): Gloo's path layout and secret content, Vault winning over the
 * source's own Secret, a new version handed on with the very documents (the pipeline's secret-only path), failed
 * reads (403, 404, 500, unreachable) keeping the last version with a problem naming the secret and Vault's status,
 * AppRole login with renewal and re-login before the TTL ends, TLS to Vault with a CA file. After every test, no log
 * line (logback and java.util.logging, everything at DEBUG), no problem and no input's {@code toString} holds a token,
 * the AppRole ids or any PEM body.
 */
class VaultSecretStoreAgainstFakeVaultTest {

  private static final String PREFIX = "gloo/gloo.solo.io/v1/Secret/";
  private static final ResourceRef SHOP = new ResourceRef("shop", "shop-tls");

  @TempDir Path dir;

  private final String rootToken = "hvs.root-" + UUID.randomUUID();
  private final String roleId = "role-" + UUID.randomUUID();
  private final String secretId = "secret-id-" + UUID.randomUUID();
  private final List<String> material = new ArrayList<>();
  private final List<ConfigInput> outputs = new CopyOnWriteArrayList<>();
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  private final Logger shardgate = (Logger) LoggerFactory.getLogger("io.shardgate");
  private final List<String> julLines = new CopyOnWriteArrayList<>();
  private final Handler jul = new Handler() {
    @Override
    public void publish(LogRecord r) {
      julLines.add(r.getLoggerName() + " " + r.getMessage() + " " + (r.getThrown() == null ? "" : r.getThrown()));
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  };
  private Level shardgateLevel;
  private TestPki ca;
  private VaultKvFake fake;
  private VaultSecretStore store;

  @BeforeEach
  void start() {
    logs.start();
    root.addAppender(logs);
    shardgateLevel = shardgate.getLevel(); // INFO from logback.xml: restored after, for the tests that follow
    shardgate.setLevel(Level.DEBUG);
    java.util.logging.Logger.getLogger("").addHandler(jul);
    java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.ALL);
    ca = TestPki.create("vault-store-test-ca");
    fake = VaultKvFake.http("secret");
    fake.addToken(rootToken);
    material.addAll(List.of(rootToken, roleId, secretId));
  }

  @AfterEach
  void stopAndCheckNothingLeaked() {
    if (store != null) {
      store.close();
    }
    fake.close();
    root.detachAppender(logs);
    shardgate.setLevel(shardgateLevel);
    java.util.logging.Logger.getLogger("").removeHandler(jul);
    java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.INFO);
    List<String> lines = new ArrayList<>(julLines);
    for (ILoggingEvent e : List.copyOf(logs.list)) {
      lines.add(e.getFormattedMessage());
      if (e.getThrowableProxy() != null) {
        lines.add(ThrowableProxyUtil.asString(e.getThrowableProxy()));
      }
    }
    material.addAll(fake.issuedTokens());
    String everything = String.join("\n", lines) + outputs + outputs.stream().flatMap(o -> o.problems().stream())
        .map(SourceProblem::toString).collect(Collectors.joining("\n"));
    for (String m : material) {
      assertFalse(everything.contains(m), () -> "a log line, problem or input shows a secret or token ("
          + m.length() + " characters)");
    }
  }

  @Test
  void glooLayoutAndFlatKeysAreReadAndVaultWinsOverTheSourcesOwnSecret() throws IOException {
    TestPki.Issued inVault = issue("shop-v1");
    TestPki.Issued inSource = issue("shop-source");
    TestPki.Issued flat = issue("flat");
    TestPki.Issued local = issue("local");
    fake.put(PREFIX + "shop/shop-tls", glooSecret(SHOP, inVault));
    fake.put(PREFIX + "shop/flat-tls", Map.of("tls.crt", pem(flat.certificateFile()), "tls.key",
        pem(flat.keyFile())));
    KubeSecret sourceShop = sourceSecret("shop", "shop-tls", inSource);
    KubeSecret sourceLocal = sourceSecret("shop", "local-tls", local);
    store = tokenFileStore(Duration.ofMinutes(10));
    ConfigInput input = input(List.of(virtualService("shop", "a", "shop-tls", null),
        upstream("team", "b", "flat-tls", "shop"), virtualService("shop", "c", "local-tls", null)),
        sourceShop, sourceLocal);
    store.inFrontOf(outputs::add).accept(input);

    ConfigInput out = only();
    KubeSecret shop = out.secrets().of("shop", "shop-tls");
    assertEquals(pem(inVault.certificateFile()), shop.text(KubeSecret.TLS_CERT), "Vault's version wins");
    assertEquals(KubernetesSource.TLS_SECRET_TYPE, shop.type());
    assertEquals("vault:secret/data/gloo/gloo.solo.io/v1/Secret/shop/shop-tls@v1", shop.origin());
    assertEquals(pem(flat.keyFile()), out.secrets().of("shop", "flat-tls").text(KubeSecret.TLS_KEY),
        "an Upstream's secretRef (namespace given) is read too, with flat tls.crt/tls.key keys");
    assertSame(sourceLocal, out.secrets().of("shop", "local-tls"), "a secret Vault does not hold stays the source's");
    assertEquals(List.of(), out.problems());
    assertSame(input.documents().get(0), out.documents().get(0));
    TlsSecretCatalog catalog = TlsSecretCatalog.build(out.secrets(), Instant.now(), TlsSecretCatalog.EMPTY,
        GlooSecretContent::read);
    for (String name : List.of("shop-tls", "flat-tls", "local-tls")) {
      assertTrue(catalog.find(new ResourceRef("shop", name)).servable(), name);
    }
    assertEquals(List.of("GET /v1/auth/token/lookup-self", "GET /v1/secret/data/" + PREFIX + "shop/flat-tls",
        "GET /v1/secret/data/" + PREFIX + "shop/local-tls", "GET /v1/secret/data/" + PREFIX + "shop/shop-tls"),
        fake.requests(), "one read per referenced secret, at Gloo's path");
  }

  @Test
  void aNewVersionIsHandedOnWithTheVeryDocumentsAndAnUnchangedOneIsNot() throws IOException {
    TestPki.Issued v1 = issue("v1");
    TestPki.Issued v2 = issue("v2");
    TestPki.Issued other = issue("other");
    fake.put(PREFIX + "shop/shop-tls", glooSecret(SHOP, v1));
    fake.put(PREFIX + "shop/other-tls", glooSecret(new ResourceRef("shop", "other-tls"), other));
    store = tokenFileStore(Duration.ofMinutes(10));
    ConfigInput input = input(List.of(virtualService("shop", "a", "shop-tls", null),
        virtualService("shop", "b", "other-tls", null)));
    store.inFrontOf(outputs::add).accept(input);
    ConfigInput first = only();

    store.pollNow();
    assertEquals(1, outputs.size(), "nothing changed in Vault: nothing is handed on");
    fake.put(PREFIX + "shop/shop-tls", glooSecret(SHOP, v1));
    store.pollNow();
    assertEquals(1, outputs.size(), "a new version with the same content is no change");

    fake.put(PREFIX + "shop/shop-tls", glooSecret(SHOP, v2));
    store.pollNow();
    assertEquals(2, outputs.size());
    ConfigInput second = outputs.get(1);
    assertTrue(SameObjects.inOrder(first.documents(), second.documents()), "the very documents: the secret-only"
        + " path");
    assertEquals(first.problems(), second.problems());
    assertEquals(pem(v2.certificateFile()), second.secrets().of("shop", "shop-tls").text(KubeSecret.TLS_CERT));
    assertEquals("vault:secret/data/gloo/gloo.solo.io/v1/Secret/shop/shop-tls@v3",
        second.secrets().of("shop", "shop-tls").origin());
    assertSame(first.secrets().of("shop", "other-tls"), second.secrets().of("shop", "other-tls"),
        "an unchanged secret keeps its object");
    assertEquals(Set.of("shop/shop-tls"), second.secrets().changedSince(first.secrets()));
  }

  @Test
  void failedReadsKeepTheLastVersionAndReportAProblemNamingTheSecretAndVaultsStatus() throws IOException {
    fake.put(PREFIX + "shop/shop-tls", glooSecret(SHOP, issue("v1")));
    store = tokenFileStore(Duration.ofMinutes(10));
    store.inFrontOf(outputs::add).accept(input(List.of(virtualService("shop", "a", "shop-tls", null),
        virtualService("shop", "b", "nowhere-tls", null))));
    ConfigInput first = only();
    KubeSecret good = first.secrets().of("shop", "shop-tls");
    assertEquals(List.of("vault:secret/data/" + PREFIX + "shop/nowhere-tls: secret shop/nowhere-tls: not found in"
        + " Vault at secret/data/" + PREFIX + "shop/nowhere-tls (404) nor in the config source"),
        first.problems().stream().map(SourceProblem::toString).toList());
    assertEquals(SourceProblem.Severity.ERROR, first.problems().get(0).severity());
    String path = "secret/data/" + PREFIX + "shop/shop-tls";

    fake.revoke(rootToken);
    assertKeptWithProblem(good, "secret shop/shop-tls: Vault answered 403 (permission denied) for " + path
        + "; version 1, read before, keeps serving");
    fake.addToken(rootToken);
    store.pollNow();
    assertSame(good, last().secrets().of("shop", "shop-tls"));
    assertEquals(1, last().problems().size(), "the 403 problem is gone with the next good read: " + last().problems());

    fake.force(PREFIX + "shop/shop-tls", 500);
    assertKeptWithProblem(good, "secret shop/shop-tls: Vault answered 500 for " + path
        + "; version 1, read before, keeps serving");
    fake.clearForced();

    fake.delete(PREFIX + "shop/shop-tls");
    assertKeptWithProblem(good, "secret shop/shop-tls: Vault answered 404 for " + path
        + "; version 1, read before, keeps serving");

    fake.close();
    store.pollNow();
    assertSame(good, last().secrets().of("shop", "shop-tls"));
    String unreachable = problemOf(last(), path);
    assertTrue(unreachable.startsWith("secret shop/shop-tls: Vault " + fake.address() + " unreachable ("),
        unreachable);
    assertTrue(unreachable.endsWith(") reading " + path + "; version 1, read before, keeps serving"), unreachable);
    assertEquals(SourceProblem.Severity.WARNING, problem(last(), path).severity(),
        "a problem while the last version serves is a warning");
  }

  @Test
  void appRoleLogsInRenewsBeforeTheTtlEndsAndLogsInAgainAtTheMaxTtl() throws IOException {
    fake.enableAppRole(roleId, secretId, 3, 8);
    Path secretIdFile = Files.writeString(dir.resolve("secret-id"), secretId + "\n");
    fake.put(PREFIX + "shop/shop-tls", glooSecret(SHOP, issue("v1")));
    store = new VaultSecretStore(new VaultSettings(URI.create(fake.address()), "secret", null,
        new VaultSettings.AppRole("approle", roleId, secretIdFile), null, Duration.ofMinutes(10)), null);
    store.inFrontOf(outputs::add).accept(input(List.of(virtualService("shop", "a", "shop-tls", null))));
    assertEquals(List.of(), only().problems());
    assertEquals(1, fake.count("POST /v1/auth/approle/login"));
    // TTL 3 s: renewed at 2 s; max TTL 8 s: a renewal that grants less than asked leads to a new login.
    await("a renewal and a second login", () -> fake.count("POST /v1/auth/token/renew-self") >= 1
        && fake.count("POST /v1/auth/approle/login") >= 2, fake::requests);
    await("the store reads with a valid token after 10 s, past the first token's max TTL", () -> {
      store.pollNow();
      return store.problem(SHOP).isEmpty() && fake.issuedTokens().size() >= 2;
    }, fake::requests);
    assertFalse(fake.requests().isEmpty());
    VaultSecretStore.Counts counts = store.counts();
    assertTrue(counts.logins() >= 2 && counts.renewals() >= 1, counts::toString);
    System.out.println("Vault AppRole against the fake: " + counts);
  }

  @Test
  void aGivenTokenWithATtlIsRenewedBeforeItEnds() throws IOException {
    String shortLived = "hvs.short-" + UUID.randomUUID();
    material.add(shortLived);
    fake.addToken(shortLived, 3, 0, true);
    Path tokenFile = Files.writeString(dir.resolve("short-token"), shortLived);
    fake.put(PREFIX + "shop/shop-tls", glooSecret(SHOP, issue("v1")));
    store = new VaultSecretStore(new VaultSettings(URI.create(fake.address()), "secret", null,
        new VaultSettings.TokenFile(tokenFile), null, Duration.ofMinutes(10)), null);
    store.inFrontOf(outputs::add).accept(input(List.of(virtualService("shop", "a", "shop-tls", null))));
    assertEquals(List.of(), only().problems());
    // The fake expires the token 3 s after its last renewal: reads 8 s later work only if it was renewed in time.
    await("three renewals", () -> fake.count("POST /v1/auth/token/renew-self") >= 3, fake::requests);
    fake.put(PREFIX + "shop/shop-tls", glooSecret(SHOP, issue("v2")));
    store.pollNow();
    assertEquals(List.of(), last().problems(), () -> fake.requests().toString());
    assertTrue(last().secrets().of("shop", "shop-tls").origin().endsWith("@v2"));
  }

  @Test
  void aWrongSecretIdIsAProblemNotACrash() throws IOException {
    fake.enableAppRole(roleId, secretId, 60, 0);
    Path wrong = Files.writeString(dir.resolve("secret-id"), "not-" + secretId);
    store = new VaultSecretStore(new VaultSettings(URI.create(fake.address()), "secret", null,
        new VaultSettings.AppRole("approle", roleId, wrong), null, Duration.ofMinutes(10)), null);
    store.inFrontOf(outputs::add).accept(input(List.of(virtualService("shop", "a", "shop-tls", null))));
    assertEquals(List.of("vault:" + fake.address() + ": AppRole login failed: HTTP 400",
        "vault:secret/data/" + PREFIX + "shop/shop-tls: secret shop/shop-tls: not read from Vault (secret/data/"
            + PREFIX + "shop/shop-tls): AppRole login failed: HTTP 400"),
        only().problems().stream().map(SourceProblem::toString).toList());
  }

  @Test
  void tlsToVaultIsVerifiedWithTheCaFile() throws IOException {
    fake.close();
    TestPki.Issued server = ca.leaf("vault").sans("IP:127.0.0.1").writeTo(dir, "vault-server");
    fake = VaultKvFake.https("secret", server.certificate(), server.key());
    fake.addToken(rootToken);
    fake.put(PREFIX + "shop/shop-tls", glooSecret(SHOP, issue("v1")));
    Path caFile = ca.writeCertificate(dir.resolve("ca.crt"));
    Path tokenFile = Files.writeString(dir.resolve("token"), rootToken);
    List<ConfigInput> untrusted = new ArrayList<>();
    try (VaultSecretStore noCa = new VaultSecretStore(new VaultSettings(URI.create(fake.address()), null, null,
        new VaultSettings.TokenFile(tokenFile), null, Duration.ofMinutes(10)), null)) {
      noCa.inFrontOf(untrusted::add).accept(input(List.of(virtualService("shop", "a", "shop-tls", null))));
    }
    assertNull(untrusted.get(0).secrets().of("shop", "shop-tls"), "a Vault the JVM does not trust is not read");
    assertTrue(untrusted.get(0).problems().get(0).message().contains("token lookup failed"),
        () -> untrusted.get(0).problems().toString());
    store = new VaultSecretStore(new VaultSettings(URI.create(fake.address()), null, null,
        new VaultSettings.TokenFile(tokenFile), caFile, Duration.ofMinutes(10)), null);
    store.inFrontOf(outputs::add).accept(input(List.of(virtualService("shop", "a", "shop-tls", null))));
    assertEquals(List.of(), only().problems());
    assertTrue(only().secrets().of("shop", "shop-tls").origin().startsWith("vault:"));
  }

  @Test
  void aRewrittenTokenFileIsReadAgain() throws IOException {
    fake.put(PREFIX + "shop/shop-tls", glooSecret(SHOP, issue("v1")));
    store = tokenFileStore(Duration.ofMinutes(10));
    store.inFrontOf(outputs::add).accept(input(List.of(virtualService("shop", "a", "shop-tls", null))));
    String next = "hvs.next-" + UUID.randomUUID();
    material.add(next);
    fake.addToken(next);
    fake.revoke(rootToken);
    Files.writeString(dir.resolve("token"), next + "\n");
    fake.put(PREFIX + "shop/shop-tls", glooSecret(SHOP, issue("v2")));
    store.pollNow();
    assertEquals(List.of(), last().problems());
    assertTrue(last().secrets().of("shop", "shop-tls").origin().endsWith("@v2"));
  }

  // ---- helpers ----

  private VaultSecretStore tokenFileStore(Duration poll) throws IOException {
    Path tokenFile = Files.writeString(dir.resolve("token"), rootToken + "\n");
    return new VaultSecretStore(new VaultSettings(URI.create(fake.address()), "secret", null,
        new VaultSettings.TokenFile(tokenFile), null, poll), null);
  }

  private void assertKeptWithProblem(KubeSecret good, String problem) {
    int before = outputs.size();
    store.pollNow();
    assertEquals(before + 1, outputs.size(), "a new problem is handed on");
    assertSame(good, last().secrets().of("shop", "shop-tls"), "the last good version keeps serving");
    assertEquals(problem, problemOf(last(), "secret/data/" + PREFIX + "shop/shop-tls"));
  }

  private static SourceProblem problem(ConfigInput input, String path) {
    return input.problems().stream().filter(p -> p.file().equals("vault:" + path)).findFirst()
        .orElseThrow(() -> new AssertionError("no problem for " + path + " in " + input.problems()));
  }

  private static String problemOf(ConfigInput input, String path) {
    return problem(input, path).message();
  }

  private ConfigInput only() {
    assertEquals(1, outputs.size(), () -> outputs.size() + " inputs handed on");
    return outputs.get(0);
  }

  private ConfigInput last() {
    return outputs.get(outputs.size() - 1);
  }

  private TestPki.Issued issue(String name) throws IOException {
    TestPki.Issued issued = ca.leaf(name + ".example.com").sans("DNS:" + name + ".example.com").writeTo(dir, name);
    for (Path p : List.of(issued.certificateFile(), issued.keyFile())) {
      for (String line : pem(p).split("\n")) {
        if (!line.startsWith("-----") && line.length() > 20) {
          material.add(line);
        }
      }
    }
    return issued;
  }

  private static String pem(Path file) throws IOException {
    return Files.readString(file, StandardCharsets.UTF_8);
  }

  /** Gloo's Secret as solo-kit's Vault client writes it to {@code data.data}. */
  private static Map<String, Object> glooSecret(ResourceRef ref, TestPki.Issued issued) throws IOException {
    return Map.of("metadata", Map.of("name", ref.name(), "namespace", ref.namespace()),
        "tls", Map.of("certChain", pem(issued.certificateFile()), "privateKey", pem(issued.keyFile())));
  }

  private static KubeSecret sourceSecret(String ns, String name, TestPki.Issued issued) throws IOException {
    return new KubeSecret(ns, name, KubernetesSource.TLS_SECRET_TYPE, new TreeMap<>(Map.of(KubeSecret.TLS_CERT,
        pem(issued.certificateFile()).getBytes(StandardCharsets.UTF_8), KubeSecret.TLS_KEY,
        pem(issued.keyFile()).getBytes(StandardCharsets.UTF_8))), "secrets/" + ns + "/" + name + ".yaml:1");
  }

  private static ConfigInput input(List<SourceDocument> docs, KubeSecret... secrets) {
    TreeMap<String, KubeSecret> map = new TreeMap<>();
    for (KubeSecret s : secrets) {
      map.put(s.key(), s);
    }
    return new ConfigInput("test", docs, List.of(), EndpointState.EMPTY, new SecretState(map));
  }

  private static SourceDocument virtualService(String ns, String name, String secret, String secretNs) {
    return new SourceDocument(ns + "/" + name + ".yaml", 1, Map.of("apiVersion", "gateway.solo.io/v1", "kind",
        "VirtualService", "metadata", Map.of("name", name, "namespace", ns), "spec", Map.of("sslConfig",
            Map.of("secretRef", secretNs == null ? Map.of("name", secret)
                : Map.of("name", secret, "namespace", secretNs)))), Map.of());
  }

  private static SourceDocument upstream(String ns, String name, String secret, String secretNs) {
    return new SourceDocument(ns + "/" + name + ".yaml", 1, Map.of("apiVersion", "gloo.solo.io/v1", "kind",
        "Upstream", "metadata", Map.of("name", name, "namespace", ns), "spec", Map.of("sslConfig",
            Map.of("secretRef", Map.of("name", secret, "namespace", secretNs)))), Map.of());
  }

  private static void await(String what, BooleanSupplier condition, Supplier<Object> seen) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail("timed out waiting for " + what + "; last seen: " + seen.get());
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        fail("interrupted");
      }
    }
  }
}
