package io.shardgate.sharding.model;

import java.time.Duration;

/**
 * The route options Shardgate serves. Every field is null when unset, so a child route's options can be merged
 * over its parent's field by field (child wins, parent fills the rest).
 */
public record RouteOptions(String prefixRewrite, Duration timeout, Retries retries) {

  public static final RouteOptions NONE = new RouteOptions(null, null, null);

  /** Child fields win; unset child fields are filled from {@code parent}. */
  public RouteOptions mergedOver(RouteOptions parent) {
    return new RouteOptions(
        prefixRewrite != null ? prefixRewrite : parent.prefixRewrite,
        timeout != null ? timeout : parent.timeout,
        retries != null ? retries : parent.retries);
  }

  /** {@code retries}: retry conditions, attempts and per-try timeout. */
  public record Retries(String retryOn, Integer numRetries, Duration perTryTimeout) {}
}
