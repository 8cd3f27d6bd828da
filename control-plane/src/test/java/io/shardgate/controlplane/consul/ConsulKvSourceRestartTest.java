package io.shardgate.controlplane.consul;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.source.ConsulKvClient;
import io.shardgate.controlplane.source.ConsulKvSource;
import io.shardgate.controlplane.source.ConsulKvWriter;
import io.shardgate.controlplane.source.DirectoryLoader;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Consul KV source across a real Consul restart and a real index reset, against a persistent single-server
 * Consul 1.16.1 (its KV store and index survive a restart, as a production server's do): while Consul is down the
 * source is unhealthy and the last config keeps serving; after the restart, and after a snapshot restore that takes
 * the KV index back below what the source last saw (Consul's "index went backwards" case) with the same content,
 * nothing is lost, nothing is delivered and nothing is pushed; an edit after the reset is still seen.
 */
class ConsulKvSourceRestartTest {

  private static final Duration BOUND = Duration.ofSeconds(60);
  private static final String PROTECTED = ExampleConfig.PROTECTED_ROLE;
  private static final String NOISY = ExampleConfig.NOISY_ROLE;
  private static final String RT_KEY = "gloo/gateway.solo.io/v1/RouteTable/payments/payments-api";
  private static final String COPY_KEY = "gloo/gloo.solo.io/v1/Upstream/catalog/catalog-copy";

  @RegisterExtension
  static final ConsulAgent CONSUL = new ConsulAgent(true);

  private final AtomicLong deliveries = new AtomicLong();
  private final AtomicReference<ConfigInput> lastInput = new AtomicReference<>();
  private ConsulKvSource source;

  @AfterEach
  void closeSource() {
    if (source != null) {
      source.close();
    }
  }

  @Test
  void aRestartAndAnIndexResetLoseNothingAndPushNothing() throws Exception {
    ConsulKvClient kv = new ConsulKvClient(ConsulKvClient.Options.of(CONSUL.address()));
    new ConsulKvWriter(kv, "gloo").push(new DirectoryLoader().load(ExampleConfig.repoRoot()
        .resolve("docs/examples/sharded")), false);
    ShardPipeline pipeline = new ShardPipeline(new ShardSnapshotCache());
    source = new ConsulKvSource(kv, ConsulKvSource.quick("gloo"), input -> {
      deliveries.incrementAndGet();
      lastInput.set(input);
      pipeline.accept(input);
    });
    source.start();
    await("the payments route", () -> routesOf(pipeline, PROTECTED),
        () -> routesOf(pipeline, PROTECTED).contains("/payments/v1"));
    long delivered = deliveries.get();
    long prot = pipeline.pushes(PROTECTED);
    long noisy = pipeline.pushes(NOISY);
    String served = routesOf(pipeline, PROTECTED) + routesOf(pipeline, NOISY);

    // A restart: Consul is gone for a while, then back with the same data and index.
    CONSUL.stop();
    await("the source unhealthy", () -> "" + source.health(), () -> source.health().isPresent());
    assertTrue(source.health().get().contains("unreachable since"), source.health().get());
    assertEquals(served, routesOf(pipeline, PROTECTED) + routesOf(pipeline, NOISY), "served while Consul is down");
    CONSUL.restart(false);
    await("the source healthy again", () -> "" + source.health(), () -> source.health().isEmpty());
    long queries = source.queries();
    await("a full read and a blocking query after the restart", () -> "" + source.queries(),
        () -> source.queries() >= queries + 1);
    assertEquals(delivered, deliveries.get(), "the same content after a restart is not delivered again");
    assertEquals(prot, pipeline.pushes(PROTECTED));
    assertEquals(noisy, pipeline.pushes(NOISY));

    // An index reset: a snapshot, two edits that cancel out (the index moves on), then the snapshot restored, which
    // takes the KV index back below what the source saw last, with the same content.
    byte[] snapshot = CONSUL.saveSnapshot();
    kv.put(COPY_KEY, "metadata: {name: catalog-copy, namespace: catalog}\nstatic: {hosts: [{addr: 127.0.0.1, port: 9300}]}\n"
        .getBytes(StandardCharsets.UTF_8));
    await("the copy read", () -> "" + lastInput.get().documents().size(),
        () -> lastInput.get().documents().stream().anyMatch(d -> d.origin().contains("catalog-copy")));
    kv.delete(COPY_KEY);
    await("the copy gone", () -> "" + lastInput.get().documents().size(),
        () -> lastInput.get().documents().stream().noneMatch(d -> d.origin().contains("catalog-copy")));
    long deliveredBeforeReset = deliveries.get();
    long protBeforeReset = pipeline.pushes(PROTECTED);
    long noisyBeforeReset = pipeline.pushes(NOISY);
    CONSUL.restoreSnapshot(snapshot);
    await("the source seeing the index go back", () -> "resets " + source.indexResets(),
        () -> source.indexResets() > 0);
    // Give a wrong delivery every chance to happen before checking that none did: the next blocking query is parked.
    long afterReset = source.queries();
    await("the watch parked again after the reset", () -> "" + source.queries(), () -> source.queries() > afterReset);
    assertEquals(deliveredBeforeReset, deliveries.get(), "an index reset with the same content delivers nothing");
    assertEquals(protBeforeReset, pipeline.pushes(PROTECTED), "and pushes nothing");
    assertEquals(noisyBeforeReset, pipeline.pushes(NOISY));
    assertEquals(served, routesOf(pipeline, PROTECTED) + routesOf(pipeline, NOISY), "nothing lost");

    // The watch follows the new, lower index: an edit after the reset is served.
    String v2 = "metadata: {name: payments-api, namespace: payments}\nroutes:\n- matchers: [{prefix: /payments/v2}]\n"
        + "  routeAction: {single: {upstream: {name: payments, namespace: payments}}}\n";
    kv.put(RT_KEY, v2.getBytes(StandardCharsets.UTF_8));
    await("an edit after the reset", () -> routesOf(pipeline, PROTECTED),
        () -> routesOf(pipeline, PROTECTED).contains("/payments/v2"));
    assertEquals(noisyBeforeReset, pipeline.pushes(NOISY), "the edit reaches only its shard");
  }

  private static String routesOf(ShardPipeline pipeline, String role) {
    Translation t = pipeline.latest();
    return t == null || t.xds().get(role) == null ? "" : t.xds().get(role).routes().toString();
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
