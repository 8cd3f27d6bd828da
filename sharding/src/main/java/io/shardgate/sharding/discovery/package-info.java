/**
 * What a platform's service registry says, in Shardgate's own immutable terms: the endpoints of each Kubernetes
 * Service port and of each Consul service ({@link io.shardgate.sharding.discovery.EndpointState}) and the names Gloo gives the Upstreams it
 * discovers ({@link io.shardgate.sharding.discovery.DiscoveredUpstreams}). Sources build these values at the edge;
 * translators read them. Pure values and functions only.
 */
package io.shardgate.sharding.discovery;
