package io.shardgate.loadtests;

import java.util.Map;
import java.util.TreeMap;

/**
 * Reads the Prometheus text format (0.0.4) that {@code GET /metrics} serves into series to value. Pure; thread-safe.
 */
final class PrometheusText {

  private PrometheusText() {}

  /**
   * Series key (the metric name with its labels exactly as written, e.g. {@code
   * shardgate_shard_pushes_total{shard="gloo-system~shard-0",type_url="..."}}) to value. Comments are skipped.
   */
  static Map<String, Double> parse(String text) {
    Map<String, Double> series = new TreeMap<>();
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      // The value follows the last space; an optional timestamp would follow it, Micrometer writes none.
      int close = line.lastIndexOf('}');
      int space = line.indexOf(' ', Math.max(close, 0));
      if (space < 0) {
        continue;
      }
      String value = line.substring(space + 1).trim();
      int extra = value.indexOf(' ');
      if (extra >= 0) {
        value = value.substring(0, extra);
      }
      series.put(line.substring(0, space), parseValue(value));
    }
    return series;
  }

  private static double parseValue(String v) {
    return switch (v) {
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      case "NaN" -> Double.NaN;
      default -> Double.parseDouble(v);
    };
  }

  /** The value of a series, 0 when absent. */
  static double value(Map<String, Double> series, String key) {
    return series.getOrDefault(key, 0.0);
  }

  /** The sum over every series of metric {@code name} whose labels contain each of {@code labels} ("k=\"v\""). */
  static double sum(Map<String, Double> series, String name, String... labels) {
    double sum = 0;
    for (Map.Entry<String, Double> e : series.entrySet()) {
      String key = e.getKey();
      if (!(key.equals(name) || key.startsWith(name + "{"))) {
        continue;
      }
      boolean all = true;
      for (String label : labels) {
        all &= key.contains(label);
      }
      if (all) {
        sum += e.getValue();
      }
    }
    return sum;
  }
}
