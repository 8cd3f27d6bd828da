package io.shardgate.loadtests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Locale;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Generates a Gloo Edge config directory in Gloo's own layout, one file per resource
 * ({@code <plural>/<namespace>/<name>.yaml}), for the whole-path benchmark through {@code serve}.
 *
 * <p>Workload: S shards, each one Gateway (proxy {@code shard-<s>}) selecting its VirtualServices by the label
 * {@code shard: s<s>}. Each VirtualService lives in its own team namespace, serves one domain, delegates {@code /a}
 * to RouteTable {@code a} by reference and {@code /b} to RouteTable {@code b} by label selector, and answers
 * {@code /healthz} itself (the route the edits change besides the domain). Each RouteTable has R routes to a static
 * Upstream of its own; every route matches a prefix and methods and has a timeout, and three in ten are rich: a
 * header matcher, retries and a prefix rewrite. A Settings resource completes the directory. Routes per
 * VirtualService: {@code 2R + 1}.
 *
 * <p>Pure and deterministic (no clock, no randomness: the parameters are the whole seed); thread-safe.
 * {@link TranslationBenchmark#generate} is the older, simpler single-file workload its documented numbers were
 * measured with, and stays as it is.
 */
public final class GlooConfigGenerator {

  /** Where Gateways and Settings live, and so the first half of every node role. */
  public static final String WRITE_NAMESPACE = "gloo-system";

  private GlooConfigGenerator() {}

  /**
   * The size of a generated configuration.
   *
   * @param shards Gateways, one shard each
   * @param vsPerShard VirtualServices per shard
   * @param routesPerTable routes of each of a VirtualService's two RouteTables
   */
  public record Workload(int shards, int vsPerShard, int routesPerTable) {

    public Workload {
      if (shards < 1 || vsPerShard < 1 || routesPerTable < 1) {
        throw new IllegalArgumentException("a workload needs at least one shard, VirtualService and route: "
            + shards + "x" + vsPerShard + "x" + routesPerTable);
      }
    }

    /**
     * A workload by name: {@code 10k} (16 shards x 16 VirtualServices x 2 x 20 routes, 10,496 routes), {@code 50k}
     * (16 x 40 x 2 x 40, 51,840 routes), or {@code <vsPerShard>x<routesPerTable>} with {@code shards} shards.
     */
    public static Workload parse(String name, int shards) {
      switch (name.toLowerCase(Locale.ROOT)) {
        case "10k":
          return new Workload(shards, 16, 20);
        case "50k":
          return new Workload(shards, 40, 40);
        default:
          String[] parts = name.split("x");
          if (parts.length != 2) {
            throw new IllegalArgumentException("a size is 10k, 50k or <VirtualServices per shard>x<routes per"
                + " RouteTable> (e.g. 16x20), got '" + name + "'");
          }
          try {
            return new Workload(shards, Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()));
          } catch (NumberFormatException e) {
            throw new IllegalArgumentException("a size is 10k, 50k or <VirtualServices per shard>x<routes per"
                + " RouteTable> (e.g. 16x20), got '" + name + "'", e);
          }
      }
    }

    public int virtualServices() {
      return shards * vsPerShard;
    }

    /** Routes Envoy gets: each VirtualService's two RouteTables plus its own /healthz route. */
    public int routes() {
      return virtualServices() * (2 * routesPerTable + 1);
    }

    /** Files and documents (one each): Gateways, Settings, and per VirtualService itself, two tables, two upstreams. */
    public int files() {
      return shards + 1 + virtualServices() * 5;
    }

    /** For reports: the parameters that make the workload. */
    public String describe() {
      return String.format(Locale.ROOT, "%d shards x %d VirtualServices x (2 RouteTables x %d routes + 1) = %,d routes,"
          + " %,d Upstreams, %,d files", shards, vsPerShard, routesPerTable, routes(), virtualServices() * 2, files());
    }
  }

  /**
   * One edit of a VirtualService file: its new content, and a marker string that appears in the edited shard's
   * RouteConfiguration only once this edit is served.
   */
  public record Edit(String path, String content, String marker) {}

  /** The node role of a shard's Envoys: {@code <writeNamespace>~<proxyName>}. */
  public static String role(int shard) {
    return WRITE_NAMESPACE + "~" + proxyName(shard);
  }

  public static String proxyName(int shard) {
    return "shard-" + shard;
  }

  public static String virtualServicePath(int shard, int vs) {
    return "virtualservices/" + namespace(shard, vs) + "/api.yaml";
  }

  /** Every file of the workload, by relative path, sorted. */
  public static SortedMap<String, String> files(Workload w) {
    SortedMap<String, String> files = new TreeMap<>();
    files.put("settings/" + WRITE_NAMESPACE + "/default.yaml", settings());
    for (int s = 0; s < w.shards(); s++) {
      files.put("gateways/" + WRITE_NAMESPACE + "/" + proxyName(s) + ".yaml", gateway(s));
      for (int v = 0; v < w.vsPerShard(); v++) {
        String ns = namespace(s, v);
        files.put(virtualServicePath(s, v), virtualService(s, v, -1));
        for (String table : new String[] {"a", "b"}) {
          files.put("routetables/" + ns + "/" + table + ".yaml", routeTable(ns, table, w.routesPerTable()));
          files.put("upstreams/" + ns + "/backend-" + table + ".yaml", upstream(ns, table, s, v));
        }
      }
    }
    return Collections.unmodifiableSortedMap(files);
  }

  /** Writes the workload under {@code dir} (which must be empty or absent). */
  public static void writeTo(Path dir, Workload w) throws IOException {
    for (var file : files(w).entrySet()) {
      Path path = dir.resolve(file.getKey());
      Files.createDirectories(path.getParent());
      Files.writeString(path, file.getValue(), StandardCharsets.UTF_8);
    }
  }

  /**
   * Edit number {@code n} (0, 1, ...) of a VirtualService: even edits add a domain, odd ones change the text its
   * {@code /healthz} route answers, each with {@code n} in it, so every edit is a change never served before and
   * touches only that shard's RouteConfiguration.
   */
  public static Edit edit(int shard, int vs, int n) {
    if (n < 0) {
      throw new IllegalArgumentException("edit numbers start at 0: " + n);
    }
    return new Edit(virtualServicePath(shard, vs), virtualService(shard, vs, n), marker(n));
  }

  private static String marker(int n) {
    return n % 2 == 0 ? "e" + n + ".edited.example.com" : "ok, edit " + n;
  }

  private static String namespace(int shard, int vs) {
    return "team-" + shard + "-" + vs;
  }

  private static String settings() {
    return """
        apiVersion: gloo.solo.io/v1
        kind: Settings
        metadata:
          name: default
          namespace: %s
        spec:
          discoveryNamespace: %s
          gateway:
            readGatewaysFromAllNamespaces: false
        """.formatted(WRITE_NAMESPACE, WRITE_NAMESPACE);
  }

  private static String gateway(int s) {
    return """
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata:
          name: %1$s
          namespace: %2$s
        spec:
          bindAddress: "::"
          bindPort: 8080
          proxyNames:
          - %1$s
          httpGateway:
            virtualServiceSelector:
              shard: s%3$d
        """.formatted(proxyName(s), WRITE_NAMESPACE, s);
  }

  /** The VirtualService, as generated ({@code edit < 0}) or after edit number {@code edit}. */
  private static String virtualService(int s, int v, int edit) {
    String ns = namespace(s, v);
    String extraDomain = edit >= 0 && edit % 2 == 0 ? "\n    - " + marker(edit) : "";
    String body = edit >= 0 && edit % 2 == 1 ? marker(edit) : "ok";
    return """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata:
          name: api
          namespace: %1$s
          labels:
            shard: s%2$d
        spec:
          virtualHost:
            domains:
            - api-%2$d-%3$d.example.com%4$s
            routes:
            - matchers:
              - exact: /healthz
              directResponseAction:
                status: 200
                body: "%5$s"
            - matchers:
              - prefix: /a
              delegateAction:
                ref:
                  name: a
                  namespace: %1$s
            - matchers:
              - prefix: /b
              delegateAction:
                selector:
                  labels:
                    table: b
        """.formatted(ns, s, v, extraDomain, body);
  }

  private static String routeTable(String ns, String table, int routes) {
    StringBuilder sb = new StringBuilder();
    sb.append("""
        apiVersion: gateway.solo.io/v1
        kind: RouteTable
        metadata:
          name: %s
          namespace: %s
          labels:
            table: %s
        spec:
          routes:
        """.formatted(table, ns, table));
    for (int r = 0; r < routes; r++) {
      boolean rich = r % 10 == 0 || r % 10 == 3 || r % 10 == 6;
      // A trailing slash, so that /a/r1/ is not a prefix of /a/r10/ (no route shadows another).
      sb.append("  - matchers:\n")
          .append("    - prefix: /").append(table).append("/r").append(r).append("/\n")
          .append("      methods: [").append(r % 2 == 0 ? "GET" : "GET, POST").append("]\n");
      if (rich) {
        sb.append("      headers:\n")
            .append("      - name: x-canary\n")
            .append("        value: \"true\"\n");
      }
      sb.append("    routeAction:\n")
          .append("      single:\n")
          .append("        upstream:\n")
          .append("          name: backend-").append(table).append('\n')
          .append("          namespace: ").append(ns).append('\n')
          .append("    options:\n")
          .append("      timeout: ").append(5 + r % 3 * 5).append("s\n");
      if (rich) {
        sb.append("      retries:\n")
            .append("        retryOn: connect-failure,5xx\n")
            .append("        numRetries: 2\n")
            .append("        perTryTimeout: 2s\n")
            .append("      prefixRewrite: /v1/").append(table).append('/').append(r).append('\n');
      }
    }
    return sb.toString();
  }

  private static String upstream(String ns, String table, int s, int v) {
    return """
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata:
          name: backend-%s
          namespace: %s
        spec:
          static:
            hosts:
            - addr: 10.%d.%d.%d
              port: 8080
        """.formatted(table, ns, s, v % 250, table.equals("a") ? 1 : 2);
  }
}
