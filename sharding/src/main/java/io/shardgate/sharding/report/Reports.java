package io.shardgate.sharding.report;

import io.shardgate.sharding.model.ResourceKey;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Collects errors and warnings per resource during one decode or translation call, then freezes them into
 * {@link ResourceStatus}es.
 *
 * <p>Mutable and not thread-safe: each call creates its own and never shares it, which keeps the translators
 * pure functions of their input. Messages are de-duplicated per resource (a VirtualService translated for two
 * Gateways reports each problem once) and kept in the order they were first found.
 */
public final class Reports {

  private final SortedMap<ResourceKey, Entry> entries = new TreeMap<>();

  private static final class Entry {
    String origin = "";
    final Set<String> errors = new LinkedHashSet<>();
    final Set<String> warnings = new LinkedHashSet<>();
    final SortedSet<String> proxies = new TreeSet<>();
  }

  private Entry entry(ResourceKey key) {
    return entries.computeIfAbsent(key, k -> new Entry());
  }

  /** Registers a resource so it gets a status even when nothing is wrong with it. */
  public Reports accept(ResourceKey key, String origin) {
    Entry e = entry(key);
    if (e.origin.isEmpty() && origin != null) {
      e.origin = origin;
    }
    return this;
  }

  public Reports error(ResourceKey key, String message) {
    entry(key).errors.add(message);
    return this;
  }

  public Reports warning(ResourceKey key, String message) {
    entry(key).warnings.add(message);
    return this;
  }

  /** Records that {@code proxyName} uses this resource. */
  public Reports usedBy(ResourceKey key, String proxyName) {
    entry(key).proxies.add(proxyName);
    return this;
  }

  public boolean hasErrors(ResourceKey key) {
    Entry e = entries.get(key);
    return e != null && !e.errors.isEmpty();
  }

  public List<String> errors(ResourceKey key) {
    Entry e = entries.get(key);
    return e == null ? List.of() : List.copyOf(e.errors);
  }

  /** Adds everything {@code other} found to this collector. */
  public Reports addAll(Map<ResourceKey, ResourceStatus> other) {
    other.forEach(
        (k, s) -> {
          accept(k, s.origin());
          s.errors().forEach(m -> error(k, m));
          s.warnings().forEach(m -> warning(k, m));
          s.proxies().forEach(p -> usedBy(k, p));
        });
    return this;
  }

  /** The statuses of every resource seen, sorted by key. */
  public SortedMap<ResourceKey, ResourceStatus> freeze() {
    SortedMap<ResourceKey, ResourceStatus> out = new TreeMap<>();
    entries.forEach(
        (k, e) ->
            out.put(
                k,
                ResourceStatus.of(
                    k, e.origin, new ArrayList<>(e.errors), new ArrayList<>(e.warnings), e.proxies)));
    return java.util.Collections.unmodifiableSortedMap(out);
  }
}
