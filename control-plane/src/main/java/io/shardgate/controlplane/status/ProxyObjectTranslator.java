package io.shardgate.controlplane.status;

import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.render.Trees;
import io.shardgate.sharding.ir.Proxy;
import io.shardgate.sharding.ir.ShardConfig;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.zip.Deflater;

/**
 * Renders the {@code gloo.solo.io/v1} Proxy objects that Settings {@code gateway.persistProxySpec} asks for: one per
 * shard in the write namespace, its spec the shard's Proxy as {@code shardgate translate} prints it, labelled
 * {@value #CREATED_BY_LABEL}={@value #CREATED_BY} so stale ones can be found and deleted. With
 * {@code gateway.compressedProxySpec} the spec is compressed as Gloo compresses it: annotation
 * {@value #COMPRESS_ANNOTATION}: "true", and a spec holding only {@value #COMPRESSED_SPEC}, the zlib-compressed JSON
 * of the spec in standard base64.
 *
 * <p>Stage: status. Pure: a function of the translation; stateless and thread-safe; deterministic output.
 */
public final class ProxyObjectTranslator {

  public static final String COMPRESS_ANNOTATION = "gloo.solo.io/compress";
  public static final String COMPRESSED_SPEC = "compressedSpec";
  public static final String CREATED_BY_LABEL = "created_by";
  public static final String CREATED_BY = "shardgate";

  private static final KubernetesSerialization JSON = new KubernetesSerialization();

  /**
   * One Proxy object.
   *
   * @param annotations empty, or the compression annotation
   * @param spec the spec to write
   */
  public record ProxyObject(String namespace, String name, Map<String, String> annotations,
      Map<String, Object> spec) {
    public ProxyObject {
      annotations = Collections.unmodifiableMap(new TreeMap<>(annotations));
      spec = Collections.unmodifiableMap(spec);
    }
  }

  /** The Proxy objects to have, by name; empty unless the translation's Settings persist Proxies. */
  public SortedMap<String, ProxyObject> render(Translation t) {
    SortedMap<String, ProxyObject> out = new TreeMap<>();
    if (!t.settings().persistProxySpec()) {
      return out;
    }
    boolean compress = t.settings().compressedProxySpec();
    for (ShardConfig shard : t.gateway().shards().values()) {
      Proxy proxy = shard.proxy();
      Map<String, Object> spec = spec(proxy);
      out.put(proxy.name(), compress
          ? new ProxyObject(proxy.namespace(), proxy.name(), Map.of(COMPRESS_ANNOTATION, "true"),
              Map.of(COMPRESSED_SPEC, compress(spec)))
          : new ProxyObject(proxy.namespace(), proxy.name(), Map.of(), spec));
    }
    return Collections.unmodifiableSortedMap(out);
  }

  /** The Proxy's tree without its name and namespace, which are the object's metadata. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> spec(Proxy proxy) {
    Map<String, Object> tree = new LinkedHashMap<>((Map<String, Object>) Trees.tree(proxy));
    tree.remove("name");
    tree.remove("namespace");
    return tree;
  }

  /** Base64 of the zlib-compressed JSON of {@code spec}. */
  static String compress(Map<String, Object> spec) {
    byte[] json = JSON.asJson(spec).getBytes(StandardCharsets.UTF_8);
    Deflater deflater = new Deflater();
    try {
      deflater.setInput(json);
      deflater.finish();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      while (!deflater.finished()) {
        out.write(buf, 0, deflater.deflate(buf));
      }
      return Base64.getEncoder().encodeToString(out.toByteArray());
    } finally {
      deflater.end();
    }
  }
}
