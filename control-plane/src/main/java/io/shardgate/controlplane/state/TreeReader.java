package io.shardgate.controlplane.state;

import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import java.lang.reflect.Constructor;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.lang.reflect.WildcardType;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Reads back the plain trees that {@link io.shardgate.controlplane.render.Trees#tree} writes, into Shardgate's
 * records: the inverse used for persisted state. Pure and thread-safe.
 *
 * <p>Mirrors the writer's rules: components left out (nulls, empty collections) come back as null, an empty list
 * or map, or false/0; a record nested in a sealed type is
 * wrapped in a one-key mapping named after it; keys, references and durations are strings.
 */
final class TreeReader {

  private TreeReader() {}

  static <T> T read(Object tree, Class<T> type) {
    return type.cast(read(tree, (Type) type, type.getSimpleName()));
  }

  /** A list of {@code element}; a tree that is not a list is an error. */
  static <T> List<T> readList(Object tree, Class<T> element) {
    List<?> in = expect(tree, List.class, element.getSimpleName() + "[]");
    List<T> out = new ArrayList<>(in.size());
    for (int i = 0; i < in.size(); i++) {
      out.add(element.cast(read(in.get(i), (Type) element, element.getSimpleName() + "[" + i + "]")));
    }
    return out;
  }

  private static Object read(Object tree, Type type, String path) {
    Class<?> raw = rawClass(type);
    if (raw == Object.class) {
      return tree;
    }
    if (List.class.isAssignableFrom(raw)) {
      Type item = ((ParameterizedType) type).getActualTypeArguments()[0];
      List<Object> out = new ArrayList<>();
      if (tree != null) {
        List<?> in = expect(tree, List.class, path);
        for (int i = 0; i < in.size(); i++) {
          out.add(read(in.get(i), item, path + "[" + i + "]"));
        }
      }
      return out;
    }
    if (Map.class.isAssignableFrom(raw)) {
      Type value = ((ParameterizedType) type).getActualTypeArguments()[1];
      Map<String, Object> out = SortedMap.class.isAssignableFrom(raw) ? new TreeMap<>() : new LinkedHashMap<>();
      if (tree != null) {
        expect(tree, Map.class, path).forEach((k, v) -> out.put(String.valueOf(k), read(v, value, path + "." + k)));
      }
      return out;
    }
    if (raw.isPrimitive() || raw == Boolean.class || Number.class.isAssignableFrom(raw)) {
      return scalar(tree, raw, path);
    }
    if (tree == null) {
      // Absent: the writer leaves out nulls and empty records alike; records default their own empty values.
      return null;
    }
    if (raw == String.class) {
      return String.valueOf(tree);
    }
    if (raw == Duration.class) {
      String s = expect(tree, String.class, path);
      return Duration.ofNanos(new BigDecimal(s.substring(0, s.length() - 1)).movePointRight(9).longValueExact());
    }
    if (raw == ResourceRef.class) {
      String s = expect(tree, String.class, path);
      int slash = s.indexOf('/');
      return new ResourceRef(s.substring(0, slash), s.substring(slash + 1));
    }
    if (raw == ResourceKey.class) {
      String s = expect(tree, String.class, path);
      int space = s.indexOf(' ');
      int slash = s.indexOf('/', space);
      Kind kind = Kind.byKindName(s.substring(0, space))
          .orElseThrow(() -> new IllegalArgumentException(path + ": unknown kind in '" + s + "'"));
      return new ResourceKey(kind, s.substring(space + 1, slash), s.substring(slash + 1));
    }
    if (raw.isEnum()) {
      String s = expect(tree, String.class, path);
      for (Object c : raw.getEnumConstants()) {
        if (((Enum<?>) c).name().equals(s)) {
          return c;
        }
      }
      throw new IllegalArgumentException(path + ": '" + s + "' is not a " + raw.getSimpleName());
    }
    if (raw.isInterface() && raw.isSealed()) {
      Map<?, ?> m = expect(tree, Map.class, path);
      if (m.size() != 1) {
        throw new IllegalArgumentException(path + ": expected one " + raw.getSimpleName() + " variant, got " + m.keySet());
      }
      String variant = String.valueOf(m.keySet().iterator().next());
      for (Class<?> sub : raw.getPermittedSubclasses()) {
        if (lowerFirst(sub.getSimpleName()).equals(variant)) {
          return read(tree, sub, path);
        }
      }
      throw new IllegalArgumentException(path + ": '" + variant + "' is not a " + raw.getSimpleName());
    }
    if (raw.isRecord()) {
      Map<?, ?> fields = expect(tree, Map.class, path);
      if (raw.getEnclosingClass() != null && raw.getEnclosingClass().isSealed()) {
        // The writer wraps records nested in sealed types so variants can be told apart.
        Object inner = fields.get(lowerFirst(raw.getSimpleName()));
        fields = inner == null ? Map.of() : expect(inner, Map.class, path);
      }
      RecordComponent[] components = raw.getRecordComponents();
      Object[] args = new Object[components.length];
      Class<?>[] types = new Class<?>[components.length];
      for (int i = 0; i < components.length; i++) {
        RecordComponent c = components[i];
        types[i] = c.getType();
        args[i] = read(fields.get(c.getName()), c.getGenericType(), path + "." + c.getName());
      }
      try {
        Constructor<?> ctor = raw.getDeclaredConstructor(types);
        ctor.setAccessible(true);
        return ctor.newInstance(args);
      } catch (ReflectiveOperationException e) {
        throw new IllegalArgumentException(path + ": cannot build " + raw.getSimpleName() + ": " + e, e);
      }
    }
    throw new IllegalArgumentException(path + ": cannot read a " + raw.getName());
  }

  /** Booleans and numbers; a missing value is null for boxed types and false/0 for primitives. */
  private static Object scalar(Object tree, Class<?> raw, String path) {
    if (tree == null) {
      if (!raw.isPrimitive()) {
        return null;
      }
      return raw == boolean.class ? (Object) Boolean.FALSE : (Object) 0;
    }
    if (raw == boolean.class || raw == Boolean.class) {
      return expect(tree, Boolean.class, path);
    }
    Number n = expect(tree, Number.class, path);
    if (raw == int.class || raw == Integer.class) {
      return n.intValue();
    }
    if (raw == long.class || raw == Long.class) {
      return n.longValue();
    }
    if (raw == double.class || raw == Double.class) {
      return n.doubleValue();
    }
    throw new IllegalArgumentException(path + ": cannot read a " + raw.getName());
  }

  private static <T> T expect(Object tree, Class<T> type, String path) {
    if (!type.isInstance(tree)) {
      throw new IllegalArgumentException(
          path + ": expected " + type.getSimpleName() + ", got " + (tree == null ? "nothing" : tree.getClass().getSimpleName()));
    }
    return type.cast(tree);
  }

  private static Class<?> rawClass(Type type) {
    if (type instanceof Class<?> c) {
      return c;
    }
    if (type instanceof ParameterizedType p) {
      return (Class<?>) p.getRawType();
    }
    if (type instanceof WildcardType w) {
      return rawClass(w.getUpperBounds()[0]);
    }
    throw new IllegalArgumentException("unsupported type " + type);
  }

  private static String lowerFirst(String s) {
    return Character.toLowerCase(s.charAt(0)) + s.substring(1);
  }
}
