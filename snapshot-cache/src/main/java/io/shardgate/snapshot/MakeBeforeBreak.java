package io.shardgate.snapshot;

import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * The stages that take a shard's Envoys from the snapshot they are served to a new one without a request meeting a
 * missing cluster (snapshot cache stage). Pure: a function of the two snapshots.
 *
 * <p>Envoy applies each xDS type on its own, in the order its responses arrive, so a new route can reach it before
 * the cluster it uses, and a cluster can be removed while a route still uses it: either answers 503
 * ({@code no_cluster}). Given served {@code S} and target {@code T}:
 * <ol>
 *   <li>stage A, only when {@code T} has clusters, endpoints or secrets that {@code S} lacks: the resources that
 *       others depend on (clusters, endpoints, secrets) are {@code S ∪ T}, with {@code T}'s version for names in
 *       both; listeners and routes stay {@code S}'s. Its Envoys must answer its CDS, EDS and SDS before
 *   <li>stage B: listeners and routes become {@code T}'s, the dependencies stay {@code S ∪ T}. Its Envoys must
 *       answer its LDS and RDS before
 *   <li>stage C: exactly {@code T}; what no route uses any more is removed.
 * </ol>
 * A stage that would change nothing that has to be waited for is left out, and the plan ends as soon as a stage
 * equals {@code T}: an edit that adds nothing and removes nothing is one push, as without staging.
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

  /**
   * The stages from {@code served} (null for a shard that was never served) to {@code target}, in order; never
   * empty, and the last is {@code target} itself.
   */
  static List<Stage> plan(ContentSnapshot served, ContentSnapshot target) {
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
    ContentSnapshot b = ContentSnapshot.of(new ShardResources(clusters, endpoints, t.listeners(), t.routes(),
        secrets));
    if (!b.versions().equals(target.versions())) {
      Set<String> awaited = changed(previous, b, USER_TYPES);
      // Without new listeners or routes nothing needs waiting for before the removals: go straight to the target.
      if (!awaited.isEmpty()) {
        stages.add(new Stage(b, awaited));
      }
    }
    stages.add(new Stage(target, Set.of()));
    return List.copyOf(stages);
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
