package io.shardgate.controlplane.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.shardgate.controlplane.render.Trees;
import io.shardgate.controlplane.render.TranslationOutput;
import io.shardgate.sharding.ir.SecretUse;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.secret.TlsSecretContent;
import io.shardgate.snapshot.ShardResources;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * SDS resources from secret uses: exactly the uses, named as listeners and clusters reference them, bytes inline;
 * a use without content is a bug that throws naming the secret only; the rendering redacts unless asked.
 */
class SecretTranslatorTest {

  private static final ResourceRef WEB = new ResourceRef("shop", "web");
  private static final ResourceRef CA = new ResourceRef("shop", "ca-only");
  private static final TlsSecretContent CONTENT = new TlsSecretContent(bytes("CERT-PEM"), bytes("KEY-PEM"),
      bytes("CA-PEM"), bytes("OCSP"));

  @Test
  void eachUseBecomesItsSecretsNamedAsReferenced() {
    List<Secret> out = SecretTranslator.translate(new TreeSet<>(List.of(new SecretUse(WEB, true, false),
        new SecretUse(CA, false, true))), ref -> Optional.of(CONTENT));
    assertEquals(List.of("ca-only_shop-ca", "web_shop"), out.stream().map(Secret::getName).toList());
    Secret validation = out.get(0);
    assertEquals("CA-PEM", validation.getValidationContext().getTrustedCa().getInlineBytes()
        .toString(StandardCharsets.UTF_8));
    assertFalse(validation.hasTlsCertificate());
    Secret cert = out.get(1);
    assertEquals("CERT-PEM", cert.getTlsCertificate().getCertificateChain().getInlineBytes()
        .toString(StandardCharsets.UTF_8));
    assertEquals("KEY-PEM", cert.getTlsCertificate().getPrivateKey().getInlineBytes().toString(StandardCharsets.UTF_8));
    assertEquals("OCSP", cert.getTlsCertificate().getOcspStaple().getInlineBytes().toString(StandardCharsets.UTF_8));
    assertEquals(XdsNames.certificateSecret(WEB), cert.getName());
    assertEquals(XdsNames.validationSecret(CA), validation.getName());
  }

  @Test
  void aUseWithoutContentOrAValidationUseWithoutCaIsABugNamingTheSecretOnly() {
    IllegalStateException missing = assertThrows(IllegalStateException.class, () -> SecretTranslator.translate(
        List.of(new SecretUse(WEB, true, false)), ref -> Optional.empty()));
    assertTrue(missing.getMessage().startsWith("secret shop/web is referenced"), missing::getMessage);
    TlsSecretContent noCa = new TlsSecretContent(bytes("CERT-PEM"), bytes("KEY-PEM"), null, null);
    IllegalStateException noRoot = assertThrows(IllegalStateException.class, () -> SecretTranslator.translate(
        List.of(new SecretUse(WEB, true, true)), ref -> Optional.of(noCa)));
    assertFalse(noRoot.getMessage().contains("KEY-PEM"));
  }

  @Test
  void aSecretHoldingOnlyARootCaServesOnlyItsValidationSecretAndACertificateUseOfItIsABug() {
    TlsSecretContent caOnly = new TlsSecretContent(null, null, bytes("CA-PEM"), null);
    List<Secret> out = SecretTranslator.translate(List.of(new SecretUse(CA, false, true)),
        ref -> Optional.of(caOnly));
    assertEquals(List.of(XdsNames.validationSecret(CA)), out.stream().map(Secret::getName).toList());
    IllegalStateException noCertificate = assertThrows(IllegalStateException.class, () -> SecretTranslator.translate(
        List.of(new SecretUse(CA, true, true)), ref -> Optional.of(caOnly)));
    assertEquals("secret shop/ca-only is used to present a certificate but its served content holds only a root CA;"
        + " gateway translation must not have built that use", noCertificate.getMessage());
  }

  @Test
  void renderingRedactsEveryInlineValueUnlessAsked() {
    List<Secret> out = SecretTranslator.translate(List.of(new SecretUse(WEB, true, true)),
        ref -> Optional.of(CONTENT));
    ShardResources r = new ShardResources(List.of(), List.of(), List.of(), List.of(), out);
    String redacted = Trees.yaml(TranslationOutput.xds(r));
    String shown = Trees.yaml(TranslationOutput.xds(r, true));
    String keyBase64 = Base64.getEncoder().encodeToString(bytes("KEY-PEM"));
    assertFalse(redacted.contains(keyBase64), redacted);
    assertTrue(redacted.contains(TranslationOutput.redaction(bytes("KEY-PEM"))), redacted);
    assertTrue(redacted.matches("(?s).*<redacted: 7 bytes, sha256:[0-9a-f]{8}>.*"), redacted);
    assertTrue(shown.contains(keyBase64), shown);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
