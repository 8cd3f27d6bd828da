package io.shardgate.controlplane.consul;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.app.ServeFactory;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.cli.ShardgateCli;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.security.ServeSecurity;
import io.shardgate.controlplane.source.ConsulCatalogWatcher;
import io.shardgate.controlplane.source.ConsulKvClient;
import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Consul service discovery against a real Consul 1.16.1 agent (a persistent single server, so a restart is a real
 * one), feeding the real pipeline: instances registered through the agent API with TTL checks the test drives. Two
 * shards, one reaching a consul Upstream: passing instances reach its load assignment; a failing check sends only
 * EDS, only to that shard; deregistering empties it; an agent restart pushes nothing; {@code --consul-discovery}
 * (through {@code serve}'s wiring) writes the Upstreams Gloo's consul discovery writes, and {@code validate} shows
 * them.
 */
class ConsulDiscoveryTest {

  private static final Duration BOUND = Duration.ofSeconds(60);
  private static final String ROLE_A = "gloo-system~gateway-proxy-a";
  private static final String ROLE_B = "gloo-system~gateway-proxy-b";

  @RegisterExtension
  static final ConsulAgent CONSUL = new ConsulAgent(true);

  @TempDir Path dir;

  private final List<AutoCloseable> closing = new ArrayList<>();
  private final AtomicReference<ConfigInput> lastInput = new AtomicReference<>();
  private ShardPipeline pipeline;

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closing) {
      c.close();
    }
  }

  @Test
  void instanceChurnSendsOnlyEndpointsToTheShardThatReachesTheService() throws Exception {
    ConsulServices consul = new ConsulServices(CONSUL.address(), null);
    consul.register("web", "web-1", "127.0.0.1", 18081, List.of("v1"));
    consul.register("web", "web-2", "127.0.0.1", 18082, List.of("v2"));
    consul.pass("web-1");
    consul.pass("web-2");
    ConsulCatalogWatcher watcher = watcher(false);
    Consumer<ConfigInput> sink = watcher.inFrontOf(this::toPipeline);
    sink.accept(new ConfigInput("test", twoShards("web"), List.of()));
    await("both instances on shard a", () -> ports(ROLE_A, "web_default"),
        () -> ports(ROLE_A, "web_default").equals(List.of(18081, 18082)));

    long pushesA = pipeline.pushes(ROLE_A);
    long pushesB = pipeline.pushes(ROLE_B);
    consul.fail("web-2");
    await("only web-1 on shard a", () -> ports(ROLE_A, "web_default"),
        () -> ports(ROLE_A, "web_default").equals(List.of(18081)));
    Translation t = pipeline.latest();
    assertTrue(t.endpointsOnly(), "a check change is an endpoints-only pass");
    assertEquals(Set.of(ROLE_A), t.translated(), "only the shard that reaches the service");
    assertTrue(pipeline.pushes(ROLE_A) > pushesA);
    assertEquals(pushesB, pipeline.pushes(ROLE_B), "the other shard gets nothing");

    consul.deregister("web-1");
    await("no endpoint on shard a", () -> ports(ROLE_A, "web_default"),
        () -> ports(ROLE_A, "web_default").isEmpty());
    assertEquals(pushesB, pipeline.pushes(ROLE_B), "the other shard gets nothing");
    assertTrue(pipeline.latest().endpointsOnly());

    // An input that no longer names the service stops its watch.
    assertTrue(watcher.watched().contains("service web in dc1"), () -> "" + watcher.watched());
    sink.accept(new ConfigInput("test", twoShards("web").stream()
        .filter(d -> !d.origin().contains("consul-upstream")).toList(), List.of()));
    await("the watch of web stopped", () -> "" + watcher.watched(), () -> watcher.watched().isEmpty());
    consul.deregister("web-2");
  }

  @Test
  void anAgentRestartPushesNothingWhenNothingChanged() throws Exception {
    ConsulServices consul = new ConsulServices(CONSUL.address(), null);
    consul.register("steady", "steady-1", "127.0.0.1", 18091, List.of());
    consul.register("steady", "steady-2", "127.0.0.1", 18092, List.of());
    consul.pass("steady-1");
    consul.pass("steady-2");
    ConsulCatalogWatcher watcher = watcher(false);
    watcher.inFrontOf(this::toPipeline).accept(new ConfigInput("test", twoShards("steady"), List.of()));
    await("both instances", () -> ports(ROLE_A, "web_default"),
        () -> ports(ROLE_A, "web_default").equals(List.of(18091, 18092)));
    long pushesA = pipeline.pushes(ROLE_A);
    long queries = watcher.queries();

    CONSUL.restart(false); // the same data folder: the catalog, the checks' states and the index survive
    new ConsulServices(CONSUL.address(), null).fail("steady-2"); // only once the agent is back
    // The watch reconnected (a query failed and a later one was answered) and then saw the one real change.
    await("the failed check after the restart", () -> ports(ROLE_A, "web_default") + " " + watcher.health(),
        () -> ports(ROLE_A, "web_default").equals(List.of(18091)));
    assertTrue(watcher.queries() >= queries + 2, () -> "queries " + queries + " -> " + watcher.queries());
    assertEquals(pushesA + 1, pipeline.pushes(ROLE_A), "the restart itself pushed nothing; the failed check once");
    consul.deregister("steady-1");
    consul.deregister("steady-2");
  }

  @Test
  void consulDiscoveryWritesGloosUpstreamsThroughServe() throws Exception {
    ConsulServices consul = new ConsulServices(CONSUL.address(), null);
    consul.register("disc-svc", "disc-1", "127.0.0.1", 18101, List.of("blue"));
    consul.register("disc-svc", "disc-2", "127.0.0.1", 18102, List.of("green"));
    consul.pass("disc-1");
    consul.pass("disc-2");
    Path config = Files.createDirectories(dir.resolve("config"));
    Files.writeString(config.resolve("gloo.yaml"), """
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata: {name: gateway-proxy-a, namespace: gloo-system}
        spec: {bindAddress: 127.0.0.1, bindPort: 8081, proxyNames: [gateway-proxy-a], httpGateway: {}}
        ---
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: disc, namespace: default}
        spec:
          virtualHost:
            domains: [disc.example.com]
            routes:
            - routeAction: {single: {upstream: {name: disc-svc, namespace: gloo-system}}}
        """);
    int[] ports = ExampleConfig.freePorts(2);
    Map<String, Object> props = new LinkedHashMap<>();
    props.put("shardgate.config-dir", config.toString());
    props.put(ServeFactory.CONSUL_AGENT, CONSUL.address());
    props.put(ServeFactory.CONSUL_DISCOVERY, "true");
    ApplicationContext context = ServeCommand.start(props, dir.resolve("state"), ports[0], ports[1], "127.0.0.1",
        ServeSecurity.defaults());
    closing.add(() -> ServeCommand.stop(context));
    ServeCommand.awaitFirstTranslation(context);
    pipeline = context.getBean(ShardPipeline.class);
    await("the discovered Upstream's endpoints", () -> ports(ROLE_A, "disc-svc_gloo-system"),
        () -> ports(ROLE_A, "disc-svc_gloo-system").equals(List.of(18101, 18102)));
    SourceDocument discovered = discoveredUpstream(pipeline.latest().input(), "disc-svc");
    assertEquals(Map.of("name", "disc-svc", "namespace", "gloo-system", "labels",
        Map.of("discovered_by", "consulplugin")), discovered.content().get("metadata"));
    assertEquals(Map.of("consul", Map.of("serviceName", "disc-svc", "serviceTags", List.of("blue", "green"),
        "dataCenters", List.of("dc1"))), discovered.content().get("spec"));
    assertEquals(ResourceState.ACCEPTED, pipeline.latest().gateway().statuses()
        .get(new ResourceKey(Kind.VIRTUAL_SERVICE, "default", "disc")).state(),
        () -> "" + pipeline.latest().gateway().statuses());
    // Gloo discovers the agent's own service too.
    assertTrue(discoveredUpstream(pipeline.latest().input(), "consul") != null);

    // A service new to the catalog becomes an Upstream too, with its endpoints.
    consul.register("late-svc", "late-1", "127.0.0.1", 18111, List.of());
    consul.pass("late-1");
    await("the late service's Upstream", () -> "" + pipeline.latest().input().documents().stream()
        .map(SourceDocument::origin).toList(), () -> discoveredUpstream(pipeline.latest().input(), "late-svc") != null);

    // validate with the same agent shows what serve serves: the discovered Upstream, Accepted.
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new ShardgateCli()).setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true))
        .execute("validate", "--config-dir", config.toString(), "--consul-agent", CONSUL.address(),
            "--consul-discovery");
    assertEquals(0, exit, () -> out + "\n" + err);
    assertTrue(out.toString().contains("Upstream gloo-system/disc-svc"), out::toString);
    assertTrue(out.toString().contains("Upstream gloo-system/late-svc"), out::toString);
    for (String id : List.of("disc-1", "disc-2", "late-1")) {
      consul.deregister(id);
    }
  }

  // ---- helpers ----

  private ConsulCatalogWatcher watcher(boolean discovery) {
    pipeline = new ShardPipeline(new ShardSnapshotCache());
    ConsulCatalogWatcher w = new ConsulCatalogWatcher(new ConsulKvClient(ConsulKvClient.Options.of(CONSUL.address())),
        ConsulCatalogWatcher.Options.quick(discovery));
    closing.add(w);
    return w;
  }

  private void toPipeline(ConfigInput input) {
    lastInput.set(input);
    pipeline.accept(input);
  }

  /** Two shards: a reaches the consul Upstream default/web (of {@code service}), b a static Upstream. */
  static List<SourceDocument> twoShards(String service) throws Exception {
    String yaml = """
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata: {name: gateway-proxy-a, namespace: gloo-system}
        spec: {bindPort: 8081, proxyNames: [gateway-proxy-a], httpGateway: {virtualServiceSelector: {shard: a}}}
        ---
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata: {name: gateway-proxy-b, namespace: gloo-system}
        spec: {bindPort: 8082, proxyNames: [gateway-proxy-b], httpGateway: {virtualServiceSelector: {shard: b}}}
        ---
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: a, namespace: default, labels: {shard: a}}
        spec:
          virtualHost:
            domains: [a.example.com]
            routes:
            - routeAction: {single: {upstream: {name: web}}}
        ---
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: b, namespace: default, labels: {shard: b}}
        spec:
          virtualHost:
            domains: [b.example.com]
            routes:
            - routeAction: {single: {upstream: {name: static-b}}}
        ---
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata: {name: static-b, namespace: default}
        spec: {static: {hosts: [{addr: 127.0.0.1, port: 9}]}}
        """;
    List<SourceDocument> docs = new ArrayList<>(new YamlDocumentReader().read("two-shards.yaml", yaml));
    docs.addAll(new YamlDocumentReader().read("consul-upstream.yaml", """
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata: {name: web, namespace: default}
        spec: {consul: {serviceName: %s}}
        """.formatted(service)));
    return docs;
  }

  private static SourceDocument discoveredUpstream(ConfigInput input, String name) {
    for (SourceDocument d : input.documents()) {
      if ("Upstream".equals(d.content().get("kind")) && d.content().get("metadata") instanceof Map<?, ?> m
          && name.equals(m.get("name")) && "gloo-system".equals(m.get("namespace"))) {
        return d;
      }
    }
    return null;
  }

  /** The ports of a cluster's endpoints on a shard, in the order Envoy is given them. */
  private List<Integer> ports(String role, String cluster) {
    Translation t = pipeline == null ? null : pipeline.latest();
    List<Integer> out = new ArrayList<>();
    if (t == null || t.xds().get(role) == null) {
      return out;
    }
    for (ClusterLoadAssignment cla : t.xds().get(role).endpoints()) {
      if (cla.getClusterName().equals(cluster)) {
        for (LocalityLbEndpoints l : cla.getEndpointsList()) {
          for (LbEndpoint e : l.getLbEndpointsList()) {
            out.add(e.getEndpoint().getAddress().getSocketAddress().getPortValue());
          }
        }
      }
    }
    return out;
  }

  static void await(String what, Supplier<?> lastSeen, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + BOUND.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("not within " + BOUND + ": " + what + "; last seen: " + lastSeen.get());
      }
      Thread.sleep(20);
    }
  }
}
