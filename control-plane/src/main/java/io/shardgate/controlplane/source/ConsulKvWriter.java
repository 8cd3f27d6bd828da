package io.shardgate.controlplane.source;

import io.shardgate.controlplane.source.ConsulKvClient.Entry;
import io.shardgate.sharding.decode.SourceDocument;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * Writes the Gloo documents of a config directory into Consul's KV store at the keys {@link ConsulKvSource} reads
 * (and Gloo reads): one value per resource, in Gloo's flat YAML form (metadata plus the spec fields), so a Gloo
 * reading the same store understands it too. Used by {@code shardgate consul push} for migration and tests.
 *
 * <p>Stage: sink (the edge that writes to Consul). Stateless apart from the client; thread-safe. Secrets are never
 * written (Consul KV is no secret store; they belong in Vault).
 */
public final class ConsulKvWriter {

  /** What one push did, key by key. */
  public record Result(List<String> written, List<String> unchanged, List<String> deleted, List<String> skipped) {

    public Result {
      written = List.copyOf(written);
      unchanged = List.copyOf(unchanged);
      deleted = List.copyOf(deleted);
      skipped = List.copyOf(skipped);
    }
  }

  private final ConsulKvClient client;
  private final String rootKey;

  public ConsulKvWriter(ConsulKvClient client, String rootKey) {
    this.client = Objects.requireNonNull(client, "client");
    this.rootKey = ConsulKvSource.Options.defaults(rootKey).rootKey();
  }

  /** The value and key of every Gloo document of {@code contents}, by key. Pure. */
  public SortedMap<String, byte[]> values(DirectoryContents contents, List<String> skipped) {
    SortedMap<String, byte[]> out = new TreeMap<>();
    for (SourceDocument d : contents.documents()) {
      Map<String, Object> c = d.content();
      Object kind = c.get("kind");
      Object apiVersion = c.get("apiVersion");
      if (!(c.get("metadata") instanceof Map<?, ?> md) || md.get("name") == null
          || !ConsulKvSource.KIND_PATHS.contains(apiVersion + "/" + kind)) {
        skipped.add(d.origin() + ":" + d.line() + ": " + apiVersion + " " + kind + " is not a kind Consul KV holds");
        continue;
      }
      Object ns = md.get("namespace") == null ? "default" : md.get("namespace");
      String key = ConsulKvSource.keyOf(rootKey, String.valueOf(apiVersion), String.valueOf(kind), String.valueOf(ns),
          String.valueOf(md.get("name")));
      if (out.containsKey(key)) {
        skipped.add(d.origin() + ":" + d.line() + ": " + kind + " " + ns + "/" + md.get("name")
            + " is defined twice; the first one is pushed");
        continue;
      }
      out.put(key, flatYaml(c));
    }
    return out;
  }

  /**
   * Writes every value that differs from Consul's; with {@code prune}, deletes the keys of the layout under the root
   * that {@code contents} no longer holds (keys outside the layout are left alone).
   */
  public Result push(DirectoryContents contents, boolean prune) throws IOException, InterruptedException {
    List<String> skipped = new ArrayList<>();
    SortedMap<String, byte[]> values = values(contents, skipped);
    Map<String, byte[]> existing = new HashMap<>();
    for (Entry e : client.list(rootKey + "/", 0, Duration.ZERO).entries()) {
      existing.put(e.key(), e.value());
    }
    List<String> written = new ArrayList<>();
    List<String> unchanged = new ArrayList<>();
    for (Map.Entry<String, byte[]> v : values.entrySet()) {
      if (Arrays.equals(existing.get(v.getKey()), v.getValue())) {
        unchanged.add(v.getKey());
      } else {
        client.put(v.getKey(), v.getValue());
        written.add(v.getKey());
      }
    }
    List<String> deleted = new ArrayList<>();
    if (prune) {
      for (String key : new TreeMap<>(existing).keySet()) {
        if (!values.containsKey(key) && inLayout(key)) {
          client.delete(key);
          deleted.add(key);
        }
      }
    }
    return new Result(written, unchanged, deleted, skipped);
  }

  private boolean inLayout(String key) {
    String[] path = key.substring(rootKey.length() + 1).split("/", -1);
    return path.length == 5 && ConsulKvSource.KIND_PATHS.contains(path[0] + "/" + path[1] + "/" + path[2]);
  }

  /** Gloo's flat form: metadata, then the spec's fields; apiVersion and kind are the key's. */
  static byte[] flatYaml(Map<String, Object> content) {
    Map<String, Object> flat = new LinkedHashMap<>();
    flat.put("metadata", content.get("metadata"));
    if (content.get("spec") instanceof Map<?, ?> spec) {
      spec.forEach((k, v) -> flat.put(String.valueOf(k), v));
    }
    DumperOptions options = new DumperOptions();
    options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    options.setIndicatorIndent(0);
    options.setWidth(120);
    return new Yaml(options).dump(flat).getBytes(StandardCharsets.UTF_8);
  }
}
