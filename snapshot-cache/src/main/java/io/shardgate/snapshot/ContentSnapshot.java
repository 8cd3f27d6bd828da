package io.shardgate.snapshot;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.SnapshotConsistencyException;
import io.envoyproxy.controlplane.cache.SnapshotResources;
import io.envoyproxy.controlplane.cache.VersionedResource;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A java-control-plane v3 snapshot whose type and per-resource versions are content hashes (snapshot cache stage).
 *
 * <p>Immutable; safe to share. {@code Snapshot.create(...)} cannot be used: it versions each resource with
 * {@code VersionedResource.create(resource)}, a hash of {@code hashCode()} that changes between JVMs (breaking delta
 * clients' {@code initial_resource_versions}) and costs a deep hash of every resource on every snapshot.
 *
 * <p>It also knows which endpoints each cluster and which route configurations each listener take from xDS, so that
 * the cache can tell what an Envoy that accepted its clusters or listeners is about to ask for.
 */
@SuppressWarnings("unchecked") // see versionedResources: javac reports the unchecked override on the class
final class ContentSnapshot extends Snapshot {

  /**
   * The RDS route configuration names of each listener instance, and a problem if one of its connection managers
   * cannot be read. By identity (weak keys), like the content digests: a listener is unpacked once, however many
   * snapshots and stages hold it. Declared before {@link #EMPTY}, whose construction reads it.
   */
  private static final Cache<Listener, RdsReferences> RDS_REFERENCES = Caffeine.newBuilder().weakKeys().build();

  static final ContentSnapshot EMPTY = of(ShardResources.empty());

  private final ShardResources resources;
  private final TypeVersions versions;
  private final SnapshotResources<Cluster> clusters;
  private final SnapshotResources<ClusterLoadAssignment> endpoints;
  private final SnapshotResources<Listener> listeners;
  private final SnapshotResources<RouteConfiguration> routes;
  private final SnapshotResources<Secret> secrets;
  /** EDS clusters only: cluster name to the name of its ClusterLoadAssignment. */
  private final Map<String, String> edsNameByCluster = new HashMap<>();
  /** Listeners with RDS connection managers: listener name to their route configuration names. */
  private final Map<String, Set<String>> rdsNamesByListener = new HashMap<>();

  private ContentSnapshot(ShardResources resources) {
    this.resources = resources;
    ContentVersions.Versions c = ContentVersions.versions(resources.clusters());
    ContentVersions.Versions e = ContentVersions.versions(resources.endpoints());
    ContentVersions.Versions l = ContentVersions.versions(resources.listeners());
    ContentVersions.Versions r = ContentVersions.versions(resources.routes());
    ContentVersions.Versions s = ContentVersions.versions(resources.secrets());
    this.versions = new TypeVersions(c.list(), e.list(), l.list(), r.list(), s.list());
    this.clusters = snapshotResources(resources.clusters(), c);
    this.endpoints = snapshotResources(resources.endpoints(), e);
    this.listeners = snapshotResources(resources.listeners(), l);
    this.routes = snapshotResources(resources.routes(), r);
    this.secrets = snapshotResources(resources.secrets(), s);
    for (Cluster cluster : resources.clusters()) {
      if (cluster.getType() == Cluster.DiscoveryType.EDS) {
        String serviceName = cluster.getEdsClusterConfig().getServiceName();
        edsNameByCluster.put(cluster.getName(), serviceName.isEmpty() ? cluster.getName() : serviceName);
      }
    }
    for (Listener listener : resources.listeners()) {
      Set<String> names = RDS_REFERENCES.get(listener, ContentSnapshot::rdsReferences).names();
      if (!names.isEmpty()) {
        rdsNamesByListener.put(listener.getName(), names);
      }
    }
  }

  static ContentSnapshot of(ShardResources resources) {
    return new ContentSnapshot(resources);
  }

  ShardResources shardResources() {
    return resources;
  }

  TypeVersions versions() {
    return versions;
  }

  @Override
  public SnapshotResources<Cluster> clusters() {
    return clusters;
  }

  @Override
  public SnapshotResources<ClusterLoadAssignment> endpoints() {
    return endpoints;
  }

  @Override
  public SnapshotResources<Listener> listeners() {
    return listeners;
  }

  @Override
  public SnapshotResources<RouteConfiguration> routes() {
    return routes;
  }

  @Override
  public SnapshotResources<Secret> secrets() {
    return secrets;
  }

  // Only re-declared because javac does not accept v3.Snapshot's own override of this method (its return type
  // Map<String, VersionedResource<?>> is not substitutable for the base's VersionedResource<? extends Message>); the raw
  // type is the one both declarations erase to.
  @Override
  @SuppressWarnings("rawtypes")
  public Map versionedResources(ResourceType resourceType) {
    return super.versionedResources(resourceType);
  }

  /**
   * Checks that every EDS cluster has its ClusterLoadAssignment and every RDS reference of a listener has its
   * RouteConfiguration: an Envoy would wait for a missing one forever, with the cluster or listener that needs it
   * warming.
   *
   * <p>Differs from the inherited check on purpose: that one finds HTTP connection managers only under the deprecated
   * filter name {@code envoy.http_connection_manager}, so it rejects every listener that uses the current name with
   * RDS; and it rejects resources nobody references, which are harmless and occur when a broken resource is left out
   * of a shard.
   */
  @Override
  public void ensureConsistent() throws SnapshotConsistencyException {
    Optional<String> problem = inconsistency();
    if (problem.isPresent()) {
      throw new SnapshotConsistencyException(problem.get());
    }
  }

  /** What {@link #ensureConsistent()} would complain about, if anything. */
  Optional<String> inconsistency() {
    List<String> problems = new ArrayList<>();
    Set<String> endpointNames = endpoints.resources().keySet();
    for (Cluster cluster : resources.clusters()) {
      String edsName = edsNameByCluster.get(cluster.getName());
      if (edsName != null && !endpointNames.contains(edsName)) {
        problems.add("EDS cluster '" + cluster.getName() + "' needs a ClusterLoadAssignment named '" + edsName
            + "', which the shard does not contain");
      }
    }
    Set<String> routeNames = routes.resources().keySet();
    for (Listener listener : resources.listeners()) {
      RdsReferences references = RDS_REFERENCES.get(listener, ContentSnapshot::rdsReferences);
      references.problem().ifPresent(problems::add);
      for (String routeName : references.names()) {
        if (!routeNames.contains(routeName)) {
          problems.add("listener '" + listener.getName() + "' uses RDS route configuration '" + routeName
              + "', which the shard does not contain");
        }
      }
    }
    return problems.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", problems));
  }

  /** The names of this snapshot's resources of one xDS type; empty for a type URL that is not one of the five. */
  Set<String> names(String typeUrl) {
    SnapshotResources<?> of = ofType(typeUrl);
    return of == null ? Set.of() : of.resources().keySet();
  }

  /** The content version of one resource of this snapshot, or null if it has no such resource. */
  String resourceVersion(String typeUrl, String name) {
    SnapshotResources<?> of = ofType(typeUrl);
    VersionedResource<?> resource = of == null ? null : of.versionedResources().get(name);
    return resource == null ? null : resource.version();
  }

  /** The version of one xDS type of this snapshot, or null for a type URL that is not one of the five. */
  String typeVersion(String typeUrl) {
    return versions.forTypeUrl(typeUrl).orElse(null);
  }

  /** The ClusterLoadAssignment names that these of its clusters take from EDS. */
  Set<String> edsNamesOf(Collection<String> clusterNames) {
    Set<String> out = new HashSet<>();
    for (String cluster : clusterNames) {
      String eds = edsNameByCluster.get(cluster);
      if (eds != null) {
        out.add(eds);
      }
    }
    return out;
  }

  /** The route configuration names that these of its listeners take from RDS. */
  Set<String> rdsNamesOf(Collection<String> listenerNames) {
    Set<String> out = new HashSet<>();
    for (String listener : listenerNames) {
      out.addAll(rdsNamesByListener.getOrDefault(listener, Set.of()));
    }
    return out;
  }

  private SnapshotResources<?> ofType(String typeUrl) {
    return switch (typeUrl) {
      case Resources.V3.CLUSTER_TYPE_URL -> clusters;
      case Resources.V3.ENDPOINT_TYPE_URL -> endpoints;
      case Resources.V3.LISTENER_TYPE_URL -> listeners;
      case Resources.V3.ROUTE_TYPE_URL -> routes;
      case Resources.V3.SECRET_TYPE_URL -> secrets;
      default -> null;
    };
  }

  /** A listener's RDS route configuration names, and why one of its connection managers could not be read. */
  private record RdsReferences(Set<String> names, Optional<String> problem) {
  }

  private static RdsReferences rdsReferences(Listener listener) {
    List<Any> configs = new ArrayList<>();
    List<FilterChain> chains = new ArrayList<>(listener.getFilterChainsList());
    if (listener.hasDefaultFilterChain()) {
      chains.add(listener.getDefaultFilterChain());
    }
    for (FilterChain chain : chains) {
      for (Filter filter : chain.getFiltersList()) {
        configs.add(filter.getTypedConfig());
      }
    }
    if (listener.hasApiListener()) {
      configs.add(listener.getApiListener().getApiListener());
    }
    Set<String> names = new HashSet<>();
    Optional<String> problem = Optional.empty();
    for (Any config : configs) {
      // Recognised by type, not by filter name: Envoy itself resolves typed filters by their type URL.
      if (!config.is(HttpConnectionManager.class)) {
        continue;
      }
      try {
        HttpConnectionManager hcm = config.unpack(HttpConnectionManager.class);
        if (hcm.hasRds()) {
          names.add(hcm.getRds().getRouteConfigName());
        }
      } catch (InvalidProtocolBufferException e) {
        problem = Optional.of("listener '" + listener.getName() + "' has an unreadable HttpConnectionManager: "
            + e.getMessage());
      }
    }
    return new RdsReferences(Set.copyOf(names), problem);
  }

  private static <T extends Message> SnapshotResources<T> snapshotResources(
      List<T> resources, ContentVersions.Versions versions) {
    List<VersionedResource<T>> versioned = new ArrayList<>(resources.size());
    for (int i = 0; i < resources.size(); i++) {
      versioned.add(VersionedResource.create(resources.get(i), versions.perResource().get(i)));
    }
    String typeVersion = versions.list();
    // One version per type whatever subset of names is asked for, like Snapshot.create's per-type overload.
    return SnapshotResources.create(versioned, names -> typeVersion);
  }

  /** The content version of each xDS type of one snapshot. */
  record TypeVersions(String clusters, String endpoints, String listeners, String routes, String secrets) {

    Optional<String> forTypeUrl(String typeUrl) {
      return Optional.ofNullable(switch (typeUrl) {
        case Resources.V3.CLUSTER_TYPE_URL -> clusters;
        case Resources.V3.ENDPOINT_TYPE_URL -> endpoints;
        case Resources.V3.LISTENER_TYPE_URL -> listeners;
        case Resources.V3.ROUTE_TYPE_URL -> routes;
        case Resources.V3.SECRET_TYPE_URL -> secrets;
        default -> null;
      });
    }
  }
}
