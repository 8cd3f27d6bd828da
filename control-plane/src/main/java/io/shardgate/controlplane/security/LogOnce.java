package io.shardgate.controlplane.security;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

/**
 * Remembers which keys were seen, so an event is logged once per key. Bounded: the keys come from clients (Host
 * headers, certificate names, roles), so past {@code maximumSize} the least recently seen are forgotten and may be
 * logged again, rather than memory growing with whatever a client sends. Thread-safe.
 */
public final class LogOnce {

  private final Cache<String, Boolean> seen;

  public LogOnce(long maximumSize) {
    this.seen = Caffeine.newBuilder().maximumSize(maximumSize).build();
  }

  /** True the first time {@code key} is seen (again, once it has been forgotten). */
  public boolean first(String key) {
    return seen.asMap().putIfAbsent(key, Boolean.TRUE) == null;
  }
}
