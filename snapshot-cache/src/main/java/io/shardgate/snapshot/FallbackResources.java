package io.shardgate.snapshot;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import java.util.List;

/**
 * The snapshot served to Envoys whose bootstrap has no role (snapshot cache stage). Pure; the result is immutable.
 */
final class FallbackResources {

  static final String LISTENER_NAME = "listener-for-invalid-envoy";
  static final String ROUTE_CONFIG_NAME = "routes-for-invalid-envoy";
  static final String HTTP_CONNECTION_MANAGER = "envoy.filters.network.http_connection_manager";
  static final String ROUTER = "envoy.filters.http.router";

  static final String BODY = """
      This Envoy is not configured correctly: its bootstrap has no node.metadata.role, so the Shardgate \
      control plane cannot tell which gateway proxy (shard) it belongs to, and serves it only this error.
      Set node.metadata.role to <writeNamespace>~<proxyName> (for example gloo-system~gateway-proxy), \
      e.g. by rendering the bootstrap with `shardgate bootstrap --proxy NAME`.
      """;

  private FallbackResources() {
  }

  static ShardResources of(FallbackConfig config) {
    Route answer500 = Route.newBuilder()
        .setName("invalid-envoy")
        .setMatch(RouteMatch.newBuilder().setPrefix("/"))
        .setDirectResponse(DirectResponseAction.newBuilder()
            .setStatus(500)
            .setBody(DataSource.newBuilder().setInlineString(BODY)))
        .addResponseHeadersToAdd(HeaderValueOption.newBuilder()
            .setHeader(HeaderValue.newBuilder().setKey("content-type").setValue("text/plain; charset=utf-8"))
            .setAppendAction(HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
        .build();
    // Inline, not RDS: the fallback must work even if nothing else about this Envoy's xDS setup is right.
    HttpConnectionManager hcm = HttpConnectionManager.newBuilder()
        .setStatPrefix("invalid_envoy")
        .setRouteConfig(RouteConfiguration.newBuilder()
            .setName(ROUTE_CONFIG_NAME)
            .addVirtualHosts(VirtualHost.newBuilder()
                .setName("invalid-envoy")
                .addDomains("*")
                .addRoutes(answer500)))
        .addHttpFilters(HttpFilter.newBuilder()
            .setName(ROUTER)
            .setTypedConfig(Any.pack(Router.getDefaultInstance())))
        .build();
    Listener listener = Listener.newBuilder()
        .setName(LISTENER_NAME)
        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
            .setAddress(config.address())
            .setPortValue(config.port())))
        .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
            .setName(HTTP_CONNECTION_MANAGER)
            .setTypedConfig(Any.pack(hcm))))
        .build();
    return new ShardResources(List.of(), List.of(), List.of(listener), List.of(), List.of());
  }
}
