package io.shardgate.snapshot;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A cache, its discovery server on a real grpc-netty server on a loopback port, and a channel to it: one
 * control-plane process, for tests that play Envoy with raw streams ({@link SotwStream}, {@link DeltaStream}).
 */
final class TestControlPlane implements AutoCloseable {

  /** Long enough that a test which must see a stage move on because of an answer never sees it move by timeout. */
  static final Duration NO_GRACE = Duration.ofMinutes(10);

  final ShardSnapshotCache cache;
  final ShardDiscoveryServer xds;
  final Server server;
  final ManagedChannel channel;
  /** Requests the server handled, per stream: each stream's {@code send} waits for its own. */
  private final HandledRequests handled = new HandledRequests();
  private final AtomicInteger streamIds = new AtomicInteger();
  private final List<AutoCloseable> streams = new ArrayList<>();
  private boolean stopped;

  TestControlPlane() {
    this(new ShardSnapshotCache(), ShardStreamListener.NONE);
  }

  TestControlPlane(Duration stageGracePeriod, ResponsePacing pacing) {
    this(new ShardSnapshotCache(FallbackConfig.DEFAULT, stageGracePeriod, pacing), ShardStreamListener.NONE);
  }

  TestControlPlane(ShardSnapshotCache cache, ShardStreamListener listener) {
    this.cache = cache;
    this.xds = new ShardDiscoveryServer(cache, List.of(), listener);
    try {
      server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
          .addService(ServerInterceptors.intercept(xds.aggregatedDiscoveryService(), handled))
          .build()
          .start();
    } catch (IOException e) {
      throw new AssertionError("cannot start the gRPC server", e);
    }
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
  }

  SotwStream sotw(String nodeId, String role) {
    SotwStream stream = new SotwStream(channel, Fixtures.node(nodeId, role), handled,
        "sotw-" + streamIds.incrementAndGet());
    streams.add(stream);
    return stream;
  }

  DeltaStream delta(String nodeId, String role) {
    DeltaStream stream = new DeltaStream(channel, Fixtures.node(nodeId, role), handled,
        "delta-" + streamIds.incrementAndGet());
    streams.add(stream);
    return stream;
  }

  /** Closes every stream, the channel, the server and the cache. */
  @Override
  public void close() throws Exception {
    if (stopped) {
      return;
    }
    stopped = true;
    for (AutoCloseable stream : streams) {
      stream.close();
    }
    channel.shutdownNow();
    server.shutdownNow();
    cache.close();
    assertTrue(channel.awaitTermination(SotwStream.RESPONSE_TIMEOUT_S, TimeUnit.SECONDS), "channel did not stop");
    assertTrue(server.awaitTermination(SotwStream.RESPONSE_TIMEOUT_S, TimeUnit.SECONDS), "server did not stop");
  }
}
