package io.shardgate.controlplane.state;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/** Comparing store contents: byte arrays have no value equality, so maps of them need a helper. */
final class StateStoreAssertions {

  private StateStoreAssertions() {}

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Whether both hold the same keys with equal bytes. */
  static boolean sameEntries(Map<String, byte[]> expected, Map<String, byte[]> actual) {
    return difference(expected, actual) == null;
  }

  static void assertEntries(Map<String, byte[]> expected, Map<String, byte[]> actual, String context) {
    String difference = difference(expected, actual);
    if (difference != null) {
      fail(context + ": " + difference);
    }
  }

  /** The first difference, said briefly (values can be large), or null. */
  static String difference(Map<String, byte[]> expected, Map<String, byte[]> actual) {
    TreeSet<String> keys = new TreeSet<>(expected.keySet());
    keys.addAll(actual.keySet());
    for (String key : keys) {
      byte[] e = expected.get(key);
      byte[] a = actual.get(key);
      if (e == null || a == null) {
        return "'" + key + "' is " + (e == null ? "not expected but present" : "expected but missing")
            + " (expected keys " + abbreviate(expected.keySet()) + ", actual " + abbreviate(actual.keySet()) + ")";
      }
      if (!Arrays.equals(e, a)) {
        return "'" + key + "' differs: expected " + e.length + " bytes, got " + a.length + " bytes"
            + " (first bytes " + preview(e) + " vs " + preview(a) + ")";
      }
    }
    return null;
  }

  static SortedMap<String, byte[]> copy(Map<String, byte[]> m) {
    TreeMap<String, byte[]> out = new TreeMap<>();
    m.forEach((k, v) -> out.put(k, v.clone()));
    return out;
  }

  private static String abbreviate(Set<String> keys) {
    String s = new TreeSet<>(keys).toString();
    return s.length() > 200 ? s.substring(0, 200) + "...]" : s;
  }

  private static String preview(byte[] b) {
    return new String(b, 0, Math.min(b.length, 24), StandardCharsets.ISO_8859_1);
  }
}
