package io.shardgate.controlplane.local;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The Gloo config directory of a local layout, from one description of the APIs: a Gateway per proxy of the layout,
 * a VirtualService and a static Upstream per API, the Settings (with the edge block in {@link LocalLayout#EDGE}).
 *
 * <p>{@link #files} is pure (same input, same bytes; paths sorted); {@link #write} is the edge that puts them on disk.
 */
public final class LocalConfigWriter {

  /** The write namespace of everything generated (Gloo's default). */
  public static final String NAMESPACE = "gloo-system";

  /**
   * The ports of a layout's listeners and backends, all on 127.0.0.1.
   *
   * @param gatewayPorts proxy name to its Gateway's bindPort
   * @param backendPorts API name to its echo backend's port
   * @param edgePort the edge's HTTP port ({@link LocalLayout#EDGE} only; otherwise ignored)
   */
  public record Ports(Map<String, Integer> gatewayPorts, Map<String, Integer> backendPorts, int edgePort) {
    public Ports {
      gatewayPorts = Map.copyOf(gatewayPorts);
      backendPorts = Map.copyOf(backendPorts);
    }
  }

  private LocalConfigWriter() {}

  /** Relative path (Gloo's {@code <plural>/<namespace>/<name>.yaml}) to YAML text, sorted by path. */
  public static SortedMap<String, String> files(List<LocalApi> apis, LocalLayout layout, Ports ports) {
    SortedMap<String, String> files = new TreeMap<>();
    files.put("settings/" + NAMESPACE + "/default.yaml", settings(apis, layout, ports));
    for (String proxy : layout.proxies(apis)) {
      files.put("gateways/" + NAMESPACE + "/" + proxy + ".yaml", """
          apiVersion: gateway.solo.io/v1
          kind: Gateway
          metadata:
            name: %1$s
            namespace: %2$s
          spec:
            bindAddress: 127.0.0.1
            bindPort: %3$d
            proxyNames:
            - %1$s
            httpGateway:
              virtualServiceSelector:
                shard: %1$s
          """.formatted(proxy, NAMESPACE, port(ports.gatewayPorts(), proxy)));
    }
    for (LocalApi api : apis) {
      files.put("virtualservices/" + api.name() + "/" + api.name() + ".yaml", """
          apiVersion: gateway.solo.io/v1
          kind: VirtualService
          metadata:
            name: %1$s
            namespace: %1$s
            labels:
              shard: %2$s
          spec:
            virtualHost:
              domains:
              - %3$s
              routes:
              - matchers:
                - prefix: %4$s
                routeAction:
                  single:
                    upstream:
                      name: %1$s
                      namespace: %1$s
          """.formatted(api.name(), layout.proxyOf(api), api.domain(), api.pathPrefix()));
      files.put("upstreams/" + api.name() + "/" + api.name() + ".yaml", """
          apiVersion: gloo.solo.io/v1
          kind: Upstream
          metadata:
            name: %1$s
            namespace: %1$s
          spec:
            static:
              hosts:
              - addr: 127.0.0.1
                port: %2$d
          """.formatted(api.name(), port(ports.backendPorts(), api.name())));
    }
    return files;
  }

  private static String settings(List<LocalApi> apis, LocalLayout layout, Ports ports) {
    StringBuilder s = new StringBuilder("""
        # Gloo's flat form: metadata plus the spec fields at the top level.
        metadata:
          name: default
          namespace: %s
        discoveryNamespace: %s
        """.formatted(NAMESPACE, NAMESPACE));
    if (layout == LocalLayout.EDGE) {
      s.append("""
          shardgate:
            edge:
              enabled: true
              proxyName: %s
              bindAddress: 127.0.0.1
              bindPort: %d
              shardAddresses:
          """.formatted(LocalLayout.EDGE_PROXY, ports.edgePort()));
      for (String proxy : layout.proxies(apis)) {
        s.append("      ").append(proxy).append(": 127.0.0.1:").append(port(ports.gatewayPorts(), proxy)).append('\n');
      }
    }
    s.append("gateway:\n  readGatewaysFromAllNamespaces: false\n");
    return s.toString();
  }

  private static int port(Map<String, Integer> ports, String key) {
    Integer port = ports.get(key);
    if (port == null) {
      throw new IllegalArgumentException("no port given for " + key);
    }
    return port;
  }

  /** Writes {@link #files} under {@code dir} (created if needed). */
  public static void write(Path dir, List<LocalApi> apis, LocalLayout layout, Ports ports) throws IOException {
    for (Map.Entry<String, String> file : files(apis, layout, ports).entrySet()) {
      Path target = dir.resolve(file.getKey());
      Files.createDirectories(target.getParent());
      Files.writeString(target, file.getValue(), StandardCharsets.UTF_8);
    }
  }
}
