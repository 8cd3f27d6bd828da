package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.discovery.EndpointState;
import io.shardgate.sharding.discovery.KubeEndpoint;
import io.shardgate.sharding.discovery.ServiceEndpoints;
import io.shardgate.snapshot.ShardDiscoveryServer;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;

/**
 * EDS with nothing faked but the Kubernetes API server: a <b>real Envoy</b> of one shard, bootstrapped by the
 * project's own {@code bootstrap} command, is served over <b>real gRPC</b> by the pipeline, the snapshot cache and the
 * discovery server, fed as the Kubernetes source feeds them (the same documents, new endpoints). A route with a kube
 * destination reaches the backend its Service's endpoint names; when the Service has no endpoints Envoy answers 503;
 * when the endpoint moves to another backend, the traffic follows. Only load assignments change along the way.
 *
 * <p>Endpoints are on 127.0.0.1 here: the pipeline does not care where they come from (the real API server refuses
 * loopback endpoint addresses, which the Kubernetes source's end-to-end test deals with).
 */
class KubeEndpointsE2ETest {

  private static final Duration LIVENESS = Duration.ofSeconds(30);
  private static final String HOST = "shop.example.com";

  @TempDir static Path work;

  private static final List<EnvoyProcess> envoys = new ArrayList<>();
  private static ShardSnapshotCache cache;
  private static Server server;
  private static ShardPipeline pipeline;
  private static HttpServer one;
  private static HttpServer two;
  private static List<SourceDocument> documents;
  private static int listenerPort;
  private static int portOne;
  private static int portTwo;

  @RegisterExtension
  static final TestWatcher ENVOY_LOGS_ON_FAILURE =
      E2eSupport.envoyLogsOnFailure(() -> envoys.toArray(EnvoyProcess[]::new));

  @BeforeAll
  static void start() throws Exception {
    EnvoyProcess.binary();
    int[] ports = ExampleConfig.freePorts(5);
    listenerPort = ports[0];
    portOne = ports[1];
    portTwo = ports[2];
    one = E2eSupport.echoBackend(portOne, "pod-one");
    two = E2eSupport.echoBackend(portTwo, "pod-two");
    documents = new YamlDocumentReader().read("kube-e2e.yaml", """
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata: {name: gw, namespace: gloo-system}
        spec: {bindAddress: 127.0.0.1, bindPort: %d, proxyNames: [proxy-kube], httpGateway: {}}
        ---
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: shop, namespace: team-a}
        spec:
          virtualHost:
            domains: [%s]
            routes:
            - routeAction: {single: {kube: {ref: {name: shop}, port: 80}}}
        ---
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata: {name: team-a-shop-80, namespace: gloo-system, labels: {discovered_by: kubernetesplugin}}
        spec: {kube: {serviceName: shop, serviceNamespace: team-a, servicePort: 80}}
        """.formatted(listenerPort, HOST));
    cache = new ShardSnapshotCache();
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", ports[3]))
        .addService(new ShardDiscoveryServer(cache).aggregatedDiscoveryService())
        .build()
        .start();
    pipeline = new ShardPipeline(cache);
    pipeline.accept(input(portOne));
    Path run = Files.createDirectories(work.resolve("run"));
    envoys.add(E2eSupport.startShardEnvoy("envoy-kube", "proxy-kube", ports[3], ports[4], run));
  }

  @AfterAll
  static void stop() throws Exception {
    envoys.forEach(EnvoyProcess::close);
    if (server != null) {
      server.shutdownNow();
      server.awaitTermination(30, TimeUnit.SECONDS);
    }
    if (cache != null) {
      cache.close();
    }
    for (HttpServer backend : new HttpServer[] {one, two}) {
      if (backend != null) {
        backend.stop(0);
      }
    }
  }

  /** The documents (always the same objects) with the Service's port 80 at {@code backendPorts} on 127.0.0.1. */
  private static ConfigInput input(int... backendPorts) {
    List<KubeEndpoint> endpoints = new ArrayList<>();
    for (int port : backendPorts) {
      endpoints.add(new KubeEndpoint("127.0.0.1", port, KubeEndpoint.Health.READY,
          new TreeMap<>(Map.of("app", "shop")), ""));
    }
    ServiceEndpoints shop = new ServiceEndpoints("team-a", "shop", Map.of(80, endpoints));
    EndpointState state = new EndpointState(new TreeMap<>(Map.of(shop.key(), shop)));
    return new ConfigInput("kube e2e", documents, List.of(), state);
  }

  @Test
  void aKubeDestinationReachesTheEndpointsOfItsServiceAndFollowsThem() throws Exception {
    EnvoyProcess envoy = envoys.get(0);
    awaitBody(envoy, "pod-one");

    pipeline.accept(input());
    assertTrue(pipeline.latest().endpointsOnly());
    E2eSupport.awaitStatus(envoy, listenerPort, HOST, "/", 503, LIVENESS);

    pipeline.accept(input(portTwo));
    awaitBody(envoy, "pod-two");
    assertTrue(pipeline.latest().endpointsOnly());
    assertEquals(1, pipeline.translations("gloo-system~proxy-kube"), "only the first pass translated the shard");
    String clusters = E2eSupport.admin(envoy, "/clusters");
    assertTrue(clusters.contains("team-a-shop-80_gloo-system::127.0.0.1:" + portTwo),
        () -> "Envoy's cluster has the new endpoint:\n" + clusters);
  }

  private static void awaitBody(EnvoyProcess envoy, String backend) throws Exception {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    String last = "no answer";
    while (System.nanoTime() - deadline < 0) {
      envoy.checkAlive();
      try {
        RawHttp.Response r = RawHttp.get(listenerPort, HOST, "/");
        if (r.status() == 200 && r.body().startsWith(backend)) {
          return;
        }
        last = r.toString();
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(20);
    }
    throw new AssertionError(HOST + " never reached " + backend + " within " + LIVENESS + "; last: " + last);
  }
}
