package io.shardgate.templates;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemObjectGenerator;

/**
 * A throwaway certificate authority for TLS tests, made fresh in memory per run (BouncyCastle), so no private key
 * and no expiring certificate is ever committed. It issues leaf certificates with the subject alternative names a test
 * asks for and writes them as PEM files, the way cert-manager or openssl would hand them to Envoy and Shardgate.
 *
 * <p>Keys are EC P-256 unless a leaf asks for RSA; every leaf may serve as both a TLS server and a TLS client. Not
 * thread-safe; a test uses one from one thread.
 */
public final class TestPki {

  /** How a private key is written: PKCS#8 ({@code BEGIN PRIVATE KEY}) or OpenSSL's traditional per-algorithm form. */
  public enum KeyEncoding {
    /** {@code -----BEGIN PRIVATE KEY-----}: what {@code openssl genpkey} writes. */
    PKCS8,
    /** {@code BEGIN RSA PRIVATE KEY} (PKCS#1) or {@code BEGIN EC PRIVATE KEY} (SEC1): cert-manager's default. */
    TRADITIONAL
  }

  /** A written leaf: its files, and the certificate and key they hold. */
  public record Issued(Path certificateFile, Path keyFile, X509Certificate certificate, PrivateKey key) {}

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Duration VALIDITY = Duration.ofDays(2);

  private final X500Name name;
  private final KeyPair keys;
  private final X509Certificate certificate;

  private TestPki(X500Name name, KeyPair keys, X509Certificate certificate) {
    this.name = name;
    this.keys = keys;
    this.certificate = certificate;
  }

  /** A new self-signed CA named {@code CN=commonName}. */
  public static TestPki create(String commonName) {
    try {
      X500Name name = new X500Name("CN=" + commonName);
      KeyPair keys = keyPair(false);
      Instant now = Instant.now();
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, serial(),
          Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(VALIDITY)), name, keys.getPublic());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      builder.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
      return new TestPki(name, keys, sign(builder, keys.getPrivate()));
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot create a test CA", e);
    }
  }

  /** The CA's own certificate. */
  public X509Certificate certificate() {
    return certificate;
  }

  /** Writes the CA certificate as PEM to {@code file} (creating its folder), for trust stores and Envoy. */
  public Path writeCertificate(Path file) {
    write(file, pem(certificate));
    return file;
  }

  /** Starts a leaf certificate named {@code CN=commonName}, signed by this CA. */
  public Leaf leaf(String commonName) {
    return new Leaf(commonName);
  }

  /** A leaf certificate being described; {@link #writeTo} issues it. */
  public final class Leaf {
    private final String commonName;
    private final List<GeneralName> sans = new ArrayList<>();
    private boolean rsa;
    private KeyEncoding encoding = KeyEncoding.PKCS8;
    private Instant notBefore;
    private Instant notAfter;

    private Leaf(String commonName) {
      this.commonName = commonName;
    }

    /** Subject alternative names in openssl's spelling: {@code DNS:name}, {@code IP:10.0.0.1}, {@code URI:spiffe://td/x}. */
    public Leaf sans(String... names) {
      for (String san : names) {
        int colon = san.indexOf(':');
        String kind = colon < 0 ? "" : san.substring(0, colon);
        String value = san.substring(colon + 1);
        sans.add(switch (kind) {
          case "DNS" -> new GeneralName(GeneralName.dNSName, value);
          case "IP" -> new GeneralName(GeneralName.iPAddress, value);
          case "URI" -> new GeneralName(GeneralName.uniformResourceIdentifier, value);
          default -> throw new IllegalArgumentException("SAN " + san + ": expected DNS:, IP: or URI:");
        });
      }
      return this;
    }

    /** An RSA 2048 key instead of EC P-256. */
    public Leaf rsa() {
      this.rsa = true;
      return this;
    }

    public Leaf keyEncoding(KeyEncoding encoding) {
      this.encoding = encoding;
      return this;
    }

    /** A validity period other than the default (from an hour ago for two days): expired or not yet valid ones. */
    public Leaf validity(Instant notBefore, Instant notAfter) {
      this.notBefore = notBefore;
      this.notAfter = notAfter;
      return this;
    }

    /** Issues the certificate and writes {@code dir/baseName.crt} and {@code dir/baseName.key}. */
    public Issued writeTo(Path dir, String baseName) {
      return writeTo(dir.resolve(baseName + ".crt"), dir.resolve(baseName + ".key"));
    }

    /** Issues the certificate and writes it and its key to the given files (creating their folders). */
    public Issued writeTo(Path certFile, Path keyFile) {
      try {
        KeyPair leafKeys = keyPair(rsa);
        Instant now = Instant.now();
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, serial(),
            Date.from(notBefore != null ? notBefore : now.minus(Duration.ofHours(1))),
            Date.from(notAfter != null ? notAfter : now.plus(VALIDITY)),
            new X500Name("CN=" + commonName), leafKeys.getPublic());
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(
            rsa ? KeyUsage.digitalSignature | KeyUsage.keyEncipherment : KeyUsage.digitalSignature));
        builder.addExtension(Extension.extendedKeyUsage, false,
            new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
        builder.addExtension(Extension.authorityKeyIdentifier, false,
            ext.createAuthorityKeyIdentifier(certificate));
        if (!sans.isEmpty()) {
          builder.addExtension(Extension.subjectAlternativeName, false,
              new GeneralNames(sans.toArray(GeneralName[]::new)));
        }
        X509Certificate leafCert = sign(builder, keys.getPrivate());
        write(certFile, pem(leafCert));
        write(keyFile, encoding == KeyEncoding.PKCS8 ? pem(new JcaPKCS8Generator(leafKeys.getPrivate(), null))
            : rsa ? pem(leafKeys.getPrivate())
            : pem(new PemObject("EC PRIVATE KEY", sec1(leafKeys).getEncoded())));
        return new Issued(certFile, keyFile, leafCert, leafKeys.getPrivate());
      } catch (GeneralSecurityException | IOException e) {
        throw new IllegalStateException("cannot issue a test certificate for " + commonName, e);
      }
    }
  }

  private static KeyPair keyPair(boolean rsa) throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance(rsa ? "RSA" : "EC");
    if (rsa) {
      generator.initialize(2048, RANDOM);
    } else {
      generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
    }
    return generator.generateKeyPair();
  }

  /**
   * The SEC1 form openssl and cert-manager write: with the curve and the public key inside (BouncyCastle's own
   * writer leaves both out for a JDK key, which real tools never do).
   */
  private static ECPrivateKey sec1(KeyPair keys) throws IOException {
    PrivateKeyInfo info = PrivateKeyInfo.getInstance(keys.getPrivate().getEncoded());
    ECPrivateKey bare = ECPrivateKey.getInstance(info.parsePrivateKey());
    ASN1Encodable curve = info.getPrivateKeyAlgorithm().getParameters();
    return new ECPrivateKey(256, bare.getKey(),
        SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded()).getPublicKeyData(), curve);
  }

  private static BigInteger serial() {
    return new BigInteger(64, RANDOM).add(BigInteger.ONE);
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey caKey)
      throws GeneralSecurityException {
    try {
      String algorithm = caKey.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
      return new JcaX509CertificateConverter().getCertificate(
          builder.build(new JcaContentSignerBuilder(algorithm).build(caKey)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  /** PEM text of a certificate, a key (traditional form) or a {@link PemObjectGenerator} (PKCS#8). */
  private static String pem(Object object) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      if (object instanceof PemObjectGenerator generator) {
        writer.writeObject(generator);
      } else {
        writer.writeObject(object);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  private static void write(Path file, String text) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Files.writeString(file, text, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
