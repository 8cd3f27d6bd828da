package io.shardgate.sharding.report;

import io.shardgate.sharding.model.ResourceKey;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Collects errors and warnings per resource during one decode or translation call, then freezes them into
 * {@link ResourceStatus}es or a {@link Contribution}.
 *
 * <p>Mutable and not thread-safe: each call creates its own and never shares it, which keeps the translators
 * pure functions of their input. A status is a set of messages, kept in {@link MessageOrder}: a problem reported
 * twice (a VirtualService translated for two Gateways) appears once, and the order in which problems were found
 * never shows, so cached and fresh results merge into the same status.
 */
public final class Reports {

  private final SortedMap<ResourceKey, Entry> entries = new TreeMap<>();

  private static final class Entry {
    String origin = "";
    final SortedSet<String> errors = new TreeSet<>(MessageOrder.INSTANCE);
    final SortedSet<String> warnings = new TreeSet<>(MessageOrder.INSTANCE);
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

  /** Adds everything {@code other} says to this collector. */
  public Reports addAll(Contribution other) {
    other.parts().forEach(
        (k, p) -> {
          Entry e = entry(k);
          if (e.origin.isEmpty()) {
            e.origin = p.origin();
          }
          e.errors.addAll(p.errors());
          e.warnings.addAll(p.warnings());
          e.proxies.addAll(p.proxies());
        });
    return this;
  }

  /** Whether nothing was reported, not even a registration. */
  public boolean isEmpty() {
    return entries.isEmpty();
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
    return Collections.unmodifiableSortedMap(out);
  }

  /** Everything reported, as one immutable contribution. */
  public Contribution contribution() {
    SortedMap<ResourceKey, Contribution.Part> parts = new TreeMap<>();
    entries.forEach((k, e) -> parts.put(k, new Contribution.Part(e.origin, e.errors, e.warnings, e.proxies)));
    return new Contribution(parts);
  }
}
