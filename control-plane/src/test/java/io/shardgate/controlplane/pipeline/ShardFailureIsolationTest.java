package io.shardgate.controlplane.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.micronaut.http.HttpResponse;
import io.shardgate.controlplane.app.AdminController;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.source.DirectoryLoader;
import io.shardgate.controlplane.xds.XdsTranslator;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bug in one shard's translation fails that shard only. There is no input known to make the xDS translator throw,
 * so this test injects the fault: an xDS translator that throws for the noisy shard while a switch is on (a stand-in
 * for a bug, named so). While it throws, the protected shard keeps taking edits, the noisy shard keeps serving its
 * previous snapshot, {@link ShardPipeline#failures()} names it, and {@code /ready} says it is not ready without
 * taking the process out of service; once the fault is gone, the noisy shard catches up.
 */
class ShardFailureIsolationTest {

  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;

  @TempDir Path work;

  @Test
  void aShardWhoseTranslationThrowsKeepsItsSnapshotAndTheOthersGoOn() throws Exception {
    ExampleConfig config = ExampleConfig.copyTo(work.resolve("config"));
    AtomicBoolean injectedFault = new AtomicBoolean();
    TranslationEngine engine = new TranslationEngine(null, shard -> {
      if (injectedFault.get() && shard.proxy().role().equals(ExampleConfig.NOISY_ROLE)) {
        throw new IllegalStateException("injected fault standing in for a translator bug");
      }
      return XdsTranslator.translate(shard);
    });
    ShardSnapshotCache cache = new ShardSnapshotCache();
    ShardPipeline pipeline = new ShardPipeline(cache, null, PipelineObserver.NONE, engine);
    AdminController admin = new AdminController(pipeline, cache);
    pipeline.accept(load(config));
    String noisyBefore = cache.versionOf(ExampleConfig.NOISY_ROLE, RDS).orElseThrow();
    String protectedBefore = cache.versionOf(ExampleConfig.PROTECTED_ROLE, RDS).orElseThrow();

    injectedFault.set(true);
    config.replace("virtualservices/catalog/catalog.yaml", "- prefix: /\n", "- prefix: /items\n");
    config.replace("routetables/payments/payments-api.yaml", "timeout: 5s", "timeout: 7s");
    pipeline.accept(load(config));

    assertEquals(noisyBefore, cache.versionOf(ExampleConfig.NOISY_ROLE, RDS).orElseThrow(), "noisy keeps its snapshot");
    assertNotEquals(protectedBefore, cache.versionOf(ExampleConfig.PROTECTED_ROLE, RDS).orElseThrow(),
        "the protected shard's edit is published");
    String failure = pipeline.failures().get(ExampleConfig.NOISY_ROLE);
    assertTrue(failure != null && failure.contains("IllegalStateException")
        && failure.contains("keeps serving what it served before"), String.valueOf(pipeline.failures()));
    assertEquals(1, pipeline.failures().size(), pipeline.failures().toString());
    assertTrue(cache.knownRoles().contains(ExampleConfig.NOISY_ROLE), "the noisy shard is not retired");

    HttpResponse<String> ready = admin.ready(null);
    assertEquals(200, ready.code(), "the process stays ready: every other shard still gets its updates");
    String body = ready.body();
    assertTrue(body.contains(ExampleConfig.NOISY_ROLE + ": not ready: internal error"), body);
    assertTrue(body.contains(ExampleConfig.PROTECTED_ROLE + ": ready"), body);
    assertEquals(503, admin.ready(true).code(), "strict readiness fails while a shard is not ready");

    injectedFault.set(false);
    config.replace("virtualservices/catalog/catalog.yaml", "- prefix: /items\n", "- prefix: /things\n");
    pipeline.accept(load(config));
    assertTrue(pipeline.failures().isEmpty(), pipeline.failures().toString());
    assertNotEquals(noisyBefore, cache.versionOf(ExampleConfig.NOISY_ROLE, RDS).orElseThrow(), "noisy caught up");
    assertEquals(200, admin.ready(true).code());
  }

  private static ConfigInput load(ExampleConfig config) {
    return ConfigInput.of(config.dir().toString(), new DirectoryLoader().load(config.dir()));
  }
}
