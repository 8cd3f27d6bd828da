package io.shardgate.sharding.discovery;

/**
 * The endpoints a service registry gives one service: a Kubernetes Service's ({@link ServiceEndpoints}) or a Consul
 * service's ({@link ConsulServiceEndpoints}). Immutable values; sources keep the very same object while a service's
 * endpoints do not change, so consumers tell changes by identity.
 */
public sealed interface DiscoveredEndpoints permits ServiceEndpoints, ConsulServiceEndpoints {

  /** The key of the service in {@link EndpointState}. */
  String key();
}
