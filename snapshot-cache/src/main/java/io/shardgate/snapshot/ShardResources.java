package io.shardgate.snapshot;

import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * The Envoy resources of one shard, per xDS type: the input of the snapshot cache stage.
 *
 * <p>Immutable value; safe to share between threads. Each list is sorted by resource name, so the order in which a
 * translator emitted resources never changes a {@link ContentVersions content version}. Two resources of one type
 * with the same name are rejected: Envoy would see only one of them, and which one would depend on input order.
 *
 * @param clusters CDS resources
 * @param endpoints EDS resources, named by cluster name (or EDS service name)
 * @param listeners LDS resources
 * @param routes RDS resources
 * @param secrets SDS resources
 */
public record ShardResources(
    List<Cluster> clusters,
    List<ClusterLoadAssignment> endpoints,
    List<Listener> listeners,
    List<RouteConfiguration> routes,
    List<Secret> secrets) {

  private static final ShardResources EMPTY = new ShardResources(List.of(), List.of(), List.of(), List.of(), List.of());

  /**
   * Sorts and copies each list.
   *
   * @throws NullPointerException if a list or an element is null
   * @throws IllegalArgumentException if two resources of one type share a name
   */
  public ShardResources {
    clusters = sortedByName(clusters, Cluster::getName, "cluster");
    endpoints = sortedByName(endpoints, ClusterLoadAssignment::getClusterName, "cluster load assignment");
    listeners = sortedByName(listeners, Listener::getName, "listener");
    routes = sortedByName(routes, RouteConfiguration::getName, "route configuration");
    secrets = sortedByName(secrets, Secret::getName, "secret");
  }

  /** A shard with no resources of any type. */
  public static ShardResources empty() {
    return EMPTY;
  }

  /**
   * The resources of one xDS type, by its v3 type URL (see {@code Resources.V3}).
   *
   * @throws IllegalArgumentException for a type URL that is not one of the five v3 SotW types
   */
  public List<? extends Message> ofType(String typeUrl) {
    return switch (typeUrl) {
      case Resources.V3.CLUSTER_TYPE_URL -> clusters;
      case Resources.V3.ENDPOINT_TYPE_URL -> endpoints;
      case Resources.V3.LISTENER_TYPE_URL -> listeners;
      case Resources.V3.ROUTE_TYPE_URL -> routes;
      case Resources.V3.SECRET_TYPE_URL -> secrets;
      default -> throw new IllegalArgumentException("not an xDS v3 resource type: " + typeUrl);
    };
  }

  /** True when every list is empty. */
  public boolean isEmpty() {
    return clusters.isEmpty() && endpoints.isEmpty() && listeners.isEmpty() && routes.isEmpty() && secrets.isEmpty();
  }

  private static <T> List<T> sortedByName(List<T> resources, Function<T, String> name, String kind) {
    if (isSortedAndUnique(resources, name)) {
      // An immutable list stays the very object: a shard rebuilt with only its SDS resources changed keeps its
      // other lists, so nothing downstream has to look at them again.
      return List.copyOf(resources);
    }
    List<T> sorted = new ArrayList<>(List.copyOf(resources));
    sorted.sort(Comparator.comparing(name));
    for (int i = 1; i < sorted.size(); i++) {
      String n = name.apply(sorted.get(i));
      if (n.equals(name.apply(sorted.get(i - 1)))) {
        throw new IllegalArgumentException("two " + kind + "s named '" + n + "'");
      }
    }
    return List.copyOf(sorted);
  }

  private static <T> boolean isSortedAndUnique(List<T> resources, Function<T, String> name) {
    String before = null;
    for (T r : resources) {
      String n = name.apply(Objects.requireNonNull(r, "resource"));
      if (before != null && n.compareTo(before) <= 0) {
        return false;
      }
      before = n;
    }
    return true;
  }
}
