package io.shardgate.controlplane.nomad;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * The Helm chart's values as {@code helm template} would see them: the chart's own values.yaml (bundled in the jar
 * from helm/shardgate at build time) with the user's files merged over it in order, checked against the chart's
 * values.schema.json.
 *
 * <p>Stage: input (reads files). The merge follows Helm: maps merge key by key, anything else replaces, later files
 * win, and a {@code null} in a user's file removes the default. The result is immutable-by-convention nested maps
 * with sorted keys, so nothing downstream depends on file order. Stateless, thread-safe.
 */
public final class ChartValues {

  static final String DEFAULTS_RESOURCE = "chart/values.yaml";
  static final String SCHEMA_RESOURCE = "chart/values.schema.json";

  private ChartValues() {}

  /** Why values could not be loaded: the message names the file and the key or line. */
  public static final class ValuesException extends Exception {
    public ValuesException(String message) {
      super(message);
    }
  }

  /** The chart's defaults merged with {@code files}, validated. */
  public static Map<String, Object> load(List<Path> files) throws ValuesException {
    ValuesSchema schema = new ValuesSchema(asMap(parse(resource(SCHEMA_RESOURCE), SCHEMA_RESOURCE), SCHEMA_RESOURCE));
    Map<String, Object> user = new TreeMap<>();
    for (Path file : files) {
      String text;
      try {
        text = Files.readString(file, StandardCharsets.UTF_8);
      } catch (NoSuchFileException e) {
        throw new ValuesException(file + ": no such file");
      } catch (IOException e) {
        throw new ValuesException(file + ": cannot read: " + e.getMessage());
      }
      Object parsed = parse(text, file.toString());
      Map<String, Object> values = parsed == null ? Map.of() : asMap(parsed, file.toString());
      List<String> problems = schema.problems(values, true);
      if (!problems.isEmpty()) {
        throw new ValuesException(file + ": " + String.join("; ", problems));
      }
      user = mergeUser(user, values);
    }
    Map<String, Object> merged = coalesce(user, asMap(parse(resource(DEFAULTS_RESOURCE), DEFAULTS_RESOURCE),
        DEFAULTS_RESOURCE));
    List<String> problems = schema.problems(merged, false);
    if (!problems.isEmpty()) {
      throw new ValuesException("the merged values: " + String.join("; ", problems));
    }
    return merged;
  }

  /**
   * {@code overlay} merged over {@code base} the way the chart merges gatewayProxyDefaults into an entry: maps key by
   * key, the overlay's value wins ({@code false}, 0 and "" included), and a {@code null} removes the base's key.
   */
  @SuppressWarnings("unchecked")
  public static Map<String, Object> coalesce(Map<String, Object> overlay, Map<String, Object> base) {
    Map<String, Object> out = new TreeMap<>();
    for (Map.Entry<String, Object> e : base.entrySet()) {
      out.put(e.getKey(), sorted(e.getValue()));
    }
    for (Map.Entry<String, Object> e : overlay.entrySet()) {
      Object value = e.getValue();
      Object under = out.get(e.getKey());
      if (value == null) {
        out.remove(e.getKey());
      } else if (value instanceof Map<?, ?> m && under instanceof Map<?, ?> u) {
        out.put(e.getKey(), coalesce((Map<String, Object>) m, (Map<String, Object>) u));
      } else {
        out.put(e.getKey(), sorted(dropNulls(value)));
      }
    }
    return out;
  }

  /** Helm merges user files with each other keeping nulls, which then remove chart defaults. */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> mergeUser(Map<String, Object> base, Map<String, Object> overlay) {
    Map<String, Object> out = new TreeMap<>(base);
    for (Map.Entry<String, Object> e : overlay.entrySet()) {
      Object value = e.getValue();
      Object under = out.get(e.getKey());
      if (value instanceof Map<?, ?> m && under instanceof Map<?, ?> u) {
        out.put(e.getKey(), mergeUser((Map<String, Object>) u, (Map<String, Object>) m));
      } else {
        out.put(e.getKey(), value);
      }
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private static Object dropNulls(Object value) {
    if (value instanceof Map<?, ?> m) {
      Map<String, Object> out = new TreeMap<>();
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (e.getValue() != null) {
          out.put(String.valueOf(e.getKey()), dropNulls(e.getValue()));
        }
      }
      return out;
    }
    return value;
  }

  @SuppressWarnings("unchecked")
  private static Object sorted(Object value) {
    if (value instanceof Map<?, ?> m) {
      Map<String, Object> out = new TreeMap<>();
      for (Map.Entry<?, ?> e : m.entrySet()) {
        out.put(String.valueOf(e.getKey()), sorted(e.getValue()));
      }
      return out;
    }
    if (value instanceof List<?> l) {
      List<Object> out = new ArrayList<>();
      for (Object o : l) {
        out.add(sorted(o));
      }
      return out;
    }
    return value;
  }

  private static Object parse(String text, String name) throws ValuesException {
    LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(false);
    try {
      return new Yaml(new SafeConstructor(options)).load(text);
    } catch (MarkedYAMLException e) {
      throw new ValuesException(name + ":" + (e.getProblemMark() == null ? "?" : e.getProblemMark().getLine() + 1)
          + ": not valid YAML: " + e.getProblem());
    } catch (RuntimeException e) {
      throw new ValuesException(name + ": not valid YAML: " + e.getMessage());
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> asMap(Object parsed, String name) throws ValuesException {
    if (!(parsed instanceof Map<?, ?> m)) {
      throw new ValuesException(name + ": expected a map of values at the top level");
    }
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : m.entrySet()) {
      out.put(String.valueOf(e.getKey()), e.getValue());
    }
    return out;
  }

  private static String resource(String name) {
    try (InputStream in = ChartValues.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException(name + " is not on the class path next to " + ChartValues.class.getName()
            + " (the build copies it from helm/shardgate)");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
