package io.shardgate.controlplane.ads;

import static io.shardgate.controlplane.pipeline.KubeShards.CLUSTER_S;
import static io.shardgate.controlplane.pipeline.KubeShards.CLUSTER_T;
import static io.shardgate.controlplane.pipeline.KubeShards.ROLE_A;
import static io.shardgate.controlplane.pipeline.KubeShards.ROLE_B;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.shardgate.controlplane.pipeline.KubeShards;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.xds.EndpointTranslator;
import io.shardgate.snapshot.ShardDiscoveryServer;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Endpoint churn as Envoys see it on the wire: the pipeline feeds the real snapshot cache and discovery server on a
 * real grpc-netty server on 127.0.0.1, and raw ADS streams play one Envoy of each shard (CDS, EDS, LDS and RDS
 * subscribed and ACKed as Envoy does). A change of the endpoints of a Service that only shard A reaches must reach
 * shard A's Envoy as one EDS response and nothing else, and shard B's Envoy not at all.
 *
 * <p>Timeouts are liveness bounds, except {@link #QUIET}: after the expected push arrived, nothing else may arrive
 * for that long.
 */
class EndpointPushProtocolTest {

  private static final Duration LIVENESS = Duration.ofSeconds(60);
  private static final Duration QUIET = Duration.ofSeconds(1);
  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;
  private static final String ROUTES = "listener-::-8080-routes";

  private final KubeShards shards = new KubeShards();
  private final ShardSnapshotCache cache = new ShardSnapshotCache();
  private final List<SotwClient> clients = new ArrayList<>();
  private Server server;
  private ManagedChannel channel;
  private ShardPipeline pipeline;

  @BeforeEach
  void start() throws Exception {
    ShardDiscoveryServer xds = new ShardDiscoveryServer(cache);
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(xds.aggregatedDiscoveryService())
        .build()
        .start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    pipeline = new ShardPipeline(cache);
    pipeline.accept(shards.input());
  }

  @AfterEach
  void stop() throws Exception {
    clients.forEach(SotwClient::close);
    channel.shutdownNow();
    server.shutdownNow();
    cache.close();
    channel.awaitTermination(30, TimeUnit.SECONDS);
    server.awaitTermination(30, TimeUnit.SECONDS);
  }

  @Test
  void anEndpointChangeReachesOnlyTheShardThatRoutesToTheServiceAndOnlyAsEds() throws Exception {
    SotwClient a = envoy("envoy-a", ROLE_A, CLUSTER_S);
    SotwClient b = envoy("envoy-b", ROLE_B, CLUSTER_T);
    Map<String, Integer> aBefore = a.pushes();
    Map<String, Integer> bBefore = b.pushes();

    shards.scale("s", 3);
    pipeline.accept(shards.input());

    long deadline = System.nanoTime() + LIVENESS.toNanos();
    while (added(aBefore, a.pushes()).getOrDefault(EDS, 0) < 1) {
      if (System.nanoTime() > deadline) {
        fail("no EDS push to shard A within " + LIVENESS + "; pushes since the change: " + added(aBefore, a.pushes())
            + (a.error() != null ? "; the stream failed: " + a.error() : ""));
      }
      Thread.sleep(20);
    }
    Thread.sleep(QUIET.toMillis());

    assertEquals(Map.of(EDS, 1), added(aBefore, a.pushes()), "shard A's Envoy: one EDS response, nothing else");
    assertEquals(Map.of(), added(bBefore, b.pushes()), "shard B's Envoy: nothing");
    DiscoveryResponse eds = lastOf(a, EDS);
    assertEquals(1, eds.getResourcesCount());
    ClusterLoadAssignment cla = eds.getResources(0).unpack(ClusterLoadAssignment.class);
    assertEquals(CLUSTER_S, cla.getClusterName());
    assertEquals(3, EndpointTranslator.endpointCount(cla), () -> "the new endpoints are sent: " + cla);
    for (SotwClient c : List.of(a, b)) {
      assertNull(c.error(), () -> c.role() + " stream failed: " + c.error());
    }
  }

  /** One Envoy of a shard: subscribes to CDS, EDS (its cluster), LDS and RDS, ACKs each, then ACKs everything. */
  private SotwClient envoy(String nodeId, String role, String cluster) {
    SotwClient c = new SotwClient(channel, nodeId, role);
    clients.add(c);
    c.subscribeAndAck(CDS, List.of(), LIVENESS);
    DiscoveryResponse eds = c.subscribeAndAck(EDS, List.of(cluster), LIVENESS);
    assertEquals(1, eds.getResourcesCount(), () -> role + ": the load assignment of " + cluster + ": " + eds);
    c.subscribeAndAck(LDS, List.of(), LIVENESS);
    c.subscribeAndAck(RDS, List.of(ROUTES), LIVENESS);
    c.autoAck();
    return c;
  }

  private static DiscoveryResponse lastOf(SotwClient c, String typeUrl) {
    List<DiscoveryResponse> all = c.received();
    for (int i = all.size() - 1; i >= 0; i--) {
      if (all.get(i).getTypeUrl().equals(typeUrl)) {
        return all.get(i);
      }
    }
    throw new AssertionError("no " + typeUrl + " response on the " + c.role() + " stream");
  }

  private static Map<String, Integer> added(Map<String, Integer> before, Map<String, Integer> now) {
    Map<String, Integer> out = new TreeMap<>();
    now.forEach((type, n) -> {
      int d = n - before.getOrDefault(type, 0);
      if (d != 0) {
        out.put(type, d);
      }
    });
    return out;
  }
}
