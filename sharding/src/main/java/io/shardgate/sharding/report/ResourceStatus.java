package io.shardgate.sharding.report;

import io.shardgate.sharding.model.ResourceKey;
import java.util.Collections;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The outcome of translation for one input resource or Proxy. Immutable value.
 *
 * @param origin where the resource was read from ({@code file:line}), or empty
 * @param reason a one-paragraph summary: the errors, then the warnings
 * @param proxies the proxies (shards) that use this resource, sorted; empty when none does
 */
public record ResourceStatus(
    ResourceKey key,
    String origin,
    ResourceState state,
    String reason,
    List<String> errors,
    List<String> warnings,
    SortedSet<String> proxies) {

  public ResourceStatus {
    errors = List.copyOf(errors);
    warnings = List.copyOf(warnings);
    proxies = Collections.unmodifiableSortedSet(new TreeSet<>(proxies));
  }

  /** Derives state and reason from the problems, as Gloo does: any error rejects, warnings alone warn. */
  public static ResourceStatus of(
      ResourceKey key, String origin, List<String> errors, List<String> warnings, SortedSet<String> proxies) {
    ResourceState state =
        !errors.isEmpty()
            ? ResourceState.REJECTED
            : !warnings.isEmpty() ? ResourceState.WARNING : ResourceState.ACCEPTED;
    StringBuilder reason = new StringBuilder();
    if (!errors.isEmpty()) {
      reason.append(String.join("; ", errors));
    }
    if (!warnings.isEmpty()) {
      if (reason.length() > 0) {
        reason.append("; ");
      }
      reason.append("warning: ").append(String.join("; ", warnings));
    }
    return new ResourceStatus(key, origin, state, reason.toString(), errors, warnings, proxies);
  }
}
