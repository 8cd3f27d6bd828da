package io.shardgate.controlplane.ads;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.e2e.ExampleConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ADS protocol as the {@code serve} command speaks it, driven by hand: the control plane runs in-process
 * ({@link ServeCommand#start}) on a copy of {@code docs/examples/sharded} in a temp directory, with its real
 * Micronaut gRPC server and real directory watching; the test is the client, over a <b>real grpc-netty channel</b> on
 * a loopback port, playing two Envoys of different shards (node.metadata.role) with state-of-the-world
 * subscriptions, ACKs and all. No Envoy process is involved; {@code ShardedExampleE2ETest} covers that.
 *
 * <p>Timeouts are liveness bounds only, except the one-second window in which the other shard must receive nothing.
 */
class ServeAdsProtocolTest {

  private static final Duration LIVENESS = Duration.ofSeconds(30);
  /** After the protected shard's update arrived, the noisy shard must stay silent this long. */
  private static final Duration QUIET = Duration.ofSeconds(1);

  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;

  @TempDir Path work;

  private ExampleConfig config;
  private ApplicationContext controlPlane;
  private ManagedChannel channel;
  private final List<AdsStream> streams = new ArrayList<>();

  @BeforeEach
  void startControlPlane() throws Exception {
    int[] ports = ExampleConfig.freePorts(6);
    config = ExampleConfig.copyTo(work.resolve("config"), ports);
    controlPlane = ServeCommand.start(config.dir(), ports[4], ports[5], "127.0.0.1");
    ServeCommand.awaitFirstTranslation(controlPlane);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", ports[4]).usePlaintext().build();
  }

  @AfterEach
  void stop() throws InterruptedException {
    streams.forEach(AdsStream::close);
    if (channel != null) {
      channel.shutdownNow();
      channel.awaitTermination(10, TimeUnit.SECONDS);
    }
    if (controlPlane != null) {
      controlPlane.close();
    }
  }

  @Test
  void eachRoleGetsOnlyItsOwnShardsListenerClustersAndRoutes() throws Exception {
    Subscription protectedShard = subscribe(ExampleConfig.PROTECTED_ROLE, config.protectedPort());
    Subscription noisyShard = subscribe(ExampleConfig.NOISY_ROLE, config.noisyPort());

    assertEquals(Set.of(ExampleConfig.listenerName(config.protectedPort())), names(protectedShard.lds, Listener.class));
    assertEquals(Set.of(ExampleConfig.listenerName(config.noisyPort())), names(noisyShard.lds, Listener.class));

    // Like Gloo, every shard gets every Upstream as a cluster for now (docs/gloo-compatibility.md), so only the
    // presence of each shard's own upstream is checked, not the absence of the other's.
    Set<String> protectedClusters = names(protectedShard.cds, Cluster.class);
    Set<String> noisyClusters = names(noisyShard.cds, Cluster.class);
    assertTrue(protectedClusters.contains("payments_payments"), protectedClusters::toString);
    assertTrue(noisyClusters.contains("catalog_catalog"), noisyClusters::toString);

    assertEquals(Set.of("payments.example.com"), domains(protectedShard.rds));
    assertEquals(Set.of("catalog.example.com"), domains(noisyShard.rds));
  }

  @Test
  void aRouteTableEditPushesNewRoutesToItsShardAndNothingToTheOtherShard() throws Exception {
    Subscription protectedShard = subscribe(ExampleConfig.PROTECTED_ROLE, config.protectedPort());
    Subscription noisyShard = subscribe(ExampleConfig.NOISY_ROLE, config.noisyPort());
    assertTrue(routeTimeoutsSeconds(protectedShard.rds).contains(5L), () -> "before: " + protectedShard.rds);

    config.replace("routetables/payments/payments-api.yaml", "timeout: 5s", "timeout: 7s");

    // A RouteTable belongs to the protected shard's route configuration: only RDS changes there.
    DiscoveryResponse update = protectedShard.stream.next(LIVENESS, "the RDS update after the RouteTable edit");
    assertEquals(RDS, update.getTypeUrl(), () -> "only the route configuration changed, got: " + update);
    assertNotEquals(protectedShard.rds.getVersionInfo(), update.getVersionInfo(), "a new RDS version");
    assertTrue(routeTimeoutsSeconds(update).contains(7L), () -> "the edited timeout is pushed: " + update);
    protectedShard.stream.ack(update, List.of(ExampleConfig.routeConfigName(config.protectedPort())));

    DiscoveryResponse noisyGot = noisyShard.stream.responses.poll(QUIET.toMillis(), TimeUnit.MILLISECONDS);
    assertNull(noisyGot, () -> "the noisy shard did not change, yet its Envoy was sent: " + noisyGot);
    DiscoveryResponse protectedAgain = protectedShard.stream.responses.poll();
    assertNull(protectedAgain, () -> "nothing but RDS changed, yet the protected shard was also sent: " + protectedAgain);
    protectedShard.stream.assertNoError();
    noisyShard.stream.assertNoError();
  }

  // ---- protocol helpers ----

  /** The first ACKed response of each type on one stream. */
  private record Subscription(AdsStream stream, DiscoveryResponse lds, DiscoveryResponse cds, DiscoveryResponse rds) {}

  /**
   * Opens a stream as an Envoy of {@code role} would: wildcard LDS and CDS, then RDS for its listener's route
   * configuration, ACKing every response (version_info plus response_nonce) so the server keeps watching.
   */
  private Subscription subscribe(String role, int listenerPort) throws InterruptedException {
    AdsStream stream = new AdsStream(channel, role);
    streams.add(stream);
    stream.request(CDS, List.of());
    stream.request(LDS, List.of());
    Map<String, DiscoveryResponse> first = new HashMap<>();
    while (!first.containsKey(CDS) || !first.containsKey(LDS)) {
      DiscoveryResponse r = stream.next(LIVENESS, "the first LDS and CDS responses for " + role);
      assertTrue(Set.of(CDS, LDS).contains(r.getTypeUrl()), () -> "unexpected response " + r);
      assertFalse(r.getNonce().isEmpty(), () -> "a response without a nonce: " + r);
      stream.ack(r, List.of());
      first.putIfAbsent(r.getTypeUrl(), r);
    }
    List<String> routeNames = List.of(ExampleConfig.routeConfigName(listenerPort));
    stream.request(RDS, routeNames);
    DiscoveryResponse rds = stream.next(LIVENESS, "the first RDS response for " + role);
    assertEquals(RDS, rds.getTypeUrl(), () -> "expected RDS, got " + rds);
    assertEquals(Set.copyOf(routeNames), names(rds, RouteConfiguration.class));
    stream.ack(rds, routeNames);
    return new Subscription(stream, first.get(LDS), first.get(CDS), rds);
  }

  /** One SotW ADS stream; responses land in a queue, requests are sent from the test thread only. */
  private static final class AdsStream implements AutoCloseable {
    final String role;
    final BlockingQueue<DiscoveryResponse> responses = new LinkedBlockingQueue<>();
    private final StreamObserver<DiscoveryRequest> requests;
    private final Node node;
    private volatile Throwable error;
    private volatile boolean completed;
    private boolean nodeSent;

    AdsStream(ManagedChannel channel, String role) {
      this.role = role;
      this.node = Node.newBuilder()
          .setId("ads-test." + role)
          .setCluster("gateway")
          .setMetadata(Struct.newBuilder().putFields("role", Value.newBuilder().setStringValue(role).build()))
          .build();
      this.requests = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(
          new StreamObserver<>() {
            @Override
            public void onNext(DiscoveryResponse response) {
              responses.add(response);
            }

            @Override
            public void onError(Throwable t) {
              error = t;
            }

            @Override
            public void onCompleted() {
              completed = true;
            }
          });
    }

    /** An initial request; like Envoy's bootstraps (set_node_on_first_message_only) only the first carries the node. */
    void request(String typeUrl, List<String> names) {
      send(DiscoveryRequest.newBuilder().setTypeUrl(typeUrl).addAllResourceNames(names));
    }

    void ack(DiscoveryResponse response, List<String> names) {
      send(DiscoveryRequest.newBuilder()
          .setTypeUrl(response.getTypeUrl())
          .setVersionInfo(response.getVersionInfo())
          .setResponseNonce(response.getNonce())
          .addAllResourceNames(names));
    }

    private void send(DiscoveryRequest.Builder request) {
      if (!nodeSent) {
        request.setNode(node);
        nodeSent = true;
      }
      requests.onNext(request.build());
    }

    DiscoveryResponse next(Duration liveness, String what) throws InterruptedException {
      DiscoveryResponse r = responses.poll(liveness.toMillis(), TimeUnit.MILLISECONDS);
      if (r == null) {
        fail("no response within " + liveness + " on the " + role + " stream, waiting for " + what
            + (error != null ? "; the stream failed: " + error : completed ? "; the server ended the stream" : ""));
      }
      return r;
    }

    void assertNoError() {
      assertNull(error, () -> "the " + role + " stream failed: " + error);
      assertFalse(completed, () -> "the server ended the " + role + " stream");
    }

    @Override
    public void close() {
      try {
        requests.onCompleted();
      } catch (RuntimeException ignored) {
        // the channel may be gone already
      }
    }
  }

  private static <T extends Message> List<T> unpack(DiscoveryResponse response, Class<T> type) {
    List<T> out = new ArrayList<>();
    for (Any any : response.getResourcesList()) {
      try {
        out.add(any.unpack(type));
      } catch (InvalidProtocolBufferException e) {
        throw new AssertionError("a " + response.getTypeUrl() + " response holds a " + any.getTypeUrl(), e);
      }
    }
    return out;
  }

  private static Set<String> names(DiscoveryResponse response, Class<? extends Message> type) {
    Set<String> names = new TreeSet<>();
    for (Message m : unpack(response, type)) {
      names.add((String) m.getField(m.getDescriptorForType().findFieldByName("name")));
    }
    return names;
  }

  private static Set<String> domains(DiscoveryResponse rds) {
    Set<String> domains = new TreeSet<>();
    for (RouteConfiguration rc : unpack(rds, RouteConfiguration.class)) {
      for (VirtualHost vh : rc.getVirtualHostsList()) {
        domains.addAll(vh.getDomainsList());
      }
    }
    return domains;
  }

  private static Set<Long> routeTimeoutsSeconds(DiscoveryResponse rds) {
    Set<Long> timeouts = new TreeSet<>();
    for (RouteConfiguration rc : unpack(rds, RouteConfiguration.class)) {
      for (VirtualHost vh : rc.getVirtualHostsList()) {
        vh.getRoutesList().stream()
            .filter(r -> r.hasRoute() && r.getRoute().hasTimeout())
            .forEach(r -> timeouts.add(r.getRoute().getTimeout().getSeconds()));
      }
    }
    return timeouts;
  }
}
