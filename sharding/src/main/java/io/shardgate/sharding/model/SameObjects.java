package io.shardgate.sharding.model;

import java.util.List;

/**
 * Change detection by identity: sources and caches hand over the very objects that did not change, so "the same
 * objects in the same order" is how every stage tells, without comparing contents, that nothing changed. Pure;
 * thread-safe.
 */
public final class SameObjects {

  private SameObjects() {}

  /** Whether {@code a} and {@code b} hold the very same objects in the same order; false when either is null. */
  public static boolean inOrder(List<?> a, List<?> b) {
    if (a == null || b == null || a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      if (a.get(i) != b.get(i)) {
        return false;
      }
    }
    return true;
  }
}
