package io.shardgate.sharding.model;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code gateway.solo.io/v1} VirtualService: one virtual host (domains and routes) that Gateways select.
 *
 * @param virtualHost the virtual host, or null when the resource has none (Gloo serves it as an empty host)
 * @param sslConfig its TLS termination, or null; whether it is there decides SSL versus plain Gateway membership
 * @param locations {@code file:line} of the fields translation may report on ({@code spec.sslConfig},
 *     {@code spec.sslConfig.secretRef}, {@code spec.virtualHost.domains[i]}, ...), by path; see {@link #at}
 */
public record VirtualService(ObjectMeta meta, VirtualHost virtualHost, SslConfig sslConfig, String displayName,
    Map<String, String> locations) implements Resource {

  public VirtualService {
    locations = locations == null ? Map.of() : Collections.unmodifiableSortedMap(new TreeMap<>(locations));
  }

  /** {@code path (file:line)} for a message, or the path alone when its location is not known. */
  public String at(String path) {
    String location = locations.get(path);
    return location == null ? path : path + " (" + location + ")";
  }

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
