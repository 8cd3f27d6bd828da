package io.shardgate.sharding.translate;

import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.report.ResourceStatus;
import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The result of gateway translation. Immutable.
 *
 * @param writeNamespace the namespace of every Proxy (and the first half of node roles)
 * @param shards one entry per proxy name that has at least one Gateway, sorted by name
 * @param statuses the status of every input resource and every Proxy, sorted by key
 * @param documentProblems problems with documents that are not identifiable resources
 * @param lastGood what every resource produced while accepted, to serve it while it is rejected later
 */
public record GatewayTranslation(
    String writeNamespace,
    SortedMap<String, ShardConfig> shards,
    SortedMap<ResourceKey, ResourceStatus> statuses,
    List<String> documentProblems,
    LastGood lastGood) {

  public GatewayTranslation {
    shards = Collections.unmodifiableSortedMap(new TreeMap<>(shards));
    statuses = Collections.unmodifiableSortedMap(new TreeMap<>(statuses));
    documentProblems = List.copyOf(documentProblems);
  }

  /** Whether any input resource was rejected. */
  public boolean hasRejected() {
    return statuses.values().stream().anyMatch(s -> s.state() == ResourceState.REJECTED);
  }
}
