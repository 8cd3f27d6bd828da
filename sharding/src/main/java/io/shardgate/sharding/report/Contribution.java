package io.shardgate.sharding.report;

import io.shardgate.sharding.model.ResourceKey;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What one piece of translation found about the resources it looked at: per resource, the errors, warnings and
 * proxies it adds to that resource's status. Statuses are sets, so contributions merge in any order: a resource's
 * status is the union of every contribution that names it ({@link StatusLedger}). Immutable value, made by
 * {@link Reports#contribution()}.
 *
 * @param parts per resource, what this contribution says about it
 */
public record Contribution(SortedMap<ResourceKey, Part> parts) {

  public static final Contribution EMPTY = new Contribution(new TreeMap<>());

  public Contribution {
    parts = Collections.unmodifiableSortedMap(new TreeMap<>(parts));
  }

  /**
   * What a contribution says about one resource.
   *
   * @param origin where the resource was read from, or empty
   * @param errors sorted by {@link MessageOrder}
   * @param warnings sorted by {@link MessageOrder}
   * @param proxies the proxies it says use the resource, sorted
   */
  public record Part(String origin, SortedSet<String> errors, SortedSet<String> warnings, SortedSet<String> proxies) {
    public Part {
      origin = origin == null ? "" : origin;
      errors = frozen(errors, MessageOrder.INSTANCE);
      warnings = frozen(warnings, MessageOrder.INSTANCE);
      proxies = frozen(proxies, null);
    }
  }

  public boolean isEmpty() {
    return parts.isEmpty();
  }

  /** Whether this contribution reports an error on {@code key}. */
  public boolean hasErrors(ResourceKey key) {
    Part p = parts.get(key);
    return p != null && !p.errors().isEmpty();
  }

  /** The statuses this contribution alone gives, for tools and tests. */
  public SortedMap<ResourceKey, ResourceStatus> statuses() {
    SortedMap<ResourceKey, ResourceStatus> out = new TreeMap<>();
    for (Map.Entry<ResourceKey, Part> e : parts.entrySet()) {
      Part p = e.getValue();
      out.put(e.getKey(), ResourceStatus.of(e.getKey(), p.origin(), p.errors().stream().toList(),
          p.warnings().stream().toList(), p.proxies()));
    }
    return Collections.unmodifiableSortedMap(out);
  }

  private static SortedSet<String> frozen(SortedSet<String> in, MessageOrder order) {
    TreeSet<String> copy = order == null ? new TreeSet<>() : new TreeSet<>(order);
    if (in != null) {
      copy.addAll(in);
    }
    return Collections.unmodifiableSortedSet(copy);
  }
}
