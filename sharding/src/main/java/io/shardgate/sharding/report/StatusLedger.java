package io.shardgate.sharding.report;

import io.shardgate.sharding.model.ResourceKey;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Every resource's status, assembled from the {@link Contribution}s of the pieces of translation that looked at it.
 * Each contribution sits in a named slot; replacing a slot's contribution updates only the resources it names, so a
 * translation that re-runs only what an edit touched pays for the statuses it touched, not for all of them. A
 * resource's status is the union of the contributions that name it, so it does not depend on the order slots were
 * filled in.
 *
 * <p>Two layers: {@link Layer#FINDINGS} holds what decides which resources are rejected (decoding, validation, the
 * first translation pass); {@link Layer#SERVING} holds what is found while building what is served (the second pass,
 * last good substitution, the shard plan). {@link #rejected()} is the set of resources with a finding error.
 *
 * <p>Stateful and not thread-safe: one translation thread uses it.
 */
public final class StatusLedger {

  /** Which layer a slot belongs to. */
  public enum Layer {
    FINDINGS,
    SERVING
  }

  private record Slot(Layer layer, Contribution contribution) {}

  /** Reference counts of everything the slots say about one resource. */
  private static final class KeyState {
    int parts;
    int findingErrorParts;
    final TreeMap<String, Integer> origins = new TreeMap<>();
    final TreeMap<String, Integer> errors = new TreeMap<>(MessageOrder.INSTANCE);
    final TreeMap<String, Integer> warnings = new TreeMap<>(MessageOrder.INSTANCE);
    final TreeMap<String, Integer> proxies = new TreeMap<>();
  }

  private final Map<Object, Slot> slots = new HashMap<>();
  private final Map<ResourceKey, KeyState> keys = new HashMap<>();
  private final TreeMap<ResourceKey, ResourceStatus> statuses = new TreeMap<>();
  private final Set<ResourceKey> rejected = new HashSet<>();
  private final Map<String, Set<ResourceKey>> usedByProxy = new HashMap<>();
  /** Resources whose status may differ from {@link #statuses}. */
  private final Set<ResourceKey> stale = new HashSet<>();
  /** Resources whose status changed since the last {@link #drainChanged()}. */
  private final Set<ResourceKey> changed = new HashSet<>();
  /** Resources that became rejected or stopped being rejected since the last {@link #drainRejectedFlips()}. */
  private final Set<ResourceKey> rejectedFlips = new HashSet<>();

  /** The contribution in a slot, or null. */
  public Contribution get(Object slot) {
    Slot s = slots.get(slot);
    return s == null ? null : s.contribution();
  }

  /** Every slot id, for callers that prune slots they no longer fill. */
  public Set<Object> slotIds() {
    return Collections.unmodifiableSet(slots.keySet());
  }

  /** Puts {@code contribution} in {@code slot}, replacing what was there; an empty contribution clears the slot. */
  public void put(Object slot, Layer layer, Contribution contribution) {
    Slot old = slots.get(slot);
    if (contribution == null || contribution.isEmpty()) {
      remove(slot);
      return;
    }
    if (old != null && old.layer() == layer
        && (old.contribution() == contribution || old.contribution().equals(contribution))) {
      return;
    }
    if (old != null) {
      apply(old, -1);
    }
    Slot now = new Slot(layer, contribution);
    slots.put(slot, now);
    apply(now, +1);
  }

  /** Empties a slot. */
  public void remove(Object slot) {
    Slot old = slots.remove(slot);
    if (old != null) {
      apply(old, -1);
    }
  }

  /** Whether a finding (not only a serving-layer message) reports an error on {@code key}. */
  public boolean isRejected(ResourceKey key) {
    return rejected.contains(key);
  }

  /** The resources a finding reports an error on: live view, changes as slots change. */
  public Set<ResourceKey> rejected() {
    return Collections.unmodifiableSet(rejected);
  }

  /** The proxies that use {@code key}, sorted. */
  public SortedSet<String> proxiesOf(ResourceKey key) {
    KeyState k = keys.get(key);
    return k == null ? Collections.emptySortedSet() : Collections.unmodifiableSortedSet(new TreeSet<>(k.proxies.keySet()));
  }

  /** The resources a proxy uses, by proxy name. */
  public Set<ResourceKey> usedBy(String proxy) {
    Set<ResourceKey> used = usedByProxy.get(proxy);
    return used == null ? Set.of() : Collections.unmodifiableSet(used);
  }

  /** The names of the proxies that use at least one resource. */
  public Set<String> proxiesWithUsedResources() {
    return Collections.unmodifiableSet(usedByProxy.keySet());
  }

  /** The resources whose status changed since the last call, and forgets them. */
  public Set<ResourceKey> drainChanged() {
    Set<ResourceKey> out = new HashSet<>(changed);
    changed.clear();
    return out;
  }

  /** The resources that became or stopped being {@link #isRejected rejected} since the last call. */
  public Set<ResourceKey> drainRejectedFlips() {
    Set<ResourceKey> out = new HashSet<>(rejectedFlips);
    rejectedFlips.clear();
    return out;
  }

  /** The status of one resource, or null when no slot names it. */
  public ResourceStatus status(ResourceKey key) {
    refresh();
    return statuses.get(key);
  }

  /** Every status, sorted by key: an immutable copy. */
  public SortedMap<ResourceKey, ResourceStatus> statuses() {
    refresh();
    return Collections.unmodifiableSortedMap(new TreeMap<>(statuses));
  }

  private void refresh() {
    if (stale.isEmpty()) {
      return;
    }
    for (ResourceKey key : stale) {
      KeyState k = keys.get(key);
      if (k == null) {
        statuses.remove(key);
        continue;
      }
      String origin = k.origins.isEmpty() ? "" : k.origins.firstKey();
      statuses.put(key, ResourceStatus.of(key, origin, new ArrayList<>(k.errors.keySet()),
          new ArrayList<>(k.warnings.keySet()), new TreeSet<>(k.proxies.keySet())));
    }
    stale.clear();
  }

  private void apply(Slot slot, int delta) {
    for (Map.Entry<ResourceKey, Contribution.Part> e : slot.contribution().parts().entrySet()) {
      ResourceKey key = e.getKey();
      Contribution.Part p = e.getValue();
      KeyState k = keys.computeIfAbsent(key, x -> new KeyState());
      boolean wasRejected = k.findingErrorParts > 0;
      k.parts += delta;
      if (slot.layer() == Layer.FINDINGS && !p.errors().isEmpty()) {
        k.findingErrorParts += delta;
      }
      if (!p.origin().isEmpty()) {
        count(k.origins, p.origin(), delta);
      }
      p.errors().forEach(m -> count(k.errors, m, delta));
      p.warnings().forEach(m -> count(k.warnings, m, delta));
      for (String proxy : p.proxies()) {
        int before = k.proxies.getOrDefault(proxy, 0);
        count(k.proxies, proxy, delta);
        int after = k.proxies.getOrDefault(proxy, 0);
        if (before == 0 && after > 0) {
          usedByProxy.computeIfAbsent(proxy, x -> new HashSet<>()).add(key);
        } else if (before > 0 && after == 0) {
          Set<ResourceKey> used = usedByProxy.get(proxy);
          used.remove(key);
          if (used.isEmpty()) {
            usedByProxy.remove(proxy);
          }
        }
      }
      boolean isRejected = k.findingErrorParts > 0;
      if (wasRejected != isRejected) {
        if (isRejected) {
          rejected.add(key);
        } else {
          rejected.remove(key);
        }
        if (!rejectedFlips.remove(key)) {
          rejectedFlips.add(key);
        }
      }
      if (k.parts == 0) {
        keys.remove(key);
      }
      stale.add(key);
      changed.add(key);
    }
  }

  private static void count(TreeMap<String, Integer> counts, String value, int delta) {
    int n = counts.getOrDefault(value, 0) + delta;
    if (n <= 0) {
      counts.remove(value);
    } else {
      counts.put(value, n);
    }
  }
}
