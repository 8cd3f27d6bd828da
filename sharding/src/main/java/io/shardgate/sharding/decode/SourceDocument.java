package io.shardgate.sharding.decode;

import java.util.Map;
import java.util.Objects;

/**
 * One YAML document as a config source read it, before decoding into a typed resource.
 *
 * <p>Stage: source output, decoder input. Immutable value; thread-safe.
 *
 * <p>{@code content} is the document as a plain tree of {@code Map<String,Object>} (insertion ordered),
 * {@code List<Object>}, {@code String}, {@code Long}, {@code Double}, {@code Boolean} and {@code null}, always in
 * Kubernetes form ({@code apiVersion}, {@code kind}, {@code metadata}, {@code spec}). Sources that read Gloo's flat
 * form (metadata plus the spec fields at the top level) normalise it to this form before handing it over.
 *
 * @param origin where the document came from, for messages: a file path relative to the source root, or a key
 * @param line the 1-based line on which the document starts in {@code origin}, or 0 when unknown
 * @param content the document tree in Kubernetes form
 * @param fieldLines 1-based line of each field, keyed by its path in the form {@code spec.routes[0].matchers[1]};
 *     may be empty when the source has no line information
 */
public record SourceDocument(String origin, int line, Map<String, Object> content, Map<String, Integer> fieldLines) {

  public SourceDocument {
    Objects.requireNonNull(origin, "origin");
    // The tree may hold YAML nulls, which Map.copyOf rejects; sources hand over trees they never touch again.
    Objects.requireNonNull(content, "content");
    fieldLines = Map.copyOf(Objects.requireNonNull(fieldLines, "fieldLines"));
  }

  /** The line of the field at {@code path}, or the line of the nearest enclosing field, or the document line. */
  public int lineOf(String path) {
    String p = path;
    while (!p.isEmpty()) {
      Integer l = fieldLines.get(p);
      if (l != null) {
        return l;
      }
      int cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      p = cut <= 0 ? "" : p.substring(0, cut);
    }
    return line;
  }

  /** {@code origin:line} of the field at {@code path}, for error messages. */
  public String locationOf(String path) {
    int l = lineOf(path);
    return l > 0 ? origin + ":" + l : origin;
  }
}
