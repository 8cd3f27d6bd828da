package io.shardgate.sharding.model;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code gateway.solo.io/v1} Gateway: one Envoy listener, fed into every proxy named in {@code proxyNames}.
 *
 * @param bindAddress address of the listener ({@code ::} when the resource leaves it empty)
 * @param proxyNames the shards this Gateway feeds; {@code [gateway-proxy]} when the resource leaves it empty
 * @param type which of {@code httpGateway}, {@code tcpGateway}, {@code hybridGateway} is set
 * @param httpGateway the HTTP gateway, or null when {@code type} is not {@link GatewayType#HTTP}
 */
public record Gateway(
    ObjectMeta meta,
    String bindAddress,
    int bindPort,
    boolean ssl,
    List<String> proxyNames,
    GatewayType type,
    HttpGateway httpGateway)
    implements Resource {

  public static final String DEFAULT_PROXY_NAME = "gateway-proxy";

  public Gateway {
    proxyNames = List.copyOf(proxyNames.isEmpty() ? List.of(DEFAULT_PROXY_NAME) : proxyNames);
  }

  @Override
  public Kind kind() {
    return Kind.GATEWAY;
  }

  /** Which listener type a Gateway declares. */
  public enum GatewayType {
    HTTP,
    TCP,
    HYBRID,
    NONE
  }

  /**
   * How an HTTP Gateway selects VirtualServices. Null {@code selector}/{@code expressions} mean "not set", which
   * differs from an empty one (an empty selector matches every VirtualService).
   */
  public record HttpGateway(
      List<ResourceRef> virtualServices,
      Map<String, String> virtualServiceSelector,
      List<LabelExpression> virtualServiceExpressions,
      List<String> virtualServiceNamespaces) {

    public HttpGateway {
      virtualServices = List.copyOf(virtualServices);
      virtualServiceSelector =
          virtualServiceSelector == null ? null : new TreeMap<>(virtualServiceSelector);
      virtualServiceExpressions = virtualServiceExpressions == null ? null : List.copyOf(virtualServiceExpressions);
      virtualServiceNamespaces = List.copyOf(virtualServiceNamespaces);
    }
  }
}
