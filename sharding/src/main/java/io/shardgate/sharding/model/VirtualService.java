package io.shardgate.sharding.model;

import java.util.List;

/**
 * {@code gateway.solo.io/v1} VirtualService: one virtual host (domains and routes) that Gateways select.
 *
 * @param virtualHost the virtual host, or null when the resource has none (Gloo serves it as an empty host)
 * @param sslConfig its TLS termination, or null; whether it is there decides SSL versus plain Gateway membership
 */
public record VirtualService(ObjectMeta meta, VirtualHost virtualHost, SslConfig sslConfig, String displayName)
    implements Resource {

  /** Whether {@code sslConfig} is present: only SSL Gateways select the VirtualService then, and only then. */
  public boolean hasSslConfig() {
    return sslConfig != null;
  }

  @Override
  public Kind kind() {
    return Kind.VIRTUAL_SERVICE;
  }

  /** The domains (empty means all, like {@code *}) and the ordered routes of a VirtualService. */
  public record VirtualHost(List<String> domains, List<Route> routes) {
    public VirtualHost {
      domains = List.copyOf(domains);
      routes = List.copyOf(routes);
    }
  }
}
