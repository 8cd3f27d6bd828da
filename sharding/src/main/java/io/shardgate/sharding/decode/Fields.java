package io.shardgate.sharding.decode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Typed, path-aware access to one mapping of a YAML document while decoding it.
 *
 * <p>Every accessor marks its key as read; {@link #finish()} then reports each key nobody read as a warning, so a
 * field Shardgate does not implement is never dropped silently. Keys may be written in proto-JSON camelCase (as
 * Gloo documents them) or in the proto's snake_case, which Gloo also accepts. Type mismatches are errors that name
 * the field path and its file:line.
 *
 * <p>Mutable and not thread-safe; lives for one decode call.
 */
final class Fields {

  /** Collects the problems of one resource. */
  static final class Problems {
    final SourceDocument doc;
    final List<String> errors = new ArrayList<>();
    final List<String> warnings = new ArrayList<>();

    Problems(SourceDocument doc) {
      this.doc = doc;
    }

    void error(String path, String message) {
      errors.add(path + " (" + doc.locationOf(path) + "): " + message);
    }

    void warning(String path, String message) {
      warnings.add(path + " (" + doc.locationOf(path) + "): " + message);
    }
  }

  private static final Pattern DURATION = Pattern.compile("^(-?\\d+)(?:\\.(\\d{1,9}))?s$");

  private final Map<String, Object> map;
  private final String path;
  private final Problems problems;
  private final Set<String> read = new LinkedHashSet<>();

  Fields(Map<String, Object> map, String path, Problems problems) {
    this.map = map;
    this.path = path;
    this.problems = problems;
  }

  String path() {
    return path;
  }

  String pathOf(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  Problems problems() {
    return problems;
  }

  /** The raw value under {@code key} (or its snake_case spelling), marking it read. */
  Object raw(String key) {
    if (map.containsKey(key)) {
      read.add(key);
      return map.get(key);
    }
    String snake = toSnake(key);
    if (!snake.equals(key) && map.containsKey(snake)) {
      read.add(snake);
      return map.get(snake);
    }
    return null;
  }

  boolean has(String key) {
    return map.containsKey(key) || map.containsKey(toSnake(key));
  }

  /** Marks keys read without looking at them (metadata the decoder deliberately ignores). */
  void ignore(String... keys) {
    for (String k : keys) {
      raw(k);
    }
  }

  /** Marks the key read and warns that its value is not served. */
  void unsupported(String key, String why) {
    if (has(key)) {
      raw(key);
      problems.warning(pathOf(key), why);
    }
  }

  String str(String key) {
    Object v = raw(key);
    if (v == null) {
      return null;
    }
    if (v instanceof String s) {
      return s;
    }
    if (v instanceof Number || v instanceof Boolean) {
      return String.valueOf(v);
    }
    problems.error(pathOf(key), "expected a string, got " + describe(v));
    return null;
  }

  String str(String key, String dflt) {
    String s = str(key);
    return s == null ? dflt : s;
  }

  Long integer(String key) {
    Object v = raw(key);
    if (v == null) {
      return null;
    }
    if (v instanceof Long l) {
      return l;
    }
    if (v instanceof Integer i) {
      return i.longValue();
    }
    if (v instanceof String s) {
      try {
        return Long.parseLong(s.trim());
      } catch (NumberFormatException e) {
        // fall through to the error below
      }
    }
    problems.error(pathOf(key), "expected an integer, got " + describe(v));
    return null;
  }

  /** An integer within [min, max], or null (with an error) when it is outside. */
  Integer intInRange(String key, long min, long max) {
    Long l = integer(key);
    if (l == null) {
      return null;
    }
    if (l < min || l > max) {
      problems.error(pathOf(key), "must be between " + min + " and " + max + ", got " + l);
      return null;
    }
    return l.intValue();
  }

  Boolean bool(String key) {
    Object v = raw(key);
    if (v == null) {
      return null;
    }
    if (v instanceof Boolean b) {
      return b;
    }
    if (v instanceof String s && (s.equals("true") || s.equals("false"))) {
      return Boolean.parseBoolean(s);
    }
    problems.error(pathOf(key), "expected true or false, got " + describe(v));
    return null;
  }

  /** A proto-JSON duration such as {@code 15s} or {@code 0.250s}. */
  Duration duration(String key) {
    Object v = raw(key);
    if (v == null) {
      return null;
    }
    Matcher m = v instanceof String s ? DURATION.matcher(s.trim()) : null;
    if (m == null || !m.matches()) {
      problems.error(pathOf(key), "expected a duration in seconds such as '15s' or '0.5s', got " + describe(v));
      return null;
    }
    long seconds = Long.parseLong(m.group(1));
    long nanos = m.group(2) == null ? 0 : Long.parseLong((m.group(2) + "000000000").substring(0, 9));
    Duration d = Duration.ofSeconds(seconds, seconds < 0 ? -nanos : nanos);
    if (d.isNegative()) {
      problems.error(pathOf(key), "must not be negative, got " + v);
      return null;
    }
    return d;
  }

  /** A nested mapping, or null when absent (or not a mapping, which is an error). */
  Fields obj(String key) {
    Object v = raw(key);
    if (v == null) {
      return null;
    }
    if (v instanceof Map<?, ?> m) {
      return new Fields(cast(m), pathOf(key), problems);
    }
    problems.error(pathOf(key), "expected a mapping, got " + describe(v));
    return null;
  }

  /** A list of mappings; an absent key is an empty list. */
  List<Fields> objList(String key) {
    List<Object> items = list(key);
    List<Fields> out = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      Object item = items.get(i);
      String p = pathOf(key) + "[" + i + "]";
      if (item instanceof Map<?, ?> m) {
        out.add(new Fields(cast(m), p, problems));
      } else {
        problems.error(p, "expected a mapping, got " + describe(item));
      }
    }
    return out;
  }

  List<String> strList(String key) {
    List<Object> items = list(key);
    List<String> out = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      Object item = items.get(i);
      if (item instanceof String s) {
        out.add(s);
      } else if (item instanceof Number || item instanceof Boolean) {
        out.add(String.valueOf(item));
      } else {
        problems.error(pathOf(key) + "[" + i + "]", "expected a string, got " + describe(item));
      }
    }
    return out;
  }

  /** A string-to-string map (labels, selectors); null when absent. */
  Map<String, String> strMap(String key) {
    Object v = raw(key);
    if (v == null) {
      return null;
    }
    if (!(v instanceof Map<?, ?> m)) {
      problems.error(pathOf(key), "expected a mapping of strings, got " + describe(v));
      return null;
    }
    Map<String, String> out = new LinkedHashMap<>();
    m.forEach(
        (k, val) -> {
          if (val instanceof String || val instanceof Number || val instanceof Boolean) {
            out.put(String.valueOf(k), String.valueOf(val));
          } else {
            problems.error(pathOf(key) + "." + k, "expected a string, got " + describe(val));
          }
        });
    return out;
  }

  private List<Object> list(String key) {
    Object v = raw(key);
    if (v == null) {
      return List.of();
    }
    if (v instanceof List<?> l) {
      return new ArrayList<>(l);
    }
    problems.error(pathOf(key), "expected a list, got " + describe(v));
    return List.of();
  }

  /** Warns once per key nobody read: Shardgate does not implement it, and says so instead of dropping it. */
  void finish() {
    for (String k : map.keySet()) {
      if (!read.contains(k)) {
        problems.warning(pathOf(k), "field is not supported by Shardgate yet and is ignored");
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> cast(Map<?, ?> m) {
    return (Map<String, Object>) m;
  }

  static String describe(Object v) {
    if (v instanceof Map<?, ?>) {
      return "a mapping";
    }
    if (v instanceof List<?>) {
      return "a list";
    }
    if (v instanceof String s) {
      return "'" + s + "'";
    }
    return String.valueOf(v);
  }

  static String toSnake(String camel) {
    StringBuilder sb = new StringBuilder();
    for (char c : camel.toCharArray()) {
      if (Character.isUpperCase(c)) {
        sb.append('_').append(Character.toLowerCase(c));
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }
}
