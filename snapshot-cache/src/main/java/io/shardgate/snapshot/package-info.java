/**
 * Snapshot cache and xDS serving stages of Shardgate.
 *
 * <p>The control plane hands each shard's translated Envoy resources ({@link io.shardgate.snapshot.ShardResources})
 * to a {@link io.shardgate.snapshot.ShardSnapshotCache}, keyed by the node role {@code <writeNamespace>~<proxyName>}
 * ({@link io.shardgate.snapshot.NodeRoles}). Versions are content hashes ({@link io.shardgate.snapshot.ContentVersions})
 * so equal content keeps its version across restarts and replicas, and an unchanged shard's Envoys get no push. An
 * edit that adds or removes clusters, or renames a listener, reaches a shard's Envoys in stages, make-before-break
 * ({@code MakeBeforeBreak}), moved on by their answers and held where one of them rejects a stage.
 * {@link io.shardgate.snapshot.ShardDiscoveryServer} serves the cache over ADS, state of the world and delta; its
 * {@link io.shardgate.snapshot.ShardDiscoveryCallbacks} handle unknown roles, NACKs (never resent, the latest per
 * shard and type kept in the cache), delta clients' {@code initial_resource_versions}, and per-shard stream counters,
 * and report every stream event to a {@link io.shardgate.snapshot.ShardStreamListener} (how the control plane's
 * metrics see the protocol without this package depending on a metrics library). Each stream is paced by a token
 * bucket ({@link io.shardgate.snapshot.ResponsePacing}). The protocol rules are in {@code docs/xds-protocol.md}.
 *
 * <p>This package depends on java-control-plane, gRPC, Caffeine and slf4j only; nothing else of Shardgate.
 */
package io.shardgate.snapshot;
