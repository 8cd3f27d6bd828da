package io.shardgate.controlplane.xds;

import io.shardgate.sharding.model.ResourceRef;

/**
 * Envoy resource names, as Gloo Edge derives them, so dashboards and runbooks written for Gloo keep working. Pure.
 */
public final class XdsNames {

  private XdsNames() {}

  /** {@code <name>_<namespace>}: underscores because dots split stat names. */
  public static String cluster(ResourceRef upstream) {
    return upstream.namespace().isEmpty() ? upstream.name() : upstream.name() + "_" + upstream.namespace();
  }

  /** {@code <listenerName>-routes}. */
  public static String routeConfiguration(String listenerName) {
    return listenerName + "-routes";
  }

  /** The Proxy virtual host name {@code ns.name} with dots replaced: {@code ns_name}. */
  public static String virtualHost(String proxyVirtualHostName) {
    return proxyVirtualHostName.replace('.', '_');
  }

  /** {@code <vhost>-route-<i>-matcher-<j>}, or {@code <vhost>-route-<i>-<routeName>-matcher-<j>} when named. */
  public static String route(String envoyVirtualHost, int routeIndex, String routeName, int matcherIndex) {
    return envoyVirtualHost + "-route-" + routeIndex + (routeName == null ? "" : "-" + routeName)
        + "-matcher-" + matcherIndex;
  }

  /** The SDS name of a TLS secret's certificate and key: {@code <name>_<namespace>}, like a cluster's. */
  public static String certificateSecret(ResourceRef secret) {
    return cluster(secret);
  }

  /** The SDS name of a TLS secret's root CA, as a validation context: {@code <name>_<namespace>-ca}. */
  public static String validationSecret(ResourceRef secret) {
    return cluster(secret) + "-ca";
  }
}
