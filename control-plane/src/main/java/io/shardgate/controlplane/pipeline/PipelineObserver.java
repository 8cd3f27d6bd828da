package io.shardgate.controlplane.pipeline;

import java.util.SortedSet;

/**
 * Hears what {@link ShardPipeline} does, for metrics; the pipeline knows nothing of any metrics library.
 *
 * <p>Called on the pipeline's thread, one input at a time, so implementations see calls in order; they must be
 * thread-safe all the same if they are read from other threads (a metrics scrape), and must be fast and must not
 * throw. Every method has an empty default.
 */
public interface PipelineObserver {

  /** An observer that ignores everything. */
  PipelineObserver NONE = new PipelineObserver() {
  };

  /**
   * One translation pass finished and was published.
   *
   * @param translatedShards the node role of every shard this pass xDS-translated ({@link Translation#translated()}):
   *     a shard whose inputs did not change is reused, not translated, and is left out; the first pass translates all
   * @param translationNanos time spent translating the whole input (decode, gateway translation, plan, and xDS
   *     translation of the shards that needed it), publishing excluded
   */
  default void translated(SortedSet<String> translatedShards, long translationNanos) {
  }

  /**
   * One pass in which only Service endpoints changed finished and was published: only load assignments were rebuilt
   * (gateway and xDS translation did not run; {@link #translated} is not called for it).
   *
   * @param updatedShards the node role of every shard whose load assignments changed
   * @param translationNanos time spent rebuilding them, publishing excluded
   */
  default void endpointsTranslated(SortedSet<String> updatedShards, long translationNanos) {
  }

  /**
   * One pass in which Secrets changed but no document and no secret view gateway translation read finished and was
   * published: only SDS resources (and Secret statuses) were rebuilt, with the load assignments of any endpoint change
   * in the same input ({@link #endpointsTranslated} is not called for it).
   *
   * @param updatedShards the node role of every shard whose SDS resources (or load assignments) changed
   * @param translationNanos time spent rebuilding them, publishing excluded
   */
  default void secretsTranslated(SortedSet<String> updatedShards, long translationNanos) {
  }

  /**
   * One shard was translated to xDS in this pass (shards whose inputs did not change are not).
   *
   * @param translationNanos time of that shard's xDS translation alone
   */
  default void shardTranslated(String shard, long translationNanos) {
  }

  /**
   * A whole pass ended: translation, publishing and persisting the last good state.
   *
   * @param cpuNanos CPU time the pipeline thread spent on it
   */
  default void passed(long cpuNanos) {
  }

  /** A translation pass threw (a bug, never bad input); every shard kept its snapshot. */
  default void translationFailed() {
  }

  /**
   * One shard's freshly translated resources were handed to the snapshot cache (reused shards are not).
   *
   * @param changed whether its snapshot changed (its Envoys get the changed types); false when its content equals
   *     what it already served
   * @param publishNanos time spent in the cache: content hashing, consistency check and waking the shard's watches
   */
  default void shardPublished(String shard, boolean changed, long publishNanos) {
  }

  /** The cache refused one shard's resources as inconsistent (a bug); the shard kept its previous snapshot. */
  default void shardPublishFailed(String shard) {
  }
}
