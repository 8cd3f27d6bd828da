package io.shardgate.sharding.plan;

import io.shardgate.sharding.model.ObjectMeta;
import io.shardgate.sharding.model.Route;
import io.shardgate.sharding.model.VirtualService;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A canonical text form of the resource model, for content hashes: equal content gives equal text whatever the
 * order maps were filled in, and the fields that never change what a shard serves are left out.
 *
 * <p>Left out: {@code metadata.labels} (a label change that alters selection already changes which resources a
 * shard uses; a label nobody selects on must not count), {@code metadata.annotations}, {@code metadata} origin
 * (file:line), {@link Route#field()} (a route's path and file:line, for messages only) and
 * {@link VirtualService#locations()} (likewise).
 *
 * <p>Form: records as {@code Name(component=value,...)} in declaration order (null components left out), lists in
 * order, maps sorted by the canonical form of their keys, strings length-prefixed (so no value can forge a
 * separator), enums by name. A type it does not know is an error, so a new kind of model value cannot be hashed by
 * accident as its {@code toString}.
 *
 * <p>Pure and thread-safe.
 */
public final class Canonical {

  /** {@code Class#getName()} + "." + component name of the record components that are left out. */
  private static final Set<String> EXCLUDED =
      Set.of(
          ObjectMeta.class.getName() + ".labels",
          ObjectMeta.class.getName() + ".annotations",
          ObjectMeta.class.getName() + ".origin",
          Route.class.getName() + ".field",
          VirtualService.class.getName() + ".locations");

  /** How a class is written, worked out once per class: reflection and name building are the slow part. */
  private static final ClassValue<Shape> SHAPES =
      new ClassValue<>() {
        @Override
        protected Shape computeValue(Class<?> type) {
          return Shape.of(type);
        }
      };

  /**
   * A record class's components: accessors, names, {@code Class#getName()} + "." + name, and whether
   * {@link #EXCLUDED} leaves it out; {@code record} is false (and the arrays empty) for any other class.
   */
  private record Shape(
      boolean record, String simpleName, Method[] accessors, String[] names, String[] fullNames, boolean[] excluded) {

    static Shape of(Class<?> type) {
      if (!type.isRecord()) {
        return new Shape(false, "", new Method[0], new String[0], new String[0], new boolean[0]);
      }
      RecordComponent[] rcs = type.getRecordComponents();
      String name = type.getName();
      Method[] accessors = new Method[rcs.length];
      String[] names = new String[rcs.length];
      String[] fullNames = new String[rcs.length];
      boolean[] excluded = new boolean[rcs.length];
      for (int i = 0; i < rcs.length; i++) {
        accessors[i] = rcs[i].getAccessor();
        names[i] = rcs[i].getName();
        fullNames[i] = name + "." + names[i];
        excluded[i] = EXCLUDED.contains(fullNames[i]);
      }
      return new Shape(true, name.substring(name.lastIndexOf('.') + 1), accessors, names, fullNames, excluded);
    }
  }

  private Canonical() {}

  /** The canonical text of {@code value}. */
  public static String of(Object value) {
    return of(value, Set.of());
  }

  /**
   * The canonical text of {@code value}, also leaving out the record components named in {@code excluded}
   * ({@code Class#getName()} + "." + component name).
   */
  public static String of(Object value, Set<String> excluded) {
    StringBuilder sb = new StringBuilder();
    write(sb, value, excluded);
    return sb.toString();
  }

  /** SHA-256 of {@code text} (UTF-8), as 64 lower-case hex digits. */
  public static String sha256(String text) {
    return HexFormat.of().formatHex(digest().digest(text.getBytes(StandardCharsets.UTF_8)));
  }

  /** SHA-256 of the canonical text of {@code value}. */
  public static String hash(Object value) {
    return sha256(of(value));
  }

  static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JRE has SHA-256", e);
    }
  }

  private static void write(StringBuilder sb, Object v, Set<String> excluded) {
    if (v == null) {
      sb.append('~');
    } else if (v instanceof String s) {
      sb.append('s').append(s.length()).append(':').append(s);
    } else if (v instanceof Boolean b) {
      sb.append(b ? "T" : "F");
    } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
      sb.append('i').append(v).append(';');
    } else if (v instanceof Double || v instanceof Float) {
      double d = ((Number) v).doubleValue();
      // Integral values print the same whether YAML gave a long or a double.
      if (d == Math.rint(d) && !Double.isInfinite(d) && Math.abs(d) < 1e15) {
        sb.append('i').append((long) d).append(';');
      } else {
        sb.append('f').append(Double.toString(d)).append(';');
      }
    } else if (v instanceof Enum<?> e) {
      sb.append('e').append(e.name()).append(';');
    } else if (v instanceof Duration d) {
      sb.append('d').append(d.getSeconds()).append('.').append(d.getNano()).append(';');
    } else if (v instanceof Map<?, ?> m) {
      if (allStringKeys(m)) {
        // The common case (labels, metadata, struct values): sort the keys in the order their canonical texts would
        // sort in (length, then text: "s<length>:<text>"), and write each entry straight into the builder.
        List<String> keys = new ArrayList<>(m.size());
        for (Object k : m.keySet()) {
          keys.add((String) k);
        }
        keys.sort(Canonical::compareAsCanonicalStrings);
        sb.append('{');
        for (String k : keys) {
          write(sb, k, excluded);
          sb.append('=');
          write(sb, m.get(k), excluded);
          sb.append(',');
        }
        sb.append('}');
        return;
      }
      List<String[]> entries = new ArrayList<>(m.size());
      for (Map.Entry<?, ?> e : m.entrySet()) {
        entries.add(new String[] {of(e.getKey(), excluded), of(e.getValue(), excluded)});
      }
      entries.sort((a, b) -> a[0].compareTo(b[0]));
      sb.append('{');
      for (String[] e : entries) {
        sb.append(e[0]).append('=').append(e[1]).append(',');
      }
      sb.append('}');
    } else if (v instanceof List<?> l) {
      sb.append('[');
      for (Object o : l) {
        write(sb, o, excluded);
        sb.append(',');
      }
      sb.append(']');
    } else if (v instanceof Collection<?> c) {
      // Sets: order-free, like maps.
      List<String> items = new ArrayList<>(c.size());
      for (Object o : c) {
        items.add(of(o, excluded));
      }
      items.sort(null);
      sb.append('<');
      items.forEach(i -> sb.append(i).append(','));
      sb.append('>');
    } else {
      writeRecord(sb, v, excluded);
    }
  }

  private static boolean allStringKeys(Map<?, ?> m) {
    for (Object k : m.keySet()) {
      if (!(k instanceof String)) {
        return false;
      }
    }
    return true;
  }

  /** The order of {@code "s" + a.length() + ":" + a} and the same of {@code b}, without building them. */
  static int compareAsCanonicalStrings(String a, String b) {
    String la = Integer.toString(a.length());
    String lb = Integer.toString(b.length());
    if (a.length() != b.length()) {
      if (la.length() != lb.length() && (la.startsWith(lb) || lb.startsWith(la))) {
        // One length's digits are a prefix of the other's ("1" and "10"): the ':' after the shorter one decides.
        return la.length() < lb.length() ? Character.compare(':', lb.charAt(la.length()))
            : Character.compare(la.charAt(lb.length()), ':');
      }
      return la.compareTo(lb);
    }
    return a.compareTo(b);
  }

  private static void writeRecord(StringBuilder sb, Object v, Set<String> excluded) {
    Shape shape = SHAPES.get(v.getClass());
    if (!shape.record()) {
      throw new IllegalArgumentException(
          "no canonical form for " + v.getClass().getName() + ": add it to " + Canonical.class.getSimpleName());
    }
    sb.append(shape.simpleName()).append('(');
    for (int i = 0; i < shape.accessors().length; i++) {
      if (shape.excluded()[i] || (!excluded.isEmpty() && excluded.contains(shape.fullNames()[i]))) {
        continue;
      }
      Object value;
      try {
        value = shape.accessors()[i].invoke(v);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException("cannot read " + shape.fullNames()[i], e);
      }
      if (value == null) {
        continue; // unset: leaving it out is unambiguous, as every written component is named
      }
      sb.append(shape.names()[i]).append('=');
      write(sb, value, excluded);
      sb.append(',');
    }
    sb.append(')');
  }
}
