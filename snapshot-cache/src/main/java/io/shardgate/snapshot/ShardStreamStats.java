package io.shardgate.snapshot;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Counters of the xDS streams of one group (xDS serving stage), as kept by {@link ShardDiscoveryCallbacks}.
 *
 * <p>Immutable point-in-time copy; safe to share.
 *
 * @param group the role (or {@link NodeRoles#MISCONFIGURED_NODE_GROUP})
 * @param connectedStreams streams open now whose first request named this group
 * @param nacks requests that carried an {@code error_detail}, i.e. Envoy rejected a response
 * @param unknownRoleRequests requests for this role while no Gateway fed it and the cache was synced; a stream whose
 *     requests waited for the first sync counts once, when the sync answered it
 * @param responses responses sent to this group's streams (one per stream and response)
 * @param delayedResponses responses that had to wait because their stream was over its {@link ResponsePacing}
 *     budget (each was sent later, or replaced by a newer response of its type)
 * @param lastNack the most recent NACK, if any
 */
public record ShardStreamStats(String group, int connectedStreams, long nacks, long unknownRoleRequests,
    long responses, long delayedResponses, Optional<Nack> lastNack) {

  /** Checks for nulls. */
  public ShardStreamStats {
    Objects.requireNonNull(group, "group");
    Objects.requireNonNull(lastNack, "lastNack");
  }

  /** No streams, no events. */
  public static ShardStreamStats none(String group) {
    return new ShardStreamStats(group, 0, 0, 0, 0, 0, Optional.empty());
  }

  /**
   * One rejected response. Immutable value.
   *
   * @param nodeId the rejecting Envoy's {@code node.id}, or {@code "(without id)"}
   * @param typeUrl the rejected xDS type
   * @param version the rejected version (delta: the {@code system_version_info} of the rejected response), or
   *     {@value #UNKNOWN_VERSION} if the NACK named a response we cannot match
   * @param message Envoy's error message
   * @param at when the NACK arrived
   */
  public record Nack(String nodeId, String typeUrl, String version, String message, Instant at) {

    /** The version of a NACK whose nonce matches no response of its stream. */
    public static final String UNKNOWN_VERSION = "unknown";

    /** Checks for nulls. */
    public Nack {
      Objects.requireNonNull(nodeId, "nodeId");
      Objects.requireNonNull(typeUrl, "typeUrl");
      Objects.requireNonNull(version, "version");
      Objects.requireNonNull(message, "message");
      Objects.requireNonNull(at, "at");
    }
  }
}
