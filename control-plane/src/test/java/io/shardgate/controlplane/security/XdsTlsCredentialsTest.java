package io.shardgate.controlplane.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.shardgate.templates.TestPki;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading the xDS server's TLS files: the key encodings openssl and cert-manager write, one clear line for every
 * broken file (naming option and file, never its contents), and reloading changed files.
 */
class XdsTlsCredentialsTest {

  @TempDir Path dir;

  private final TestPki ca = TestPki.create("xds-tls-test-ca");
  private List<String> secrets = List.of();

  @Test
  void loadsPkcs8Pkcs1AndSec1Keys() {
    List<TestPki.Issued> issued = List.of(
        ca.leaf("ec-pkcs8").sans("IP:127.0.0.1").writeTo(dir, "ec-pkcs8"),
        ca.leaf("ec-sec1").sans("IP:127.0.0.1").keyEncoding(TestPki.KeyEncoding.TRADITIONAL).writeTo(dir, "ec-sec1"),
        ca.leaf("rsa-pkcs8").rsa().sans("IP:127.0.0.1").writeTo(dir, "rsa-pkcs8"),
        ca.leaf("rsa-pkcs1").rsa().sans("IP:127.0.0.1").keyEncoding(TestPki.KeyEncoding.TRADITIONAL)
            .writeTo(dir, "rsa-pkcs1"));
    for (TestPki.Issued leaf : issued) {
      try (XdsTlsCredentials credentials = XdsTlsCredentials.load(files(leaf, null))) {
        assertEquals(leaf.certificate(), credentials.servedCertificate(), leaf.keyFile()::toString);
        assertTrue(credentials.serverSslContext().isServer());
      }
    }
    assertTrue(read(issued.get(1).keyFile()).contains("BEGIN EC PRIVATE KEY"));
    assertTrue(read(issued.get(3).keyFile()).contains("BEGIN RSA PRIVATE KEY"));
  }

  @Test
  void everyBrokenFileGetsOneLineNamingOptionAndFileWithoutItsContents() throws IOException {
    TestPki.Issued server = ca.leaf("server").writeTo(dir, "server");
    TestPki.Issued other = ca.leaf("other").writeTo(dir, "other");
    Path ca1 = ca.writeCertificate(dir.resolve("ca.crt"));
    Path missing = dir.resolve("missing.pem");
    Path empty = Files.writeString(dir.resolve("empty.pem"), "");
    Path notPem = Files.writeString(dir.resolve("not-pem.txt"), "just some text\n");
    Path truncated = Files.writeString(dir.resolve("truncated.key"),
        read(server.keyFile()).replaceAll("-----END PRIVATE KEY-----\\s*", ""));
    Path encrypted = Files.writeString(dir.resolve("encrypted.key"), "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
        + Base64.getMimeEncoder().encodeToString(new byte[64]) + "\n-----END ENCRYPTED PRIVATE KEY-----\n");
    Path badKey = Files.writeString(dir.resolve("bad.key"), "-----BEGIN PRIVATE KEY-----\n"
        + Base64.getMimeEncoder().encodeToString("not a key".getBytes(StandardCharsets.US_ASCII))
        + "\n-----END PRIVATE KEY-----\n");

    secrets = bodyLines(server.keyFile(), other.keyFile(), server.certificateFile(), encrypted, badKey, truncated);
    assertFails("--xds-tls-cert " + missing + " does not exist", missing, server.keyFile(), null);
    assertFails("--xds-tls-key " + missing + " does not exist", server.certificateFile(), missing, null);
    assertFails("--xds-tls-client-ca " + missing + " does not exist", server.certificateFile(), server.keyFile(),
        missing);
    assertFails("--xds-tls-cert " + empty + " is empty", empty, server.keyFile(), null);
    assertFails("--xds-tls-cert " + dir + " is a directory", dir, server.keyFile(), null);
    assertFails("--xds-tls-cert " + notPem + " holds no certificate", notPem, server.keyFile(), null);
    assertFails("--xds-tls-key " + server.certificateFile() + " holds no private key", server.certificateFile(),
        server.certificateFile(), null);
    assertFails("--xds-tls-key " + truncated + " line 1: the PRIVATE KEY block has no -----END PRIVATE KEY-----",
        server.certificateFile(), truncated, null);
    assertFails("--xds-tls-key " + encrypted + " line 1: the private key is encrypted", server.certificateFile(),
        encrypted, null);
    assertFails("--xds-tls-key " + badKey + " line 1: not a valid PKCS#8", server.certificateFile(), badKey, null);
    assertFails("--xds-tls-key " + other.keyFile() + " is not the private key of the certificate in --xds-tls-cert "
        + server.certificateFile(), server.certificateFile(), other.keyFile(), null);
    assertFails("--xds-tls-client-ca " + notPem + " holds no certificate", server.certificateFile(), server.keyFile(),
        notPem);
    // and a good set loads
    XdsTlsCredentials.check(new XdsTlsFiles(server.certificateFile(), server.keyFile(), ca1));
  }

  @Test
  void changedFilesAreServedAndBrokenChangesIgnored() throws IOException {
    TestPki.Issued first = ca.leaf("first").writeTo(dir, "served");
    Path caFile = ca.writeCertificate(dir.resolve("ca.crt"));
    try (XdsTlsCredentials credentials = XdsTlsCredentials.load(files(first, caFile))) {
      assertFalse(credentials.reloadIfChanged(), "unchanged files are not reloaded");

      // A rotation that so far wrote only the new certificate: its key does not match yet.
      TestPki.Issued second = ca.leaf("second").writeTo(dir, "next");
      replace(second.certificateFile(), first.certificateFile());
      assertFalse(credentials.reloadIfChanged());
      assertEquals(first.certificate(), credentials.servedCertificate(), "a half-rotated pair is not used");

      replace(second.keyFile(), first.keyFile());
      assertTrue(credentials.reloadIfChanged());
      assertEquals(second.certificate(), credentials.servedCertificate());

      Files.delete(first.keyFile());
      assertFalse(credentials.reloadIfChanged(), "a vanished key keeps the credentials in use");
      assertEquals(second.certificate(), credentials.servedCertificate());
    }
  }

  @Test
  void theWatcherPicksUpChangedFilesByItself() throws Exception {
    TestPki.Issued first = ca.leaf("first").writeTo(dir, "watched");
    try (XdsTlsCredentials credentials = XdsTlsCredentials.load(files(first, null))) {
      credentials.watch(Duration.ofMillis(50));
      TestPki.Issued second = ca.leaf("second").writeTo(dir, "rotated");
      replace(second.keyFile(), first.keyFile());
      replace(second.certificateFile(), first.certificateFile());
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (!credentials.servedCertificate().equals(second.certificate())) {
        if (System.nanoTime() - deadline > 0) {
          fail("the watcher did not load the rotated files within 30 s; still serving "
              + credentials.servedCertificate().getSubjectX500Principal());
        }
        Thread.sleep(20);
      }
    }
  }

  private void assertFails(String expectedStart, Path cert, Path key, Path clientCa) {
    TlsMaterialException e = assertThrows(TlsMaterialException.class,
        () -> XdsTlsCredentials.check(new XdsTlsFiles(cert, key, clientCa)));
    assertTrue(e.getMessage().startsWith(expectedStart),
        () -> "expected a message starting with\n  " + expectedStart + "\nbut got\n  " + e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
    for (String secret : secrets) {
      assertFalse(e.getMessage().contains(secret), () -> "the message quotes PEM contents: " + e.getMessage());
    }
    assertEquals(0, e.getStackTrace().length, "no stack trace to print");
    assertNotEquals(null, e.getMessage());
  }

  /** Every 16-character piece of the base64 lines of PEM files, none of which may appear in a message. */
  private static List<String> bodyLines(Path... files) {
    List<String> pieces = new ArrayList<>();
    for (Path file : files) {
      for (String line : read(file).lines().toList()) {
        if (!line.startsWith("-----")) {
          for (int i = 0; i + 16 <= line.length(); i += 8) {
            pieces.add(line.substring(i, i + 16));
          }
        }
      }
    }
    return pieces;
  }

  private static XdsTlsFiles files(TestPki.Issued leaf, Path clientCa) {
    return new XdsTlsFiles(leaf.certificateFile(), leaf.keyFile(), clientCa);
  }

  private static void replace(Path from, Path to) throws IOException {
    Files.move(from, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }
}
