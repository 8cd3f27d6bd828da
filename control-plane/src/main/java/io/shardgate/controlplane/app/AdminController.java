package io.shardgate.controlplane.app;

import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Produces;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.render.Trees;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The admin API on the admin port (loopback by default): health, readiness, and the current statuses and shard
 * versions as JSON. Read-only.
 */
@Controller
public class AdminController {

  private final ShardPipeline pipeline;
  private final ShardSnapshotCache cache;

  public AdminController(ShardPipeline pipeline, ShardSnapshotCache cache) {
    this.pipeline = pipeline;
    this.cache = cache;
  }

  @Get("/healthz")
  @Produces(MediaType.TEXT_PLAIN)
  public String healthz() {
    return "ok\n";
  }

  /** Ready once the first configuration has been translated and published. */
  @Get("/ready")
  @Produces(MediaType.TEXT_PLAIN)
  public HttpResponse<String> ready() {
    return pipeline.latest() == null
        ? HttpResponse.<String>status(io.micronaut.http.HttpStatus.SERVICE_UNAVAILABLE).body("waiting for the first configuration\n")
        : HttpResponse.ok("ready\n");
  }

  @Get("/api/status")
  @Produces(MediaType.APPLICATION_JSON)
  public Map<String, Object> status() {
    Translation t = pipeline.latest();
    Map<String, Object> out = new LinkedHashMap<>();
    if (t == null) {
      out.put("state", "Pending");
      return out;
    }
    out.put("source", t.input().description());
    out.put("sourceProblems", t.input().problems().stream().map(Object::toString).toList());
    out.put("resources", Trees.statuses(t.gateway().statuses().values()));
    Map<String, Object> shards = new TreeMap<>();
    for (String role : t.xds().keySet()) {
      shards.put(role, cache.versionOf(role, io.envoyproxy.controlplane.cache.Resources.V3.LISTENER_TYPE_URL).orElse(""));
    }
    out.put("listenerVersions", shards);
    return out;
  }
}
