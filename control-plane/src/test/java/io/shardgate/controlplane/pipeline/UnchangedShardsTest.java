package io.shardgate.controlplane.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.source.DirectoryLoader;
import io.shardgate.sharding.translate.LastGood;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A shard whose configuration did not change is neither xDS-translated nor pushed; and skipping it never changes what
 * any Envoy gets: after every edit of a long sequence (metadata, specs, broken files served from their last good
 * version, deletions, the edge), the resources of a pipeline that reuses unchanged shards equal those of a fresh
 * translation of everything.
 */
class UnchangedShardsTest {

  private static final String PROTECTED = ExampleConfig.PROTECTED_ROLE;
  private static final String NOISY = ExampleConfig.NOISY_ROLE;
  private static final String EDGE = "gloo-system~gateway-proxy-edge";
  private static final String PAYMENTS_VS = "virtualservices/payments/payments.yaml";
  private static final String CATALOG_VS = "virtualservices/catalog/catalog.yaml";
  private static final String PAYMENTS_RT = "routetables/payments/payments-api.yaml";
  private static final String SETTINGS = "settings/gloo-system/default.yaml";

  @TempDir Path work;

  private ExampleConfig config;

  private ConfigInput load() {
    return ConfigInput.of(config.dir().toString(), new DirectoryLoader().load(config.dir()));
  }

  @Test
  void aMetadataOnlyEditTranslatesAndPushesNothing() throws IOException {
    config = ExampleConfig.copyTo(work.resolve("config"));
    ShardSnapshotCache cache = new ShardSnapshotCache();
    ShardPipeline pipeline = new ShardPipeline(cache);
    pipeline.accept(load());
    assertEquals(1, pipeline.translations(PROTECTED));
    assertEquals(1, pipeline.translations(NOISY));
    assertEquals(1, pipeline.pushes(PROTECTED));
    String listeners = cache.versionOf(PROTECTED, Resources.V3.LISTENER_TYPE_URL).orElseThrow();

    // A label nobody selects on, an annotation, and every line of a file moved down.
    config.replace(PAYMENTS_VS, "    shard: protected\n", "    shard: protected\n    team: payments\n");
    config.replace(CATALOG_VS, "  namespace: catalog\n",
        "  namespace: catalog\n  annotations:\n    owner: catalog-team@example.com\n");
    prepend(PAYMENTS_RT, "# Moved down by a comment.\n\n\n");
    pipeline.accept(load());
    assertEquals(Set.of(), pipeline.latest().translated());
    assertEquals(1, pipeline.translations(PROTECTED));
    assertEquals(1, pipeline.translations(NOISY));
    assertEquals(1, pipeline.pushes(PROTECTED));
    assertEquals(1, pipeline.pushes(NOISY));
    assertEquals(listeners, cache.versionOf(PROTECTED, Resources.V3.LISTENER_TYPE_URL).orElseThrow());

    // A spec change on the noisy shard translates and pushes the noisy shard only.
    config.replace(CATALOG_VS, "- prefix: /\n", "- prefix: /items\n");
    pipeline.accept(load());
    assertEquals(Set.of(NOISY), pipeline.latest().translated());
    assertEquals(1, pipeline.translations(PROTECTED));
    assertEquals(2, pipeline.translations(NOISY));
    assertEquals(1, pipeline.pushes(PROTECTED));
    assertEquals(2, pipeline.pushes(NOISY));
  }

  @Test
  void reusingUnchangedShardsServesExactlyWhatAFullTranslationWould() throws IOException {
    config = ExampleConfig.copyTo(work.resolve("config"));
    Steps steps = new Steps();
    steps.check("start", Set.of(PROTECTED, NOISY));

    config.replace(PAYMENTS_VS, "    shard: protected\n", "    shard: protected\n    team: payments\n");
    steps.check("label", Set.of());
    prepend(CATALOG_VS, "# comment\n# comment\n");
    steps.check("lines moved", Set.of());
    config.replace(CATALOG_VS, "- prefix: /\n", "- prefix: /items\n");
    steps.check("catalog route", Set.of(NOISY));

    // A RouteTable that stops decoding keeps serving its last good routes: the shard serves exactly what it served,
    // so it is not translated to xDS again...
    config.replace(PAYMENTS_RT, "  routes:\n", "  weight: heavy\n  routes:\n");
    steps.check("table broken", Set.of());
    // ...an edit that leaves it broken changes nothing served...
    config.replace(PAYMENTS_RT, "weight: heavy", "weight: heavier");
    steps.check("table still broken", Set.of());
    // ...and deleting it does.
    String table = Files.readString(config.file(PAYMENTS_RT), StandardCharsets.UTF_8);
    Files.delete(config.file(PAYMENTS_RT));
    steps.check("table deleted", Set.of(PROTECTED));
    Files.writeString(config.file(PAYMENTS_RT), table.replace("  weight: heavier\n", ""), StandardCharsets.UTF_8);
    steps.check("table back", Set.of(PROTECTED));

    // An Upstream nobody reaches.
    Files.writeString(config.file("upstreams/catalog/spare.yaml"), """
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata: {name: spare, namespace: catalog}
        spec: {static: {hosts: [{addr: 127.0.0.1, port: 9999}]}}
        """, StandardCharsets.UTF_8);
    steps.check("unreached upstream", Set.of());

    // The edge: only the edge is translated; then a metadata edit translates nothing, the edge included.
    config.replace(SETTINGS, "gateway:\n", """
        shardgate:
          edge:
            enabled: true
            shardAddresses:
              gateway-proxy-protected: 127.0.0.1:8080
              gateway-proxy-noisy: 127.0.0.1:8090
        gateway:
        """);
    steps.check("edge enabled", Set.of(EDGE));
    config.replace(PAYMENTS_VS, "    team: payments\n", "    team: billing\n");
    steps.check("label again", Set.of());
    config.replace(CATALOG_VS, "catalog.example.com", "shop.example.com");
    steps.check("catalog domain", Set.of(NOISY, EDGE));
  }

  /** Runs the same inputs through a reusing and a fresh translation, comparing them at every step. */
  private final class Steps {
    private Translation before;
    private final TranslationEngine engine = new TranslationEngine();
    private LastGood reuseLastGood = LastGood.EMPTY;
    private LastGood freshLastGood = LastGood.EMPTY;

    void check(String step, Set<String> expectTranslated) {
      ConfigInput input = load();
      Translation reused = engine.translate(input, reuseLastGood);
      Translation fresh = Translation.of(input, freshLastGood);
      assertEquals(fresh.xds().keySet(), reused.xds().keySet(), step);
      fresh.xds().forEach(
          (role, resources) -> assertEquals(resources, reused.xds().get(role), step + ": " + role + " differs"));
      assertEquals(fresh.plan().fingerprints(), reused.plan().fingerprints(), step);
      assertEquals(expectTranslated, reused.translated(), step);
      assertEquals(fresh.xds().keySet(), fresh.translated(), step);
      if (before != null && !expectTranslated.isEmpty()) {
        for (String role : expectTranslated) {
          assertNotEquals(before.plan().fingerprintOf(role), reused.plan().fingerprintOf(role), step);
        }
      }
      assertTrue(fresh.gateway().lastGood().equals(reused.gateway().lastGood()), step);
      before = reused;
      reuseLastGood = reused.gateway().lastGood();
      freshLastGood = fresh.gateway().lastGood();
    }
  }

  private void prepend(String relative, String text) throws IOException {
    Path file = config.file(relative);
    Files.writeString(file, text + Files.readString(file, StandardCharsets.UTF_8), StandardCharsets.UTF_8);
  }
}
