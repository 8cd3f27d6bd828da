package io.shardgate.sharding.discovery;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The endpoints of every watched service: Kubernetes Services keyed by {@code namespace/name}, Consul services keyed
 * by {@code consul:<service>} (a Kubernetes name holds no {@code :}, so the keys never collide). Immutable value: a
 * source hands a new one to the pipeline on every change, reusing the endpoint objects of services that did not
 * change, so {@link #changedSince} costs a comparison of references per service.
 *
 * <p>A Service that exists but has no EndpointSlice yet is present with empty ports; a Service that does not exist
 * is absent. The directory source has no Services: its state is {@link #EMPTY}.
 *
 * @param services the Kubernetes Services' endpoints
 * @param consul the Consul services' endpoints, for the services the Consul watcher watches
 * @param consulAgent whether a Consul agent supplies {@code consul} (else consul Upstreams have no endpoints)
 */
public record EndpointState(SortedMap<String, ServiceEndpoints> services,
    SortedMap<String, ConsulServiceEndpoints> consul, boolean consulAgent) {

  public static final EndpointState EMPTY = new EndpointState(Collections.emptySortedMap());

  public EndpointState {
    Objects.requireNonNull(services, "services");
    Objects.requireNonNull(consul, "consul");
    services = Collections.unmodifiableSortedMap(new TreeMap<>(services));
    consul = Collections.unmodifiableSortedMap(new TreeMap<>(consul));
  }

  /** Kubernetes Services only, without a Consul agent. */
  public EndpointState(SortedMap<String, ServiceEndpoints> services) {
    this(services, Collections.emptySortedMap(), false);
  }

  /** This state's Kubernetes Services with {@code consul} as the Consul services a Consul agent supplies. */
  public EndpointState withConsul(SortedMap<String, ConsulServiceEndpoints> consul) {
    return new EndpointState(services, consul, true);
  }

  /** The endpoints of a Service, or null when it is not known. */
  public ServiceEndpoints of(String namespace, String service) {
    return services.get(ServiceEndpoints.key(namespace, service));
  }

  /** The endpoints under a key of either kind, or null when it is not known. */
  public DiscoveredEndpoints get(String key) {
    DiscoveredEndpoints kube = services.get(key);
    return kube != null ? kube : consul.get(key);
  }

  /**
   * The keys of the services whose endpoints differ between {@code before} and this state (added, removed, or a
   * different object), sorted.
   */
  public SortedSet<String> changedSince(EndpointState before) {
    SortedSet<String> out = new TreeSet<>();
    changed(services, before.services, out);
    changed(consul, before.consul, out);
    return out;
  }

  private static <V> void changed(Map<String, V> now, Map<String, V> before, SortedSet<String> out) {
    for (Map.Entry<String, V> e : now.entrySet()) {
      if (before.get(e.getKey()) != e.getValue()) {
        out.add(e.getKey());
      }
    }
    for (String k : before.keySet()) {
      if (!now.containsKey(k)) {
        out.add(k);
      }
    }
  }
}
