package io.shardgate.controlplane.e2e;

import java.util.List;

/**
 * Gloo Edge documents for the HTTPS end-to-end tests, as users write them (Kubernetes form, one per file in Gloo's
 * {@code <plural>/<namespace>/<name>.yaml} layout). Only the shapes those tests need; each returns YAML text.
 */
final class GlooYaml {

  private GlooYaml() {}

  /** The file of a Gateway {@code gloo-system/name}. */
  static String gatewayFile(String name) {
    return "gateways/gloo-system/" + name + ".yaml";
  }

  /** The file of a VirtualService {@code namespace/name}. */
  static String virtualServiceFile(String namespace, String name) {
    return "virtualservices/" + namespace + "/" + name + ".yaml";
  }

  /** The file of an Upstream {@code namespace/name}. */
  static String upstreamFile(String namespace, String name) {
    return "upstreams/" + namespace + "/" + name + ".yaml";
  }

  /**
   * An HTTP Gateway of shard {@value ServedShard#PROXY} on 127.0.0.1:port selecting every VirtualService; with
   * {@code ssl} it selects those with an {@code sslConfig}, without it those without one (Gloo's rule).
   */
  static String gateway(String name, int port, boolean ssl) {
    return """
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata:
          name: %s
          namespace: gloo-system
        spec:
          bindAddress: 127.0.0.1
          bindPort: %d
          ssl: %s
          proxyNames:
          - %s
          httpGateway: {}
        """.formatted(name, port, ssl, ServedShard.PROXY);
  }

  /**
   * A VirtualService for {@code domains} with the given {@code sslConfig} block (YAML lines indented for
   * {@code spec.sslConfig}, or null for none) whose every path answers 200 with {@code name} (a direct response, so
   * the answer names the virtual host that served it).
   */
  static String directVirtualService(String namespace, String name, List<String> domains, String sslConfig) {
    return virtualService(namespace, name, domains, sslConfig, """
            - matchers:
              - prefix: /
              directResponseAction:
                status: 200
                body: "%s\\n"
        """.formatted(name));
  }

  /** A VirtualService whose every path is routed to the Upstream {@code upstreamNamespace/upstream}. */
  static String routedVirtualService(String namespace, String name, List<String> domains, String sslConfig,
      String upstreamNamespace, String upstream) {
    return virtualService(namespace, name, domains, sslConfig, """
            - matchers:
              - prefix: /
              routeAction:
                single:
                  upstream:
                    name: %s
                    namespace: %s
        """.formatted(upstream, upstreamNamespace));
  }

  /** {@code sslConfig.secretRef} to {@code namespace/name}, as lines for {@link #directVirtualService}. */
  static String secretRef(String namespace, String name) {
    return """
            secretRef:
              name: %s
              namespace: %s
        """.formatted(name, namespace);
  }

  private static String virtualService(String namespace, String name, List<String> domains, String sslConfig,
      String routes) {
    StringBuilder yaml = new StringBuilder("""
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata:
          name: %s
          namespace: %s
        spec:
        """.formatted(name, namespace));
    if (sslConfig != null) {
      yaml.append("  sslConfig:\n").append(sslConfig);
    }
    yaml.append("  virtualHost:\n    domains:\n");
    for (String d : domains) {
      yaml.append("    - ").append(d).append('\n');
    }
    yaml.append("    routes:\n").append(routes);
    return yaml.toString();
  }

  /**
   * A static Upstream to 127.0.0.1:port with the given {@code sslConfig} block (YAML lines indented for
   * {@code spec.sslConfig}, or null for plain HTTP).
   */
  static String staticUpstream(String namespace, String name, int port, String sslConfig) {
    String yaml = """
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata:
          name: %s
          namespace: %s
        spec:
          static:
            hosts:
            - addr: 127.0.0.1
              port: %d
        """.formatted(name, namespace, port);
    return sslConfig == null ? yaml : yaml + "  sslConfig:\n" + sslConfig;
  }
}
