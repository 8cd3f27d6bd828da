package io.shardgate.sharding.plan;

import io.shardgate.sharding.ir.ProxyListener;
import io.shardgate.sharding.ir.ProxyVirtualHost;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.Upstream;
import io.shardgate.sharding.translate.ProxyLastGood;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The shard plan, re-worked only for the shards whose inputs changed: a shard keeps its previous plan while its
 * configuration is the same object, it uses the same resources, its last good slice is the same, and every resource
 * its fingerprint covers is unchanged (same object, same rejection); resource hashes and the reach of each virtual
 * host are remembered by identity. The result equals {@link ShardPlanner#plan} from scratch.
 *
 * <p>Stage: shard plan. Stateful (its memos); not thread-safe: one pipeline thread calls it.
 */
public final class ShardPlanCache {

  private record Memo(ShardConfig config, Set<ResourceKey> used, ProxyLastGood slice, String settingsText,
      List<Upstream> allUpstreams, Map<ResourceKey, Object> deps, Map<ResourceKey, Boolean> rejected,
      ShardPlan.Shard shard) {}

  private static final Object ABSENT = new Object();

  private final Map<String, Memo> memos = new HashMap<>();
  private Map<ProxyVirtualHost, ShardPlanner.Reach> reaches = new IdentityHashMap<>();
  private final Map<ResourceKey, Object[]> hashes = new HashMap<>();
  private ShardPlan last;
  private PlanSettings lastSettings;
  private String lastNamespace;
  private long shardsPlanned;

  public ShardPlan plan(PlanInput in, PlanSettings settings) {
    String settingsText = ShardPlanner.settingsText(in.snapshot().settings(), settings);
    Map<ProxyVirtualHost, ShardPlanner.Reach> seen = new IdentityHashMap<>();
    SortedMap<String, ShardPlan.Shard> shards = new TreeMap<>();
    boolean changed = last == null || !settings.equals(lastSettings) || !in.writeNamespace().equals(lastNamespace)
        || !memos.keySet().equals(in.shards().keySet());
    for (ShardConfig config : in.shards().values()) {
      String name = config.proxy().name();
      Memo m = memos.get(name);
      if (m != null && stillValid(m, config, in, settings, settingsText)) {
        shards.put(name, m.shard());
        for (ProxyListener l : config.proxy().listeners()) {
          for (ProxyVirtualHost vh : l.virtualHosts()) {
            ShardPlanner.Reach r = reaches.get(vh);
            if (r != null) {
              seen.put(vh, r);
            }
          }
        }
        continue;
      }
      ShardPlanner.Planned planned = ShardPlanner.planShard(config, in, settings, settingsText,
          vh -> seen.computeIfAbsent(vh, v -> reaches.getOrDefault(v, ShardPlanner.reachOf(v))),
          key -> state(in, key));
      Map<ResourceKey, Object> deps = new HashMap<>();
      Map<ResourceKey, Boolean> rejected = new HashMap<>();
      for (ResourceKey k : planned.deps()) {
        Object r = in.resource().apply(k);
        deps.put(k, r == null ? ABSENT : r);
        rejected.put(k, r == null ? in.rejectedWhileDecoding().test(k) : in.rejected().test(k));
      }
      memos.put(name, new Memo(config, Set.copyOf(in.usedBy().apply(name)), in.lastGood().apply(name), settingsText,
          settings.allUpstreamsPerShard() ? in.snapshot().upstreams() : null, deps, rejected, planned.shard()));
      shards.put(name, planned.shard());
      shardsPlanned++;
      changed = true;
    }
    memos.keySet().retainAll(in.shards().keySet());
    reaches = seen;
    lastSettings = settings;
    lastNamespace = in.writeNamespace();
    if (!changed) {
      return last;
    }
    last = ShardPlanner.finish(in, settings, shards);
    return last;
  }

  /** How many shard plans were worked out (not reused), for tests and metrics. */
  public long shardsPlanned() {
    return shardsPlanned;
  }

  private boolean stillValid(Memo m, ShardConfig config, PlanInput in, PlanSettings settings, String settingsText) {
    if (m.config() != config || m.slice() != in.lastGood().apply(config.proxy().name())
        || !m.settingsText().equals(settingsText) || !m.used().equals(in.usedBy().apply(config.proxy().name()))) {
      return false;
    }
    if (settings.allUpstreamsPerShard() && !sameElements(m.allUpstreams(), in.snapshot().upstreams())) {
      return false;
    }
    if (in.changed() != null) {
      // Told what changed: a dependency not among it is the same object, with the same rejection.
      for (ResourceKey k : in.changed()) {
        if (m.deps().containsKey(k)) {
          return false;
        }
      }
      return true;
    }
    for (Map.Entry<ResourceKey, Object> e : m.deps().entrySet()) {
      Object now = in.resource().apply(e.getKey());
      Object then = e.getValue();
      if (now == null ? then != ABSENT : (then == ABSENT || (now != then && !now.equals(then)))) {
        return false;
      }
      boolean rejected = now == null ? in.rejectedWhileDecoding().test(e.getKey()) : in.rejected().test(e.getKey());
      if (rejected != m.rejected().get(e.getKey())) {
        return false;
      }
    }
    return true;
  }

  /** A resource's line in a fingerprint: its content hash, and whether it is rejected. */
  private String state(PlanInput in, ResourceKey key) {
    Object r = in.resource().apply(key);
    if (r == null) {
      hashes.remove(key);
      return in.rejectedWhileDecoding().test(key) ? "rejected" : "absent";
    }
    Object[] h = hashes.get(key);
    if (h == null || h[0] != r) {
      h = new Object[] {r, Canonical.hash(r)};
      hashes.put(key, h);
    }
    return h[1] + (in.rejected().test(key) ? ",rejected" : "");
  }

  private static boolean sameElements(List<Upstream> a, List<Upstream> b) {
    if (a == null || a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      if (!Objects.equals(a.get(i), b.get(i))) {
        return false;
      }
    }
    return true;
  }
}
