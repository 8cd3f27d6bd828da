package io.shardgate.controlplane.source;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.secret.TestSecrets;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.secret.KubeSecret;
import io.shardgate.sharding.secret.SecretState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Secrets in a config directory: Gloo's {@code secrets/<namespace>/<name>.yaml} (flat and Kubernetes form) and
 * Kubernetes Secret documents anywhere (data, stringData, Gloo's Opaque form), read into {@link SecretState} and never
 * into documents; other Secret types ignored with a warning that shows no content; a broken file keeps its last good
 * secrets; unchanged secrets keep their objects. Real files, real loader.
 */
class DirectorySecretsTest {

  private final DirectoryLoader loader = new DirectoryLoader();
  @TempDir Path root;
  @TempDir Path pkiDir;
  private TestSecrets pki;
  private TestSecrets.Pem web;

  @BeforeEach
  void pki() {
    pki = new TestSecrets("dir-ca", pkiDir);
    web = pki.leaf("web.example.com");
  }

  @Test
  void glooSecretsFolderFlatAndKubernetesFormsBecomeTlsSecrets() throws IOException {
    String ca = pki.caPem();
    write("secrets/shop/web-tls.yaml", "tls:\n  certChain: |\n" + indent(web.certificate(), 4) + "  privateKey: |\n"
        + indent(web.key(), 4) + "  rootCa: |\n" + indent(ca, 4));
    TestSecrets.Pem other = pki.leaf("other.example.com");
    write("secrets/shop/other.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: other}\ntype: kubernetes.io/tls\n"
        + "data:\n  tls.crt: " + b64(other.certificate()) + "\n  tls.key: " + b64(other.key()) + "\n");

    DirectoryContents contents = loader.load(root);

    assertEquals(List.of(), contents.documents(), "secrets are never documents");
    assertEquals(List.of(), contents.problems());
    SecretState state = contents.secretState();
    KubeSecret w = state.of("shop", "web-tls");
    assertEquals("kubernetes.io/tls", w.type());
    assertEquals(Set.of("ca.crt", "tls.crt", "tls.key"), w.keys());
    assertEquals(web.key(), w.text("tls.key"));
    assertEquals(ca, w.text("ca.crt"));
    assertEquals("secrets/shop/web-tls.yaml:1", w.origin());
    KubeSecret o = state.of("shop", "other");
    assertEquals(other.certificate(), o.text("tls.crt"), "the folder gives the namespace");
    assertEquals("secrets/shop/other.yaml:1", o.origin());
    assertEquals(state.secrets(), ConfigInput.of("dir", contents).secrets().secrets());
  }

  @Test
  void kubernetesSecretDocumentsAnywhereWithDataStringDataAndGlooOpaqueForm() throws IOException {
    String glooTls = "certChain: |\n" + indent(web.certificate(), 2) + "privateKey: |\n" + indent(web.key(), 2);
    write("team/all.yaml", """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: vs, namespace: shop}
        spec: {virtualHost: {domains: [a]}}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: string-tls, namespace: shop}
        type: kubernetes.io/tls
        stringData:
          tls.crt: |
        %s  tls.key: |
        %s---
        apiVersion: v1
        kind: Secret
        metadata:
          name: gloo-tls
          namespace: shop
          annotations: {resource_kind: '*v1.Secret'}
        type: Opaque
        data:
          tls: %s
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: db-password, namespace: shop}
        type: Opaque
        data: {password: %s}
        """.formatted(indent(web.certificate(), 4), indent(web.key(), 4), b64(glooTls), b64("hunter2-secret")));

    DirectoryContents contents = loader.load(root);

    List<SourceDocument> docs = contents.documents();
    assertEquals(1, docs.size(), "only the VirtualService is a document");
    assertEquals("VirtualService", docs.get(0).content().get("kind"));
    SecretState state = contents.secretState();
    assertEquals(Set.of("shop/gloo-tls", "shop/string-tls"), state.secrets().keySet());
    assertEquals(web.key(), state.of("shop", "string-tls").text("tls.key"));
    assertEquals(glooTls, state.of("shop", "gloo-tls").text("tls"), "Gloo's Opaque form as the Kubernetes source");
    assertEquals("team/all.yaml:6", state.of("shop", "string-tls").origin());
    assertEquals(1, contents.problems().size(), contents.problems()::toString);
    SourceProblem ignored = contents.problems().get(0);
    assertEquals(SourceProblem.Severity.WARNING, ignored.severity());
    assertEquals("team/all.yaml", ignored.file());
    assertTrue(ignored.message().startsWith("Secret shop/db-password of type Opaque holds no TLS material"),
        ignored::message);
    assertFalse(contents.problems().toString().contains("hunter2"), "no content in the warning");
    assertFalse(contents.toString().contains(TestSecrets.pemBody(web.key()).substring(0, 20)),
        "the contents' string shows no key material");
  }

  @Test
  void aBrokenSecretFileKeepsItsLastGoodSecretAndUnchangedSecretsKeepTheirObjects() throws IOException {
    write("secrets/shop/web-tls.yaml", tlsFile(web));
    write("secrets/shop/other.yaml", tlsFile(pki.leaf("other.example.com")));
    DirectoryContents first = loader.load(root);
    KubeSecret good = first.secretState().of("shop", "web-tls");
    KubeSecret other = first.secretState().of("shop", "other");

    write("secrets/shop/web-tls.yaml", "tls: {certChain: [unclosed\n");
    DirectoryContents broken = loader.update(root, first, Set.of("secrets/shop/web-tls.yaml"));
    assertSame(good, broken.secretState().of("shop", "web-tls"), "last good content, the very object");
    assertSame(other, broken.secretState().of("shop", "other"));
    assertEquals(1, broken.problems().size());
    assertTrue(broken.problems().get(0).message().endsWith("still serving the 1 document it held when it last parsed"),
        broken.problems().get(0)::message);

    write("secrets/shop/web-tls.yaml", "tls:\n  certChain: 7\n");
    DirectoryContents wrongType = loader.update(root, broken, Set.of("secrets/shop/web-tls.yaml"));
    assertSame(good, wrongType.secretState().of("shop", "web-tls"), "a Secret that does not read: last good");
    assertTrue(wrongType.problems().get(0).message().startsWith("Secret shop/web-tls: spec.tls.certChain must be a string"),
        wrongType.problems().get(0)::message);

    // The same content written again (a touch, a re-save): the same object, so nothing downstream sees a change.
    write("secrets/shop/web-tls.yaml", "# re-saved\n" + tlsFile(web));
    DirectoryContents same = loader.update(root, wrongType, Set.of("secrets/shop/web-tls.yaml"));
    assertSame(good, same.secretState().of("shop", "web-tls"));
    assertEquals(Set.of(), same.secretState().changedSince(first.secretState()));

    TestSecrets.Pem rotated = pki.leaf("web.example.com");
    write("secrets/shop/web-tls.yaml", tlsFile(rotated));
    DirectoryContents next = loader.load(root, same);
    assertNotSame(good, next.secretState().of("shop", "web-tls"));
    assertEquals(Set.of("shop/web-tls"), next.secretState().changedSince(same.secretState()));
    assertArrayEquals(rotated.key().getBytes(StandardCharsets.UTF_8),
        next.secretState().of("shop", "web-tls").value("tls.key"));
    assertFalse(same.sameAs(next));

    Files.delete(root.resolve("secrets/shop/web-tls.yaml"));
    DirectoryContents deleted = loader.update(root, next, Set.of("secrets/shop/web-tls.yaml"));
    assertEquals(Set.of("shop/other"), deleted.secretState().secrets().keySet(), "a deleted file's secret is gone");
  }

  @Test
  void aSecretDefinedTwiceServesTheFirstAndWarnsOnce() throws IOException {
    write("a.yaml", kubeTls("dup", web));
    write("b.yaml", kubeTls("dup", pki.leaf("x.example.com")));
    DirectoryContents c = loader.load(root);
    assertEquals("a.yaml:1", c.secretState().of("default", "dup").origin());
    assertEquals(1, c.problems().size());
    assertEquals("b.yaml", c.problems().get(0).file());
    DirectoryContents again = loader.load(root, c);
    assertEquals(c.problems(), again.problems(), "the warning is not repeated by a re-read");
  }

  private static String tlsFile(TestSecrets.Pem pem) {
    return "tls:\n  certChain: |\n" + indent(pem.certificate(), 4) + "  privateKey: |\n" + indent(pem.key(), 4);
  }

  private static String kubeTls(String name, TestSecrets.Pem pem) {
    return "apiVersion: v1\nkind: Secret\nmetadata: {name: " + name + "}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: "
        + b64(pem.certificate()) + "\n  tls.key: " + b64(pem.key()) + "\n";
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  private static String indent(String text, int n) {
    StringBuilder out = new StringBuilder();
    for (String line : text.split("\n")) {
      out.append(" ".repeat(n)).append(line).append('\n');
    }
    return out.toString();
  }

  private void write(String rel, String content) throws IOException {
    Path p = root.resolve(rel);
    Files.createDirectories(p.getParent());
    Files.writeString(p, content);
  }
}
