package io.shardgate.controlplane.xds;

/**
 * Two resources of one shard that would become Envoy resources of the same name (a cluster, a virtual host of one
 * route configuration, a listener). Names that pass Kubernetes validation never collide under {@link XdsNames}, so
 * this is a bug, never bad input; it fails the shard's xDS translation instead of sending Envoy a set of resources in
 * which one silently replaces the other. Its message names only resources and the Envoy name, never values, so it
 * may be shown in statuses.
 */
public final class EnvoyNameCollisionException extends IllegalStateException {

  EnvoyNameCollisionException(String what, String envoyName, Object first, Object second) {
    super(first + " and " + second + " would both become Envoy " + what + " '" + envoyName + "'");
  }
}
