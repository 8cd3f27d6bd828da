package io.shardgate.controlplane.ads;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Start-up with a configuration large enough that the first read and translation take seconds even in a warm JVM
 * (the example plus 500 generated VirtualServices of 100 routes each, 50k routes, on the noisy shard), served
 * in-process over real gRPC: the xDS and admin ports are open before the first pass is done, {@code /ready} answers
 * 503 meanwhile, and an Envoy that connects early is answered nothing until its shard's first snapshot is published,
 * then that whole snapshot: never an empty or a partial one. Timeouts are liveness bounds only; the time to open the
 * ports is printed (the serve benchmark measures it in a process of its own).
 */
class StartupProtocolTest {

  private static final Duration LIVENESS = Duration.ofMinutes(2);
  private static final int VIRTUAL_SERVICES = 500;
  private static final int ROUTES_EACH = 100;

  @TempDir Path work;

  private ApplicationContext context;
  private ManagedChannel channel;

  @AfterEach
  void stop() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
    if (context != null) {
      context.close();
    }
  }

  @Test
  void portsOpenBeforeTheFirstPassAndAnEarlyEnvoyGetsOnlyItsWholeFirstSnapshot() throws Exception {
    int[] ports = ExampleConfig.freePorts(6);
    ExampleConfig config = ExampleConfig.copyTo(work.resolve("config"), ports);
    writeGeneratedVirtualServices(config.dir().resolve("virtualservices/catalog/generated.yaml"));

    long starting = System.nanoTime();
    context = ServeCommand.start(config.dir(), ports[4], ports[5], "127.0.0.1");
    long portsOpenMs = (System.nanoTime() - starting) / 1_000_000;
    ShardPipeline pipeline = context.getBean(ShardPipeline.class);
    HttpResponse<String> early = get(ports[5], "/ready");
    channel = NettyChannelBuilder.forAddress("127.0.0.1", ports[4]).usePlaintext().build();
    SotwClient envoy = new SotwClient(channel, "early-envoy", ExampleConfig.NOISY_ROLE);
    envoy.subscribe(Resources.V3.CLUSTER_TYPE_URL, List.of());
    envoy.subscribe(Resources.V3.LISTENER_TYPE_URL, List.of());
    boolean connectedBeforeFirstPass = pipeline.latest() == null;
    System.out.printf("start-up: ports open after %d ms; the first pass %s%n", portsOpenMs,
        connectedBeforeFirstPass ? "was still running when the early Envoy subscribed" : "had already finished");
    assertTrue(connectedBeforeFirstPass, "the first pass finished before the test could connect, so this test"
        + " proves nothing: make the generated configuration larger");
    assertEquals(503, early.statusCode(), early::body);
    assertTrue(early.body().contains("waiting for the first translation"), early::body);

    ServeCommand.awaitFirstTranslation(context, LIVENESS);
    DiscoveryResponse clusters = envoy.next(LIVENESS, "the first CDS response");
    DiscoveryResponse listeners = envoy.next(LIVENESS, "the first LDS response");
    if (clusters.getTypeUrl().equals(Resources.V3.LISTENER_TYPE_URL)) {
      DiscoveryResponse swap = clusters;
      clusters = listeners;
      listeners = swap;
    }
    ShardSnapshotCache cache = context.getBean(ShardSnapshotCache.class);
    var served = cache.resourcesOf(ExampleConfig.NOISY_ROLE);
    assertEquals(served.clusters().size(), clusters.getResourcesCount(), "the whole first CDS, not part of it");
    assertEquals(cache.versionOf(ExampleConfig.NOISY_ROLE, Resources.V3.CLUSTER_TYPE_URL).orElseThrow(),
        clusters.getVersionInfo());
    assertTrue(clusters.getResourcesCount() > 0 && listeners.getResourcesCount() == served.listeners().size()
        && listeners.getResourcesCount() > 0, "the first answers are the shard's snapshot, not an empty one");
    assertNull(envoy.error(), () -> "the early stream failed: " + envoy.error());

    HttpResponse<String> ready = get(ports[5], "/ready");
    assertEquals(200, ready.statusCode(), ready::body);
    assertTrue(ready.body().contains(ExampleConfig.NOISY_ROLE + ": ready"), ready::body);
  }

  private static void writeGeneratedVirtualServices(Path file) throws IOException {
    StringBuilder yaml = new StringBuilder();
    for (int v = 0; v < VIRTUAL_SERVICES; v++) {
      yaml.append("""
          apiVersion: gateway.solo.io/v1
          kind: VirtualService
          metadata:
            name: generated-%d
            namespace: catalog
            labels:
              shard: noisy
          spec:
            virtualHost:
              domains:
              - generated-%d.example.com
              routes:
          """.formatted(v, v));
      for (int r = 0; r < ROUTES_EACH; r++) {
        yaml.append("""
                - matchers:
                  - prefix: /api/%d/
                  routeAction:
                    single:
                      upstream:
                        name: catalog
                        namespace: catalog
            """.formatted(r));
      }
      yaml.append("---\n");
    }
    Files.createDirectories(file.getParent());
    Files.writeString(file, yaml);
  }

  private static HttpResponse<String> get(int port, String path) throws IOException, InterruptedException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(30)).build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }
}
