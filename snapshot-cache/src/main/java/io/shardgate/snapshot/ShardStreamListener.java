package io.shardgate.snapshot;

/**
 * Hears what happens on the xDS streams of a {@link ShardDiscoveryServer}, per group (xDS serving stage). This is how
 * metrics (or tracing) see the protocol without this module depending on a metrics library: the control plane
 * implements it and passes it to {@link ShardDiscoveryServer#ShardDiscoveryServer(ShardSnapshotCache, java.util.List,
 * ShardStreamListener)}.
 *
 * <p>Implementations must be thread-safe and fast: they are called on gRPC threads of many streams at once, inside the
 * request and response paths, so they must not block. An exception thrown by a listener is logged and otherwise
 * ignored; it never breaks a stream.
 *
 * <p>{@code group} is the node role the stream joined with its first request ({@code <writeNamespace>~<proxyName>}),
 * {@link NodeRoles#MISCONFIGURED_NODE_GROUP} for nodes without a role, or whatever role an Envoy asked for, which
 * may be a role no Gateway feeds: use {@link ShardSnapshotCache#isKnownRole} before using it as a metric tag, so an
 * Envoy cannot create unbounded metric series. Every method has an empty default.
 */
public interface ShardStreamListener {

  /** A listener that ignores everything. */
  ShardStreamListener NONE = new ShardStreamListener() {
  };

  /**
   * A stream's first request named its group; from now on the stream counts as connected to it.
   *
   * @param delta whether the stream is incremental (delta) xDS rather than state of the world
   */
  default void onStreamOpen(String group, boolean delta) {
  }

  /** A stream that had joined {@code group} closed, normally or not. */
  default void onStreamClose(String group, boolean delta) {
  }

  /**
   * A response is about to be written to a stream.
   *
   * @param typeUrl the xDS type
   * @param version the response's {@code version_info} (delta: {@code system_version_info})
   * @param nonce the response's nonce, unique per stream
   * @param resources how many resources it carries (delta: changed ones only, removals not counted)
   * @param delta whether the stream is incremental xDS
   */
  default void onResponse(String group, String typeUrl, String version, String nonce, int resources, boolean delta) {
  }

  /**
   * An Envoy accepted a response: its request carried the response's nonce and no {@code error_detail}. Reported
   * once per response, for the latest response of the type on the stream only (an ACK of a superseded response is
   * not matched).
   *
   * @param version the acknowledged version
   * @param latencyNanos from just before the response was written to the arrival of the ACK
   */
  default void onAck(String group, String typeUrl, String version, long latencyNanos) {
  }

  /**
   * An Envoy rejected a response: its request carried an {@code error_detail}. The same information is kept as the
   * group's latest NACK ({@link ShardSnapshotCache#latestNacks(String)}).
   */
  default void onNack(String group, ShardStreamStats.Nack nack) {
  }
}
