package io.shardgate.controlplane.app;

import io.envoyproxy.controlplane.cache.Resources;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Produces;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.render.Trees;
import io.shardgate.controlplane.xds.EndpointTranslator;
import io.shardgate.sharding.plan.EdgePlan;
import io.shardgate.sharding.plan.ShardPlan;
import io.shardgate.snapshot.ShardDiscoveryServer;
import io.shardgate.snapshot.ShardResources;
import io.shardgate.snapshot.ShardSnapshotCache;
import io.shardgate.snapshot.ShardStreamStats;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * {@code GET /api/shards} on the admin port: the shard plan of the configuration being served (per shard what it
 * serves, the Upstreams it reaches, its fingerprint; domain conflicts; the edge shard), with each shard's live state
 * ({@code Ready}, {@code Updating} while a staged update is under way, {@code Held} while an Envoy's rejection holds
 * one, {@code Failed}), the snapshot versions it serves, its connected Envoys and NACKs, and how often it was
 * translated and pushed.
 * Read-only.
 */
@Controller
public class ShardsController {

  private static final Map<String, String> TYPES =
      Map.of(
          "listeners", Resources.V3.LISTENER_TYPE_URL,
          "routes", Resources.V3.ROUTE_TYPE_URL,
          "clusters", Resources.V3.CLUSTER_TYPE_URL);

  private final ShardPipeline pipeline;
  private final ShardSnapshotCache cache;
  private final ShardDiscoveryServer server;

  public ShardsController(ShardPipeline pipeline, ShardSnapshotCache cache, ShardDiscoveryServer server) {
    this.pipeline = pipeline;
    this.cache = cache;
    this.server = server;
  }

  @Get("/api/shards")
  @Produces(MediaType.APPLICATION_JSON)
  public Map<String, Object> shards() {
    Translation t = pipeline.latest();
    Map<String, Object> out = new LinkedHashMap<>();
    if (t == null) {
      out.put("state", "Pending");
      return out;
    }
    ShardPlan plan = t.plan();
    SortedMap<String, ShardStreamStats> stats = server.callbacks().stats();
    out.put("writeNamespace", plan.writeNamespace());
    out.put("allUpstreamsPerShard", plan.allUpstreamsPerShard());
    Map<String, Object> shards = new TreeMap<>();
    for (ShardPlan.Shard s : plan.shards().values()) {
      @SuppressWarnings("unchecked")
      Map<String, Object> shard = new LinkedHashMap<>((Map<String, Object>) Trees.tree(s));
      live(shard, s.role(), stats);
      shards.put(s.role(), shard);
    }
    out.put("shards", shards);
    EdgePlan edge = plan.edge();
    if (edge != null) {
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("proxyName", edge.proxyName());
      e.put("role", edge.role());
      e.put("fingerprint", edge.fingerprint());
      e.put("httpListener", edge.httpListener().toString());
      if (edge.hasTlsListener()) {
        e.put("tlsListener", edge.tlsListener().toString());
      }
      e.put("targets", Trees.tree(edge.targets()));
      live(e, edge.role(), stats);
      out.put("edge", e);
    }
    out.put("domainConflicts", Trees.tree(plan.domainConflicts()));
    Map<String, Object> problems = new LinkedHashMap<>();
    problems.put("errors", Trees.tree(plan.errors()));
    problems.put("warnings", Trees.tree(plan.warnings()));
    out.put("problems", problems);
    return out;
  }

  /** What the running control plane serves to a role: versions, Envoys, translations and pushes. */
  private void live(Map<String, Object> into, String role, SortedMap<String, ShardStreamStats> stats) {
    Map<String, Object> versions = new LinkedHashMap<>();
    TYPES.entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .forEach(en -> versions.put(en.getKey(), cache.versionOf(role, en.getValue()).orElse("")));
    into.put("versions", versions);
    String failure = pipeline.failures().get(role);
    // Held: an Envoy rejected a stage of the shard's update, which waits there (serving what the Envoys hold) until
    // the shard's config changes; its NACK is under /api/status.
    into.put("state", failure != null ? "Failed" : cache.isHeld(role) ? "Held" : cache.isSettled(role) ? "Ready"
        : "Updating");
    if (failure != null) {
      into.put("failure", failure);
    }
    ShardStreamStats s = stats.getOrDefault(role, ShardStreamStats.none(role));
    into.put("connectedEnvoys", s.connectedStreams());
    into.put("nacks", s.nacks());
    into.put("translations", pipeline.translations(role));
    into.put("endpointUpdates", pipeline.endpointUpdates(role));
    into.put("pushes", pipeline.pushes(role));
    // Per EDS cluster, how many endpoints its load assignment gives the shard's Envoys.
    Translation t = pipeline.latest();
    ShardResources resources = t == null ? null : t.xds().get(role);
    if (resources != null && !resources.endpoints().isEmpty()) {
      Map<String, Object> eds = new TreeMap<>();
      resources.endpoints().forEach(cla -> eds.put(cla.getClusterName(), EndpointTranslator.endpointCount(cla)));
      into.put("edsClusters", eds);
    }
  }
}
