package io.shardgate.loadtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.source.DirectoryContents;
import io.shardgate.controlplane.source.DirectoryLoader;
import io.shardgate.loadtests.GlooConfigGenerator.Edit;
import io.shardgate.loadtests.GlooConfigGenerator.Workload;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.snapshot.ShardResources;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The serve benchmark's workload is what it claims to be, read by the real directory loader and translated by the
 * real pipeline (in-process, no serve): every resource is accepted without a warning, every shard gets exactly its
 * VirtualServices and routes, and an edit changes only the edited shard's RouteConfiguration, visibly. A benchmark of
 * a workload whose resources were rejected or shadowed would measure the wrong thing without failing.
 */
class GlooConfigGeneratorTest {

  private static final Workload TINY = new Workload(3, 2, 12);

  @TempDir Path dir;

  @Test
  void everyResourceIsAcceptedAndEveryShardServesItsOwnRoutes() throws Exception {
    GlooConfigGenerator.writeTo(dir, TINY);
    DirectoryContents contents = new DirectoryLoader().load(dir);
    assertEquals(List.of(), contents.problems(), "source problems");
    assertEquals(TINY.files(), contents.fileHashes().size(), "files");
    assertEquals(TINY.files(), contents.documents().size(), "one document per file");

    Translation t = Translation.of(ConfigInput.of(dir.toString(), contents));
    assertEquals(List.of(), t.gateway().documentProblems());
    List<String> notAccepted = new ArrayList<>();
    t.gateway().statuses().values().stream()
        .filter(s -> s.state() != ResourceState.ACCEPTED)
        .forEach(s -> notAccepted.add(s.key() + ": " + s.state() + " " + s.reason()));
    assertEquals(List.of(), notAccepted, "every resource accepted, no warnings");

    Set<String> roles = new TreeSet<>();
    for (int s = 0; s < TINY.shards(); s++) {
      roles.add(GlooConfigGenerator.role(s));
    }
    assertEquals(roles, t.xds().keySet());
    int routes = 0;
    for (int s = 0; s < TINY.shards(); s++) {
      ShardResources shard = t.xds().get(GlooConfigGenerator.role(s));
      assertEquals(1, shard.listeners().size(), "one listener per shard");
      assertEquals(TINY.vsPerShard() * 2, shard.clusters().size(), "two upstreams per VirtualService");
      Set<String> domains = new TreeSet<>();
      for (RouteConfiguration rc : shard.routes()) {
        for (VirtualHost vh : rc.getVirtualHostsList()) {
          domains.addAll(vh.getDomainsList());
          assertEquals(2 * TINY.routesPerTable() + 1, vh.getRoutesCount(), vh.getName());
          routes += vh.getRoutesCount();
        }
      }
      Set<String> expected = new TreeSet<>();
      for (int v = 0; v < TINY.vsPerShard(); v++) {
        expected.add("api-" + s + "-" + v + ".example.com");
      }
      assertEquals(expected, domains, "shard " + s + " serves exactly its VirtualServices");
    }
    assertEquals(TINY.routes(), routes);
    String rds = t.xds().get(GlooConfigGenerator.role(0)).routes().toString();
    assertTrue(rds.contains("x-canary") && rds.contains("prefix_rewrite") && rds.contains("retry_on"),
        "rich routes carry a header matcher, a prefix rewrite and retries");
  }

  @Test
  void eachEditChangesOnlyTheEditedShardsRouteConfigurationAndShowsItsMarker() throws Exception {
    GlooConfigGenerator.writeTo(dir, TINY);
    Translation before = Translation.of(ConfigInput.of("before", new DirectoryLoader().load(dir)));
    Set<String> markers = new TreeSet<>();
    for (int n = 0; n < 2; n++) {
      Edit edit = GlooConfigGenerator.edit(1, 1, n);
      Files.writeString(dir.resolve(edit.path()), edit.content(), StandardCharsets.UTF_8);
      DirectoryContents contents = new DirectoryLoader().load(dir);
      assertEquals(List.of(), contents.problems());
      Translation after = Translation.of(ConfigInput.of("after", contents));
      assertFalse(after.gateway().hasRejected());
      for (int s = 0; s < TINY.shards(); s++) {
        ShardResources was = before.xds().get(GlooConfigGenerator.role(s));
        ShardResources now = after.xds().get(GlooConfigGenerator.role(s));
        assertEquals(was.listeners(), now.listeners(), "listeners of shard " + s);
        assertEquals(was.clusters(), now.clusters(), "clusters of shard " + s);
        if (s == 1) {
          assertNotEquals(was.routes(), now.routes(), "the edited shard's routes change");
          assertTrue(now.routes().toString().contains(edit.marker()), "marker of edit " + n);
          assertFalse(was.routes().toString().contains(edit.marker()));
        } else {
          assertEquals(was.routes(), now.routes(), "routes of shard " + s);
        }
      }
      markers.add(edit.marker());
      before = after;
    }
    assertEquals(2, markers.size(), "every edit is a new change");
  }
}
