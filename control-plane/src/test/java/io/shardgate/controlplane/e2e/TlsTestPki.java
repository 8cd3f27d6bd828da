package io.shardgate.controlplane.e2e;

import io.shardgate.templates.TestPki;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * The certificates of the HTTPS end-to-end tests, made fresh per run by {@link TestPki} (BouncyCastle, EC P-256), so
 * no private key and no expiring certificate is committed: one CA per role a test needs (the tenants' server CA, a
 * client CA for mTLS, a backend CA), leaves with the subject alternative names of the hosts they serve, and their
 * PEM text as a secret document holds it.
 *
 * <p>TestPki writes PEM files; this reads them back into {@link Material}, so a test can put the very bytes into a
 * Kubernetes Secret, a Gloo secret file or an {@code sslFiles} path. Not thread-safe (one per test class, used from
 * its setup and test threads in turn).
 */
final class TlsTestPki {

  /**
   * One issued certificate: its PEM chain and PEM key (PKCS#8), and the objects, for a JDK key or trust store.
   *
   * @param certChain the certificate, PEM
   * @param privateKey its private key, PEM; never printed by the tests
   * @param certificate the certificate
   * @param key the private key
   */
  record Material(String certChain, String privateKey, X509Certificate certificate, PrivateKey key) {

    /** {@code CN=...} of the certificate, as {@link HttpsProbe} reports what a server presented. */
    String subject() {
      return certificate.getSubjectX500Principal().getName();
    }

    /** SHA-256 of the DER certificate, hex: what tells two certificates with one subject apart. */
    String fingerprint() {
      return TlsTestPki.fingerprint(certificate);
    }

    /** The same certificate with another certificate's key: the "key does not match" secret. */
    Material withKeyOf(Material other) {
      return new Material(certChain, other.privateKey, certificate, other.key);
    }

    @Override
    public String toString() {
      return "Material[" + subject() + " " + fingerprint().substring(0, 12) + "]"; // never the key
    }
  }

  private final TestPki ca;
  private final Path scratch;
  private final String caPem;
  private int issued;

  private TlsTestPki(TestPki ca, Path scratch) {
    this.ca = ca;
    this.scratch = scratch;
    this.caPem = read(ca.writeCertificate(scratch.resolve("ca.crt")));
  }

  /** A new CA named {@code CN=commonName}; its files go under {@code scratch} (a test's temporary folder). */
  static TlsTestPki create(String commonName, Path scratch) {
    try {
      return new TlsTestPki(TestPki.create(commonName), Files.createDirectories(scratch));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The CA's certificate, PEM: a secret's {@code ca.crt} / {@code rootCa}. */
  String caPem() {
    return caPem;
  }

  X509Certificate caCertificate() {
    return ca.certificate();
  }

  /**
   * A leaf named {@code CN=commonName} with a DNS subject alternative name per host (what a TLS client checks
   * against the SNI it sent). Every leaf of TestPki may serve as server and as client.
   */
  Material issue(String commonName, String... dnsNames) {
    String[] sans = Arrays.stream(dnsNames).map(h -> "DNS:" + h).toArray(String[]::new);
    TestPki.Issued leaf = ca.leaf(commonName).sans(sans).writeTo(scratch, "leaf-" + issued++);
    return new Material(read(leaf.certificateFile()), read(leaf.keyFile()), leaf.certificate(), leaf.key());
  }

  static String fingerprint(X509Certificate certificate) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
    } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
