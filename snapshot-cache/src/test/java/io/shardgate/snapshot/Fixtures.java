package io.shardgate.snapshot;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import java.util.Arrays;
import java.util.List;

/** Small, valid Envoy resources for tests; every method builds fresh messages. */
final class Fixtures {

  static final String SHARD_A = NodeRoles.role("gloo-system", "shard-a");
  static final String SHARD_B = NodeRoles.role("gloo-system", "shard-b");

  private Fixtures() {
  }

  static ConfigSource ads() {
    return ConfigSource.newBuilder()
        .setAds(AggregatedConfigSource.getDefaultInstance())
        .setResourceApiVersion(ApiVersion.V3)
        .build();
  }

  static Cluster edsCluster(String name) {
    return Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.EDS)
        .setConnectTimeout(Duration.newBuilder().setSeconds(1))
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ads()))
        .build();
  }

  static ClusterLoadAssignment endpoints(String cluster, int port) {
    return ClusterLoadAssignment.newBuilder()
        .setClusterName(cluster)
        .addEndpoints(LocalityLbEndpoints.newBuilder()
            .setLoadBalancingWeight(UInt32Value.of(1))
            .addLbEndpoints(LbEndpoint.newBuilder().setEndpoint(Endpoint.newBuilder().setAddress(
                Address.newBuilder().setSocketAddress(
                    SocketAddress.newBuilder().setAddress("127.0.0.1").setPortValue(port))))))
        .build();
  }

  static RouteConfiguration routes(String name, String cluster) {
    return RouteConfiguration.newBuilder()
        .setName(name)
        .addVirtualHosts(VirtualHost.newBuilder()
            .setName(name)
            .addDomains("*")
            .addRoutes(Route.newBuilder()
                .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                .setRoute(RouteAction.newBuilder().setCluster(cluster))))
        .build();
  }

  /** A socket listener on 0.0.0.0 whose HCM takes its routes from RDS, under the current filter name. */
  static Listener rdsListener(String name, int port, String routeConfig) {
    return rdsListener(name, "0.0.0.0", port, routeConfig);
  }

  /** A socket listener on {@code address:port} whose HCM takes its routes from RDS. */
  static Listener rdsListener(String name, String address, int port, String routeConfig) {
    HttpConnectionManager hcm = HttpConnectionManager.newBuilder()
        .setStatPrefix(name)
        .setRds(Rds.newBuilder().setConfigSource(ads()).setRouteConfigName(routeConfig))
        .addHttpFilters(HttpFilter.newBuilder()
            .setName("envoy.filters.http.router")
            .setTypedConfig(Any.pack(Router.getDefaultInstance())))
        .build();
    return Listener.newBuilder()
        .setName(name)
        .setAddress(Address.newBuilder().setSocketAddress(
            SocketAddress.newBuilder().setAddress(address).setPortValue(port)))
        .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
            .setName("envoy.filters.network.http_connection_manager")
            .setTypedConfig(Any.pack(hcm))))
        .build();
  }

  /**
   * A consistent shard: one EDS cluster per name with its endpoints, one listener with its route configuration that
   * routes to the first cluster by name (so the order of {@code clusters} never changes the content).
   */
  static ShardResources shard(String prefix, int backendPort, String... clusters) {
    List<Cluster> cs = Arrays.stream(clusters).map(c -> edsCluster(prefix + "-" + c)).toList();
    List<ClusterLoadAssignment> es = Arrays.stream(clusters)
        .map(c -> endpoints(prefix + "-" + c, backendPort)).toList();
    return new ShardResources(cs, es,
        List.of(rdsListener(prefix + "-http", 8080, prefix + "-routes")),
        List.of(routes(prefix + "-routes", prefix + "-" + Arrays.stream(clusters).sorted().findFirst()
            .orElseThrow())),
        List.of());
  }

  /**
   * {@code base} with its listener replaced by one named as Gloo names Gateway listeners,
   * {@code listener-<address>-<port>}, with its own route configuration {@code <listener>-routes} (a copy of
   * {@code base}'s first one under that name): what a Gateway's {@code bindAddress} or {@code bindPort} edit gives.
   */
  static ShardResources listenerAt(ShardResources base, String address, int port) {
    String name = "listener-" + address + "-" + port;
    RouteConfiguration routes = base.routes().get(0).toBuilder().setName(name + "-routes").build();
    return new ShardResources(base.clusters(), base.endpoints(),
        List.of(rdsListener(name, address, port, routes.getName())), List.of(routes), base.secrets());
  }

  static Node node(String id, String role) {
    Node.Builder node = Node.newBuilder().setId(id).setCluster("test");
    if (role != null) {
      node.setMetadata(Struct.newBuilder().putFields(NodeRoles.ROLE_METADATA_KEY, Value.newBuilder()
          .setStringValue(role).build()));
    }
    return node.build();
  }
}
