package io.shardgate.controlplane.status;

import io.shardgate.sharding.decode.SourceDocument;
import java.util.Map;
import org.yaml.snakeyaml.Yaml;

/**
 * The small configuration the status tests share, pure and on the API server alike: Gateway {@code gw-a} of shard
 * {@code gateway-proxy-a} selecting {@code shard: a}, the static Upstream {@code team/echo}, and VirtualServices of
 * namespace {@code team} routing to it.
 */
public final class TeamFixtures {

  public static final String GATEWAY = """
      apiVersion: gateway.solo.io/v1
      kind: Gateway
      metadata: {name: gw-a, namespace: gloo-system}
      spec:
        bindAddress: 127.0.0.1
        bindPort: 8080
        proxyNames: [gateway-proxy-a]
        httpGateway:
          virtualServiceSelector: {shard: a}
      """;

  public static final String UPSTREAM = """
      apiVersion: gloo.solo.io/v1
      kind: Upstream
      metadata: {name: echo, namespace: team}
      spec:
        static:
          hosts: [{addr: 127.0.0.1, port: 9000}]
      """;

  private TeamFixtures() {}

  /** A VirtualService of shard a for {@code domain}; {@code extra} is indented virtual-host YAML, or empty. */
  public static String vs(String name, String domain, String extra) {
    return """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: %s, namespace: team, labels: {shard: a}}
        spec:
          virtualHost:
            domains: [%s]
        %s    routes:
            - matchers: [{prefix: /}]
              routeAction:
                single:
                  upstream: {name: echo, namespace: team}
        """.formatted(name, domain, extra);
  }

  /** A document as a source hands it over, with {@code origin} as the Kubernetes source names objects. */
  @SuppressWarnings("unchecked")
  public static SourceDocument doc(String origin, String yaml) {
    return new SourceDocument(origin, 0, (Map<String, Object>) new Yaml().load(yaml), Map.of());
  }
}
