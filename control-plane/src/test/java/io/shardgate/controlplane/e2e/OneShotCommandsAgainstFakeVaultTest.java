package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.vault.VaultKvFake;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code validate} and {@code translate} with {@code --vault-addr}, against a <b>fake</b> Vault ({@link VaultKvFake}:
 * Vault's KV v2 HTTP API on the JDK's HttpServer, read by the real vault-java-driver; no Vault server builds here).
 * They read the referenced TLS secrets from Vault once, as {@code serve} does before its first translation, so their
 * verdicts are serve's: a {@code secretRef} that only Vault holds is Accepted, one Vault does not hold is Rejected with
 * the secret and its Vault path named; and {@code translate} still shows Vault's material redacted.
 */
class OneShotCommandsAgainstFakeVaultTest {

  private static final String HOST = "vault-shop.example.com";
  private static final String NAMESPACE = "web";
  private static final String SECRET = "vault-tls";
  private static final String PATH = "gloo/gloo.solo.io/v1/Secret/" + NAMESPACE + "/" + SECRET;
  private static final String DATA_PATH = "secret/data/" + PATH;
  private static final String TOKEN = "hvs.oneshot-" + UUID.randomUUID();

  @TempDir Path work;

  private VaultKvFake vault;
  private Path config;
  private Path tokenFile;

  private record Run(int exit, String out, String err) {
    @Override
    public String toString() {
      return "exit " + exit + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
    }
  }

  @BeforeEach
  void configWhoseOnlyTlsSecretIsInVault() throws Exception {
    vault = VaultKvFake.http("secret");
    vault.addToken(TOKEN);
    config = work.resolve("config");
    TlsSecretFiles.replace(config.resolve(GlooYaml.gatewayFile("gateway-proxy-https")),
        GlooYaml.gateway("gateway-proxy-https", 8443, true));
    TlsSecretFiles.replace(config.resolve(GlooYaml.virtualServiceFile(NAMESPACE, "shop")),
        GlooYaml.directVirtualService(NAMESPACE, "shop", List.of(HOST), GlooYaml.secretRef(NAMESPACE, SECRET)));
    tokenFile = Files.writeString(work.resolve("vault-token"), TOKEN + "\n");
  }

  @AfterEach
  void stopVault() {
    vault.close();
  }

  @Test
  void aSecretRefOnlyVaultHoldsIsAcceptedAndTranslateShowsItRedacted() throws Exception {
    TlsTestPki.Material material = TlsTestPki.create("oneshot-ca", work.resolve("pki")).issue(HOST, HOST);
    vault.put(PATH, Map.of("tls", Map.of("certChain", material.certChain(), "privateKey", material.privateKey())));

    Run validate = run("validate", "--config-dir", config.toString(), "--vault-addr", vault.address(),
        "--vault-token-file", tokenFile.toString());
    assertEquals(0, validate.exit(), validate::toString);
    assertTrue(validate.out().contains("0 rejected; 0 file errors"), validate::toString);
    assertFalse(validate.out().contains("Rejected"), validate::toString);

    Run translate = run("translate", "--config-dir", config.toString(), "--vault-addr", vault.address(),
        "--vault-token-file", tokenFile.toString());
    assertEquals(0, translate.exit(), translate::toString);
    assertTrue(translate.out().contains("<redacted: "), translate::toString);
    String keyBody = material.privateKey().lines().filter(l -> !l.startsWith("-----")).findFirst().orElseThrow();
    String certBody = material.certChain().lines().filter(l -> !l.startsWith("-----")).findFirst().orElseThrow();
    for (String output : new String[] {validate.out(), validate.err(), translate.out(), translate.err()}) {
      assertFalse(output.contains(keyBody), "private key material in an output");
      assertFalse(output.contains(certBody), "certificate material in an output");
      assertFalse(output.contains(TOKEN), "the Vault token in an output");
    }
  }

  @Test
  void withoutVaultTheSameConfigIsRejected() {
    Run validate = run("validate", "--config-dir", config.toString());
    assertEquals(1, validate.exit(), validate::toString);
    assertTrue(validate.out().contains("Rejected"), validate::toString);
  }

  @Test
  void aSecretRefVaultDoesNotHoldIsRejectedNamingTheSecretAndItsVaultPath() {
    Run validate = run("validate", "--config-dir", config.toString(), "--vault-addr", vault.address(),
        "--vault-token-file", tokenFile.toString());
    assertEquals(1, validate.exit(), validate::toString);
    assertTrue(validate.out().contains("Rejected"), validate::toString);
    assertTrue(validate.out().contains("secret " + NAMESPACE + "/" + SECRET + ": not found in Vault at " + DATA_PATH
        + " (404)"), validate::toString);
  }

  @Test
  void vaultOptionsThatCannotWorkAreRefusedBeforeAnythingIsRead() {
    Run noAddress = run("validate", "--config-dir", config.toString(), "--vault-token-file", tokenFile.toString());
    assertEquals(2, noAddress.exit(), noAddress::toString);
    assertEquals("error: --vault-token-file is only read with --vault-addr URL", noAddress.err().strip());
    Run badUrl = run("translate", "--config-dir", config.toString(), "--vault-addr", "vault:8200",
        "--vault-token-file", tokenFile.toString());
    assertEquals(2, badUrl.exit(), badUrl::toString);
    assertTrue(badUrl.err().startsWith("error: --vault-addr 'vault:8200' is not an http:// or https:// URL"),
        badUrl::toString);
    assertEquals(0, vault.requests().size(), () -> "Vault was called: " + vault.requests());
  }

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = E2eSupport.cli(out, err, args);
    return new Run(exit, out.toString(), err.toString());
  }
}
