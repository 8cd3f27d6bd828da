package io.shardgate.controlplane.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;

/**
 * Prints resource statuses (in the tree form of {@code Trees.statuses}, which is also what {@code GET /api/status}
 * returns) for {@code validate} and {@code status}, one resource per line with its problems below it.
 */
final class StatusPrinter {

  private StatusPrinter() {}

  /** Prints every status and returns the number of rejected resources. */
  static int print(Map<String, ?> resources, PrintWriter out) {
    int rejected = 0;
    for (Map.Entry<String, ?> e : resources.entrySet()) {
      Map<?, ?> s = (Map<?, ?>) e.getValue();
      String state = String.valueOf(s.get("state"));
      if (state.equals("Rejected")) {
        rejected++;
      }
      StringBuilder line = new StringBuilder(String.format("%-9s %s", state, e.getKey()));
      if (s.get("proxies") instanceof Map<?, ?> proxies && !proxies.isEmpty()) {
        line.append("  [");
        proxies.forEach((p, ps) -> line.append(line.charAt(line.length() - 1) == '[' ? "" : ", ").append(p).append(": ").append(ps));
        line.append(']');
      }
      if (s.get("origin") != null) {
        line.append("  (").append(s.get("origin")).append(')');
      }
      out.println(line);
      for (Object err : list(s.get("errors"))) {
        out.println("          error: " + err);
      }
      for (Object w : list(s.get("warnings"))) {
        out.println("          warning: " + w);
      }
    }
    out.flush();
    return rejected;
  }

  private static List<?> list(Object o) {
    return o instanceof List<?> l ? l : List.of();
  }
}
