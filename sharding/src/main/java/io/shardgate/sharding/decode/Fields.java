package io.shardgate.sharding.decode;

import io.shardgate.sharding.decode.GlooApi.EnumRef;
import io.shardgate.sharding.decode.GlooApi.EnumType;
import io.shardgate.sharding.decode.GlooApi.Field;
import io.shardgate.sharding.decode.GlooApi.ListOf;
import io.shardgate.sharding.decode.GlooApi.MapOf;
import io.shardgate.sharding.decode.GlooApi.MessageRef;
import io.shardgate.sharding.decode.GlooApi.Opaque;
import io.shardgate.sharding.decode.GlooApi.Scalar;
import io.shardgate.sharding.decode.GlooApi.ScalarKind;
import io.shardgate.sharding.decode.GlooApi.Status;
import io.shardgate.sharding.decode.GlooApi.Type;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Typed, path-aware access to one mapping of a YAML document while decoding it, bound to the message of the
 * {@link GlooApi} table that the mapping is an instance of.
 *
 * <p>Accessors read a field by its JSON (camelCase) name or its proto (snake_case) name, check the value strictly as
 * proto-JSON would (a string field needs a YAML string, a bool needs true or false, a 32-bit integer a YAML
 * integer) and report a wrong type as an error that describes the value by its type only, so a secret pasted in
 * the wrong place never reaches a message. {@link #finish()} then classifies every key by the table: not a field
 * of the message is an error (with "did you mean" for a near miss); a field that is unserved or enterprise-only is a
 * warning unless its value is the default; ignored fields are silent; a field that restricts access or changes what
 * a route matches and cannot be served is recorded in {@link Problems#unservable} for the route decoder to claim.
 * Fields nobody read are type-checked there too. Asking for a field the table lacks is a decoder bug and throws.
 *
 * <p>Mutable and not thread-safe; lives for one decode call.
 */
final class Fields {

  /** Collects the problems of one resource. */
  static final class Problems {
    final SourceDocument doc;
    final List<String> errors = new ArrayList<>();
    final List<String> warnings = new ArrayList<>();
    /**
     * Fields that make the route (or host) holding them unservable, by path: {@code path (file:line): reason}. The
     * route decoder claims those under its route; any left at the end reject the resource.
     */
    final Map<String, String> unservable = new LinkedHashMap<>();
    /** The paths of {@link #unservable} that restrict access: the route holding them fails closed. */
    final Set<String> closing = new HashSet<>();
    /** Every mapping opened while decoding the resource, so none can escape {@link #finish()}. */
    private final List<Fields> opened = new ArrayList<>();

    Problems(SourceDocument doc) {
      this.doc = doc;
    }

    void error(String path, String message) {
      errors.add(path + " (" + doc.locationOf(path) + "): " + message);
    }

    void warning(String path, String message) {
      warnings.add(path + " (" + doc.locationOf(path) + "): " + message);
    }

    /** Finishes every mapping a builder opened but did not finish, so no key of the document goes unchecked. */
    void finishAll() {
      for (int i = 0; i < opened.size(); i++) {
        opened.get(i).finish();
      }
    }

    void unservable(String path, String reason) {
      unservable.put(path, reason);
    }

    /** An unservable field that restricts access: the route (or host) holding it must answer 403. */
    void closing(String path, String reason) {
      unservable.put(path, reason);
      closing.add(path);
    }

    /** The unservable fields claimed under one route or host, and whether one of them restricts access. */
    record Claimed(List<String> reasons, boolean closes) {
      String joined() {
        return reasons.isEmpty() ? null : String.join("; ", reasons);
      }
    }

    /**
     * Removes and returns the unservable reasons at or under {@code path}, each written as
     * {@code <path relative to it> (file:line): reason}.
     */
    Claimed claimUnservable(String path) {
      List<String> out = new ArrayList<>();
      boolean closes = false;
      var it = unservable.entrySet().iterator();
      while (it.hasNext()) {
        var e = it.next();
        String p = e.getKey();
        if (p.equals(path) || p.startsWith(path + ".") || p.startsWith(path + "[")) {
          String relative = p.equals(path) ? p : p.substring(path.length() + (p.charAt(path.length()) == '.' ? 1 : 0));
          out.add(relative + " (" + doc.locationOf(p) + "): " + e.getValue());
          closes |= closing.remove(p);
          it.remove();
        }
      }
      return new Claimed(out, closes);
    }
  }

  /** Longest value excerpt a message shows. */
  static final int MAX_SHOWN = 64;

  private static final Pattern DURATION = Pattern.compile("^(-?\\d+)(?:\\.(\\d{1,9}))?s$");
  private static final Pattern INTEGER = Pattern.compile("^-?\\d+$");
  private static final BigInteger MAX_DURATION_SECONDS = BigInteger.valueOf(315_576_000_000L);

  private final Map<String, Object> map;
  private final String path;
  private final Problems problems;
  private final GlooApi.Message message;
  private final Set<String> read = new HashSet<>();
  private boolean finished;

  Fields(Map<String, Object> map, String path, Problems problems, GlooApi.Message message) {
    this.map = map;
    this.path = path;
    this.problems = problems;
    this.message = message;
    problems.opened.add(this);
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

  GlooApi.Message message() {
    return message;
  }

  // ------------------------------------------------------------------ raw access

  /** The table's field {@code name}; a name the table lacks is a decoder bug. */
  private Field spec(String name) {
    Field f = message.fields().get(name);
    if (f == null) {
      throw new IllegalStateException("the Gloo API table has no field " + message.name() + "." + name);
    }
    return f;
  }

  /** The key under which {@code f} is written here (JSON name first, then proto name), or null. */
  private String keyOf(Field f) {
    if (map.containsKey(f.name())) {
      return f.name();
    }
    if (map.containsKey(f.protoName())) {
      return f.protoName();
    }
    return null;
  }

  /** The raw value of field {@code name} (or its snake_case spelling), marking it read; null when absent. */
  Object raw(String name) {
    String key = keyOf(spec(name));
    if (key == null) {
      return null;
    }
    read.add(key);
    return map.get(key);
  }

  /** Whether field {@code name} is written with a value (a YAML null counts as unset, as in proto-JSON). */
  boolean has(String name) {
    String key = keyOf(spec(name));
    return key != null && map.get(key) != null;
  }

  private String pathOfField(String name) {
    String key = keyOf(spec(name));
    return pathOf(key == null ? name : key);
  }

  // ------------------------------------------------------------------ typed access

  String str(String name) {
    Field f = expect(name, ScalarKind.STRING);
    Object v = raw(name);
    return v == null ? null : (String) scalar(v, (Scalar) f.type(), pathOfField(name), f);
  }

  String str(String name, String dflt) {
    String s = str(name);
    return s == null ? dflt : s;
  }

  /** An integer field of any width, range-checked for its type. */
  Long integer(String name) {
    Field f = spec(name);
    if (!(f.type() instanceof Scalar s) || !s.kind().isInteger()) {
      throw new IllegalStateException(message.name() + "." + name + " is not an integer field");
    }
    Object v = raw(name);
    return v == null ? null : (Long) scalar(v, s, pathOfField(name), f);
  }

  /** An integer within [min, max], or null (with an error) when it is outside. */
  Integer intInRange(String name, long min, long max) {
    Long l = integer(name);
    if (l == null) {
      return null;
    }
    if (l < min || l > max) {
      problems.error(pathOfField(name), "must be between " + min + " and " + max + ", got " + l);
      return null;
    }
    return l.intValue();
  }

  Boolean bool(String name) {
    Field f = expect(name, ScalarKind.BOOL);
    Object v = raw(name);
    return v == null ? null : (Boolean) scalar(v, (Scalar) f.type(), pathOfField(name), f);
  }

  Double number(String name) {
    Field f = expect(name, ScalarKind.DOUBLE);
    Object v = raw(name);
    return v == null ? null : (Double) scalar(v, (Scalar) f.type(), pathOfField(name), f);
  }

  /** A proto-JSON duration such as {@code 15s} or {@code 0.250s}; never negative. */
  Duration duration(String name) {
    Field f = expect(name, ScalarKind.DURATION);
    Object v = raw(name);
    return v == null ? null : (Duration) scalar(v, (Scalar) f.type(), pathOfField(name), f);
  }

  /** An enum field's value name (a number is turned into its name), or null. */
  String enumName(String name) {
    Field f = spec(name);
    if (!(f.type() instanceof EnumRef)) {
      throw new IllegalStateException(message.name() + "." + name + " is not an enum field");
    }
    Object v = raw(name);
    return v == null ? null : enumValue(v, f, pathOfField(name));
  }

  /** A nested mapping, or null when absent (or not a mapping, which is an error). */
  Fields obj(String name) {
    Field f = spec(name);
    if (!(f.type() instanceof MessageRef m)) {
      throw new IllegalStateException(message.name() + "." + name + " is not a message field");
    }
    return child(raw(name), pathOfField(name), GlooApi.table().message(m.name()));
  }

  /** A free-form mapping field ({@code struct}) read as message {@code messageName} of the table. */
  Fields objAs(String name, String messageName) {
    Field f = spec(name);
    if (!(f.type() instanceof Opaque)) {
      throw new IllegalStateException(message.name() + "." + name + " is not a struct field");
    }
    return child(raw(name), pathOfField(name), GlooApi.table().message(messageName));
  }

  private Fields child(Object v, String p, GlooApi.Message m) {
    if (v == null) {
      return null;
    }
    if (v instanceof Map<?, ?> mm) {
      return new Fields(cast(mm), p, problems, m);
    }
    problems.error(p, "expected a mapping, got " + describe(v));
    return null;
  }

  /** A list of mappings; an absent key is an empty list. */
  List<Fields> objList(String name) {
    Field f = spec(name);
    if (!(f.type() instanceof ListOf l) || !(l.element() instanceof MessageRef m)) {
      throw new IllegalStateException(message.name() + "." + name + " is not a list of messages");
    }
    GlooApi.Message element = GlooApi.table().message(m.name());
    List<Object> items = list(name);
    List<Fields> out = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      Fields c = child(items.get(i), pathOfField(name) + "[" + i + "]", element);
      if (c != null) {
        out.add(c);
      } else if (items.get(i) == null) {
        problems.error(pathOfField(name) + "[" + i + "]", "expected a mapping, got nothing");
      }
    }
    return out;
  }

  List<String> strList(String name) {
    List<String> out = new ArrayList<>();
    for (Object o : scalarList(name, ScalarKind.STRING)) {
      out.add((String) o);
    }
    return out;
  }

  List<Long> intList(String name) {
    List<Long> out = new ArrayList<>();
    for (Object o : scalarList(name, null)) {
      out.add((Long) o);
    }
    return out;
  }

  private List<Object> scalarList(String name, ScalarKind kind) {
    Field f = spec(name);
    if (!(f.type() instanceof ListOf l) || !(l.element() instanceof Scalar s)
        || (kind != null ? s.kind() != kind : !s.kind().isInteger())) {
      throw new IllegalStateException(message.name() + "." + name + " is not a list of that scalar");
    }
    List<Object> items = list(name);
    List<Object> out = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      String p = pathOfField(name) + "[" + i + "]";
      Object item = items.get(i);
      Object converted = item == null ? null : scalar(item, s, p, f);
      if (item == null) {
        problems.error(p, "expected " + expectation(s.kind()) + ", got nothing");
      } else if (converted != null) {
        out.add(converted);
      }
    }
    return out;
  }

  /** A string-to-string map (labels, selectors); null when absent. */
  Map<String, String> strMap(String name) {
    Field f = spec(name);
    if (!(f.type() instanceof MapOf m) || !(m.value() instanceof Scalar s) || s.kind() != ScalarKind.STRING) {
      throw new IllegalStateException(message.name() + "." + name + " is not a map of strings");
    }
    Object v = raw(name);
    if (v == null) {
      return null;
    }
    if (!(v instanceof Map<?, ?> mm)) {
      problems.error(pathOfField(name), "expected a mapping of strings, got " + describe(v));
      return null;
    }
    Map<String, String> out = new LinkedHashMap<>();
    mm.forEach(
        (k, val) -> {
          String p = pathOfField(name) + "." + k;
          Object converted = val == null ? null : scalar(val, s, p, f);
          if (val == null) {
            problems.error(p, "expected a string, got nothing");
          } else if (converted != null) {
            out.put(String.valueOf(k), (String) converted);
          }
        });
    return out;
  }

  /** A field whose insides are not checked ({@code any}, {@code struct}), as written; null when absent. */
  Object opaque(String name) {
    Field f = spec(name);
    if (!(f.type() instanceof Opaque o)) {
      throw new IllegalStateException(message.name() + "." + name + " is not an opaque field");
    }
    Object v = raw(name);
    if (v != null && o.mappingOnly() && !(v instanceof Map)) {
      problems.error(pathOfField(name), "expected a mapping, got " + describe(v));
      return null;
    }
    return v;
  }

  private List<Object> list(String name) {
    Object v = raw(name);
    if (v == null) {
      return List.of();
    }
    if (v instanceof List<?> l) {
      return new ArrayList<>(l);
    }
    problems.error(pathOfField(name), "expected a list, got " + describe(v));
    return List.of();
  }

  private static String expectation(ScalarKind kind) {
    return switch (kind) {
      case STRING -> "a string";
      case BOOL -> "true or false";
      case DOUBLE -> "a number";
      case DURATION -> "a duration";
      default -> "an integer";
    };
  }

  private Field expect(String name, ScalarKind kind) {
    Field f = spec(name);
    if (!(f.type() instanceof Scalar s) || s.kind() != kind) {
      throw new IllegalStateException(message.name() + "." + name + " is not a " + kind + " field");
    }
    return f;
  }

  /**
   * How {@code value} of field {@code name} may appear in a message: quoted and cut to {@value #MAX_SHOWN}
   * characters when the table marks the field as shown, else described by its length only.
   */
  String shown(String name, String value) {
    return shown(spec(name), value);
  }

  static String shown(Field f, String value) {
    return showsValue(f) ? quote(value) : describe(value);
  }

  private static boolean showsValue(Field f) {
    Type t = f.type();
    while (t instanceof ListOf l) {
      t = l.element();
    }
    while (t instanceof MapOf m) {
      t = m.value();
    }
    if (t instanceof Scalar s) {
      return s.kind() != ScalarKind.STRING || f.show();
    }
    return t instanceof EnumRef || f.show();
  }

  // ------------------------------------------------------------------ conversion

  /** Converts a scalar strictly (proto-JSON rules); reports and returns null on a mismatch. */
  private Object scalar(Object v, Scalar s, String p, Field f) {
    switch (s.kind()) {
      case STRING -> {
        if (v instanceof String str) {
          return str;
        }
        problems.error(p, "expected a string, got " + describe(v)
            + (v instanceof Number || v instanceof Boolean ? " (quote it to write it as text)" : ""));
        return null;
      }
      case BOOL -> {
        if (v instanceof Boolean b) {
          return b;
        }
        problems.error(p, "expected true or false, got " + describe(v));
        return null;
      }
      case INT32, UINT32, INT64, UINT64 -> {
        return integerOf(v, s.kind(), p);
      }
      case DOUBLE -> {
        if (v instanceof Number n && !(v instanceof BigInteger)) {
          return n.doubleValue();
        }
        problems.error(p, "expected a number, got " + describe(v));
        return null;
      }
      case DURATION -> {
        Matcher m = v instanceof String str ? DURATION.matcher(str.trim()) : null;
        if (m == null || !m.matches()) {
          problems.error(p, "expected a duration in seconds such as '15s' or '0.5s', got "
              + (v instanceof String str ? quote(str) : describe(v)));
          return null;
        }
        // google.protobuf.Duration spans about 10,000 years; beyond that Gloo refuses the value and Envoy would
        // refuse the resource that carries it.
        BigInteger wholeSeconds = new BigInteger(m.group(1));
        if (wholeSeconds.abs().compareTo(MAX_DURATION_SECONDS) > 0) {
          problems.error(p, "is out of range: a duration is at most " + MAX_DURATION_SECONDS + "s (about 10,000"
              + " years), got " + quote((String) v));
          return null;
        }
        long seconds = wholeSeconds.longValueExact();
        long nanos = m.group(2) == null ? 0 : Long.parseLong((m.group(2) + "000000000").substring(0, 9));
        Duration d = Duration.ofSeconds(seconds, seconds < 0 || m.group(1).startsWith("-") ? -nanos : nanos);
        if (d.isNegative()) {
          problems.error(p, "must not be negative, got " + quote((String) v));
          return null;
        }
        return d;
      }
      default -> throw new IllegalStateException(s.kind().name());
    }
  }

  private Long integerOf(Object v, ScalarKind kind, String p) {
    BigInteger n = null;
    if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
      n = BigInteger.valueOf(((Number) v).longValue());
    } else if (v instanceof BigInteger b) {
      n = b;
    } else if (v instanceof String str && (kind == ScalarKind.INT64 || kind == ScalarKind.UINT64)
        && INTEGER.matcher(str.trim()).matches()) {
      // proto-JSON writes 64-bit integers as strings, so Gloo takes both forms for them.
      n = new BigInteger(str.trim());
    } else if (v instanceof String str && INTEGER.matcher(str.trim()).matches()) {
      problems.error(p, "expected an integer, got a string (write the number without quotes)");
      return null;
    } else if (v instanceof Double d && d == Math.rint(d) && !Double.isInfinite(d)) {
      n = BigInteger.valueOf(d.longValue());
    }
    if (n == null) {
      problems.error(p, "expected an integer, got " + describe(v));
      return null;
    }
    BigInteger min;
    BigInteger max;
    switch (kind) {
      case INT32 -> {
        min = BigInteger.valueOf(Integer.MIN_VALUE);
        max = BigInteger.valueOf(Integer.MAX_VALUE);
      }
      case UINT32 -> {
        min = BigInteger.ZERO;
        max = BigInteger.valueOf(0xFFFFFFFFL);
      }
      case INT64 -> {
        min = BigInteger.valueOf(Long.MIN_VALUE);
        max = BigInteger.valueOf(Long.MAX_VALUE);
      }
      default -> {
        min = BigInteger.ZERO;
        max = BigInteger.valueOf(Long.MAX_VALUE);
      }
    }
    if (n.compareTo(min) < 0 || n.compareTo(max) > 0) {
      problems.error(p, "must be between " + min + " and " + max + " (" + kind.name().toLowerCase() + "), got "
          + excerpt(n.toString()));
      return null;
    }
    return n.longValue();
  }

  private String enumValue(Object v, Field f, String p) {
    EnumType e = GlooApi.table().enumType(((EnumRef) f.type()).name());
    if (v instanceof String s && e.values().containsKey(s)) {
      return s;
    }
    if (v instanceof Long || v instanceof Integer) {
      String n = e.nameOf(((Number) v).longValue());
      if (n != null) {
        return n;
      }
    }
    String got = v instanceof String s ? quote(s) : v instanceof Number n ? excerpt(String.valueOf(n)) : describe(v);
    problems.error(p, "must be one of " + String.join(", ", e.values().keySet()) + ", got " + got);
    return null;
  }

  /** Type-checks a value nobody read, recursively through messages, lists and maps. */
  private void check(Object v, Type t, String p, Field f) {
    if (v == null) {
      return;
    }
    if (t instanceof Scalar s) {
      scalar(v, s, p, f);
    } else if (t instanceof EnumRef) {
      enumValue(v, f, p);
    } else if (t instanceof MessageRef m) {
      Fields c = child(v, p, GlooApi.table().message(m.name()));
      if (c != null) {
        c.finish();
      }
    } else if (t instanceof ListOf l) {
      if (!(v instanceof List<?> items)) {
        problems.error(p, "expected a list, got " + describe(v));
        return;
      }
      for (int i = 0; i < items.size(); i++) {
        check(items.get(i), l.element(), p + "[" + i + "]", f);
      }
    } else if (t instanceof MapOf m) {
      if (!(v instanceof Map<?, ?> entries)) {
        problems.error(p, "expected a mapping, got " + describe(v));
        return;
      }
      entries.forEach((k, val) -> check(val, m.value(), p + "." + k, f));
    } else if (t instanceof Opaque o && o.mappingOnly() && !(v instanceof Map)) {
      problems.error(p, "expected a mapping, got " + describe(v));
    }
  }

  // ------------------------------------------------------------------ finish

  /**
   * Classifies every key by the table (see the class comment) and checks the oneof groups, once; call it after the
   * builder read what it serves (a later call does nothing).
   */
  void finish() {
    if (finished) {
      return;
    }
    finished = true;
    // Identity: the table's fields are unique, and a record's hash would walk its whole type.
    Map<Field, String> seen = new IdentityHashMap<>();
    for (Map.Entry<String, Object> e : map.entrySet()) {
      String key = e.getKey();
      Object v = e.getValue();
      Field f = message.field(key);
      if (f == null) {
        problems.error(pathOf(key), unknownField(key));
        continue;
      }
      String earlier = seen.putIfAbsent(f, key);
      if (earlier != null) {
        problems.error(pathOf(key), "is written twice, as '" + earlier + "' and as '" + key + "'; keep one");
        continue;
      }
      if (v == null) {
        continue;
      }
      if (!read.contains(key)) {
        check(v, f.type(), pathOf(key), f);
      }
      classify(f, key, v);
    }
    for (Map.Entry<String, List<String>> group : message.oneofs().entrySet()) {
      List<String> set = group.getValue().stream().filter(this::has).toList();
      if (set.size() > 1) {
        problems.error(path.isEmpty() ? pathOf(set.get(1)) : path,
            "set only one of " + words(group.getValue(), "and") + "; found " + words(set, "and"));
      }
    }
  }

  private void classify(Field f, String key, Object v) {
    String p = pathOf(key);
    switch (f.status()) {
      case SERVED, IGNORED -> {}
      case UNSERVED, ENTERPRISE -> {
        if (!isDefault(v, f)) {
          problems.warning(p, f.note() != null ? f.note() : f.status() == Status.UNSERVED
              ? "is not served by Shardgate yet; ignored"
              : "is a Gloo Enterprise feature that Shardgate does not serve; ignored");
        }
      }
      case FAILS_CLOSED -> {
        boolean off = f.offKey() != null && v instanceof Map<?, ?> m
            && f.offValue().equals(String.valueOf(m.get(f.offKey())));
        if (!off) {
          problems.closing(p, f.note() != null ? f.note()
              : "restricts access, and Shardgate does not enforce it yet, so it cannot serve it safely");
        }
      }
      case UNSERVABLE -> problems.unservable(p, f.note() != null ? f.note() : "is not served by Shardgate yet");
      default -> throw new IllegalStateException(f.status().name());
    }
  }

  /**
   * Whether {@code v} is the field's default, which Gloo treats like unset, so it is not worth a warning: the
   * declared default when the table has one, else false, 0, "", "0s", an enum's first value, an empty list or map. An
   * empty message ({@code {}}) is not a default: its presence can switch a feature on.
   */
  static boolean isDefault(Object v, Field f) {
    if (v == null) {
      return true;
    }
    if (f.defaultValue() != null) {
      if (v instanceof Number n) {
        try {
          return n.doubleValue() == Double.parseDouble(f.defaultValue());
        } catch (NumberFormatException e) {
          return false;
        }
      }
      return String.valueOf(v).equals(f.defaultValue());
    }
    if (v instanceof Boolean b) {
      return !b;
    }
    if (v instanceof Number n) {
      return n.doubleValue() == 0;
    }
    if (v instanceof String s) {
      if (s.isEmpty()) {
        return true;
      }
      if (f.type() instanceof Scalar sc && sc.kind() == ScalarKind.DURATION) {
        return s.trim().matches("-?0+(\\.0+)?s");
      }
      return f.type() instanceof EnumRef r
          && Integer.valueOf(0).equals(GlooApi.table().enumType(r.name()).values().get(s));
    }
    if (v instanceof List<?> l) {
      return l.isEmpty();
    }
    if (v instanceof Map<?, ?> m) {
      return m.isEmpty() && f.type() instanceof MapOf;
    }
    return false;
  }

  /** "'prefx' is not a field of Matcher; did you mean 'prefix'?" */
  private String unknownField(String key) {
    String msg = quote(key) + " is not a field of " + message.name();
    String hint = message.hints().get(key);
    if (hint != null) {
      return msg + "; " + hint;
    }
    String folded = GlooApi.folded(key);
    for (Field f : message.fields().values()) {
      for (String former : f.formerNames()) {
        if (GlooApi.folded(former).equals(folded)) {
          return msg + "; did you mean '" + f.name() + "'? (Gloo 0.x called it '" + former + "')";
        }
      }
    }
    String best = null;
    int bestDistance = 3;
    for (Field f : message.fields().values()) {
      int d = EditDistance.between(folded, GlooApi.folded(f.name()));
      if (d < bestDistance) {
        best = f.name();
        bestDistance = d;
      }
    }
    return best == null ? msg : msg + "; did you mean '" + best + "'?";
  }

  private static String words(List<String> names, String last) {
    if (names.size() == 1) {
      return names.get(0);
    }
    return String.join(", ", names.subList(0, names.size() - 1)) + " " + last + " " + names.get(names.size() - 1);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> cast(Map<?, ?> m) {
    return (Map<String, Object>) m;
  }

  // ------------------------------------------------------------------ secret-safe rendering

  /** A value described by its type only: never its content. */
  static String describe(Object v) {
    if (v == null) {
      return "nothing";
    }
    if (v instanceof Map<?, ?>) {
      return "a mapping";
    }
    if (v instanceof List<?> l) {
      return l.size() == 1 ? "a list of 1 item" : "a list of " + l.size() + " items";
    }
    if (v instanceof String s) {
      int n = s.codePointCount(0, s.length());
      return n == 0 ? "an empty string" : n == 1 ? "a string of 1 character" : "a string of " + n + " characters";
    }
    if (v instanceof Boolean) {
      return "a boolean";
    }
    if (v instanceof Number) {
      return "a number";
    }
    return "a value of another type";
  }

  /** {@code 'value'}, cut to {@value #MAX_SHOWN} characters, with control characters escaped. */
  static String quote(String value) {
    return "'" + excerpt(value) + "'";
  }

  static String excerpt(String value) {
    StringBuilder sb = new StringBuilder();
    int shown = 0;
    for (int i = 0; i < value.length(); ) {
      int cp = value.codePointAt(i);
      i += Character.charCount(cp);
      if (shown == MAX_SHOWN) {
        sb.append('\u2026');
        break;
      }
      if (Character.isISOControl(cp)) {
        sb.append(String.format("\\u%04x", cp));
      } else {
        sb.appendCodePoint(cp);
      }
      shown++;
    }
    return sb.toString();
  }
}
