package io.shardgate.loadtests;

import java.util.Arrays;
import java.util.List;

/** Nearest-rank percentiles. */
final class Percentiles {
  private Percentiles() {}

  /** The {@code p}-th percentile of sorted values by nearest rank; NaN when empty. */
  static double percentile(double[] sorted, double p) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  static double[] sorted(List<Double> values) {
    double[] a = values.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(a);
    return a;
  }
}
