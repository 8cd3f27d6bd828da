package io.shardgate.sharding.discovery;

import java.util.Collections;
import java.util.Objects;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The endpoints of every watched Kubernetes Service, keyed by {@code namespace/name}. Immutable value: a source hands
 * a new one to the pipeline on every change, reusing the {@link ServiceEndpoints} objects of Services that did not
 * change, so {@link #changedSince} costs a comparison of references per Service.
 *
 * <p>A Service that exists but has no EndpointSlice yet is present with empty ports; a Service that does not exist
 * is absent. The directory source has no Services: its state is {@link #EMPTY}.
 */
public record EndpointState(SortedMap<String, ServiceEndpoints> services) {

  public static final EndpointState EMPTY = new EndpointState(Collections.emptySortedMap());

  public EndpointState {
    Objects.requireNonNull(services, "services");
    services = Collections.unmodifiableSortedMap(new TreeMap<>(services));
  }

  /** The endpoints of a Service, or null when it is not known. */
  public ServiceEndpoints of(String namespace, String service) {
    return services.get(ServiceEndpoints.key(namespace, service));
  }

  /**
   * The keys of the Services whose endpoints differ between {@code before} and this state (added, removed, or a
   * different object), sorted.
   */
  public SortedSet<String> changedSince(EndpointState before) {
    SortedSet<String> out = new TreeSet<>();
    for (Map.Entry<String, ServiceEndpoints> e : services.entrySet()) {
      if (before.services.get(e.getKey()) != e.getValue()) {
        out.add(e.getKey());
      }
    }
    for (String k : before.services.keySet()) {
      if (!services.containsKey(k)) {
        out.add(k);
      }
    }
    return out;
  }
}
