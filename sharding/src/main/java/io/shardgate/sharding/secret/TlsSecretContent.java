package io.shardgate.sharding.secret;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Objects;

/**
 * The TLS material of one secret, as Envoy is given it over SDS: the certificate chain and private key (PEM), and
 * optionally the root CA (PEM) and an OCSP response to staple (DER). Gloo's {@code TlsSecret} fields; from a
 * {@code kubernetes.io/tls} Secret, {@code tls.crt}, {@code tls.key}, {@code ca.crt} and {@code tls.ocsp-staple}.
 *
 * <p>Immutable value: the bytes are copied in and out. Equal by content. {@link #toString()} shows sizes only, never
 * the bytes.
 */
public final class TlsSecretContent {

  /** The data key of a {@code kubernetes.io/tls} Secret that holds the OCSP response, as Gloo reads it. */
  public static final String OCSP_STAPLE = "tls.ocsp-staple";

  private final byte[] certificateChain;
  private final byte[] privateKey;
  private final byte[] rootCa;
  private final byte[] ocspStaple;

  /**
   * @param certificateChain the leaf certificate first, then its intermediates (PEM); null when absent
   * @param privateKey the leaf's private key (PEM); null when absent
   * @param rootCa the CA that verifies peers (PEM), or null (an empty value counts as none)
   * @param ocspStaple the OCSP response (DER), or null (an empty value counts as none)
   */
  public TlsSecretContent(byte[] certificateChain, byte[] privateKey, byte[] rootCa, byte[] ocspStaple) {
    this.certificateChain = copy(certificateChain);
    this.privateKey = copy(privateKey);
    this.rootCa = copyOrNone(rootCa);
    this.ocspStaple = copyOrNone(ocspStaple);
  }

  /**
   * The content of a Secret in the {@code kubernetes.io/tls} layout: {@code tls.crt}, {@code tls.key}, optional
   * {@code ca.crt} and {@code tls.ocsp-staple}. The directory source stores Gloo's own TLS secrets so too (as Gloo's
   * converter to Kubernetes does).
   */
  public static TlsSecretContent of(KubeSecret secret) {
    return new TlsSecretContent(secret.value(KubeSecret.TLS_CERT), secret.value(KubeSecret.TLS_KEY),
        secret.value(KubeSecret.CA_CERT), secret.value(OCSP_STAPLE));
  }

  /** The certificate chain (PEM), a copy; null when the secret has none. */
  public byte[] certificateChain() {
    return copy(certificateChain);
  }

  /** The private key (PEM), a copy; null when the secret has none. */
  public byte[] privateKey() {
    return copy(privateKey);
  }

  /** The root CA (PEM), a copy; null when none. */
  public byte[] rootCa() {
    return copy(rootCa);
  }

  /** The OCSP response (DER), a copy; null when none. */
  public byte[] ocspStaple() {
    return copy(ocspStaple);
  }

  public boolean hasCertificateChain() {
    return certificateChain != null && certificateChain.length > 0;
  }

  public boolean hasPrivateKey() {
    return privateKey != null && privateKey.length > 0;
  }

  public boolean hasRootCa() {
    return rootCa != null;
  }

  public boolean hasOcspStaple() {
    return ocspStaple != null;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TlsSecretContent other && same(certificateChain, other.certificateChain)
        && same(privateKey, other.privateKey) && same(rootCa, other.rootCa) && same(ocspStaple, other.ocspStaple);
  }

  @Override
  public int hashCode() {
    return Objects.hash(Arrays.hashCode(certificateChain), Arrays.hashCode(privateKey), Arrays.hashCode(rootCa),
        Arrays.hashCode(ocspStaple));
  }

  /** Sizes only: never the bytes. */
  @Override
  public String toString() {
    return "TlsSecretContent[certificateChain=" + size(certificateChain) + ", privateKey=" + size(privateKey)
        + ", rootCa=" + size(rootCa) + ", ocspStaple=" + size(ocspStaple) + "]";
  }

  /** {@code text} as UTF-8 bytes, or null (for building contents from YAML strings). */
  public static byte[] utf8(String text) {
    return text == null ? null : text.getBytes(StandardCharsets.UTF_8);
  }

  private static String size(byte[] b) {
    return b == null ? "none" : "<" + b.length + " bytes>";
  }

  private static boolean same(byte[] a, byte[] b) {
    return a == null ? b == null : b != null && MessageDigest.isEqual(a, b);
  }

  private static byte[] copy(byte[] b) {
    return b == null ? null : b.clone();
  }

  private static byte[] copyOrNone(byte[] b) {
    return b == null || b.length == 0 ? null : b.clone();
  }
}
