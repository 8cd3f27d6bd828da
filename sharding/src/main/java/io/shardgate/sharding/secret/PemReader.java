package io.shardgate.sharding.secret;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Reads PEM certificates and private keys with the JDK alone (no BouncyCastle): PKCS#8 keys ({@code BEGIN PRIVATE
 * KEY}, what openssl writes) and the traditional PKCS#1 RSA and SEC1 EC keys ({@code BEGIN RSA PRIVATE KEY},
 * {@code BEGIN EC PRIVATE KEY}, cert-manager's default encoding). Shared by the xDS server's own TLS files and the TLS
 * secrets served to Envoys, so both accept the same encodings and say the same things.
 *
 * <p>Every failure is a {@link PemException} whose message starts with the {@code what} the caller names the bytes by
 * (an option and a file, a secret's key) and says what is wrong by kind; it never quotes the bytes, so key material
 * cannot leak into a terminal, a log or a status. Pure and stateless; thread-safe.
 */
public final class PemReader {

  /** One PEM block: its label ({@code CERTIFICATE}, {@code PRIVATE KEY}...), DER bytes, and 1-based first line. */
  private record Block(String label, byte[] der, int line, boolean encrypted) {}

  // DER object identifiers, encoded with their tag and length.
  private static final byte[] RSA_ENCRYPTION =
      {0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01};
  private static final byte[] EC_PUBLIC_KEY = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};
  private static final byte[] DER_NULL = {0x05, 0x00};
  private static final byte[] VERSION_0 = {0x02, 0x01, 0x00};

  private PemReader() {}

  /** Every certificate in PEM {@code bytes}, in order; at least one. */
  public static List<X509Certificate> certificates(String what, byte[] bytes) {
    List<X509Certificate> out = new ArrayList<>();
    CertificateFactory factory;
    try {
      factory = CertificateFactory.getInstance("X.509");
    } catch (CertificateException e) {
      throw new IllegalStateException("the JDK has no X.509 certificate factory", e);
    }
    for (Block block : blocks(what, bytes)) {
      if (!block.label().equals("CERTIFICATE")) {
        continue;
      }
      try {
        out.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(block.der())));
      } catch (CertificateException | ClassCastException e) {
        throw new PemException(what + " line " + block.line()
            + ": the CERTIFICATE block is not a valid X.509 certificate");
      }
    }
    if (out.isEmpty()) {
      throw new PemException(what + " holds no certificate: expected a PEM block"
          + " -----BEGIN CERTIFICATE-----");
    }
    return out;
  }

  /** The one private key in PEM {@code bytes}. */
  public static PrivateKey privateKey(String what, byte[] bytes) {
    List<Block> keys = new ArrayList<>();
    for (Block block : blocks(what, bytes)) {
      if (block.label().endsWith("PRIVATE KEY")) {
        keys.add(block);
      }
    }
    if (keys.isEmpty()) {
      throw new PemException(what + " holds no private key: expected a PEM block"
          + " -----BEGIN PRIVATE KEY-----, -----BEGIN RSA PRIVATE KEY----- or -----BEGIN EC PRIVATE KEY-----");
    }
    if (keys.size() > 1) {
      throw new PemException(what + " holds " + keys.size() + " private keys; expected one");
    }
    Block key = keys.get(0);
    String where = what + " line " + key.line() + ": ";
    if (key.encrypted() || key.label().equals("ENCRYPTED PRIVATE KEY")) {
      throw new PemException(where + "the private key is encrypted; give an unencrypted key"
          + " (openssl pkey -in KEY -out KEY.plain), readable by this process only");
    }
    return switch (key.label()) {
      case "PRIVATE KEY" -> pkcs8(where, key.der());
      case "RSA PRIVATE KEY" -> decode(where + "not a valid PKCS#1 RSA private key", "RSA",
          sequence(VERSION_0, sequence(RSA_ENCRYPTION, DER_NULL), tlv(0x04, key.der())));
      case "EC PRIVATE KEY" -> decode(where + "not a valid SEC1 EC private key", "EC",
          sequence(VERSION_0, sequence(EC_PUBLIC_KEY, sec1Curve(where, key.der())), tlv(0x04, key.der())));
      default -> throw new PemException(where + "unsupported key type " + key.label()
          + "; expected PRIVATE KEY (PKCS#8), RSA PRIVATE KEY or EC PRIVATE KEY");
    };
  }

  /**
   * Fails unless {@code key} is the private key of {@code certificate} ({@link #keyMatches}).
   *
   * @throws PemException naming {@code keyWhat} and {@code certWhat} when it is not, or the key's algorithm is not
   *     RSA, EC or Ed25519
   */
  public static void requireKeyMatches(PrivateKey key, X509Certificate certificate, String keyWhat, String certWhat) {
    if (!keyMatches(key, certificate, keyWhat)) {
      throw new PemException(keyWhat + " is not the private key of the certificate in " + certWhat
          + " (they are from different key pairs)");
    }
  }

  /**
   * Whether {@code key} is the private key of {@code certificate}: an RSA key's public half must be the certificate's;
   * for other keys a signature made with the key must verify with the certificate's public key.
   *
   * @throws PemException naming {@code keyWhat} when the key's algorithm is not RSA, EC or Ed25519
   */
  public static boolean keyMatches(PrivateKey key, X509Certificate certificate, String keyWhat) {
    String algorithm = switch (key.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      case "EdDSA", "Ed25519" -> "Ed25519";
      default -> throw new PemException(keyWhat + " holds a " + key.getAlgorithm()
          + " key; supported are RSA, EC and Ed25519");
    };
    PublicKey publicKey = certificate.getPublicKey();
    // An RSA key with its CRT parts carries the public exponent: comparing the public halves is exact and costs no
    // crypto, where a sign-and-verify runs for hundreds of milliseconds in code the JIT has not compiled yet (the
    // first rotation after start would wait on it).
    if (key instanceof RSAPrivateCrtKey rsa) {
      return publicKey instanceof RSAPublicKey pub && rsa.getModulus().equals(pub.getModulus())
          && rsa.getPublicExponent().equals(pub.getPublicExponent());
    }
    try {
      // Any bytes do: the signature only has to verify with the certificate's public key.
      byte[] challenge = "shardgate key match".getBytes(StandardCharsets.US_ASCII);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(challenge);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(publicKey);
      verifier.update(challenge);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false; // a key of another algorithm than the certificate's
    }
  }

  private static PrivateKey pkcs8(String where, byte[] der) {
    for (String algorithm : List.of("RSA", "EC", "Ed25519")) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException notThisAlgorithm) {
        // try the next one
      }
    }
    throw new PemException(where + "not a valid PKCS#8 RSA, EC or Ed25519 private key");
  }

  private static PrivateKey decode(String error, String algorithm, byte[] pkcs8) {
    try {
      return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
    } catch (GeneralSecurityException e) {
      throw new PemException(error);
    }
  }

  /**
   * The named-curve OID (with tag and length) of a SEC1 {@code ECPrivateKey}: SEQUENCE { INTEGER 1, OCTET STRING,
   * [0] OID, [1] BIT STRING }. PKCS#8 needs the curve in its algorithm identifier.
   */
  private static byte[] sec1Curve(String where, byte[] der) {
    try {
      Der outer = new Der(der, 0);
      Der body = outer.expect(0x30).content();
      body.expect(0x02);
      body.expect(0x04);
      while (body.hasMore()) {
        Der field = body.next();
        if (field.tag == 0xa0) {
          Der oid = field.content().next();
          if (oid.tag == 0x06) {
            return oid.encoded();
          }
        }
      }
    } catch (IndexOutOfBoundsException | IllegalArgumentException malformed) {
      throw new PemException(where + "not a valid SEC1 EC private key");
    }
    throw new PemException(where + "the EC private key does not name its curve; convert it to PKCS#8 with"
        + " openssl pkcs8 -topk8 -nocrypt");
  }

  /** The PEM blocks of a file, with their line numbers; text between blocks (comments, openssl output) is skipped. */
  private static List<Block> blocks(String what, byte[] bytes) {
    List<Block> blocks = new ArrayList<>();
    String[] lines = new String(bytes, StandardCharsets.US_ASCII).split("\r?\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (!line.startsWith("-----BEGIN ") || !line.endsWith("-----")) {
        continue;
      }
      String label = line.substring("-----BEGIN ".length(), line.length() - 5);
      int start = i + 1;
      StringBuilder base64 = new StringBuilder();
      boolean encrypted = false;
      int end = -1;
      for (int j = start; j < lines.length; j++) {
        String body = lines[j].strip();
        if (body.equals("-----END " + label + "-----")) {
          end = j;
          break;
        }
        if (body.contains(":")) {
          encrypted |= body.startsWith("Proc-Type:") && body.contains("ENCRYPTED"); // RFC 1421 headers
        } else {
          base64.append(body);
        }
      }
      if (end < 0) {
        throw new PemException(what + " line " + start + ": the " + label
            + " block has no -----END " + label + "----- line");
      }
      try {
        blocks.add(new Block(label, Base64.getMimeDecoder().decode(base64.toString()), start, encrypted));
      } catch (IllegalArgumentException e) {
        throw new PemException(what + " line " + start + ": the " + label
            + " block is not valid base64");
      }
      i = end;
    }
    return blocks;
  }

  private static byte[] sequence(byte[]... parts) {
    ByteArrayOutputStream content = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      content.writeBytes(part);
    }
    return tlv(0x30, content.toByteArray());
  }

  /** DER tag, length and value. */
  private static byte[] tlv(int tag, byte[] value) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(tag);
    int length = value.length;
    if (length < 0x80) {
      out.write(length);
    } else {
      int bytes = length > 0xffffff ? 4 : length > 0xffff ? 3 : length > 0xff ? 2 : 1;
      out.write(0x80 | bytes);
      for (int i = bytes - 1; i >= 0; i--) {
        out.write(length >>> (8 * i));
      }
    }
    out.writeBytes(value);
    return out.toByteArray();
  }

  /** A cursor over DER elements in {@code bytes[from..limit)}; just enough to read a SEC1 key's curve. */
  private static final class Der {
    private final byte[] bytes;
    private final int limit;
    private int pos;
    private int tag;
    private int valueStart;
    private int valueEnd;
    private int elementStart;

    Der(byte[] bytes, int from) {
      this(bytes, from, bytes.length);
    }

    private Der(byte[] bytes, int from, int limit) {
      this.bytes = bytes;
      this.pos = from;
      this.limit = limit;
    }

    boolean hasMore() {
      return pos < limit;
    }

    /** Reads the next element; this cursor then describes it ({@link #content()}, {@link #encoded()}). */
    Der next() {
      Der element = new Der(bytes, pos, limit);
      element.elementStart = pos;
      element.tag = bytes[pos] & 0xff;
      int lengthByte = bytes[pos + 1] & 0xff;
      int at = pos + 2;
      int length;
      if (lengthByte < 0x80) {
        length = lengthByte;
      } else {
        int count = lengthByte & 0x7f;
        if (count == 0 || count > 4) {
          throw new IllegalArgumentException("unsupported DER length");
        }
        length = 0;
        for (int i = 0; i < count; i++) {
          length = (length << 8) | (bytes[at++] & 0xff);
        }
      }
      if (length < 0 || at + length > limit) {
        throw new IllegalArgumentException("DER element overruns its container");
      }
      element.valueStart = at;
      element.valueEnd = at + length;
      pos = element.valueEnd;
      return element;
    }

    Der expect(int expectedTag) {
      Der element = next();
      if (element.tag != expectedTag) {
        throw new IllegalArgumentException("unexpected DER tag");
      }
      return element;
    }

    Der content() {
      return new Der(bytes, valueStart, valueEnd);
    }

    byte[] encoded() {
      byte[] out = new byte[valueEnd - elementStart];
      System.arraycopy(bytes, elementStart, out, 0, out.length);
      return out;
    }
  }
}
