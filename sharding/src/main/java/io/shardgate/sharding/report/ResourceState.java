package io.shardgate.sharding.report;

/** The state of a resource after translation, as Gloo names them. */
public enum ResourceState {
  /** Read but not yet translated. */
  PENDING,
  /** Translated with no problem. */
  ACCEPTED,
  /** Has at least one error: what it produces is left out of every shard. */
  REJECTED,
  /** Served, but something in it was ignored or is suspicious. */
  WARNING
}
