package io.shardgate.sharding.model;

import java.util.Arrays;
import java.util.Optional;

/** The resource kinds Shardgate reads, with their Kubernetes group/version and Gloo's folder (plural) name. */
public enum Kind {
  GATEWAY("Gateway", "gateway.solo.io/v1", "gateways"),
  VIRTUAL_SERVICE("VirtualService", "gateway.solo.io/v1", "virtualservices"),
  ROUTE_TABLE("RouteTable", "gateway.solo.io/v1", "routetables"),
  UPSTREAM("Upstream", "gloo.solo.io/v1", "upstreams"),
  UPSTREAM_GROUP("UpstreamGroup", "gloo.solo.io/v1", "upstreamgroups"),
  SETTINGS("Settings", "gloo.solo.io/v1", "settings"),
  PROXY("Proxy", "gloo.solo.io/v1", "proxies"),
  /**
   * A TLS secret (Kubernetes core {@code v1}). Never decoded as a document: sources read Secrets apart from documents,
   * and only their statuses (in Shardgate's own reports; a Secret has no status subresource) carry this kind.
   */
  SECRET("Secret", "v1", "secrets");

  private final String kindName;
  private final String apiVersion;
  private final String plural;

  Kind(String kindName, String apiVersion, String plural) {
    this.kindName = kindName;
    this.apiVersion = apiVersion;
    this.plural = plural;
  }

  /** The {@code kind} as written in YAML, e.g. {@code VirtualService}. */
  public String kindName() {
    return kindName;
  }

  public String apiVersion() {
    return apiVersion;
  }

  public String plural() {
    return plural;
  }

  public static Optional<Kind> byKindName(String kindName) {
    return Arrays.stream(values()).filter(k -> k.kindName.equals(kindName)).findFirst();
  }

  @Override
  public String toString() {
    return kindName;
  }
}
