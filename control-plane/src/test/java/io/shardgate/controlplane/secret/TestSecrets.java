package io.shardgate.controlplane.secret;

import io.shardgate.sharding.secret.KubeSecret;
import io.shardgate.templates.TestPki;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * TLS secrets made by the test: certificates issued by a fresh {@link TestPki} (BouncyCastle, in memory), as the PEM
 * text a Secret holds. Nothing is committed and nothing expires between runs. Not thread-safe.
 */
public final class TestSecrets {

  /** A certificate and its key, as PEM text. */
  public record Pem(String certificate, String key) {}

  private static final AtomicInteger FILES = new AtomicInteger();

  private final TestPki ca;
  private final Path dir;

  /** A fresh CA; PEM files are written under {@code dir} on the way (TestPki writes files). */
  public TestSecrets(String caName, Path dir) {
    this.ca = TestPki.create(caName);
    this.dir = dir;
  }

  /** The CA's certificate as PEM. */
  public String caPem() {
    return read(ca.writeCertificate(dir.resolve("ca-" + FILES.incrementAndGet() + ".crt")));
  }

  /** A leaf for {@code commonName}, valid from an hour ago for two days. */
  public Pem leaf(String commonName) {
    return leaf(ca.leaf(commonName).sans("DNS:" + commonName));
  }

  /** A leaf valid in {@code [notBefore, notAfter]}. */
  public Pem leaf(String commonName, Instant notBefore, Instant notAfter) {
    return leaf(ca.leaf(commonName).sans("DNS:" + commonName).validity(notBefore, notAfter));
  }

  /** A leaf described by the caller (RSA, traditional key encoding...). */
  public Pem leaf(TestPki.Leaf leaf) {
    int n = FILES.incrementAndGet();
    TestPki.Issued issued = leaf.writeTo(dir, "leaf-" + n);
    return new Pem(read(issued.certificateFile()), read(issued.keyFile()));
  }

  /** The CA, to describe leaves with. */
  public TestPki ca() {
    return ca;
  }

  /** A {@code kubernetes.io/tls} Secret holding {@code pem}, and {@code caPem} as {@code ca.crt} when not null. */
  public static KubeSecret kubeTls(String namespace, String name, Pem pem, String caPem, String origin) {
    SortedMap<String, byte[]> data = new TreeMap<>();
    data.put(KubeSecret.TLS_CERT, pem.certificate().getBytes(StandardCharsets.UTF_8));
    data.put(KubeSecret.TLS_KEY, pem.key().getBytes(StandardCharsets.UTF_8));
    if (caPem != null) {
      data.put(KubeSecret.CA_CERT, caPem.getBytes(StandardCharsets.UTF_8));
    }
    return new KubeSecret(namespace, name, "kubernetes.io/tls", data, origin);
  }

  /** A Secret with the given raw data (for broken content). */
  public static KubeSecret kubeTls(String namespace, String name, Map<String, String> data, String origin) {
    SortedMap<String, byte[]> bytes = new TreeMap<>();
    data.forEach((k, v) -> bytes.put(k, v.getBytes(StandardCharsets.UTF_8)));
    return new KubeSecret(namespace, name, "kubernetes.io/tls", bytes, origin);
  }

  /** The base64 body of a PEM block (what a leak would show), without its BEGIN/END lines, on one line. */
  public static String pemBody(String pem) {
    StringBuilder out = new StringBuilder();
    for (String line : pem.split("\n")) {
      if (!line.startsWith("-----")) {
        out.append(line.strip());
      }
    }
    return out.toString();
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
