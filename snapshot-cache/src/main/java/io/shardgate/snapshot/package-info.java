/**
 * Snapshot cache and xDS serving stages of Shardgate.
 *
 * <p>The control plane hands each shard's translated Envoy resources ({@link io.shardgate.snapshot.ShardResources})
 * to a {@link io.shardgate.snapshot.ShardSnapshotCache}, keyed by the node role {@code <writeNamespace>~<proxyName>}
 * ({@link io.shardgate.snapshot.NodeRoles}). Versions are content hashes ({@link io.shardgate.snapshot.ContentVersions})
 * so equal content keeps its version across restarts and replicas, and an unchanged shard's Envoys get no push.
 * {@link io.shardgate.snapshot.ShardDiscoveryServer} serves the cache over ADS; its
 * {@link io.shardgate.snapshot.ShardDiscoveryCallbacks} handle unknown roles, NACKs and per-shard stream counters.
 *
 * <p>This package depends on java-control-plane, gRPC, Caffeine and slf4j only; nothing else of Shardgate.
 */
package io.shardgate.snapshot;
