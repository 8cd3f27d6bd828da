package io.shardgate.controlplane.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.shardgate.sharding.model.IpLiterals;
import io.shardgate.sharding.model.Settings;
import io.shardgate.sharding.plan.EdgePlan;
import io.shardgate.snapshot.ShardResources;
import java.util.ArrayList;
import java.util.List;

/**
 * xDS translation of the edge shard: an HTTP listener whose virtual hosts send each shard's domains (by Host /
 * {@code :authority}) to that shard's gateway-proxy, and, when some shard has a TLS address, a TLS passthrough
 * listener that picks the shard by SNI and proxies the TCP stream to it without terminating TLS.
 *
 * <p>The edge is plain forwarding: no rewrites, no retries, no route options; Host is preserved, the route timeout
 * is off (the shard behind applies its own), and WebSocket upgrades pass through (the shard decides whether to
 * accept them). A Host no shard claims gets Envoy's 404; an SNI no shard claims matches no filter chain, so the
 * connection is closed.
 *
 * <p>Stage: xDS translation. Pure function of its input (no clock, no I/O, no fields); output sorted by name, so
 * equal plans give byte-equal resources. Thread-safe.
 */
public final class EdgeXdsTranslator {

  static final String TLS_INSPECTOR = "envoy.filters.listener.tls_inspector";
  static final String TCP_PROXY = "envoy.filters.network.tcp_proxy";

  private EdgeXdsTranslator() {}

  public static ShardResources translate(EdgePlan edge) {
    List<Listener> listeners = new ArrayList<>();
    List<RouteConfiguration> routes = new ArrayList<>();
    List<Cluster> clusters = new ArrayList<>();

    String httpListener = listenerName(edge.bindAddress(), edge.bindPort());
    listeners.add(httpListener(edge, httpListener));
    RouteConfiguration.Builder rc = RouteConfiguration.newBuilder().setName(XdsNames.routeConfiguration(httpListener));
    for (EdgePlan.Target t : edge.targets()) {
      if (t.http() == null) {
        continue;
      }
      String cluster = httpCluster(t.shard(), edge.writeNamespace());
      clusters.add(cluster(cluster, t.http()));
      rc.addVirtualHosts(
          VirtualHost.newBuilder()
              .setName(t.shard())
              .addAllDomains(t.domains())
              .addRoutes(
                  Route.newBuilder()
                      .setName(t.shard() + "-route-0-matcher-0")
                      .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                      .setRoute(
                          RouteAction.newBuilder()
                              .setCluster(cluster)
                              // Off: the shard behind applies the route's own timeout.
                              .setTimeout(Duration.getDefaultInstance()))));
    }
    routes.add(rc.build());

    if (edge.hasTlsListener()) {
      Listener.Builder tls =
          Listener.newBuilder()
              .setName(listenerName(edge.bindAddress(), edge.tlsBindPort()))
              .setAddress(address(edge.bindAddress(), edge.tlsBindPort()))
              .addListenerFilters(
                  ListenerFilter.newBuilder()
                      .setName(TLS_INSPECTOR)
                      .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())));
      for (EdgePlan.Target t : edge.targets()) {
        if (t.tls() == null || t.serverNames().isEmpty()) {
          continue;
        }
        String cluster = tlsCluster(t.shard(), edge.writeNamespace());
        clusters.add(cluster(cluster, t.tls()));
        TcpProxy proxy = TcpProxy.newBuilder().setStatPrefix("edge_tls_" + t.shard()).setCluster(cluster).build();
        tls.addFilterChains(
            FilterChain.newBuilder()
                .setName(t.shard())
                .setFilterChainMatch(FilterChainMatch.newBuilder().addAllServerNames(t.serverNames()))
                .addFilters(Filter.newBuilder().setName(TCP_PROXY).setTypedConfig(Any.pack(proxy))));
      }
      listeners.add(tls.build());
    }
    return new ShardResources(clusters, List.of(), listeners, routes, List.of());
  }

  /** {@code <proxyName>_<writeNamespace>}: the cluster of a shard's plain HTTP, named like a Gloo Upstream's. */
  public static String httpCluster(String shard, String writeNamespace) {
    return shard + "_" + writeNamespace;
  }

  /** {@code <proxyName>-tls_<writeNamespace>}: the cluster of a shard's TLS. */
  public static String tlsCluster(String shard, String writeNamespace) {
    return shard + "-tls_" + writeNamespace;
  }

  /** {@code listener-<address>-<port>}, as Gloo names listeners. */
  static String listenerName(String bindAddress, int port) {
    return "listener-" + bindAddress + "-" + port;
  }

  private static Listener httpListener(EdgePlan edge, String name) {
    HttpConnectionManager hcm =
        HttpConnectionManager.newBuilder()
            .setStatPrefix("edge_http")
            .setCodecType(HttpConnectionManager.CodecType.AUTO)
            .setRds(
                Rds.newBuilder()
                    .setRouteConfigName(XdsNames.routeConfiguration(name))
                    .setConfigSource(XdsTranslator.adsConfigSource()))
            // Upgrades pass through; the shard behind decides whether its route accepts them.
            .addUpgradeConfigs(HttpConnectionManager.UpgradeConfig.newBuilder().setUpgradeType("websocket"))
            .addHttpFilters(
                HttpFilter.newBuilder()
                    .setName(XdsTranslator.ROUTER_FILTER)
                    .setTypedConfig(Any.pack(Router.getDefaultInstance())))
            .build();
    return Listener.newBuilder()
        .setName(name)
        .setAddress(address(edge.bindAddress(), edge.bindPort()))
        .addFilterChains(
            FilterChain.newBuilder()
                .addFilters(Filter.newBuilder().setName(XdsTranslator.HCM_FILTER).setTypedConfig(Any.pack(hcm))))
        .build();
  }

  private static Address address(String bindAddress, int port) {
    SocketAddress.Builder a = SocketAddress.newBuilder().setAddress(bindAddress).setPortValue(port);
    // ipv4_compat lets "::" accept IPv4 too; Envoy rejects it on IPv4 addresses.
    if (!IpLiterals.isIpv4(bindAddress)) {
      a.setIpv4Compat(true);
    }
    return Address.newBuilder().setSocketAddress(a).build();
  }

  /** STATIC for an IP literal, STRICT_DNS otherwise (a Kubernetes Service name, a load balancer's name). */
  private static Cluster cluster(String name, Settings.HostPort to) {
    Cluster.Builder c =
        Cluster.newBuilder()
            .setName(name)
            .setConnectTimeout(Duration.newBuilder().setSeconds(5))
            .setLoadAssignment(
                ClusterLoadAssignment.newBuilder()
                    .setClusterName(name)
                    .addEndpoints(
                        LocalityLbEndpoints.newBuilder()
                            .addLbEndpoints(XdsTranslator.lbEndpoint(to.host(), to.port()))));
    if (IpLiterals.isIp(to.host())) {
      c.setType(Cluster.DiscoveryType.STATIC);
    } else {
      c.setType(Cluster.DiscoveryType.STRICT_DNS).setDnsLookupFamily(Cluster.DnsLookupFamily.V4_PREFERRED);
    }
    return c.build();
  }
}
