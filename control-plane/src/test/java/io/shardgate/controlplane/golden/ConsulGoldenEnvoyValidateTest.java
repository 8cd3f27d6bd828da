package io.shardgate.controlplane.golden;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.render.Trees;
import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.controlplane.xds.EnvoyValidation;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.translate.LastGood;
import io.shardgate.snapshot.ShardResources;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real Envoy 1.40.0 in {@code --mode validate} accepts the clusters and load assignments of every consul golden
 * case ({@code golden/translation/consul-*}): each EDS cluster becomes a static cluster with its load assignment
 * inlined (what EDS would deliver), so Envoy checks the endpoints and their {@code envoy.lb} metadata, not only the
 * cluster.
 */
class ConsulGoldenEnvoyValidateTest {

  @TempDir Path work;

  @TestFactory
  Stream<DynamicTest> envoyAcceptsTheConsulClustersWithTheirEndpoints() throws Exception {
    Path dir = Path.of(System.getProperty("project.basedir", System.getProperty("user.dir")), "src", "test",
        "resources", "golden", "translation");
    List<Path> cases;
    try (Stream<Path> files = Files.list(dir)) {
      cases = files.filter(p -> p.getFileName().toString().startsWith("consul-")
          && p.getFileName().toString().endsWith(".in.yaml")).sorted().toList();
    }
    assertTrue(cases.size() >= 5, () -> "the consul golden cases: " + cases);
    return cases.stream().map(in -> DynamicTest.dynamicTest(in.getFileName().toString(), () -> validate(in)));
  }

  private void validate(Path in) throws Exception {
    String name = in.getFileName().toString().replace(".in.yaml", "");
    List<SourceDocument> docs = new YamlDocumentReader().read(name + ".in.yaml",
        Files.readString(in, StandardCharsets.UTF_8));
    GoldenSecrets.Split secrets = GoldenSecrets.split(docs);
    GoldenEndpoints.Split split = GoldenEndpoints.split(secrets.documents());
    Translation t = Translation.of(new ConfigInput("golden", split.documents(), List.of(), split.endpoints()),
        LastGood.EMPTY, secrets.secrets());
    Bootstrap.StaticResources.Builder sr = Bootstrap.StaticResources.newBuilder();
    int endpoints = 0;
    for (ShardResources shard : t.xds().values()) {
      for (Cluster c : shard.clusters()) {
        ClusterLoadAssignment cla = shard.endpoints().stream()
            .filter(e -> e.getClusterName().equals(c.getName())).findFirst()
            .orElse(ClusterLoadAssignment.newBuilder().setClusterName(c.getName()).build());
        endpoints += cla.getEndpointsList().stream().mapToInt(l -> l.getLbEndpointsCount()).sum();
        sr.addClusters(c.getType() != Cluster.DiscoveryType.EDS ? c
            : c.toBuilder().clearEdsClusterConfig().setType(Cluster.DiscoveryType.STATIC).setLoadAssignment(cla)
                .build());
      }
    }
    Bootstrap bootstrap = Bootstrap.newBuilder()
        .setNode(Node.newBuilder().setId("envoy-validation").setCluster("envoy-validation"))
        .setStaticResources(sr).build();
    Path config = work.resolve(name + ".yaml");
    Files.writeString(config, Trees.yaml(Trees.proto(bootstrap)), StandardCharsets.UTF_8);
    EnvoyValidation.Run run = EnvoyValidation.validate(config, work);
    assertEquals(0, run.exitCode(), name + ": envoy --mode validate refused it:\n" + run.output() + "\n--- bootstrap\n"
        + Files.readString(config));
    System.out.println("[consul-golden] " + name + ": Envoy accepts " + sr.getClustersCount() + " clusters with "
        + endpoints + " endpoints");
  }
}
