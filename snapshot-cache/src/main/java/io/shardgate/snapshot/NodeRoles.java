package io.shardgate.snapshot;

import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.NodeGroup;
import io.envoyproxy.envoy.config.core.v3.Node;

/**
 * How an Envoy node is mapped to the shard whose snapshot it receives (snapshot cache stage).
 *
 * <p>Pure and stateless; safe to use from any thread.
 *
 * <p>The key is {@code node.metadata.role}, as in Gloo Edge: {@code <writeNamespace>~<proxyName>}. Every Envoy with
 * the same role shares one snapshot, so replicas of a gateway-proxy deployment need no per-pod configuration. Unlike
 * Gloo we do not fall back to {@code node.id} when the role is missing: an id is per pod and would never match a shard,
 * so such nodes go to {@link #MISCONFIGURED_NODE_GROUP}, which serves a listener that explains the mistake.
 */
public final class NodeRoles {

  /** The {@code node.metadata} key that names the node's shard. */
  public static final String ROLE_METADATA_KEY = "role";

  /**
   * The group of nodes without a usable role. It cannot collide with a real role, which always contains {@code ~}.
   */
  public static final String MISCONFIGURED_NODE_GROUP = "misconfigured-node";

  /** java-control-plane's view of {@link #groupOf(Node)}, for {@code SimpleCache}. */
  public static final NodeGroup<String> NODE_GROUP = NodeRoles::groupOf;

  private NodeRoles() {
  }

  /**
   * The group (snapshot key) of a node: its {@code metadata.role} string when present and non-empty, else
   * {@link #MISCONFIGURED_NODE_GROUP}. A role that is not a string (a number, a struct) counts as missing.
   */
  public static String groupOf(Node node) {
    if (node == null || !node.hasMetadata()) {
      return MISCONFIGURED_NODE_GROUP;
    }
    Value role = node.getMetadata().getFieldsMap().get(ROLE_METADATA_KEY);
    if (role == null || role.getKindCase() != Value.KindCase.STRING_VALUE || role.getStringValue().isEmpty()) {
      return MISCONFIGURED_NODE_GROUP;
    }
    return role.getStringValue();
  }

  /** The role of the Envoys of one proxy: {@code writeNamespace + "~" + proxyName}. */
  public static String role(String writeNamespace, String proxyName) {
    return writeNamespace + "~" + proxyName;
  }
}
