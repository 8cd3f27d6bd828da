package io.shardgate.sharding.decode;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Shardgate's table of the Gloo Edge API fields it decodes: for every message, each field's JSON name, type,
 * default, status (served, unserved, enterprise, ignored, failsClosed, unservable), whether its value may be shown in
 * messages, and its oneof group. One table drives decoding, strictness and warnings (see {@link Fields}).
 *
 * <p>The table is the text resource {@value #RESOURCE}, readable as documentation; its header describes the line
 * format. It is parsed once, when this class is first used; a malformed table fails that first use loudly (a unit
 * test loads it). Immutable after loading; thread-safe.
 */
public final class GlooApi {

  /** Where the table lives on the class path. */
  public static final String RESOURCE = "/io/shardgate/sharding/decode/gloo-api.fields";

  /** What Shardgate does with a field. */
  public enum Status {
    /** Decoded and served. */
    SERVED,
    /** Exists in Gloo, not served by Shardgate yet: a warning unless the value is the default. */
    UNSERVED,
    /** A Gloo Enterprise field: a warning unless the value is the default. */
    ENTERPRISE,
    /** Accepted silently: it has no meaning for Shardgate (the table says why). */
    IGNORED,
    /** Restricts access and is not enforced: the route (or every route of the host) is not served. */
    FAILS_CLOSED,
    /** Changes what a route matches or where it goes, and Shardgate cannot serve it: the route is not served. */
    UNSERVABLE;

    static Status parse(String s) {
      return switch (s) {
        case "served" -> SERVED;
        case "unserved" -> UNSERVED;
        case "enterprise" -> ENTERPRISE;
        case "ignored" -> IGNORED;
        case "failsClosed" -> FAILS_CLOSED;
        case "unservable" -> UNSERVABLE;
        default -> throw new IllegalArgumentException("unknown status '" + s + "'");
      };
    }
  }

  /** Scalar kinds, as proto-JSON reads them. */
  public enum ScalarKind {
    STRING,
    BOOL,
    INT32,
    UINT32,
    INT64,
    UINT64,
    DOUBLE,
    DURATION;

    boolean isInteger() {
      return this == INT32 || this == UINT32 || this == INT64 || this == UINT64;
    }
  }

  /** A field's type. */
  public sealed interface Type permits Scalar, EnumRef, MessageRef, ListOf, MapOf, Opaque {}

  /** A scalar; {@code wrapper} for the google.protobuf wrapper types (written as plain scalars, nullable). */
  public record Scalar(ScalarKind kind, boolean wrapper) implements Type {}

  /** An enum of the table, taken by value name or number. */
  public record EnumRef(String name) implements Type {}

  /** A message of the table. */
  public record MessageRef(String name) implements Type {}

  /** A list. */
  public record ListOf(Type element) implements Type {}

  /** A map with string keys. */
  public record MapOf(Type value) implements Type {}

  /**
   * Not checked inside: {@code any} takes any value, {@code struct} any mapping. Used for option messages Shardgate
   * does not serve at all and for free-form structs.
   */
  public record Opaque(boolean mappingOnly) implements Type {}

  /**
   * One field.
   *
   * @param name the JSON (camelCase) name
   * @param protoName the proto (snake_case) name, which Gloo also accepts
   * @param defaultValue the declared default as written in the table, or null (then false, 0, "" and empty
   *     lists and maps are the defaults)
   * @param show whether a string value may be quoted in messages (numbers, bools, enums and durations always may)
   * @param oneof the oneof group, or null
   * @param formerNames names Gloo 0.x used for this field, for "did you mean"
   * @param offKey for failsClosed: the key whose value {@code offValue} turns the restriction off, or null
   * @param note the reason or message text for the status, or null for the standard text
   */
  public record Field(
      String name,
      String protoName,
      Type type,
      Status status,
      String defaultValue,
      boolean show,
      String oneof,
      List<String> formerNames,
      String offKey,
      String offValue,
      String note) {

    public Field {
      formerNames = List.copyOf(formerNames);
    }
  }

  /**
   * One message: its fields by JSON name (in table order), oneof groups, and hints for keys that are not fields
   * (e.g. Gloo 0.x names whose content moved).
   */
  public record Message(
      String name,
      Map<String, Field> fields,
      Map<String, List<String>> oneofs,
      Map<String, String> hints,
      Map<String, Field> byProtoName) {

    public Message(
        String name, Map<String, Field> fields, Map<String, List<String>> oneofs, Map<String, String> hints) {
      this(name, fields, oneofs, hints, protoNames(fields));
    }

    private static Map<String, Field> protoNames(Map<String, Field> fields) {
      Map<String, Field> out = new HashMap<>();
      for (Field f : fields.values()) {
        out.put(f.protoName(), f);
      }
      return Collections.unmodifiableMap(out);
    }

    /** The field {@code key} names, by JSON name or proto name, or null. */
    public Field field(String key) {
      Field f = fields.get(key);
      return f != null ? f : byProtoName.get(key);
    }
  }

  /** An enum: value names in table order with their numbers. */
  public record EnumType(String name, Map<String, Integer> values) {

    /** The name of value {@code number}, or null. */
    public String nameOf(long number) {
      for (Map.Entry<String, Integer> e : values.entrySet()) {
        if (e.getValue() == number) {
          return e.getKey();
        }
      }
      return null;
    }
  }

  private static final GlooApi TABLE = load();

  private final Map<String, Message> messages;
  private final Map<String, EnumType> enums;

  private GlooApi(Map<String, Message> messages, Map<String, EnumType> enums) {
    this.messages = Collections.unmodifiableMap(messages);
    this.enums = Collections.unmodifiableMap(enums);
  }

  /** The table. */
  public static GlooApi table() {
    return TABLE;
  }

  /** The message {@code name}; throws for a name the table lacks (a decoder bug, not bad input). */
  public Message message(String name) {
    Message m = messages.get(name);
    if (m == null) {
      throw new IllegalArgumentException("the Gloo API table has no message " + name);
    }
    return m;
  }

  public EnumType enumType(String name) {
    EnumType e = enums.get(name);
    if (e == null) {
      throw new IllegalArgumentException("the Gloo API table has no enum " + name);
    }
    return e;
  }

  public Map<String, Message> messages() {
    return messages;
  }

  public Map<String, EnumType> enums() {
    return enums;
  }

  // ------------------------------------------------------------------ parsing

  private static GlooApi load() {
    try (InputStream in = GlooApi.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("the Gloo API table " + RESOURCE + " is missing from the class path");
      }
      return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the Gloo API table " + RESOURCE, e);
    }
  }

  /** Parses table text; throws {@link IllegalArgumentException} naming the line of the first mistake. */
  static GlooApi parse(String text) {
    Map<String, Message> messages = new LinkedHashMap<>();
    Map<String, EnumType> enums = new LinkedHashMap<>();
    String[] lines = text.split("\n", -1);
    MessageBuilder current = null;
    for (int i = 0; i < lines.length; i++) {
      String raw = lines[i];
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      try {
        boolean indented = Character.isWhitespace(raw.charAt(0));
        int hash = line.indexOf(" #");
        if (hash >= 0) {
          line = line.substring(0, hash).strip();
        }
        String note = null;
        int dashes = line.indexOf(" -- ");
        if (dashes >= 0) {
          note = line.substring(dashes + 4).strip();
          line = line.substring(0, dashes).strip();
        }
        String[] t = line.split("\\s+");
        if (!indented) {
          if (current != null) {
            put(messages, current.build());
            current = null;
          }
          switch (t[0]) {
            case "message" -> {
              require(t.length == 2, "expected 'message <Name>'");
              current = new MessageBuilder(t[1]);
            }
            case "enum" -> {
              require(t.length >= 3, "expected 'enum <Name> <VALUE>...'");
              Map<String, Integer> values = new LinkedHashMap<>();
              for (int v = 2; v < t.length; v++) {
                String[] nv = t[v].split("=", 2);
                values.put(nv[0], nv.length == 2 ? Integer.parseInt(nv[1]) : v - 2);
              }
              require(enums.put(t[1], new EnumType(t[1], Collections.unmodifiableMap(values))) == null,
                  "enum " + t[1] + " declared twice");
            }
            default -> throw new IllegalArgumentException("expected 'message' or 'enum', got '" + t[0] + "'");
          }
          continue;
        }
        require(current != null, "a field line outside a message");
        if (t[0].equals("hint")) {
          require(t.length == 2 && note != null, "expected 'hint <key> -- <text>'");
          current.hints.put(t[1], note);
          continue;
        }
        current.add(fieldOf(t, note));
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(RESOURCE + ":" + (i + 1) + ": " + e.getMessage(), e);
      }
    }
    if (current != null) {
      put(messages, current.build());
    }
    resolveReferences(messages, enums);
    return new GlooApi(messages, enums);
  }

  private static void put(Map<String, Message> messages, Message m) {
    require(messages.put(m.name(), m) == null, "message " + m.name() + " declared twice");
  }

  private static Field fieldOf(String[] t, String note) {
    require(t.length >= 3, "expected '<name> <type> <status> [options]'");
    String name = t[0];
    Type type = typeOf(t[1]);
    Status status = Status.parse(t[2]);
    String protoName = toSnake(name);
    String dflt = null;
    boolean show = false;
    String oneof = null;
    List<String> former = new ArrayList<>();
    String offKey = null;
    String offValue = null;
    for (int k = 3; k < t.length; k++) {
      String opt = t[k];
      if (opt.equals("show")) {
        show = true;
        continue;
      }
      String[] kv = opt.split("=", 2);
      require(kv.length == 2, "unknown option '" + opt + "'");
      switch (kv[0]) {
        case "default" -> dflt = kv[1];
        case "oneof" -> oneof = kv[1];
        case "was" -> former.add(kv[1]);
        case "proto" -> protoName = kv[1];
        case "off" -> {
          String[] off = kv[1].split(":", 2);
          require(off.length == 2, "expected off=<key>:<value>");
          offKey = off[0];
          offValue = off[1];
        }
        default -> throw new IllegalArgumentException("unknown option '" + kv[0] + "'");
      }
    }
    require(offKey == null || status == Status.FAILS_CLOSED, "off= is only for failsClosed fields");
    return new Field(name, protoName, type, status, dflt, show, oneof, former, offKey, offValue, note);
  }

  static Type typeOf(String s) {
    if (s.startsWith("list<") && s.endsWith(">")) {
      return new ListOf(typeOf(s.substring(5, s.length() - 1)));
    }
    if (s.startsWith("map<") && s.endsWith(">")) {
      return new MapOf(typeOf(s.substring(4, s.length() - 1)));
    }
    return switch (s) {
      case "string" -> new Scalar(ScalarKind.STRING, false);
      case "bool" -> new Scalar(ScalarKind.BOOL, false);
      case "int32" -> new Scalar(ScalarKind.INT32, false);
      case "uint32" -> new Scalar(ScalarKind.UINT32, false);
      case "int64" -> new Scalar(ScalarKind.INT64, false);
      case "uint64" -> new Scalar(ScalarKind.UINT64, false);
      case "double", "float" -> new Scalar(ScalarKind.DOUBLE, false);
      case "duration" -> new Scalar(ScalarKind.DURATION, false);
      case "StringValue" -> new Scalar(ScalarKind.STRING, true);
      case "BoolValue" -> new Scalar(ScalarKind.BOOL, true);
      case "Int32Value" -> new Scalar(ScalarKind.INT32, true);
      case "UInt32Value" -> new Scalar(ScalarKind.UINT32, true);
      case "Int64Value" -> new Scalar(ScalarKind.INT64, true);
      case "UInt64Value" -> new Scalar(ScalarKind.UINT64, true);
      case "DoubleValue", "FloatValue" -> new Scalar(ScalarKind.DOUBLE, true);
      case "any" -> new Opaque(false);
      case "struct" -> new Opaque(true);
      default -> {
        require(!s.isEmpty() && Character.isUpperCase(s.charAt(0)), "unknown type '" + s + "'");
        // Resolved after loading: an upper-case name is a message or an enum of the table.
        yield new MessageRef(s);
      }
    };
  }

  /** Every referenced type exists; names that are enums become {@link EnumRef}; oneofs have two members or more. */
  private static void resolveReferences(Map<String, Message> messages, Map<String, EnumType> enums) {
    for (Map.Entry<String, Message> me : messages.entrySet()) {
      Message m = me.getValue();
      Map<String, Field> resolved = new LinkedHashMap<>();
      for (Field f : m.fields().values()) {
        Type type = resolve(f.type(), m.name() + "." + f.name(), messages, enums);
        resolved.put(f.name(), new Field(f.name(), f.protoName(), type, f.status(), f.defaultValue(), f.show(),
            f.oneof(), f.formerNames(), f.offKey(), f.offValue(), f.note()));
      }
      for (Map.Entry<String, List<String>> o : m.oneofs().entrySet()) {
        require(o.getValue().size() >= 2, "oneof " + m.name() + "." + o.getKey() + " has fewer than two fields");
      }
      me.setValue(new Message(m.name(), Collections.unmodifiableMap(resolved), m.oneofs(), m.hints()));
    }
  }

  private static Type resolve(Type t, String where, Map<String, Message> messages, Map<String, EnumType> enums) {
    if (t instanceof ListOf l) {
      return new ListOf(resolve(l.element(), where, messages, enums));
    }
    if (t instanceof MapOf m) {
      return new MapOf(resolve(m.value(), where, messages, enums));
    }
    if (t instanceof MessageRef r) {
      if (enums.containsKey(r.name())) {
        return new EnumRef(r.name());
      }
      require(messages.containsKey(r.name()), where + ": no message or enum named " + r.name());
    }
    return t;
  }

  private static void require(boolean condition, String problem) {
    if (!condition) {
      throw new IllegalArgumentException(problem);
    }
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

  /** Lower case without underscores: the form in which near misses are compared. */
  static String folded(String key) {
    return key.replace("_", "").toLowerCase(Locale.ROOT);
  }

  private static final class MessageBuilder {
    final String name;
    final Map<String, Field> fields = new LinkedHashMap<>();
    final Map<String, List<String>> oneofs = new LinkedHashMap<>();
    final Map<String, String> hints = new LinkedHashMap<>();

    MessageBuilder(String name) {
      this.name = Objects.requireNonNull(name);
    }

    void add(Field f) {
      require(fields.put(f.name(), f) == null, "field " + name + "." + f.name() + " declared twice");
      if (f.oneof() != null) {
        oneofs.computeIfAbsent(f.oneof(), k -> new ArrayList<>()).add(f.name());
      }
    }

    Message build() {
      Map<String, List<String>> groups = new LinkedHashMap<>();
      oneofs.forEach((k, v) -> groups.put(k, List.copyOf(v)));
      return new Message(name, fields, Collections.unmodifiableMap(groups), Collections.unmodifiableMap(hints));
    }
  }
}
