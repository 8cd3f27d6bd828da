package io.shardgate.controlplane.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.Http1ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.core.v3.UpstreamHttpProtocolOptions;
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
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.shardgate.sharding.ir.ProxyFilterChain;
import io.shardgate.sharding.model.IpLiterals;
import io.shardgate.sharding.model.Settings;
import io.shardgate.sharding.plan.EdgePlan;
import io.shardgate.snapshot.ShardResources;
import java.util.ArrayList;
import java.util.List;

/**
 * xDS translation of the edge shard: an HTTP listener whose virtual hosts send each shard's domains (by Host /
 * {@code :authority}) to that shard's gateway-proxy, and, when some shard has a TLS address and terminates TLS, a TLS
 * listener that picks the shard by SNI: it proxies the TCP stream to the shard without terminating TLS
 * (passthrough), or, with {@code tlsMode: Terminate}, terminates it with the shard's own TLS settings (its secrets
 * over SDS, see {@link EdgePlan#secretUses}) and sends each request by Host to the shard's TLS address.
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
      rc.addVirtualHosts(forwardAll(t.shard(), t.domains(), cluster));
    }
    routes.add(rc.build());

    if (edge.hasTlsListener()) {
      String tlsName = listenerName(edge.bindAddress(), edge.tlsBindPort());
      Listener.Builder tls =
          Listener.newBuilder()
              .setName(tlsName)
              .setAddress(address(edge.bindAddress(), edge.tlsBindPort()))
              .addListenerFilters(
                  ListenerFilter.newBuilder()
                      .setName(TLS_INSPECTOR)
                      .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())));
      RouteConfiguration.Builder terminated =
          RouteConfiguration.newBuilder().setName(XdsNames.routeConfiguration(tlsName));
      Filter https = Filter.newBuilder()
          .setName(XdsTranslator.HCM_FILTER)
          .setTypedConfig(Any.pack(hcm("edge_https", XdsNames.routeConfiguration(tlsName))))
          .build();
      for (EdgePlan.Target t : edge.targets()) {
        if (t.tls() == null) {
          continue;
        }
        if (!t.serverNames().isEmpty()) {
          String cluster = tlsCluster(t.shard(), edge.writeNamespace());
          clusters.add(cluster(cluster, t.tls()));
          TcpProxy proxy = TcpProxy.newBuilder().setStatPrefix("edge_tls_" + t.shard()).setCluster(cluster).build();
          tls.addFilterChains(
              FilterChain.newBuilder()
                  .setName(t.shard())
                  .setFilterChainMatch(FilterChainMatch.newBuilder().addAllServerNames(t.serverNames()))
                  .addFilters(Filter.newBuilder().setName(TCP_PROXY).setTypedConfig(Any.pack(proxy))));
        }
        if (t.tlsChains().isEmpty()) {
          continue;
        }
        // Terminated here with the shard's own TLS settings (the same SDS secrets), then sent by Host to the shard's
        // TLS listener, where those hosts live.
        String cluster = httpsCluster(t.shard(), edge.writeNamespace());
        clusters.add(reencryptingCluster(cluster, t.tls()));
        for (int i = 0; i < t.tlsChains().size(); i++) {
          ProxyFilterChain chain = t.tlsChains().get(i);
          FilterChain.Builder fc = FilterChain.newBuilder()
              .setName(t.shard() + "-terminate-" + i)
              .setFilterChainMatch(FilterChainMatch.newBuilder().addAllServerNames(chain.serverNames()))
              .addFilters(https)
              .setTransportSocket(TransportSocket.newBuilder()
                  .setName(XdsTranslator.TLS_TRANSPORT_SOCKET)
                  .setTypedConfig(Any.pack(TlsContexts.downstream(chain))));
          if (chain.sslConfig().transportSocketConnectTimeout() != null) {
            fc.setTransportSocketConnectTimeout(XdsTranslator.duration(chain.sslConfig().transportSocketConnectTimeout()));
          }
          tls.addFilterChains(fc);
        }
        terminated.addVirtualHosts(forwardAll(t.shard(), t.tlsDomains(), cluster));
      }
      listeners.add(tls.build());
      if (terminated.getVirtualHostsCount() > 0) {
        routes.add(terminated.build());
      }
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

  /** Every request for {@code domains} to {@code cluster}, as is. */
  private static VirtualHost forwardAll(String shard, List<String> domains, String cluster) {
    return VirtualHost.newBuilder()
        .setName(shard)
        .addAllDomains(domains)
        .addRoutes(
            Route.newBuilder()
                .setName(shard + "-route-0-matcher-0")
                .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                .setRoute(
                    RouteAction.newBuilder()
                        .setCluster(cluster)
                        // Off: the shard behind applies the route's own timeout.
                        .setTimeout(Duration.getDefaultInstance())))
        .build();
  }

  private static HttpConnectionManager hcm(String statPrefix, String routeConfiguration) {
    return HttpConnectionManager.newBuilder()
        .setStatPrefix(statPrefix)
        .setCodecType(HttpConnectionManager.CodecType.AUTO)
        .setRds(
            Rds.newBuilder()
                .setRouteConfigName(routeConfiguration)
                .setConfigSource(XdsTranslator.adsConfigSource()))
        // Upgrades pass through; the shard behind decides whether its route accepts them.
        .addUpgradeConfigs(HttpConnectionManager.UpgradeConfig.newBuilder().setUpgradeType("websocket"))
        .addHttpFilters(
            HttpFilter.newBuilder()
                .setName(XdsTranslator.ROUTER_FILTER)
                .setTypedConfig(Any.pack(Router.getDefaultInstance())))
        .build();
  }

  private static Listener httpListener(EdgePlan edge, String name) {
    HttpConnectionManager hcm = hcm("edge_http", XdsNames.routeConfiguration(name));
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

  /** {@code <proxyName>-https_<writeNamespace>}: the cluster of a shard's TLS after the edge terminated it. */
  public static String httpsCluster(String shard, String writeNamespace) {
    return shard + "-https_" + writeNamespace;
  }

  /**
   * The cluster to a shard's TLS listener for requests whose TLS the edge terminated: TLS again, with the request's
   * Host as SNI (so the shard's filter chain for that host answers), HTTP/1.1. The shard's certificate is not
   * verified: it is one of the very certificates the edge itself serves, on a hop inside the platform.
   */
  private static Cluster reencryptingCluster(String name, Settings.HostPort to) {
    return cluster(name, to).toBuilder()
        .setTransportSocket(TransportSocket.newBuilder()
            .setName(XdsTranslator.TLS_TRANSPORT_SOCKET)
            .setTypedConfig(Any.pack(UpstreamTlsContext.getDefaultInstance())))
        .putTypedExtensionProtocolOptions(XdsTranslator.HTTP_PROTOCOL_OPTIONS, Any.pack(HttpProtocolOptions.newBuilder()
            .setUpstreamHttpProtocolOptions(UpstreamHttpProtocolOptions.newBuilder().setAutoSni(true))
            .setExplicitHttpConfig(HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                .setHttpProtocolOptions(Http1ProtocolOptions.getDefaultInstance()))
            .build()))
        .build();
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
