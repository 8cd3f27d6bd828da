package io.shardgate.controlplane.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Duration;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.shardgate.snapshot.NodeRoles;
import io.shardgate.snapshot.ShardResources;
import io.shardgate.snapshot.ShardSnapshotCache;
import io.shardgate.snapshot.ShardStreamStats;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The Micrometer binding on its own: tags, cardinality guard, gauges and counters. */
class ShardgateMetricsTest {

  private static final String A = "gloo-system~shard-a";
  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final ShardSnapshotCache cache = new ShardSnapshotCache();
  private final ShardgateMetrics metrics = new ShardgateMetrics(registry, cache);

  @Test
  void versionGaugeValueIsTheVersionsFirstThirteenHexDigits() {
    assertEquals((double) 0x0123456789abcL, ShardgateMetrics.versionValue("0123456789abcdef"));
    assertEquals((double) 0xfffffffffffffL, ShardgateMetrics.versionValue("ffffffffffffffff"), "exact at 52 bits");
    assertTrue(Double.isNaN(ShardgateMetrics.versionValue(null)));
    assertTrue(Double.isNaN(ShardgateMetrics.versionValue("abc")));
    assertTrue(Double.isNaN(ShardgateMetrics.versionValue("not-a-hex-version")));
  }

  @Test
  void onlyRolesAGatewayFeedsBecomeShardTags() {
    feed(A);
    assertEquals(A, metrics.shardTag(A));
    assertEquals(NodeRoles.MISCONFIGURED_NODE_GROUP, metrics.shardTag(NodeRoles.MISCONFIGURED_NODE_GROUP));
    assertEquals(ShardgateMetrics.UNKNOWN_ROLE, metrics.shardTag("gloo-system~made-up"));

    metrics.onResponse("gloo-system~made-up-1", CDS, "v", "0", 0, false);
    metrics.onResponse("gloo-system~made-up-2", "type.googleapis.com/not.a.Type", "v", "1", 0, true);
    assertEquals(1.0, registry.get("shardgate.shard.pushes").tags("shard", "unknown-role", "type_url", CDS)
        .counter().count());
    assertEquals(1.0, registry.get("shardgate.shard.pushes").tags("shard", "unknown-role", "type_url", "other")
        .counter().count());
    assertTrue(registry.getMeters().stream().noneMatch(m -> m.getId().getTag("shard") != null
        && m.getId().getTag("shard").contains("made-up")));
  }

  @Test
  void connectedStreamsFollowTheRoleAsItBecomesKnown() {
    feed(A);
    metrics.translated(new TreeSet<>(List.of(A)), 1_000);
    metrics.onStreamOpen(A, false);
    metrics.onStreamOpen(A, true);
    String later = "gloo-system~shard-later";
    metrics.onStreamOpen(later, false);
    assertEquals(2.0, connected(A));
    assertEquals(1.0, connected(ShardgateMetrics.UNKNOWN_ROLE));
    assertEquals(0.0, connected(NodeRoles.MISCONFIGURED_NODE_GROUP));

    feed(later); // a Gateway now feeds it: its open stream moves to its own tag
    metrics.translated(new TreeSet<>(List.of(later)), 1_000);
    assertEquals(1.0, connected(later));
    assertEquals(0.0, connected(ShardgateMetrics.UNKNOWN_ROLE));

    metrics.onStreamClose(A, false);
    metrics.onStreamClose(A, true);
    metrics.onStreamClose(A, true); // a stray close never goes below zero
    assertEquals(0.0, connected(A));
  }

  @Test
  void pipelineAndStreamEventsMoveTheirMeters() {
    feed(A);
    metrics.shardPublished(A, true, 2_000_000);
    metrics.shardPublished(A, false, 1_000_000);
    metrics.translated(new TreeSet<>(List.of(A)), 5_000_000);
    metrics.translationFailed();
    metrics.shardPublishFailed(A);
    metrics.onAck(A, CDS, "v1", 3_000_000);
    metrics.onNack(A, new ShardStreamStats.Nack("envoy-1", CDS, "v1", "bad", Instant.now()));

    assertEquals(1.0, registry.get("shardgate.translation.passes").counter().count());
    assertEquals(1.0, registry.get("shardgate.translation.failures").counter().count());
    assertEquals(5.0, registry.get("shardgate.translation").timer().totalTime(TimeUnit.MILLISECONDS));
    assertEquals(1.0, registry.get("shardgate.shard.translations").tag("shard", A).counter().count());
    assertEquals(1.0, registry.get("shardgate.shard.snapshot.updates").tag("shard", A).counter().count());
    assertEquals(2, registry.get("shardgate.shard.publish").tag("shard", A).timer().count());
    assertEquals(1.0, registry.get("shardgate.shard.publish.failures").tag("shard", A).counter().count());
    assertEquals(3.0, registry.get("shardgate.shard.ack.latency").tags("shard", A, "type_url", CDS).timer()
        .totalTime(TimeUnit.MILLISECONDS));
    assertEquals(1.0, registry.get("shardgate.shard.nacks").tags("shard", A, "type_url", CDS).counter().count());
    assertEquals(ShardgateMetrics.versionValue(cache.versionOf(A, CDS).orElseThrow()),
        registry.get("shardgate.shard.snapshot.version").tags("shard", A, "type_url", CDS).gauge().value());
    assertNull(registry.find("shardgate.shard.translations").tag("shard", "gloo-system~other").counter());
  }

  private void feed(String role) {
    cache.setShard(role, new ShardResources(List.of(Cluster.newBuilder().setName(role + "-cluster")
        .setConnectTimeout(Duration.newBuilder().setSeconds(1)).build()), List.of(), List.of(), List.of(), List.of()));
    cache.retainShards(cache.knownRoles().isEmpty() ? Set.of(role) : union(role));
  }

  private Set<String> union(String role) {
    Set<String> all = new TreeSet<>(cache.knownRoles());
    all.add(role);
    return all;
  }

  private double connected(String tag) {
    return registry.get("shardgate.shard.connected.streams").tag("shard", tag).gauge().value();
  }
}
