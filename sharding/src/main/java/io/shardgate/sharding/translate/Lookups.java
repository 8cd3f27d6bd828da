package io.shardgate.sharding.translate;

import io.shardgate.sharding.decode.DecodedResources;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ObjectMeta;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.ResourceSnapshot;
import io.shardgate.sharding.model.RouteTable;
import io.shardgate.sharding.model.Upstream;
import io.shardgate.sharding.model.UpstreamGroup;
import io.shardgate.sharding.model.VirtualService;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.report.ResourceStatus;
import io.shardgate.sharding.secret.TlsSecretLookup;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The indexes one gateway translation call looks resources up in: by reference, by namespace, decode statuses, and
 * which UpstreamGroups failed validation. Built once per call from its input and never changed; shared by every
 * piece of that call. Immutable after construction; thread-safe.
 *
 * @param changedRouteTableNamespaces namespaces in which a RouteTable appeared, disappeared, or changed labels or
 *     decode status since the previous call ({@code *} when unknown, e.g. on the first call): a RouteTable selector
 *     over other namespaces still selects what it selected
 * @param secrets what is known of the TLS secrets {@code secretRef}s name (never their content)
 */
record Lookups(
    ResourceSnapshot snapshot,
    SortedMap<ResourceKey, ResourceStatus> decodeStatuses,
    SortedMap<ResourceKey, ObjectMeta> rejectedMeta,
    Map<ResourceRef, RouteTable> routeTables,
    Map<ResourceRef, Upstream> upstreams,
    Map<ResourceRef, UpstreamGroup> upstreamGroups,
    Map<ResourceRef, VirtualService> virtualServices,
    Map<String, List<RouteTable>> routeTablesByNamespace,
    Map<String, ResourceKey> rejectedWhileDecodingByName,
    Set<ResourceKey> groupsWithErrors,
    Set<String> changedRouteTableNamespaces,
    TlsSecretLookup secrets) {

  static Lookups of(DecodedResources in, Set<ResourceKey> groupsWithErrors, Set<String> changedRouteTableNamespaces) {
    return of(in, groupsWithErrors, changedRouteTableNamespaces, TlsSecretLookup.NONE);
  }

  static Lookups of(DecodedResources in, Set<ResourceKey> groupsWithErrors, Set<String> changedRouteTableNamespaces,
      TlsSecretLookup secrets) {
    ResourceSnapshot s = in.snapshot();
    Map<String, ResourceKey> rejectedByName = new HashMap<>();
    in.statuses().forEach((k, st) -> {
      if (st.state() == ResourceState.REJECTED) {
        rejectedByName.put(k.toString(), k);
      }
    });
    return new Lookups(
        s,
        in.statuses(),
        in.rejectedMeta(),
        byRef(s.routeTables(), t -> t.meta().ref()),
        byRef(s.upstreams(), u -> u.meta().ref()),
        byRef(s.upstreamGroups(), g -> g.meta().ref()),
        byRef(s.virtualServices(), v -> v.meta().ref()),
        // Selectors look in one namespace far more often than in all of them: index so a lookup is not a full scan.
        s.routeTables().stream()
            .collect(Collectors.groupingBy(t -> t.meta().namespace(), TreeMap::new, Collectors.toList())),
        rejectedByName,
        Set.copyOf(groupsWithErrors),
        Set.copyOf(changedRouteTableNamespaces),
        secrets);
  }

  private static <T> Map<ResourceRef, T> byRef(List<T> items, Function<T, ResourceRef> ref) {
    Map<ResourceRef, T> out = new HashMap<>(items.size() * 2);
    for (T item : items) {
      out.put(ref.apply(item), item);
    }
    return out;
  }

  /** The same lookups with {@code groups} as the UpstreamGroups that failed validation. */
  Lookups withGroupsWithErrors(Set<ResourceKey> groups) {
    return new Lookups(snapshot, decodeStatuses, rejectedMeta, routeTables, upstreams, upstreamGroups, virtualServices,
        routeTablesByNamespace, rejectedWhileDecodingByName, Set.copyOf(groups), changedRouteTableNamespaces, secrets);
  }

  /** The decode status of a resource, or null when it was not read at all. */
  ResourceStatus decodeStatus(ResourceKey key) {
    return decodeStatuses.get(key);
  }

  boolean rejectedWhileDecoding(ResourceKey key) {
    ResourceStatus s = decodeStatuses.get(key);
    return s != null && s.state() == ResourceState.REJECTED;
  }

  /** The current object of a resource, or null when it is not in the snapshot. */
  Object resource(ResourceKey key) {
    ResourceRef ref = key.ref();
    return switch (key.kind()) {
      case ROUTE_TABLE -> routeTables.get(ref);
      case VIRTUAL_SERVICE -> virtualServices.get(ref);
      case UPSTREAM -> upstreams.get(ref);
      case UPSTREAM_GROUP -> upstreamGroups.get(ref);
      case GATEWAY -> s(key);
      case SETTINGS, PROXY, SECRET -> null;
    };
  }

  private Object s(ResourceKey key) {
    for (var g : snapshot.gateways()) {
      if (g.key().equals(key)) {
        return g;
      }
    }
    return null;
  }

  /** The write namespace, where discovered Upstreams live. */
  String writeNamespace() {
    return snapshot.settings().discoveryNamespace();
  }

  /** Where the Upstream discovered for a Service port lives. */
  ResourceKey discoveredKey(Upstream.KubeSpec spec) {
    return new ResourceKey(Kind.UPSTREAM, writeNamespace(), spec.discoveredName());
  }

  /**
   * The Service port of the Upstream {@code key} when it is a kube Upstream whose Service port does not exist, else
   * null. A Service port exists exactly when an Upstream discovered for it is in the input: in the write namespace,
   * under the name discovery gives it, labelled {@code discovered_by: kubernetesplugin} and naming the same Service
   * port. A discovered Upstream exists by definition. Null for other types and for Upstreams that are not there.
   */
  Upstream.KubeSpec missingService(ResourceKey key) {
    Upstream u = upstreams.get(key.ref());
    if (u == null || u.kubeSpec() == null || u.discovered()) {
      return null;
    }
    Upstream d = upstreams.get(discoveredKey(u.kubeSpec()).ref());
    boolean exists = d != null && d.discovered() && u.kubeSpec().sameServicePort(d.kubeSpec());
    return exists ? null : u.kubeSpec();
  }

  /**
   * Why the Upstream {@code key} gets no cluster because of its {@code sslConfig} (see
   * {@link GatewayTranslator#cluster}), or null when it gets one, has no such problem or is not there.
   */
  String upstreamTlsProblem(ResourceKey key) {
    Upstream u = upstreams.get(key.ref());
    if (u == null || u.sslConfig() == null || u.sslConfig().secretRef() == null
        || (u.staticSpec() == null && u.endpointSource() == null)) {
      return null;
    }
    return GatewayTranslator.cluster(u, secrets).noClusterProblem();
  }

  static ResourceKey upstreamKey(ResourceRef ref) {
    return new ResourceKey(Kind.UPSTREAM, ref.namespace(), ref.name());
  }
}
