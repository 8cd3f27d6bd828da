package io.shardgate.sharding.model;

import java.util.List;

/**
 * {@code gateway.solo.io/v1} VirtualService: one virtual host (domains and routes) that Gateways select.
 *
 * @param virtualHost the virtual host, or null when the resource has none (Gloo serves it as an empty host)
 * @param hasSslConfig whether {@code sslConfig} is present: it decides SSL versus plain Gateway membership
 */
public record VirtualService(ObjectMeta meta, VirtualHost virtualHost, boolean hasSslConfig, String displayName)
    implements Resource {

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
