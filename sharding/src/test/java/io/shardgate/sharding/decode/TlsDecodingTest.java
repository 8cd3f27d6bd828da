package io.shardgate.sharding.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.SslConfig;
import io.shardgate.sharding.model.TlsParameters;
import io.shardgate.sharding.model.TlsSecretSource;
import io.shardgate.sharding.model.VirtualService;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * A VirtualService's {@code sslConfig} is decoded strictly: every field of Gloo's ssl.proto into Shardgate's model,
 * a missing required part is an error naming the field with file:line, and a key pasted where a path belongs is never
 * quoted back.
 */
class TlsDecodingTest {

  @SuppressWarnings("unchecked")
  private static DecodedDocument decode(String sslConfig) {
    String yaml = "apiVersion: gateway.solo.io/v1\nkind: VirtualService\nmetadata: {name: shop, namespace: team-a}\n"
        + "spec:\n  sslConfig:\n" + sslConfig.indent(4)
        + "  virtualHost: {domains: [shop.example.com], routes: [{directResponseAction: {status: 200}}]}\n";
    return ResourceDecoder.decodeDocument(
        new SourceDocument("vs.yaml", 1, (Map<String, Object>) new Yaml().load(yaml), Map.of()));
  }

  private static SslConfig ssl(String sslConfig) {
    DecodedDocument d = decode(sslConfig);
    assertEquals(List.of(), d.errors());
    assertEquals(List.of(), d.warnings());
    return ((VirtualService) d.resource()).sslConfig();
  }

  private static void assertError(String sslConfig, String... parts) {
    DecodedDocument d = decode(sslConfig);
    assertTrue(d.errors().stream().anyMatch(e -> List.of(parts).stream().allMatch(e::contains)),
        "no error with " + List.of(parts) + ": " + d.errors());
  }

  @Test
  void everyFieldIsDecodedAndTheSecretNamespaceDefaultsToTheVirtualServices() {
    SslConfig c = ssl("""
        secretRef: {name: shop}
        sniDomains: [Shop.Example.com, "*.shop.example.com"]
        verifySubjectAltName: [client.example.com]
        parameters: {minimumProtocolVersion: TLSv1_2, maximumProtocolVersion: TLSv1_3, cipherSuites: [A], ecdhCurves: [X25519]}
        alpnProtocols: [h2]
        oneWayTls: false
        disableTlsSessionResumption: true
        transportSocketConnectTimeout: 2.5s
        ocspStaplePolicy: MUST_STAPLE
        """);
    assertEquals(new TlsSecretSource.SecretRef(new ResourceRef("team-a", "shop")), c.source());
    assertEquals(List.of("shop.example.com", "*.shop.example.com"), c.sniDomains());
    assertEquals(List.of("client.example.com"), c.verifySubjectAltName());
    assertEquals(new TlsParameters("TLSv1_2", "TLSv1_3", List.of("A"), List.of("X25519")), c.parameters());
    assertEquals(List.of("h2"), c.alpnProtocols());
    assertEquals(Boolean.FALSE, c.oneWayTls());
    assertEquals(Boolean.TRUE, c.disableTlsSessionResumption());
    assertEquals(Duration.ofMillis(2500), c.transportSocketConnectTimeout());
    assertEquals("MUST_STAPLE", c.ocspStaplePolicy());
  }

  @Test
  void defaultsAreNormalizedSoEqualSettingsCompareEqual() {
    SslConfig c = ssl("""
        secret_ref: {name: shop, namespace: certs}
        parameters: {minimumProtocolVersion: TLS_AUTO}
        ocspStaplePolicy: LENIENT_STAPLING
        transportSocketConnectTimeout: 0s
        """);
    assertEquals(new SslConfig(new TlsSecretSource.SecretRef(new ResourceRef("certs", "shop")), List.of(), List.of(),
        null, List.of(), null, null, null, null), c);
  }

  @Test
  void filesAndSdsSources() {
    assertEquals(new TlsSecretSource.Files("/c.pem", "/k.pem", "/ca.pem", null),
        ssl("sslFiles: {tlsCert: /c.pem, tlsKey: /k.pem, rootCa: /ca.pem}").source());
    assertEquals(new TlsSecretSource.Sds(null, "gateway_proxy_sds", "cert", null, null),
        ssl("sds: {certificatesSecretName: cert}").source(), "Gloo's default SDS cluster");
    assertEquals(new TlsSecretSource.Sds("unix:/sds.sock", null, "cert", "ca",
            new TlsSecretSource.CallCredentials("/token", "authorization")),
        ssl("sds: {targetUri: 'unix:/sds.sock', certificatesSecretName: cert, validationContextName: ca,"
            + " callCredentials: {fileCredentialSource: {tokenFileName: /token, header: authorization}}}").source());
  }

  @Test
  void missingRequiredPartsAreErrorsWithTheirPathAndLine() {
    assertError("sniDomains: [a.example.com]", "spec.sslConfig (vs.yaml:", "secretRef, sslFiles or sds");
    assertError("sslFiles: {tlsKey: /k.pem}", "spec.sslConfig.sslFiles.tlsCert", "is required with tlsKey");
    assertError("sslFiles: {rootCa: /ca.pem}", "spec.sslConfig.sslFiles", "needs tlsCert and tlsKey");
    assertError("sds: {validationContextName: ca}", "spec.sslConfig.sds.certificatesSecretName", "is required");
    assertError("sds: {}", "needs certificatesSecretName or validationContextName");
    assertError("sds: {certificatesSecretName: c, callCredentials: {fileCredentialSource: {tokenFileName: /t}}}",
        "spec.sslConfig.sds.targetUri", "callCredentials");
    assertError("sds: {certificatesSecretName: c, clusterName: a, callCredentials: {fileCredentialSource:"
        + " {tokenFileName: /t}}, targetUri: x}", "set only one of callCredentials and clusterName");
    assertError("sslFiles: {tlsCert: /c, tlsKey: /k}\nverifySubjectAltName: [x]", "spec.sslConfig.verifySubjectAltName",
        "sslFiles.rootCa");
    assertError("secretRef: {name: a}\nsslFiles: {tlsCert: /c, tlsKey: /k}", "set only one of");
    assertError("secretRef: {name: a}\nparameters: {minimumProtocolVersion: TLSv1_3, maximumProtocolVersion: TLSv1_2}",
        "spec.sslConfig.parameters.minimumProtocolVersion", "above maximumProtocolVersion");
    assertError("secretRef: {name: a}\nparameters: {minimumProtocolVersion: TLSv9}", "must be one of TLS_AUTO");
    assertError("secretRef: {name: a}\nocspStaplePolicy: SOMETIMES", "must be one of LENIENT_STAPLING");
  }

  @Test
  void sniDomainsMustBeNamesEnvoyCanMatch() {
    assertError("secretRef: {name: a}\nsniDomains: ['shop.*']", "spec.sslConfig.sniDomains[0]", "leading '*.'");
    assertError("secretRef: {name: a}\nsniDomains: ['shop.example.com:443']", "sniDomains[0]", "no port");
    assertError("secretRef: {name: a}\nsniDomains: [a.example.com, A.example.com]", "sniDomains[1]", "repeats");
    assertError("secretRef: {name: a}\nsniDomains: ['10.0.0.1']", "never send an IP address");
    assertEquals(List.of("*"), ssl("secretRef: {name: a}\nsniDomains: ['*']").sniDomains(), "every SNI");
  }

  @Test
  void keyMaterialPastedWhereAPathBelongsIsRejectedAndNeverQuoted() {
    String pem = "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n";
    DecodedDocument d = decode("sslFiles: {tlsCert: /c.pem, tlsKey: \"" + pem + "\"}");
    assertTrue(d.errors().stream().anyMatch(e -> e.contains("spec.sslConfig.sslFiles.tlsKey")
        && e.contains("path of a file")), d.errors().toString());
    assertFalse(d.errors().toString().contains("MIIEvQ"), "key material in a message: " + d.errors());
    assertFalse(d.errors().toString().contains("BEGIN PRIVATE"), "key material in a message: " + d.errors());
  }
}
