package io.shardgate.controlplane.ads;

import static io.shardgate.controlplane.pipeline.KubeShards.CLUSTER_S;
import static io.shardgate.controlplane.pipeline.KubeShards.CLUSTER_T;
import static io.shardgate.controlplane.pipeline.KubeShards.ROLE_A;
import static io.shardgate.controlplane.pipeline.KubeShards.ROLE_B;
import static io.shardgate.controlplane.pipeline.TlsShards.A_TLS;
import static io.shardgate.controlplane.pipeline.TlsShards.B_TLS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.shardgate.controlplane.pipeline.PipelineObserver;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.pipeline.TlsShards;
import io.shardgate.controlplane.secret.TestSecrets;
import io.shardgate.controlplane.xds.XdsNames;
import io.shardgate.snapshot.ShardDiscoveryServer;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A certificate rotation as Envoys see it on the wire: the pipeline feeds the real snapshot cache and discovery server
 * on a real grpc-netty server on 127.0.0.1; the project's SotW and delta ADS clients play the Envoys of two shards
 * (CDS, EDS, LDS, RDS and SDS subscribed and ACKed). Rotating the secret shard A uses must reach shard A's Envoys as
 * one SDS response and nothing else, and shard B's Envoy not at all. The shards' secret uses are the stand-in of
 * {@link TlsShards#uses} (until SSL listeners name secrets); everything on the wire is real.
 *
 * <p>Timeouts are liveness bounds, except {@link #QUIET}: after the expected push arrived, nothing else may arrive for
 * that long.
 */
class SecretRotationProtocolTest {

  private static final Duration LIVENESS = Duration.ofSeconds(60);
  private static final Duration QUIET = Duration.ofSeconds(1);
  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;
  private static final String SDS = Resources.V3.SECRET_TYPE_URL;
  private static final String ROUTES = "listener-::-8080-routes";

  @TempDir Path pkiDir;
  private TlsShards tls;
  private final ShardSnapshotCache cache = new ShardSnapshotCache();
  private final List<AutoCloseable> clients = new ArrayList<>();
  private Server server;
  private ManagedChannel channel;
  private ShardPipeline pipeline;

  @BeforeEach
  void start() throws Exception {
    tls = new TlsShards(pkiDir);
    ShardDiscoveryServer xds = new ShardDiscoveryServer(cache);
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(xds.aggregatedDiscoveryService())
        .build()
        .start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    pipeline = new ShardPipeline(cache, null, PipelineObserver.NONE, TlsShards.engine(Clock.systemUTC()));
    pipeline.accept(tls.input());
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : clients) {
      c.close();
    }
    channel.shutdownNow();
    server.shutdownNow();
    cache.close();
    channel.awaitTermination(30, TimeUnit.SECONDS);
    server.awaitTermination(30, TimeUnit.SECONDS);
  }

  @Test
  void aRotationReachesOnlyTheShardUsingTheSecretAndOnlyAsSds() throws Exception {
    SotwClient a = sotw("envoy-a", ROLE_A, CLUSTER_S, List.of(XdsNames.certificateSecret(A_TLS)));
    SotwClient b = sotw("envoy-b", ROLE_B, CLUSTER_T,
        List.of(XdsNames.certificateSecret(B_TLS), XdsNames.validationSecret(B_TLS)));
    DeltaClient d = delta("envoy-a-delta", ROLE_A, CLUSTER_S, List.of(XdsNames.certificateSecret(A_TLS)));
    Map<String, Integer> aBefore = a.pushes();
    Map<String, Integer> bBefore = b.pushes();
    Map<String, Integer> dBefore = d.pushes();

    TestSecrets.Pem rotated = tls.pki.leaf("a.example.com");
    tls.put(A_TLS, rotated, false);
    pipeline.accept(tls.input());

    awaitPush("SotW shard A", () -> added(aBefore, a.pushes()), a::error);
    awaitPush("delta shard A", () -> added(dBefore, d.pushes()), d::error);
    Thread.sleep(QUIET.toMillis());

    assertEquals(Map.of(SDS, 1), added(aBefore, a.pushes()), "shard A's SotW Envoy: one SDS response, nothing else");
    assertEquals(Map.of(SDS, 1), added(dBefore, d.pushes()), "shard A's delta Envoy: one SDS response");
    assertEquals(Map.of(), added(bBefore, b.pushes()), "shard B's Envoy: nothing");
    DiscoveryResponse sds = lastOf(a.received(), SDS);
    assertEquals(1, sds.getResourcesCount());
    Secret secret = sds.getResources(0).unpack(Secret.class);
    assertEquals(XdsNames.certificateSecret(A_TLS), secret.getName());
    assertEquals(rotated.certificate(),
        secret.getTlsCertificate().getCertificateChain().getInlineBytes().toString(StandardCharsets.UTF_8));
    DeltaDiscoveryResponse deltaSds = d.received().get(d.received().size() - 1);
    assertEquals(SDS, deltaSds.getTypeUrl());
    assertEquals(1, deltaSds.getResourcesCount(), "delta: the one changed secret");
    assertNull(a.error());
    assertNull(b.error());
    assertNull(d.error());
  }

  private SotwClient sotw(String nodeId, String role, String cluster, List<String> secrets) {
    SotwClient c = new SotwClient(channel, nodeId, role);
    clients.add(c);
    c.subscribeAndAck(CDS, List.of(), LIVENESS);
    c.subscribeAndAck(EDS, List.of(cluster), LIVENESS);
    c.subscribeAndAck(LDS, List.of(), LIVENESS);
    c.subscribeAndAck(RDS, List.of(ROUTES), LIVENESS);
    DiscoveryResponse sds = c.subscribeAndAck(SDS, secrets, LIVENESS);
    assertEquals(secrets.size(), sds.getResourcesCount(), () -> role + ": its secrets: " + sds);
    c.autoAck();
    return c;
  }

  private DeltaClient delta(String nodeId, String role, String cluster, List<String> secrets) {
    DeltaClient c = new DeltaClient(channel, nodeId, role);
    clients.add(c);
    c.subscribeAndAck(CDS, List.of(), LIVENESS);
    c.subscribeAndAck(EDS, List.of(cluster), LIVENESS);
    c.subscribeAndAck(LDS, List.of(), LIVENESS);
    c.subscribeAndAck(RDS, List.of(ROUTES), LIVENESS);
    DeltaDiscoveryResponse sds = c.subscribeAndAck(SDS, secrets, LIVENESS);
    assertEquals(secrets.size(), sds.getResourcesCount(), () -> role + ": its secrets (delta): " + sds);
    c.autoAck();
    return c;
  }

  private static void awaitPush(String what, Supplier<Map<String, Integer>> added, Supplier<Throwable> error)
      throws InterruptedException {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    while (added.get().isEmpty()) {
      if (System.nanoTime() > deadline) {
        fail("no push to " + what + " within " + LIVENESS + (error.get() != null ? "; the stream failed: "
            + error.get() : ""));
      }
      Thread.sleep(20);
    }
  }

  private static DiscoveryResponse lastOf(List<DiscoveryResponse> all, String typeUrl) {
    for (int i = all.size() - 1; i >= 0; i--) {
      if (all.get(i).getTypeUrl().equals(typeUrl)) {
        return all.get(i);
      }
    }
    throw new AssertionError("no " + typeUrl + " response");
  }

  private static Map<String, Integer> added(Map<String, Integer> before, Map<String, Integer> now) {
    Map<String, Integer> out = new TreeMap<>();
    now.forEach((type, n) -> {
      int diff = n - before.getOrDefault(type, 0);
      if (diff != 0) {
        out.put(type, diff);
      }
    });
    return out;
  }
}
