package io.shardgate.controlplane.xds;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.shardgate.sharding.ir.Proxy;
import io.shardgate.sharding.ir.ProxyFilterChain;
import io.shardgate.sharding.ir.ProxyListener;
import io.shardgate.sharding.ir.ProxyRoute;
import io.shardgate.sharding.ir.ProxyVirtualHost;
import io.shardgate.sharding.ir.RouteAction;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.ir.UpstreamCluster;
import io.shardgate.sharding.model.Action;
import io.shardgate.sharding.model.IpLiterals;
import io.shardgate.sharding.model.Matcher;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.RouteOptions;
import io.shardgate.sharding.model.Upstream;
import io.shardgate.snapshot.ShardResources;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * xDS translation: one shard's Proxy and upstream clusters to Envoy v3 resources.
 *
 * <p>Stage: xDS translation. Pure function of its input (no clock, no I/O, no fields); the only place that builds
 * Envoy listener, route and cluster protos. Output order follows the already-sorted IR, and {@link ShardResources}
 * sorts by name, so equal input gives byte-equal resources. Thread-safe.
 */
public final class XdsTranslator {

  static final String HCM_FILTER = "envoy.filters.network.http_connection_manager";
  static final String ROUTER_FILTER = "envoy.filters.http.router";
  static final String TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls";
  static final String HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

  private XdsTranslator() {}

  /** The shard's resources, from scratch; {@link XdsTranslationCache} gives the same, reusing unchanged parts. */
  public static ShardResources translate(ShardConfig shard) {
    return new XdsTranslationCache().translate(shard);
  }

  // ------------------------------------------------------------------ listeners

  static Listener listener(ProxyListener l) {
    return listener(l, RouteOptionsTranslator.httpFilters(l));
  }

  /** The listener of {@code l}, with the HTTP filters its routes' options need (the router is added last). */
  static Listener listener(ProxyListener l, List<HttpFilter> httpFilters) {
    HttpConnectionManager hcm =
        HttpConnectionManager.newBuilder()
            .setStatPrefix("http")
            .setCodecType(HttpConnectionManager.CodecType.AUTO)
            // Gloo's gateways accept websocket upgrades by default; routes can still turn them off.
            .addUpgradeConfigs(HttpConnectionManager.UpgradeConfig.newBuilder().setUpgradeType("websocket"))
            .setRds(
                Rds.newBuilder()
                    .setRouteConfigName(XdsNames.routeConfiguration(l.name()))
                    .setConfigSource(adsConfigSource()))
            // Filters the listener's route options need (fault injection, CORS); the router stays last.
            .addAllHttpFilters(httpFilters)
            .addHttpFilters(
                HttpFilter.newBuilder().setName(ROUTER_FILTER).setTypedConfig(Any.pack(Router.getDefaultInstance())))
            .build();
    SocketAddress.Builder address =
        SocketAddress.newBuilder().setAddress(l.bindAddress()).setPortValue(l.bindPort());
    // ipv4_compat lets "::" accept IPv4 too; Envoy rejects it on IPv4 addresses.
    if (!IpLiterals.isIpv4(l.bindAddress())) {
      address.setIpv4Compat(true);
    }
    Filter hcmFilter = Filter.newBuilder().setName(HCM_FILTER).setTypedConfig(Any.pack(hcm)).build();
    Listener.Builder b = Listener.newBuilder()
        .setName(l.name())
        .setAddress(Address.newBuilder().setSocketAddress(address));
    if (!l.isSsl()) {
      return b.addFilterChains(FilterChain.newBuilder().addFilters(hcmFilter)).build();
    }
    // The TLS inspector reads the SNI from the ClientHello, so a filter chain can be picked by it.
    b.addListenerFilters(ListenerFilter.newBuilder()
        .setName(EdgeXdsTranslator.TLS_INSPECTOR)
        .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())));
    // One chain per distinct TLS configuration, all with the one HTTP connection manager and route configuration
    // (as Gloo's non-isolated SSL listener): SNI picks the certificate, the Host header the virtual host.
    for (ProxyFilterChain chain : l.filterChains()) {
      FilterChain.Builder fc = FilterChain.newBuilder();
      if (!chain.serverNames().isEmpty()) {
        fc.setFilterChainMatch(FilterChainMatch.newBuilder().addAllServerNames(chain.serverNames()));
      }
      fc.addFilters(hcmFilter)
          .setTransportSocket(TransportSocket.newBuilder()
              .setName(TLS_TRANSPORT_SOCKET)
              .setTypedConfig(Any.pack(TlsContexts.downstream(chain))));
      if (chain.sslConfig().transportSocketConnectTimeout() != null) {
        fc.setTransportSocketConnectTimeout(duration(chain.sslConfig().transportSocketConnectTimeout()));
      }
      b.addFilterChains(fc);
    }
    return b.build();
  }

  static ConfigSource adsConfigSource() {
    return ConfigSource.newBuilder()
        .setAds(AggregatedConfigSource.getDefaultInstance())
        .setResourceApiVersion(ApiVersion.V3)
        .build();
  }

  // ------------------------------------------------------------------ routes

  static RouteConfiguration routeConfiguration(ProxyListener l) {
    List<VirtualHost> hosts = new ArrayList<>();
    for (ProxyVirtualHost vh : l.virtualHosts()) {
      hosts.add(virtualHost(vh));
    }
    return routeConfiguration(l.name(), hosts);
  }

  static RouteConfiguration routeConfiguration(String listenerName, List<VirtualHost> hosts) {
    return RouteConfiguration.newBuilder()
        .setName(XdsNames.routeConfiguration(listenerName))
        .addAllVirtualHosts(hosts)
        .build();
  }

  /** One virtual host with one Envoy route per matcher of each flattened route. */
  static VirtualHost virtualHost(ProxyVirtualHost vh) {
    String vhName = XdsNames.virtualHost(vh.name());
    VirtualHost.Builder v =
        VirtualHost.newBuilder()
            .setName(vhName)
            .addAllDomains(vh.domains().isEmpty() ? List.of("*") : vh.domains());
    if (vh.sslConfig() != null) {
      // As Gloo: the hosts of an SSL listener require TLS (Envoy would redirect a plaintext request to https).
      v.setRequireTls(VirtualHost.TlsRequirementType.ALL);
    }
    for (int i = 0; i < vh.routes().size(); i++) {
      ProxyRoute r = vh.routes().get(i);
      for (int j = 0; j < r.matchers().size(); j++) {
        v.addRoutes(route(XdsNames.route(vhName, i, r.name(), j), r.matchers().get(j), r));
      }
    }
    return v.build();
  }

  static Route route(String name, Matcher m, ProxyRoute r) {
    Route.Builder b = Route.newBuilder().setName(name).setMatch(match(m));
    RouteAction action = r.action();
    if (action instanceof RouteAction.Forward f) {
      b.setRoute(forward(f, r.options(), r.source()));
    } else if (action instanceof RouteAction.Redirect red) {
      b.setRedirect(redirect(red.redirect()));
    } else if (action instanceof RouteAction.DirectResponse d) {
      DirectResponseAction.Builder dr = DirectResponseAction.newBuilder().setStatus(d.status());
      if (!d.body().isEmpty()) {
        dr.setBody(DataSource.newBuilder().setInlineString(d.body()));
      }
      b.setDirectResponse(dr);
    }
    RouteOptionsTranslator.applyToRoute(b, r.options(), action instanceof RouteAction.Forward);
    return b.build();
  }

  static RouteMatch match(Matcher m) {
    RouteMatch.Builder b = RouteMatch.newBuilder();
    if (m.path() == null) {
      b.setPrefix("/");
    } else {
      switch (m.path().type()) {
        case PREFIX -> b.setPrefix(m.path().value());
        case EXACT -> b.setPath(m.path().value());
        case REGEX -> b.setSafeRegex(regex(m.path().value()));
      }
    }
    if (m.caseSensitive() != null) {
      b.setCaseSensitive(BoolValue.of(m.caseSensitive()));
    }
    for (Matcher.HeaderMatch h : m.headers()) {
      HeaderMatcher.Builder hm = HeaderMatcher.newBuilder().setName(h.name()).setInvertMatch(h.invertMatch());
      if (h.value() == null) {
        hm.setPresentMatch(true);
      } else {
        hm.setStringMatch(stringMatch(h.value(), h.regex()));
      }
      b.addHeaders(hm);
    }
    if (!m.methods().isEmpty()) {
      // Envoy has no method matcher: match the :method pseudo-header, as Gloo does.
      b.addHeaders(
          HeaderMatcher.newBuilder()
              .setName(":method")
              .setStringMatch(stringMatch(String.join("|", m.methods()), true)));
    }
    for (Matcher.QueryParameterMatch q : m.queryParameters()) {
      QueryParameterMatcher.Builder qm = QueryParameterMatcher.newBuilder().setName(q.name());
      if (q.value() == null) {
        qm.setPresentMatch(true);
      } else {
        qm.setStringMatch(stringMatch(q.value(), q.regex()));
      }
      b.addQueryParameters(qm);
    }
    return b.build();
  }

  private static StringMatcher stringMatch(String value, boolean regex) {
    return regex
        ? StringMatcher.newBuilder().setSafeRegex(regex(value)).build()
        : StringMatcher.newBuilder().setExact(value).build();
  }

  private static RegexMatcher regex(String regex) {
    return RegexMatcher.newBuilder().setRegex(regex).build();
  }

  static io.envoyproxy.envoy.config.route.v3.RouteAction forward(
      RouteAction.Forward f, RouteOptions options, ResourceKey source) {
    var b = io.envoyproxy.envoy.config.route.v3.RouteAction.newBuilder();
    if (f.weighted()) {
      WeightedCluster.Builder wc = WeightedCluster.newBuilder();
      for (RouteAction.ClusterWeight cw : f.clusters()) {
        wc.addClusters(
            WeightedCluster.ClusterWeight.newBuilder()
                .setName(XdsNames.cluster(cw.upstream()))
                .setWeight(UInt32Value.of(cw.weight())));
      }
      b.setWeightedClusters(wc);
    } else {
      b.setCluster(XdsNames.cluster(f.clusters().get(0).upstream()));
    }
    RouteOptionsTranslator.applyToRouteAction(b, options, source);
    return b.build();
  }

  static RedirectAction redirect(Action.Redirect r) {
    RedirectAction.Builder b = RedirectAction.newBuilder();
    if (r.hostRedirect() != null) {
      b.setHostRedirect(r.hostRedirect());
    }
    if (r.pathRedirect() != null) {
      b.setPathRedirect(r.pathRedirect());
    }
    if (r.prefixRewrite() != null) {
      b.setPrefixRewrite(r.prefixRewrite());
    }
    if (r.regexRewrite() != null) {
      b.setRegexRewrite(RouteOptionsTranslator.regexRewrite(r.regexRewrite()));
    }
    if (r.httpsRedirect()) {
      b.setHttpsRedirect(true);
    }
    if (r.portRedirect() != null) {
      b.setPortRedirect(r.portRedirect());
    }
    b.setStripQuery(r.stripQuery());
    b.setResponseCode(RedirectAction.RedirectResponseCode.valueOf(r.responseCode()));
    return b.build();
  }

  // ------------------------------------------------------------------ clusters

  /** One endpoint at {@code host:port}. */
  static LbEndpoint lbEndpoint(String host, int port) {
    return LbEndpoint.newBuilder()
        .setEndpoint(
            Endpoint.newBuilder()
                .setAddress(
                    Address.newBuilder()
                        .setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port))))
        .build();
  }

  static Cluster cluster(UpstreamCluster u) {
    String name = XdsNames.cluster(u.upstream());
    Cluster.Builder c = Cluster.newBuilder().setName(name).setConnectTimeout(duration(u.connectTimeout()));
    if (u.eds()) {
      // The endpoints come over ADS as the load assignment named like the cluster (EndpointTranslator).
      c.setType(Cluster.DiscoveryType.EDS)
          .setEdsClusterConfig(
              Cluster.EdsClusterConfig.newBuilder().setEdsConfig(adsConfigSource()).setServiceName(name));
    } else {
      boolean allIps = u.hosts().stream().allMatch(h -> IpLiterals.isIp(h.addr()));
      LocalityLbEndpoints.Builder locality = LocalityLbEndpoints.newBuilder();
      Set<String> matches = new HashSet<>();
      for (Upstream.StaticHost h : u.hosts()) {
        String match = u.tls() ? UpstreamTlsTranslator.hostSniMatch(u, h) : null;
        if (match == null) {
          locality.addLbEndpoints(lbEndpoint(h.addr(), h.port()));
          continue;
        }
        // A host with an SNI of its own picks its transport socket by endpoint metadata, as Gloo's static hosts do.
        locality.addLbEndpoints(lbEndpoint(h.addr(), h.port()).toBuilder().setMetadata(
            Metadata.newBuilder().putFilterMetadata(UpstreamTlsTranslator.TRANSPORT_SOCKET_MATCH, UpstreamTlsTranslator.matchStruct(match))));
        if (matches.add(match)) {
          c.addTransportSocketMatches(UpstreamTlsTranslator.hostTransportSocket(u, h, match));
        }
      }
      c.setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(name).addEndpoints(locality));
      if (allIps) {
        c.setType(Cluster.DiscoveryType.STATIC);
      } else {
        c.setType(Cluster.DiscoveryType.STRICT_DNS).setDnsLookupFamily(Cluster.DnsLookupFamily.V4_ONLY);
      }
    }
    if (u.tls()) {
      c.setTransportSocket(UpstreamTlsTranslator.upstreamTransportSocket(u));
    }
    if (u.http2()) {
      // As Gloo: HTTP/2 explicitly, whatever ALPN the TLS context offers (no protocol auto-selection).
      c.putTypedExtensionProtocolOptions(HTTP_PROTOCOL_OPTIONS, Any.pack(
          HttpProtocolOptions.newBuilder()
              .setExplicitHttpConfig(
                  HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                      .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
              .build()));
    }
    return c.build();
  }

  static com.google.protobuf.Duration duration(Duration d) {
    return com.google.protobuf.Duration.newBuilder().setSeconds(d.getSeconds()).setNanos(d.getNano()).build();
  }
}
