package io.shardgate.controlplane.nomad;

import io.shardgate.sharding.decode.EditDistance;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The Helm chart's {@code values.schema.json}, applied to values outside Helm so that {@code render nomad} refuses
 * what {@code helm install} refuses (a misspelled key above all).
 *
 * <p>Stage: input validation. Immutable, thread-safe. It implements the JSON Schema (draft-07) keywords the chart's
 * schema uses ({@code type}, {@code properties}, {@code additionalProperties}, {@code $ref} into
 * {@code definitions}, {@code items}, {@code enum}, {@code minimum}, {@code maximum}, {@code pattern},
 * {@code anyOf}) and fails loudly on any other, so a schema that grows a keyword cannot pass values unchecked.
 */
final class ValuesSchema {

  private static final Set<String> KNOWN = Set.of("$schema", "title", "description", "definitions", "type",
      "properties", "additionalProperties", "$ref", "items", "enum", "minimum", "maximum", "pattern", "anyOf");

  private final Map<String, Object> root;

  ValuesSchema(Map<String, Object> root) {
    this.root = root;
  }

  /**
   * The problems of {@code values}, each naming the dotted key path; empty when they are valid.
   *
   * @param nullRemoves true for a user's values file, where {@code null} removes a default (Helm) and is valid
   *     anywhere; false for the merged values, which hold no nulls that mean removal
   */
  List<String> problems(Object values, boolean nullRemoves) {
    List<String> out = new ArrayList<>();
    check(root, values, "", nullRemoves, out);
    return out;
  }

  @SuppressWarnings("unchecked")
  private void check(Map<String, Object> schema, Object value, String path, boolean nullRemoves, List<String> out) {
    for (String keyword : schema.keySet()) {
      if (!KNOWN.contains(keyword)) {
        throw new IllegalStateException("values.schema.json uses the keyword " + keyword + " at " + where(path)
            + ", which this validator does not implement");
      }
    }
    if (schema.containsKey("$ref")) {
      check(resolve((String) schema.get("$ref")), value, path, nullRemoves, out);
      return;
    }
    if (value == null && nullRemoves) {
      return;
    }
    if (schema.containsKey("anyOf")) {
      List<Object> options = (List<Object>) schema.get("anyOf");
      List<String> firstProblems = null;
      for (Object option : options) {
        List<String> p = new ArrayList<>();
        check((Map<String, Object>) option, value, path, nullRemoves, p);
        if (p.isEmpty()) {
          firstProblems = null;
          break;
        }
        if (firstProblems == null) {
          firstProblems = p;
        }
      }
      if (firstProblems != null) {
        out.add(where(path) + ": " + render(value) + " matches none of the allowed forms (" + describe(options) + ")");
        return;
      }
    }
    if (schema.containsKey("type") && !typeMatches(schema.get("type"), value)) {
      out.add(where(path) + ": expected " + schema.get("type") + ", got " + render(value));
      return;
    }
    if (schema.containsKey("enum") && !((List<Object>) schema.get("enum")).contains(value)) {
      out.add(where(path) + ": " + render(value) + " is not one of " + schema.get("enum"));
    }
    if (value instanceof Number n) {
      if (schema.get("minimum") instanceof Number min && n.doubleValue() < min.doubleValue()) {
        out.add(where(path) + ": " + n + " is below the minimum " + min);
      }
      if (schema.get("maximum") instanceof Number max && n.doubleValue() > max.doubleValue()) {
        out.add(where(path) + ": " + n + " is above the maximum " + max);
      }
    }
    if (value instanceof String s && schema.get("pattern") instanceof String p && !Pattern.compile(p).matcher(s)
        .find()) {
      out.add(where(path) + ": \"" + s + "\" does not match " + p);
    }
    if (value instanceof List<?> list && schema.get("items") instanceof Map<?, ?> items) {
      for (int i = 0; i < list.size(); i++) {
        check((Map<String, Object>) items, list.get(i), path + "[" + i + "]", nullRemoves, out);
      }
    }
    if (value instanceof Map<?, ?> map) {
      Map<String, Object> properties = (Map<String, Object>) schema.getOrDefault("properties", Map.of());
      Object additional = schema.get("additionalProperties");
      for (Map.Entry<?, ?> e : map.entrySet()) {
        String key = String.valueOf(e.getKey());
        String child = path.isEmpty() ? key : path + "." + key;
        if (properties.containsKey(key)) {
          check((Map<String, Object>) properties.get(key), e.getValue(), child, nullRemoves, out);
        } else if (Boolean.FALSE.equals(additional)) {
          out.add(where(child) + ": unknown key \"" + key + "\"" + suggestion(key, properties.keySet()));
        } else if (additional instanceof Map<?, ?> additionalSchema) {
          check((Map<String, Object>) additionalSchema, e.getValue(), child, nullRemoves, out);
        }
      }
    }
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> resolve(String ref) {
    if (!ref.startsWith("#/definitions/")) {
      throw new IllegalStateException("values.schema.json: unsupported $ref " + ref);
    }
    Map<String, Object> definitions = (Map<String, Object>) root.get("definitions");
    Object target = definitions == null ? null : definitions.get(ref.substring("#/definitions/".length()));
    if (!(target instanceof Map<?, ?>)) {
      throw new IllegalStateException("values.schema.json: $ref " + ref + " names no definition");
    }
    return (Map<String, Object>) target;
  }

  private static boolean typeMatches(Object type, Object value) {
    if (type instanceof List<?> types) {
      return types.stream().anyMatch(t -> typeMatches(t, value));
    }
    return switch (String.valueOf(type)) {
      case "object" -> value instanceof Map<?, ?>;
      case "array" -> value instanceof List<?>;
      case "string" -> value instanceof String;
      case "boolean" -> value instanceof Boolean;
      case "integer" -> value instanceof Integer || value instanceof Long || value instanceof BigInteger;
      case "number" -> value instanceof Number;
      case "null" -> value == null;
      default -> throw new IllegalStateException("values.schema.json: unknown type " + type);
    };
  }

  /** The closest known key by edit distance, when it is close enough to be a likely misspelling. */
  private static String suggestion(String key, Set<String> known) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String candidate : known.stream().sorted().toList()) {
      int d = EditDistance.between(key.toLowerCase(), candidate.toLowerCase());
      if (d < bestDistance) {
        best = candidate;
        bestDistance = d;
      }
    }
    return best != null && bestDistance <= Math.max(2, key.length() / 4) ? " (did you mean \"" + best + "\"?)" : "";
  }

  @SuppressWarnings("unchecked")
  private static String describe(List<Object> options) {
    List<String> forms = new ArrayList<>();
    for (Object o : options) {
      Map<String, Object> m = (Map<String, Object>) o;
      forms.add(m.containsKey("pattern") ? m.get("type") + " matching " + m.get("pattern") : String.valueOf(m.get("type")));
    }
    return String.join(" or ", forms);
  }

  private static String where(String path) {
    return path.isEmpty() ? "(top level)" : path;
  }

  private static String render(Object value) {
    if (value == null) {
      return "null";
    }
    if (value instanceof String s) {
      return "\"" + s + "\"";
    }
    if (value instanceof Map<?, ?>) {
      return "an object";
    }
    if (value instanceof List<?>) {
      return "a list";
    }
    return value + " (" + (value instanceof Boolean ? "boolean" : value instanceof Number ? "number" : "value") + ")";
  }
}
