package io.shardgate.sharding.plan;

import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.Resource;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceSnapshot;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.report.ResourceStatus;
import io.shardgate.sharding.translate.GatewayTranslation;
import io.shardgate.sharding.translate.ProxyLastGood;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * What the shard plan reads of one translation: the shards, per proxy the resources it uses and its last good slice,
 * the resources by key, and which resources are rejected. Immutable view; its functions must not change during
 * the plan call.
 *
 * @param usedBy per proxy, the resources whose status lists it (Proxies and Settings excluded)
 * @param resource the current object of a resource, null when it is not in the snapshot
 * @param rejectedWhileDecoding resources that are not in the snapshot because they did not decode
 * @param rejected resources rejected for any reason: a shard serving a resource's last good version instead of its
 *     current one serves something else, so the fingerprint covers it
 * @param changed the resources whose object or rejection may differ from the previous plan's input, or null when
 *     unknown (then every dependency is compared)
 */
public record PlanInput(
    String writeNamespace,
    ResourceSnapshot snapshot,
    SortedMap<String, ShardConfig> shards,
    Function<String, Set<ResourceKey>> usedBy,
    Function<String, ProxyLastGood> lastGood,
    Function<ResourceKey, Object> resource,
    Predicate<ResourceKey> rejectedWhileDecoding,
    Predicate<ResourceKey> rejected,
    Set<ResourceKey> changed) {

  /** The input of a finished gateway translation, indexed from its statuses (tools and tests). */
  public static PlanInput of(ResourceSnapshot snapshot, GatewayTranslation translation) {
    Map<String, Set<ResourceKey>> used = new HashMap<>();
    Set<ResourceKey> rejected = new HashSet<>();
    translation.statuses().forEach((key, status) -> {
      if (key.kind() != Kind.PROXY && key.kind() != Kind.SETTINGS) {
        status.proxies().forEach(p -> used.computeIfAbsent(p, x -> new HashSet<>()).add(key));
      }
      if (status.state() == ResourceState.REJECTED) {
        rejected.add(key);
      }
    });
    List<Resource> all = new ArrayList<>();
    all.addAll(snapshot.gateways());
    all.addAll(snapshot.virtualServices());
    all.addAll(snapshot.routeTables());
    all.addAll(snapshot.upstreams());
    all.addAll(snapshot.upstreamGroups());
    Map<ResourceKey, Resource> byKey = new HashMap<>();
    all.forEach(r -> byKey.put(r.key(), r));
    SortedMap<ResourceKey, ResourceStatus> statuses = translation.statuses();
    return new PlanInput(
        translation.writeNamespace(),
        snapshot,
        translation.shards(),
        p -> used.getOrDefault(p, Set.of()),
        p -> translation.lastGood().of(p),
        byKey::get,
        k -> !byKey.containsKey(k) && statuses.containsKey(k) && statuses.get(k).state() == ResourceState.REJECTED,
        rejected::contains,
        null);
  }
}
