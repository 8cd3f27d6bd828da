/**
 * The shard plan stage, between gateway translation and xDS translation: {@link
 * io.shardgate.sharding.plan.ShardPlanner} works out, per shard, what it serves, which Upstreams it reaches (so its
 * clusters can be only those) and a fingerprint of exactly the inputs it depends on (so an unchanged shard is neither
 * translated nor pushed); the domains more than one shard claims; and the synthesized edge shard ({@link
 * io.shardgate.sharding.plan.EdgePlan}). {@link io.shardgate.sharding.plan.Canonical} is the canonical form the
 * fingerprints hash.
 *
 * <p>Pure: no I/O, no clock, no Envoy protos, no dependency injection.
 */
package io.shardgate.sharding.plan;
