package io.shardgate.loadtests;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The command line of a benchmark: {@code --name value}, {@code --name=value} and flags, checked against the names
 * the benchmark knows ({@code -h} is {@code --help}). Bad input is an IllegalArgumentException that names the option.
 * Immutable.
 */
final class BenchmarkArgs {

  private final Map<String, String> values;

  private BenchmarkArgs(Map<String, String> values) {
    this.values = Map.copyOf(values);
  }

  /**
   * @param flags options without a value ({@code --help} is always one)
   * @param valued options that take a value
   */
  static BenchmarkArgs parse(String[] args, List<String> flags, List<String> valued) {
    Map<String, String> values = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String value = null;
      int eq = a.indexOf('=');
      if (a.startsWith("--") && eq > 0) {
        value = a.substring(eq + 1);
        a = a.substring(0, eq);
      }
      if (a.equals("-h") || a.equals("--help") || flags.contains(a)) {
        values.put(a.equals("-h") ? "--help" : a, "true");
      } else if (valued.contains(a)) {
        if (value == null) {
          if (i + 1 >= args.length) {
            throw new IllegalArgumentException(a + " needs a value");
          }
          value = args[++i];
        }
        values.put(a, value);
      } else {
        throw new IllegalArgumentException("unknown option '" + args[i] + "'");
      }
    }
    return new BenchmarkArgs(values);
  }

  boolean has(String name) {
    return values.containsKey(name);
  }

  String get(String name, String otherwise) {
    return values.getOrDefault(name, otherwise);
  }

  /** A whole number of at least 1. */
  int positive(String name, int otherwise) {
    int v = atLeastZero(name, otherwise);
    if (v < 1) {
      throw new IllegalArgumentException(name + " must be at least 1");
    }
    return v;
  }

  /** A whole number of at least 0. */
  int atLeastZero(String name, int otherwise) {
    String v = values.get(name);
    if (v == null) {
      return otherwise;
    }
    try {
      int n = Integer.parseInt(v.trim());
      if (n < 0) {
        throw new IllegalArgumentException(name + " must not be negative: " + v);
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " takes a whole number, got '" + v + "'", e);
    }
  }
}
