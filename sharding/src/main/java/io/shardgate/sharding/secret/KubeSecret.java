package io.shardgate.sharding.secret;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One Kubernetes Secret that can hold TLS material: a {@code kubernetes.io/tls} Secret, or one of Gloo's own secrets
 * stored as an Opaque Secret. Immutable value: the bytes are copied in and out, so no holder can change them.
 *
 * <p>Equal by content (namespace, name, type and data), not by {@code origin}: a source keeps the very object while
 * the content stays the same (an update of labels or annotations only, a resync), so a consumer tells by identity
 * which Secrets changed, and the origin names the resourceVersion that first produced this content, as the origin of
 * an unchanged discovered Upstream does.
 *
 * <p>{@link #toString()} never shows the data: only its keys, each with its length and the first 8 hex digits of its
 * SHA-256 (enough to tell two versions apart in a debugging session, far too little to recover anything).
 *
 * @param namespace the Secret's namespace
 * @param name the Secret's name
 * @param type the Secret's {@code type}, e.g. {@code kubernetes.io/tls} or {@code Opaque}
 * @param data by key (sorted), the decoded bytes of each {@code data} entry
 * @param origin {@code Secret namespace/name@resourceVersion}, what messages name it by
 */
public record KubeSecret(String namespace, String name, String type, SortedMap<String, byte[]> data, String origin) {

  /** The key of a {@code kubernetes.io/tls} Secret holding the certificate chain (PEM). */
  public static final String TLS_CERT = "tls.crt";

  /** The key of a {@code kubernetes.io/tls} Secret holding the private key (PEM). */
  public static final String TLS_KEY = "tls.key";

  /** The key of a Secret holding the root CA (PEM), as Gloo reads it from a {@code kubernetes.io/tls} Secret. */
  public static final String CA_CERT = "ca.crt";

  private static final int HASH_HEX = 8;

  public KubeSecret {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(origin, "origin");
    data = copy(data);
  }

  /** {@code namespace/name}, the key of {@link SecretState}. */
  public String key() {
    return key(namespace, name);
  }

  /** The key of a Secret in {@link SecretState}. */
  public static String key(String namespace, String name) {
    return namespace + "/" + name;
  }

  /** The data, as copies: changing them changes nothing here. */
  @Override
  public SortedMap<String, byte[]> data() {
    return copy(data);
  }

  /** The data's keys, sorted. */
  public SortedSet<String> keys() {
    return Collections.unmodifiableSortedSet(new TreeSet<>(data.keySet()));
  }

  /** A copy of the bytes under {@code key}, or null when the Secret has no such key. */
  public byte[] value(String key) {
    byte[] v = data.get(key);
    return v == null ? null : v.clone();
  }

  /** The bytes under {@code key} as UTF-8 text (PEM), or null when the Secret has no such key. */
  public String text(String key) {
    byte[] v = data.get(key);
    return v == null ? null : new String(v, StandardCharsets.UTF_8);
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof KubeSecret other) || !namespace.equals(other.namespace) || !name.equals(other.name)
        || !type.equals(other.type) || !data.keySet().equals(other.data.keySet())) {
      return false;
    }
    for (Map.Entry<String, byte[]> e : data.entrySet()) {
      if (!MessageDigest.isEqual(e.getValue(), other.data.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    int h = Objects.hash(namespace, name, type);
    for (Map.Entry<String, byte[]> e : data.entrySet()) {
      h = 31 * h + e.getKey().hashCode() * 17 + Arrays.hashCode(e.getValue());
    }
    return h;
  }

  /** Redacted: names, type, origin, and per key its length and a SHA-256 prefix; never the data. */
  @Override
  public String toString() {
    StringJoiner keys = new StringJoiner(", ", "{", "}");
    for (Map.Entry<String, byte[]> e : data.entrySet()) {
      keys.add(e.getKey() + "=<" + e.getValue().length + " bytes, sha256:" + hashPrefix(e.getValue()) + ">");
    }
    return "KubeSecret[" + key() + ", type=" + type + ", data=" + keys + ", origin=" + origin + "]";
  }

  private static String hashPrefix(byte[] value) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(value)).substring(0, HASH_HEX);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  private static SortedMap<String, byte[]> copy(Map<String, byte[]> data) {
    SortedMap<String, byte[]> out = new TreeMap<>();
    if (data != null) {
      for (Map.Entry<String, byte[]> e : data.entrySet()) {
        out.put(Objects.requireNonNull(e.getKey(), "data key"), e.getValue() == null ? new byte[0]
            : e.getValue().clone());
      }
    }
    return Collections.unmodifiableSortedMap(out);
  }
}
