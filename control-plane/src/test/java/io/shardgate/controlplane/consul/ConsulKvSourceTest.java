package io.shardgate.controlplane.consul;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.app.ServeFactory;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.security.ServeSecurity;
import io.shardgate.controlplane.source.ConsulKvClient;
import io.shardgate.controlplane.source.ConsulKvSource;
import io.shardgate.controlplane.source.ConsulKvWriter;
import io.shardgate.controlplane.source.DirectoryContents;
import io.shardgate.controlplane.source.DirectoryLoader;
import io.shardgate.controlplane.source.SourceProblem;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Consul KV source against a real Consul 1.16.1 dev agent, feeding the real pipeline: the sharded example pushed
 * into KV at Gloo's keys is served shard by shard; create, update and delete of each kind reach the shards they
 * concern and no other; a broken value keeps the last good one and names its key; a Consul restart and an index
 * reset (a fresh agent, the same content pushed back) lose nothing and push nothing.
 */
class ConsulKvSourceTest {

  private static final Duration BOUND = Duration.ofSeconds(60);
  private static final String PROTECTED = ExampleConfig.PROTECTED_ROLE;
  private static final String NOISY = ExampleConfig.NOISY_ROLE;
  private static final String ROOT = "gloo";
  private static final String RT_KEY = "gloo/gateway.solo.io/v1/RouteTable/payments/payments-api";

  @RegisterExtension
  static final ConsulAgent CONSUL = new ConsulAgent();

  @TempDir Path stateDir;

  private final AtomicLong deliveries = new AtomicLong();
  private final AtomicReference<ConfigInput> lastInput = new AtomicReference<>();
  private ConsulKvClient kv;
  private ConsulKvSource source;
  private ShardPipeline pipeline;

  @BeforeEach
  void pushExample() throws Exception {
    kv = new ConsulKvClient(ConsulKvClient.Options.of(CONSUL.address()));
    for (ConsulKvClient.Entry e : kv.list(ROOT + "/", 0, Duration.ZERO).entries()) {
      kv.delete(e.key());
    }
    ConsulKvWriter.Result pushed = new ConsulKvWriter(kv, ROOT).push(example(), false);
    assertEquals(8, pushed.written().size(), () -> "" + pushed);
  }

  @AfterEach
  void closeSource() {
    if (source != null) {
      source.close();
    }
  }

  @Test
  void createUpdateAndDeleteOfEachKindReachTheirShards() throws Exception {
    start();
    await("the payments route on the protected shard", () -> routesOf(PROTECTED),
        () -> routesOf(PROTECTED).contains("/payments/v1"));
    assertFalse(routesOf(NOISY).contains("/payments"), () -> routesOf(NOISY));
    assertTrue(routesOf(NOISY).contains("catalog"), () -> routesOf(NOISY));
    assertTrue(lastInput.get().documents().stream().anyMatch(d -> d.origin().startsWith("consul:" + RT_KEY + "@")),
        "origins name the key and its modifyIndex");

    // RouteTable update: the protected shard only, one push.
    long noisy = pipeline.pushes(NOISY);
    long prot = pipeline.pushes(PROTECTED);
    long began = System.nanoTime();
    put(RT_KEY, routeTable("/payments/v2"));
    await("the edited route", () -> routesOf(PROTECTED), () -> routesOf(PROTECTED).contains("/payments/v2"));
    System.out.println("[consul-kv] KV write to the shard's new snapshot: "
        + Duration.ofNanos(System.nanoTime() - began).toMillis() + " ms");
    assertEquals(prot + 1, pipeline.pushes(PROTECTED));
    assertEquals(noisy, pipeline.pushes(NOISY), "the noisy shard is not pushed");

    // RouteTable delete, then create again.
    // (A delegation to a missing RouteTable keeps the last good routes, by design; the delete itself reaches the
    // pipeline's input.)
    kv.delete(RT_KEY);
    await("the RouteTable gone from the input", this::origins, () -> !origins().contains(RT_KEY + "@"));
    put(RT_KEY, routeTable("/payments/v3"));
    await("the recreated RouteTable", () -> routesOf(PROTECTED), () -> routesOf(PROTECTED).contains("/payments/v3"));
    assertEquals(noisy, pipeline.pushes(NOISY));

    // Upstream update (JSON value, Kubernetes form): the catalog cluster on the noisy shard changes, protected not.
    String catalogKey = "gloo/gloo.solo.io/v1/Upstream/catalog/catalog";
    prot = pipeline.pushes(PROTECTED);
    put(catalogKey, "{\"apiVersion\":\"gloo.solo.io/v1\",\"kind\":\"Upstream\",\"metadata\":{\"name\":\"catalog\","
        + "\"namespace\":\"catalog\"},\"spec\":{\"static\":{\"hosts\":[{\"addr\":\"127.0.0.1\",\"port\":9202}]}}}");
    await("the catalog endpoint on port 9202", () -> endpointsOf(NOISY), () -> endpointsOf(NOISY).contains("9202"));
    assertEquals(prot, pipeline.pushes(PROTECTED), "the protected shard does not use the catalog Upstream");

    // VirtualService delete and create: the catalog host leaves and returns to the noisy shard.
    String catalogVs = "gloo/gateway.solo.io/v1/VirtualService/catalog/catalog";
    byte[] vs = kv.list(catalogVs, 0, Duration.ZERO).entries().get(0).value();
    kv.delete(catalogVs);
    await("the catalog host gone", () -> routesOf(NOISY), () -> !routesOf(NOISY).contains("catalog"));
    kv.put(catalogVs, vs);
    await("the catalog host back", () -> routesOf(NOISY), () -> routesOf(NOISY).contains("catalog"));
    assertEquals(prot, pipeline.pushes(PROTECTED));

    // UpstreamGroup create, update, delete: the payments RouteTable routes to a group.
    String group = "gloo/gloo.solo.io/v1/UpstreamGroup/payments/payments-group";
    put(group, upstreamGroup("payments", 3));
    put(RT_KEY, """
        metadata: {name: payments-api, namespace: payments}
        routes:
        - matchers: [{prefix: /payments/v1}]
          routeAction: {upstreamGroup: {name: payments-group, namespace: payments}}
        """);
    await("the weighted route of the group", () -> routesOf(PROTECTED), () -> flat(routesOf(PROTECTED))
        .contains("weight { value: 3 }"));
    put(group, upstreamGroup("payments", 7));
    await("the group's new weight", () -> routesOf(PROTECTED), () -> flat(routesOf(PROTECTED))
        .contains("weight { value: 7 }"));
    put(RT_KEY, routeTable("/payments/v4"));
    await("the single route again", () -> routesOf(PROTECTED), () -> routesOf(PROTECTED).contains("/payments/v4"));
    assertFalse(flat(routesOf(PROTECTED)).contains("weight { value: 7 }"), () -> routesOf(PROTECTED));
    kv.delete(group);
    await("the group gone from the input", this::origins, () -> !origins().contains(group + "@"));

    // Upstream create and delete (unused, so no shard changes; the input follows).
    String extra = "gloo/gloo.solo.io/v1/Upstream/catalog/extra";
    put(extra, upstream("extra", 9400));
    await("the new Upstream in the input", this::origins, () -> origins().contains(extra + "@"));
    kv.delete(extra);
    await("the new Upstream gone", this::origins, () -> !origins().contains(extra + "@"));

    // Gateway create, update, delete: a third shard appears, moves port, and goes.
    String third = "gloo-system~gateway-proxy-third";
    String gw = "gloo/gateway.solo.io/v1/Gateway/gloo-system/gateway-proxy-third";
    put("gloo/gateway.solo.io/v1/VirtualService/catalog/third", """
        metadata: {name: third, namespace: catalog, labels: {shard: third}}
        virtualHost:
          domains: [third.example.com]
          routes:
          - matchers: [{prefix: /}]
            routeAction: {single: {upstream: {name: catalog, namespace: catalog}}}
        """);
    put(gw, gateway("gateway-proxy-third", 8090));
    await("the third shard", () -> "" + shards(), () -> listenersOf(third).contains("8090"));
    put(gw, gateway("gateway-proxy-third", 8091));
    await("the third shard on 8091", () -> listenersOf(third), () -> listenersOf(third).contains("8091"));
    kv.delete(gw);
    await("the third shard gone", () -> "" + shards(), () -> !shards().contains(third));

    // Settings: reading Gateways from all namespaces makes a Gateway outside gloo-system a shard, and back.
    String elsewhere = "gloo-system~gateway-proxy-elsewhere"; // the role is <writeNamespace>~<proxyName>
    put("gloo/gateway.solo.io/v1/Gateway/payments/gateway-proxy-elsewhere", gateway("gateway-proxy-elsewhere", 8092));
    String settings = "gloo/gloo.solo.io/v1/Settings/gloo-system/default";
    put(settings, settings(true));
    await("the shard of the Gateway in payments", () -> "" + shards(), () -> shards().contains(elsewhere));
    put(settings, settings(false));
    await("that shard gone again", () -> "" + shards(), () -> !shards().contains(elsewhere));
  }

  @Test
  void aBrokenValueKeepsTheLastGoodAndNamesTheKey() throws Exception {
    start();
    await("the payments route", () -> routesOf(PROTECTED), () -> routesOf(PROTECTED).contains("/payments/v1"));
    long prot = pipeline.pushes(PROTECTED);
    put(RT_KEY, "metadata: {name: payments-api\nroutes: [");
    await("a problem naming the key", () -> "" + lastInput.get().problems(),
        () -> lastInput.get().problems().stream().anyMatch(p -> p.file().startsWith("consul:" + RT_KEY + "@")
            && p.severity() == SourceProblem.Severity.ERROR && p.message().contains("last good")));
    assertTrue(routesOf(PROTECTED).contains("/payments/v1"), "the last good RouteTable is still served");
    assertEquals(prot, pipeline.pushes(PROTECTED), "nothing is pushed for a broken value");

    put("gloo/gateway.solo.io/v1/NotAKind/payments/x", "metadata: {name: x}\n");
    await("a warning for the key outside the layout", () -> "" + lastInput.get().problems(),
        () -> lastInput.get().problems().stream().anyMatch(p -> p.severity() == SourceProblem.Severity.WARNING
            && p.file().startsWith("consul:gloo/gateway.solo.io/v1/NotAKind/payments/x@")));

    put(RT_KEY, routeTable("/payments/fixed"));
    await("the fixed value served", () -> routesOf(PROTECTED), () -> routesOf(PROTECTED).contains("/payments/fixed"));
    assertTrue(lastInput.get().problems().stream().noneMatch(p -> p.severity() == SourceProblem.Severity.ERROR),
        () -> "" + lastInput.get().problems());
  }

  @Test
  void pushedExampleServesTheSameShardsAsTheDirectory() throws Exception {
    start();
    Translation fromDirectory = Translation.of(ConfigInput.of("dir", example()));
    await("every shard of the directory", () -> "" + shards(),
        () -> shards().equals(fromDirectory.xds().keySet()));
    for (String role : fromDirectory.xds().keySet()) {
      assertEquals(fromDirectory.xds().get(role).routes().toString(), pipeline.latest().xds().get(role).routes()
          .toString(), role);
      assertEquals(fromDirectory.xds().get(role).clusters().toString(), pipeline.latest().xds().get(role)
          .clusters().toString(), role);
      assertEquals(fromDirectory.xds().get(role).listeners().toString(), pipeline.latest().xds().get(role)
          .listeners().toString(), role);
    }
    ConsulKvWriter.Result again = new ConsulKvWriter(kv, ROOT).push(example(), true);
    assertEquals(List.of(), again.written(), "a second push writes nothing");
    assertEquals(8, again.unchanged().size());
  }

  @Test
  void serveWithConsulServesTheShardsAndReportsConsulDownOnReady() throws Exception {
    int[] ports = ExampleConfig.freePorts(2);
    Path state = stateDir.resolve("state");
    ApplicationContext context = ServeCommand.start(Map.of(ServeFactory.CONSUL, CONSUL.address()), state, ports[0],
        ports[1], "127.0.0.1", ServeSecurity.defaults());
    try {
      ServeCommand.awaitFirstTranslation(context);
      ShardPipeline served = context.getBean(ShardPipeline.class);
      assertEquals(Set.of(PROTECTED, NOISY), served.latest().xds().keySet());
      assertTrue(context.getBean(ConsulKvSource.class).health().isEmpty());
      HttpClient http = HttpClient.newHttpClient();
      HttpResponse<String> ready = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ports[1]
          + "/ready")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, ready.statusCode(), ready::body);
      CONSUL.stop();
      HttpRequest strict = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ports[1] + "/ready?strict=true"))
          .build();
      await("/ready?strict=true saying Consul is unreachable", () -> "", () -> {
        try {
          HttpResponse<String> r = http.send(strict, HttpResponse.BodyHandlers.ofString());
          return r.statusCode() == 503 && r.body().contains("unreachable since");
        } catch (Exception e) {
          return false;
        }
      });
      assertEquals(Set.of(PROTECTED, NOISY), served.latest().xds().keySet(), "the last config keeps serving");
    } finally {
      if (!CONSUL.isRunning()) {
        CONSUL.restart(false); // a -dev agent comes back empty; the next test pushes the example again
      }
      ServeCommand.stop(context);
    }
  }

  // ---- helpers ----

  private void start() {
    pipeline = new ShardPipeline(new ShardSnapshotCache());
    source = new ConsulKvSource(kv, ConsulKvSource.quick(ROOT), input -> {
      deliveries.incrementAndGet();
      lastInput.set(input);
      pipeline.accept(input);
    });
    source.start();
  }

  private static DirectoryContents example() {
    return new DirectoryLoader().load(ExampleConfig.repoRoot().resolve("docs/examples/sharded"));
  }

  private void put(String key, String value) throws Exception {
    kv.put(key, value.getBytes(StandardCharsets.UTF_8));
  }

  private static String routeTable(String prefix) {
    return "metadata: {name: payments-api, namespace: payments}\nroutes:\n- matchers: [{prefix: " + prefix + "}]\n"
        + "  routeAction: {single: {upstream: {name: payments, namespace: payments}}}\n";
  }

  private static String upstreamGroup(String upstream, int weight) {
    return "metadata: {name: payments-group, namespace: payments}\ndestinations:\n- weight: " + weight + "\n"
        + "  destination: {upstream: {name: " + upstream + ", namespace: payments}}\n"
        + "- weight: 1\n  destination: {upstream: {name: catalog, namespace: catalog}}\n";
  }

  private static String upstream(String name, int port) {
    return "metadata: {name: " + name + ", namespace: catalog}\nstatic: {hosts: [{addr: 127.0.0.1, port: " + port
        + "}]}\n";
  }

  private static String gateway(String name, int port) {
    return "metadata: {name: " + name + "}\nbindAddress: 127.0.0.1\nbindPort: " + port + "\nproxyNames: [" + name
        + "]\nhttpGateway: {virtualServiceSelector: {shard: third}}\n";
  }

  private static String settings(boolean allNamespaces) {
    return "metadata: {name: default, namespace: gloo-system}\ndiscoveryNamespace: gloo-system\n"
        + "gateway: {readGatewaysFromAllNamespaces: " + allNamespaces + "}\n";
  }

  private Set<String> shards() {
    Translation t = pipeline.latest();
    return t == null ? Set.of() : t.xds().keySet();
  }

  private String routesOf(String role) {
    Translation t = pipeline.latest();
    return t == null || t.xds().get(role) == null ? "" : t.xds().get(role).routes().toString();
  }

  private String origins() {
    ConfigInput input = lastInput.get();
    return input == null ? "" : input.documents().stream().map(d -> d.origin()).toList().toString();
  }

  private static String flat(String s) {
    return s.replaceAll("\\s+", " ");
  }

  private String listenersOf(String role) {
    Translation t = pipeline.latest();
    return t == null || t.xds().get(role) == null ? "" : t.xds().get(role).listeners().toString();
  }

  private String endpointsOf(String role) {
    Translation t = pipeline.latest();
    return t == null || t.xds().get(role) == null ? "" : t.xds().get(role).endpoints().toString()
        + t.xds().get(role).clusters().toString();
  }

  private static void await(String what, Supplier<String> seen, BooleanSupplier condition) throws Exception {
    long deadline = System.nanoTime() + BOUND.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("waited " + BOUND + " for " + what + "; last seen: " + seen.get());
      }
      Thread.sleep(20);
    }
  }
}
