package io.shardgate.controlplane.golden;

import java.util.List;

/** A small line diff for golden-file failures: the first differing region with context. Test helper. */
public final class Diff {

  private Diff() {}

  public static String unified(String expected, String actual) {
    List<String> e = expected.lines().toList();
    List<String> a = actual.lines().toList();
    int start = 0;
    while (start < e.size() && start < a.size() && e.get(start).equals(a.get(start))) {
      start++;
    }
    int endE = e.size() - 1;
    int endA = a.size() - 1;
    while (endE >= start && endA >= start && e.get(endE).equals(a.get(endA))) {
      endE--;
      endA--;
    }
    StringBuilder sb = new StringBuilder("@@ line " + (start + 1) + " @@\n");
    for (int i = Math.max(0, start - 3); i < start; i++) {
      sb.append("  ").append(e.get(i)).append('\n');
    }
    for (int i = start; i <= endE && i < start + 40; i++) {
      sb.append("- ").append(e.get(i)).append('\n');
    }
    for (int i = start; i <= endA && i < start + 40; i++) {
      sb.append("+ ").append(a.get(i)).append('\n');
    }
    return sb.toString();
  }
}
