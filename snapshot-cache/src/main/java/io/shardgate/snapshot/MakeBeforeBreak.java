package io.shardgate.snapshot;

import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.AdditionalAddress;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * The stages that take a shard's Envoys from the snapshot they are served to a new one without a request meeting a
 * missing cluster or a missing listener (snapshot cache stage). Pure: a function of the two snapshots and of what the
 * Envoys rejected.
 *
 * <p>Envoy applies each xDS type on its own, in the order its responses arrive, so a new route can reach it before
 * the cluster it uses, and a cluster can be removed while a route still uses it: either answers 503
 * ({@code no_cluster}). A listener whose name changes (a Gateway's {@code bindAddress} or {@code bindPort}: listeners
 * are named {@code listener-<address>-<port>}) is a removal and an addition; sent together, the old socket closes
 * before the new one listens, and the new one may never listen at all (an address the host does not have). Given
 * served {@code S} and target {@code T}:
 * <ol>
 *   <li>stage A, only when {@code T} has clusters, endpoints or secrets that {@code S} lacks: the resources that
 *       others depend on (clusters, endpoints, secrets) are {@code S ∪ T}, with {@code T}'s version for names in
 *       both; listeners and routes stay {@code S}'s. Its Envoys must answer its CDS, EDS and SDS before
 *   <li>stage B: listeners and routes become {@code T}'s, plus each listener of {@code S} that {@code T} no longer has
 *       (with the route configurations it uses), unless it could keep a listener of {@code T} from binding (the same
 *       port, and the same address or either a wildcard) or an Envoy rejected it; the dependencies stay
 *       {@code S ∪ T}. Its Envoys must answer its LDS and RDS before
 *   <li>stage C: exactly {@code T}; what no route uses any more, and the listeners {@code T} replaced, are removed.
 * </ol>
 * A stage that would change nothing that has to be waited for is left out, and the plan ends as soon as a stage
 * equals {@code T}: an edit that adds nothing, removes nothing and renames no listener is one push, as without
 * staging.
 *
 * <p>An Envoy that rejects an awaited type of a stage holds the update there ({@link ShardSnapshotCache}). When
 * {@code T} still has a resource an Envoy rejected, at the version it rejected, stage B also awaits that resource's
 * type, so the next update holds there again rather than removing what the rejected resource was to replace.
 */
final class MakeBeforeBreak {

  /** The types other resources refer to: they must arrive before their users and go after them. */
  static final Set<String> DEPENDENCY_TYPES = Set.of(
      Resources.V3.CLUSTER_TYPE_URL, Resources.V3.ENDPOINT_TYPE_URL, Resources.V3.SECRET_TYPE_URL);
  /** The types that refer to the others. */
  static final Set<String> USER_TYPES = Set.of(Resources.V3.LISTENER_TYPE_URL, Resources.V3.ROUTE_TYPE_URL);
  private static final List<String> ALL_TYPES = List.of(Resources.V3.CLUSTER_TYPE_URL,
      Resources.V3.ENDPOINT_TYPE_URL, Resources.V3.LISTENER_TYPE_URL, Resources.V3.ROUTE_TYPE_URL,
      Resources.V3.SECRET_TYPE_URL);

  private MakeBeforeBreak() {
  }

  /**
   * One snapshot to serve, and the types whose answers (ACK or NACK) from every Envoy of the shard it must have
   * before the next stage; empty for the last stage.
   */
  record Stage(ContentSnapshot snapshot, Set<String> awaitedTypes) {
    Stage {
      awaitedTypes = Set.copyOf(awaitedTypes);
    }
  }

  /** One resource of one xDS type at one content version, such as one that an Envoy rejected. */
  record ResourceVersion(String typeUrl, String name, String version) {
  }

  /** {@link #plan(ContentSnapshot, ContentSnapshot, Set)} when no Envoy rejected anything. */
  static List<Stage> plan(ContentSnapshot served, ContentSnapshot target) {
    return plan(served, target, Set.of());
  }

  /**
   * The stages from {@code served} (null for a shard that was never served) to {@code target}, in order; never
   * empty, and the last is {@code target} itself.
   *
   * @param rejected resources some Envoy of the shard rejected: such a listener of {@code served} is not kept, and
   *     one that {@code target} still has makes stage B await its type
   */
  static List<Stage> plan(ContentSnapshot served, ContentSnapshot target, Set<ResourceVersion> rejected) {
    if (served == null) {
      return List.of(new Stage(target, Set.of()));
    }
    ShardResources s = served.shardResources();
    ShardResources t = target.shardResources();
    List<Cluster> clusters = union(s.clusters(), t.clusters(), Cluster::getName);
    List<ClusterLoadAssignment> endpoints = union(s.endpoints(), t.endpoints(), ClusterLoadAssignment::getClusterName);
    List<Secret> secrets = union(s.secrets(), t.secrets(), Secret::getName);
    boolean adds = clusters.size() > s.clusters().size() || endpoints.size() > s.endpoints().size()
        || secrets.size() > s.secrets().size();

    List<Stage> stages = new ArrayList<>();
    ContentSnapshot previous = served;
    if (adds) {
      ContentSnapshot a = ContentSnapshot.of(new ShardResources(clusters, endpoints, s.listeners(), s.routes(),
          secrets));
      if (a.versions().equals(target.versions())) {
        return List.of(new Stage(target, Set.of()));
      }
      stages.add(new Stage(a, changed(previous, a, DEPENDENCY_TYPES)));
      previous = a;
    }
    List<Listener> kept = keptListeners(served, target, rejected);
    List<Listener> listeners = new ArrayList<>(t.listeners());
    listeners.addAll(kept);
    List<RouteConfiguration> routes = new ArrayList<>(t.routes());
    Set<String> keptRouteNames = new HashSet<>(served.rdsNamesOf(kept.stream().map(Listener::getName).toList()));
    keptRouteNames.removeAll(target.names(Resources.V3.ROUTE_TYPE_URL));
    for (RouteConfiguration route : s.routes()) {
      if (keptRouteNames.contains(route.getName())) {
        routes.add(route);
      }
    }
    ContentSnapshot b = ContentSnapshot.of(new ShardResources(clusters, endpoints, listeners, routes, secrets));
    if (!b.versions().equals(target.versions())) {
      Set<String> awaited = new TreeSet<>(changed(previous, b, USER_TYPES));
      awaited.addAll(stillRejectedTypes(target, rejected));
      // Without new listeners or routes nothing needs waiting for before the removals: go straight to the target.
      if (!awaited.isEmpty()) {
        stages.add(new Stage(b, awaited));
      }
    }
    stages.add(new Stage(target, Set.of()));
    return List.copyOf(stages);
  }

  /**
   * The listeners of {@code served} that {@code target} no longer has and that stage B keeps: not rejected by an
   * Envoy (an Envoy does not have it, so it protects nothing, and sending it again would be rejected again), and
   * sharing no address with a listener of {@code target} (Envoy refuses a second listener on an address, and the
   * kernel may refuse to bind a wildcard and a specific address on one port).
   */
  private static List<Listener> keptListeners(ContentSnapshot served, ContentSnapshot target,
      Set<ResourceVersion> rejected) {
    Set<String> targetNames = target.names(Resources.V3.LISTENER_TYPE_URL);
    List<Listener> targetListeners = target.shardResources().listeners();
    List<Listener> kept = new ArrayList<>();
    for (Listener old : served.shardResources().listeners()) {
      String name = old.getName();
      if (targetNames.contains(name) || rejected.contains(new ResourceVersion(Resources.V3.LISTENER_TYPE_URL, name,
          served.resourceVersion(Resources.V3.LISTENER_TYPE_URL, name)))) {
        continue;
      }
      if (targetListeners.stream().noneMatch(l -> sharesAddress(old, l))) {
        kept.add(old);
      }
    }
    return kept;
  }

  /** The types of which {@code target} has a resource at a version an Envoy rejected. */
  private static Set<String> stillRejectedTypes(ContentSnapshot target, Set<ResourceVersion> rejected) {
    Set<String> types = new TreeSet<>();
    for (ResourceVersion r : rejected) {
      if (r.version().equals(target.resourceVersion(r.typeUrl(), r.name()))) {
        types.add(r.typeUrl());
      }
    }
    return types;
  }

  /**
   * Whether two listeners could not both be bound: an address they share, or on one port a wildcard and any other
   * address. Other kinds of addresses (pipes, internal listeners) clash when equal.
   */
  static boolean sharesAddress(Listener a, Listener b) {
    for (Address x : addresses(a)) {
      for (Address y : addresses(b)) {
        if (clash(x, y)) {
          return true;
        }
      }
    }
    return false;
  }

  private static List<Address> addresses(Listener listener) {
    List<Address> out = new ArrayList<>();
    if (listener.hasAddress()) {
      out.add(listener.getAddress());
    }
    for (AdditionalAddress additional : listener.getAdditionalAddressesList()) {
      out.add(additional.getAddress());
    }
    return out;
  }

  private static boolean clash(Address x, Address y) {
    if (!x.hasSocketAddress() || !y.hasSocketAddress()) {
      return x.equals(y);
    }
    SocketAddress a = x.getSocketAddress();
    SocketAddress b = y.getSocketAddress();
    if (a.getPortValue() != b.getPortValue() || !a.getNamedPort().equals(b.getNamedPort())) {
      return false;
    }
    return isWildcard(a.getAddress()) || isWildcard(b.getAddress())
        || a.getAddress().equalsIgnoreCase(b.getAddress());
  }

  /** {@code 0.0.0.0}, or {@code ::} in any of its spellings (an empty address is taken as one too: it clashes). */
  private static boolean isWildcard(String address) {
    return address.isEmpty() || address.equals("0.0.0.0")
        || address.indexOf(':') >= 0 && address.chars().allMatch(c -> c == '0' || c == ':');
  }

  /** The types among {@code types} whose version differs between two snapshots, sorted. */
  static Set<String> changed(ContentSnapshot from, ContentSnapshot to, Set<String> types) {
    Set<String> out = new TreeSet<>();
    for (String type : ALL_TYPES) {
      if (types.contains(type) && !to.typeVersion(type).equals(from.typeVersion(type))) {
        out.add(type);
      }
    }
    return out;
  }

  /** Both lists' resources by name, {@code target}'s for names in both (the same instances: no re-hashing). */
  private static <T extends Message> List<T> union(List<T> served, List<T> target, Function<T, String> name) {
    Map<String, T> byName = new LinkedHashMap<>();
    for (T resource : served) {
      byName.put(name.apply(resource), resource);
    }
    for (T resource : target) {
      byName.put(name.apply(resource), resource);
    }
    return new ArrayList<>(byName.values());
  }
}
