package io.shardgate.controlplane.render;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.shardgate.controlplane.xds.XdsTranslator;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.translate.GatewayTranslation;
import io.shardgate.snapshot.ShardResources;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Trees of a whole translation for people and golden files: per shard its Proxy and xDS resources by type, and the
 * status of every resource. SDS Secrets are redacted unless asked otherwise: every inline value in them (certificate,
 * key, CA, OCSP staple) becomes {@code <redacted: N bytes, sha256:xxxxxxxx>}, enough to tell two versions apart, far
 * too little to recover anything. Pure.
 */
public final class TranslationOutput {

  private TranslationOutput() {}

  /** The xDS resources of one shard by type ({@code listeners}, {@code routes}, {@code clusters}, ...), redacted. */
  public static Map<String, Object> xds(ShardResources r) {
    return xds(r, false);
  }

  /**
   * The xDS resources of one shard by type.
   *
   * @param showSecrets whether SDS Secrets show their inline bytes ({@code translate --show-secrets}); else redacted
   */
  public static Map<String, Object> xds(ShardResources r, boolean showSecrets) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("listeners", Trees.tree(r.listeners()));
    out.put("routes", Trees.tree(r.routes()));
    out.put("clusters", Trees.tree(r.clusters()));
    out.put("endpoints", Trees.tree(r.endpoints()));
    out.put("secrets", Trees.tree(showSecrets ? r.secrets() : redacted(r.secrets())));
    out.values().removeIf(v -> v instanceof List<?> l && l.isEmpty());
    return out;
  }

  /** {@code secrets} with every inline {@link DataSource} value replaced by its size and a hash prefix. */
  public static List<Secret> redacted(List<Secret> secrets) {
    List<Secret> out = new ArrayList<>(secrets.size());
    secrets.forEach(s -> out.add((Secret) redact(s)));
    return out;
  }

  /** The text a redacted value shows: {@code <redacted: N bytes, sha256:xxxxxxxx>}. */
  public static String redaction(byte[] value) {
    try {
      String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(value)).substring(0, 8);
      return "<redacted: " + value.length + " bytes, sha256:" + hash + ">";
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  // Walks the message: any DataSource anywhere in it is redacted, so a field Envoy adds later is covered too.
  private static Message redact(Message m) {
    if (m instanceof DataSource ds) {
      byte[] value = switch (ds.getSpecifierCase()) {
        case INLINE_BYTES -> ds.getInlineBytes().toByteArray();
        case INLINE_STRING -> ds.getInlineString().getBytes(StandardCharsets.UTF_8);
        default -> null;
      };
      return value == null ? ds : DataSource.newBuilder().setInlineString(redaction(value)).build();
    }
    Message.Builder b = m.toBuilder();
    for (Map.Entry<FieldDescriptor, Object> f : m.getAllFields().entrySet()) {
      FieldDescriptor fd = f.getKey();
      if (fd.getJavaType() != FieldDescriptor.JavaType.MESSAGE) {
        if (fd.getJavaType() == FieldDescriptor.JavaType.BYTE_STRING && !fd.isRepeated()) {
          b.setField(fd, ByteString.copyFromUtf8(redaction(((ByteString) f.getValue()).toByteArray())));
        }
        continue;
      }
      if (fd.isRepeated()) {
        b.clearField(fd);
        for (Object item : (List<?>) f.getValue()) {
          b.addRepeatedField(fd, redact((Message) item));
        }
      } else {
        b.setField(fd, redact((Message) f.getValue()));
      }
    }
    return b.build();
  }

  /** Everything: statuses, document problems, and per shard the Proxy and its xDS resources. */
  public static Map<String, Object> full(GatewayTranslation t) {
    return full(t, Map.of());
  }

  /**
   * As {@link #full(GatewayTranslation)}, with each shard's xDS resources taken from {@code xds} (by role) where it
   * has them: what the pipeline serves, load assignments included.
   */
  public static Map<String, Object> full(GatewayTranslation t, Map<String, ShardResources> xds) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("statuses", Trees.statuses(t.statuses().values()));
    if (!t.documentProblems().isEmpty()) {
      out.put("documentProblems", t.documentProblems());
    }
    Map<String, Object> shards = new TreeMap<>();
    for (Map.Entry<String, ShardConfig> e : t.shards().entrySet()) {
      Map<String, Object> shard = new LinkedHashMap<>();
      shard.put("role", e.getValue().proxy().role());
      shard.put("proxy", Trees.tree(e.getValue().proxy()));
      ShardResources served = xds.get(e.getValue().proxy().role());
      shard.put("xds", xds(served != null ? served : XdsTranslator.translate(e.getValue())));
      shards.put(e.getKey(), shard);
    }
    out.put("shards", shards);
    return out;
  }
}
