package io.shardgate.sharding.model;

import java.util.List;

/**
 * {@code gloo.solo.io/v1} Settings: the fields Shardgate reads.
 *
 * @param discoveryNamespace the write namespace: where Proxies live and the first half of node roles
 * @param watchNamespaces namespaces whose resources are read; empty means all (the write namespace is always read)
 * @param readGatewaysFromAllNamespaces when false only Gateways in the write namespace are translated
 */
public record Settings(
    ObjectMeta meta, String discoveryNamespace, List<String> watchNamespaces, boolean readGatewaysFromAllNamespaces)
    implements Resource {

  public static final String DEFAULT_WRITE_NAMESPACE = "gloo-system";

  /** Settings as Gloo behaves with no Settings resource at all. */
  public static final Settings DEFAULTS =
      new Settings(
          new ObjectMeta("default", DEFAULT_WRITE_NAMESPACE, java.util.Map.of(), java.util.Map.of(), "(defaults)"),
          DEFAULT_WRITE_NAMESPACE,
          List.of(),
          false);

  public Settings {
    discoveryNamespace =
        discoveryNamespace == null || discoveryNamespace.isEmpty() ? DEFAULT_WRITE_NAMESPACE : discoveryNamespace;
    watchNamespaces = List.copyOf(watchNamespaces);
  }

  @Override
  public Kind kind() {
    return Kind.SETTINGS;
  }

  /** Whether resources in {@code namespace} are read at all. */
  public boolean watches(String namespace) {
    return watchNamespaces.isEmpty()
        || watchNamespaces.contains(namespace)
        || namespace.equals(discoveryNamespace);
  }
}
