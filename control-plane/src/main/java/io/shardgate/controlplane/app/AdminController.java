package io.shardgate.controlplane.app;

import io.envoyproxy.controlplane.cache.Resources;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Produces;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.render.Trees;
import io.shardgate.controlplane.source.SourceHealth;
import io.shardgate.controlplane.status.EnvoyRejections;
import io.shardgate.controlplane.status.LeaderElection;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.snapshot.ShardSnapshotCache;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The admin API on the admin port (loopback by default): health, readiness, and the current statuses, shard
 * versions and the latest NACK of each shard and type as JSON. Read-only.
 */
@Controller
public class AdminController {

  private final ShardPipeline pipeline;
  private final ShardSnapshotCache cache;
  private final SourceHealth sourceHealth;

  private final LeaderElection election;

  public AdminController(ShardPipeline pipeline, ShardSnapshotCache cache) {
    this(pipeline, cache, null, null);
  }

  /**
   * With the source's health (the Kubernetes source's), which {@code /ready} reports, and {@code election}
   * (Kubernetes mode): /ready and /api/status say whether this replica leads.
   */
  @Inject
  public AdminController(ShardPipeline pipeline, ShardSnapshotCache cache, @Nullable SourceHealth sourceHealth,
      @Nullable LeaderElection election) {
    this.pipeline = pipeline;
    this.cache = cache;
    this.sourceHealth = sourceHealth;
    this.election = election;
  }

  /** Liveness: the process answers. {@code /livez} is the same, under the name Kubernetes' own servers use. */
  @Get("/healthz")
  @Produces(MediaType.TEXT_PLAIN)
  public String healthz() {
    return "ok\n";
  }

  @Get("/livez")
  @Produces(MediaType.TEXT_PLAIN)
  public String livez() {
    return healthz();
  }

  /**
   * 503 until the first snapshot of every shard is published (the config directory read, the last good state loaded,
   * the first translation done); then 200, with one line per shard: {@code ready} or {@code not ready} and why.
   *
   * <p>A shard whose translation fails (a bug) is not ready, but the process stays ready: a readiness probe that
   * failed the control plane for one shard would take it out of its Service, and every shard's Envoys would lose
   * their updates. {@code ?strict=true} answers 503 while any shard is not ready, for alerts and scripts.
   *
   * <p>A source that cannot read (the Kubernetes API server is unreachable) adds its line, and the process stays
   * ready: it serves the last config, which an Envoy is better off with than with no control plane. With
   * {@code ?strict=true} that is a 503 too.
   */
  @Get("/ready{?strict}")
  @Produces(MediaType.TEXT_PLAIN)
  public HttpResponse<String> ready(@Nullable Boolean strict) {
    Translation t = pipeline.latest();
    if (t == null) {
      return HttpResponse.<String>status(HttpStatus.SERVICE_UNAVAILABLE)
          .body("not ready: waiting for the first translation (reading the config, loading the last good state)\n");
    }
    SortedMap<String, String> failures = pipeline.failures();
    Optional<String> source = sourceHealth == null ? Optional.empty() : sourceHealth.health();
    StringBuilder body = new StringBuilder(failures.isEmpty() ? "ready\n"
        : "ready, but " + failures.size() + (failures.size() == 1 ? " shard is" : " shards are") + " not\n");
    source.ifPresent(line -> body.append(line).append('\n'));
    if (election != null) {
      body.append(election.describe()).append('\n');
    }
    for (String role : t.xds().keySet()) {
      String failure = failures.get(role);
      body.append(role).append(failure == null ? ": ready\n" : ": not ready: " + failure + "\n");
    }
    if (Boolean.TRUE.equals(strict) && (!failures.isEmpty() || source.isPresent())) {
      return HttpResponse.<String>status(HttpStatus.SERVICE_UNAVAILABLE).body(body.toString());
    }
    return HttpResponse.ok(body.toString());
  }

  /** {@link #ready}, with the same query options, under the name Kubernetes' own servers use. */
  @Get("/readyz{?strict}")
  @Produces(MediaType.TEXT_PLAIN)
  public HttpResponse<String> readyz(@Nullable Boolean strict) {
    return ready(strict);
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
    if (election != null) {
      Map<String, Object> leader = new LinkedHashMap<>();
      leader.put("leader", election.isLeader());
      leader.put("holder", election.holder());
      leader.put("identity", election.options().identity());
      leader.put("lease", election.options().namespace() + "/" + election.options().name());
      out.put("leaderElection", leader);
    }
    out.put("sourceProblems", t.input().problems().stream().map(Object::toString).toList());
    Map<String, Object> resources = Trees.statuses(t.gateway().statuses().values());
    out.put("resources", resources);
    Map<String, Object> shards = new TreeMap<>();
    for (String role : t.xds().keySet()) {
      shards.put(role, cache.versionOf(role, Resources.V3.LISTENER_TYPE_URL).orElse(""));
    }
    out.put("listenerVersions", shards);
    if (!pipeline.failures().isEmpty()) {
      out.put("failures", pipeline.failures());
    }
    if (!pipeline.stateProblems().isEmpty()) {
      out.put("stateProblems", pipeline.stateProblems());
    }
    List<EnvoyRejections.Rejection> rejections = EnvoyRejections.of(t, cache);
    out.put("nacks", nacks(rejections));
    markRejectedByEnvoy(resources, rejections);
    addReasons(resources);
    return out;
  }

  /** A one-line reason per resource, as Gloo's status has: the errors, then the warnings. */
  @SuppressWarnings("unchecked")
  private static void addReasons(Map<String, Object> resources) {
    for (Object value : resources.values()) {
      Map<String, Object> st = (Map<String, Object>) value;
      List<Object> errors = (List<Object>) st.getOrDefault("errors", List.of());
      List<Object> warnings = (List<Object>) st.getOrDefault("warnings", List.of());
      StringBuilder reason = new StringBuilder();
      errors.forEach(e -> reason.append(reason.length() == 0 ? "" : "; ").append(e));
      if (!warnings.isEmpty()) {
        reason.append(reason.length() == 0 ? "" : "; ").append("warning: ");
        for (int i = 0; i < warnings.size(); i++) {
          reason.append(i == 0 ? "" : "; ").append(warnings.get(i));
        }
      }
      if (reason.length() > 0) {
        st.put("reason", reason.toString());
      }
    }
  }

  /**
   * An Envoy that rejects (NACKs) the version its shard serves now is not running that resource's config: the
   * resources that produced the rejected xDS resources show it as an error, so a team sees it in its own status.
   */
  @SuppressWarnings("unchecked")
  private static void markRejectedByEnvoy(Map<String, Object> resources, List<EnvoyRejections.Rejection> rejections) {
    for (EnvoyRejections.Rejection rejection : rejections) {
      if (!rejection.current()) {
        continue;
      }
      for (ResourceKey key : rejection.resources()) {
        if (resources.get(key.toString()) instanceof Map<?, ?> status) {
          Map<String, Object> st = (Map<String, Object>) status;
          List<Object> errors = new ArrayList<>((List<Object>) st.getOrDefault("errors", List.of()));
          errors.add(rejection.errorMessage());
          st.put("errors", errors);
          st.put("state", "Rejected");
        }
      }
    }
  }

  /**
   * Per shard, the latest NACK of each xDS type: what was rejected, by which node, Envoy's message, whether the
   * rejected version is still the one served ({@code current}), and the input resources the message names.
   */
  private static Map<String, Object> nacks(List<EnvoyRejections.Rejection> rejections) {
    Map<String, Object> out = new TreeMap<>();
    for (EnvoyRejections.Rejection r : rejections) {
      Map<String, Object> n = new LinkedHashMap<>();
      n.put("typeUrl", r.typeUrl());
      n.put("version", r.version());
      n.put("servedVersion", r.servedVersion());
      n.put("current", r.current());
      n.put("nodeId", r.nodeId());
      n.put("message", r.message());
      n.put("at", r.at());
      n.put("resources", r.resources().stream().map(ResourceKey::toString).toList());
      @SuppressWarnings("unchecked")
      List<Object> list = (List<Object>) out.computeIfAbsent(r.role(), k -> new ArrayList<>());
      list.add(n);
    }
    return out;
  }
}
