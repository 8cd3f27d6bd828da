package io.shardgate.controlplane.metrics;

import io.envoyproxy.controlplane.cache.Resources;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.shardgate.controlplane.pipeline.PipelineObserver;
import io.shardgate.controlplane.source.ConsulKvSource;
import io.shardgate.controlplane.source.DirectorySource;
import io.shardgate.controlplane.source.KubernetesSource;
import io.shardgate.snapshot.NodeRoles;
import io.shardgate.snapshot.ShardSnapshotCache;
import io.shardgate.snapshot.ShardStreamListener;
import io.shardgate.snapshot.ShardStreamStats;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * Shardgate's metrics, bound to a Micrometer {@link MeterRegistry} (observability edge, beside the pipeline and the
 * xDS server). Every metric is documented in {@code docs/metrics.md}; the names below are Micrometer's dotted names,
 * which the Prometheus registry renders with underscores, a {@code _total} suffix on counters and a {@code _seconds}
 * unit on timers.
 *
 * <p>It hears the pipeline as a {@link PipelineObserver} and the xDS streams as a {@link ShardStreamListener}, and
 * reads the directory source's counters and the cache's versions when scraped.
 *
 * <p>Stateful and thread-safe: stream events arrive concurrently from gRPC threads, pipeline events from the pipeline
 * thread, scrapes from HTTP threads. Meters are created on first use and cached, so the hot path is a map lookup and
 * an atomic add.
 *
 * <p>Cardinality: the {@code shard} tag is the node role only for roles a Gateway feeds now (and
 * {@link NodeRoles#MISCONFIGURED_NODE_GROUP}); any other role an Envoy presents is tagged {@value #UNKNOWN_ROLE}, so an
 * Envoy cannot create metric series at will. Type URLs outside the five xDS v3 types are tagged
 * {@value #OTHER_TYPE}.
 */
public final class ShardgateMetrics implements PipelineObserver, ShardStreamListener, AutoCloseable {

  /** The {@code shard} tag of streams whose role no Gateway feeds. */
  public static final String UNKNOWN_ROLE = "unknown-role";
  /** The {@code type_url} tag of a request type that is not one of the five xDS v3 types. */
  public static final String OTHER_TYPE = "other";

  static final String SHARD = "shard";
  static final String TYPE_URL = "type_url";

  /** The xDS types a shard serves, in push order. */
  static final List<String> TYPE_URLS = List.of(Resources.V3.CLUSTER_TYPE_URL, Resources.V3.ENDPOINT_TYPE_URL,
      Resources.V3.LISTENER_TYPE_URL, Resources.V3.ROUTE_TYPE_URL, Resources.V3.SECRET_TYPE_URL);

  /**
   * Histogram buckets of the latency timers: fixed and few, so each timer is a dozen series, and wide enough for both
   * an idle loopback (sub-millisecond) and a large shard under load (seconds).
   */
  private static final Duration[] BUCKETS = {
      Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
      Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
      Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10)};

  /** Hex digits of a content version that fit exactly into a double (52 bits of its 53-bit mantissa). */
  static final int VERSION_GAUGE_HEX_DIGITS = 13;

  private final MeterRegistry registry;
  private final ShardSnapshotCache cache;

  private final Counter passes;
  private final Counter translationFailures;
  private final Counter endpointPasses;
  private final Counter secretPasses;
  private final Timer translation;
  private final Timer passCpu;

  private final ConcurrentMap<String, Counter> shardTranslations = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, Counter> snapshotUpdates = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, Counter> shardEndpointUpdates = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, Counter> publishFailures = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, Timer> publish = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, Timer> shardTranslation = new ConcurrentHashMap<>();
  private final ConcurrentMap<ShardType, Counter> pushes = new ConcurrentHashMap<>();
  private final ConcurrentMap<ShardType, Counter> nacks = new ConcurrentHashMap<>();
  private final ConcurrentMap<ShardType, Timer> ackLatency = new ConcurrentHashMap<>();
  /** Open streams by the role they joined (not by tag: a role can become known or unknown while they are open). */
  private final ConcurrentMap<String, Integer> connected = new ConcurrentHashMap<>();
  /** Tags whose connected-streams gauge is registered. */
  private final Set<String> connectedGauges = ConcurrentHashMap.newKeySet();
  /** Shards whose snapshot-version gauges are registered. */
  private final Set<String> versionGauges = ConcurrentHashMap.newKeySet();

  private final ConcurrentMap<String, Timer> admissions = new ConcurrentHashMap<>();

  private volatile JvmGcMetrics gcMetrics;

  /** Registers the global meters in {@code registry}; per-shard meters appear as shards and streams do. */
  public ShardgateMetrics(MeterRegistry registry, ShardSnapshotCache cache) {
    this.registry = Objects.requireNonNull(registry, "registry");
    this.cache = Objects.requireNonNull(cache, "cache");
    this.passes = Counter.builder("shardgate.translation.passes")
        .description("Translation passes: each translates the whole input into every shard's xDS resources")
        .register(registry);
    this.endpointPasses = Counter.builder("shardgate.translation.endpoint.passes")
        .description("Passes in which only Service endpoints changed: only load assignments were rebuilt")
        .register(registry);
    this.secretPasses = Counter.builder("shardgate.translation.secret.passes")
        .description("Passes in which only Secrets changed as far as gateway translation sees: only SDS was rebuilt")
        .register(registry);
    this.translationFailures = Counter.builder("shardgate.translation.failures")
        .description("Translation passes that threw (a bug); every shard kept its snapshot")
        .register(registry);
    this.translation = latencyTimer("shardgate.translation")
        .description("Time of one translation pass over the whole input, all shards, publishing excluded")
        .register(registry);
    this.passCpu = latencyTimer("shardgate.pass.cpu")
        .description("CPU time of the pipeline thread for one whole pass: decode, translation, plan, xDS, publishing"
            + " and persisting the last good state (what one edit costs the control plane)")
        .register(registry);
    // The group of Envoys without a role exists from the start; its streams are worth seeing at zero too.
    ensureConnectedGauge(NodeRoles.MISCONFIGURED_NODE_GROUP);
  }

  /**
   * One validation webhook admission, from reading the request to writing the answer: the timer
   * {@code shardgate_webhook_admission_seconds} by {@code kind} and {@code result} (admitted, refused, skipped,
   * not_ready, error, bad_request), whose {@code _count} counts the results. A summary with p50/p90/p99 of the last
   * minutes (Micrometer's decaying window) rather than buckets: the Prometheus registry renders no quantiles beside
   * buckets, and a webhook's latency is read per replica.
   */
  public void admission(String kind, String result, long nanos) {
    admissions.computeIfAbsent(kind + " " + result, k -> Timer.builder("shardgate.webhook.admission")
        .description("Time to decide one admission request of the validation webhook (dry-run translation included)")
        .tag("kind", kind).tag("result", result).publishPercentiles(0.5, 0.9, 0.99)
        .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
  }

  /** Exposes a directory source's counters; call once per source. */
  public void bindSource(DirectorySource source) {
    functionCounter("shardgate.source.events", source, DirectorySource::events,
        "File-system events seen in the config directory");
    functionCounter("shardgate.source.batches", source, DirectorySource::batches,
        "Debounced bursts of events, each read once");
    functionCounter("shardgate.source.reads", source, DirectorySource::loads,
        "Reads of the config directory: initial, one per batch, and periodic re-scans");
    functionCounter("shardgate.source.deliveries", source, DirectorySource::reloads,
        "Reads whose content changed and were handed to the pipeline (each starts a translation pass)");
  }

  /**
   * Exposes the Kubernetes source's counters and gauges; call once per source. Deliveries share the directory
   * source's name (one source runs per process); the rest is tagged by {@code kind}, a fixed set of nine.
   */
  public void bindSource(KubernetesSource source) {
    functionCounter("shardgate.source.deliveries", source, KubernetesSource::deliveries,
        "Inputs whose documents or endpoints changed and were handed to the pipeline (each starts a pass)");
    functionCounter("shardgate.source.kubernetes.changes", source, KubernetesSource::changes,
        "Object adds, updates and deletes that changed a document or a Service's endpoints");
    functionCounter("shardgate.source.kubernetes.unchanged", source, KubernetesSource::unchangedUpdates,
        "Object events that changed nothing (resyncs, relists, status-only updates): no pass");
    functionCounter("shardgate.source.kubernetes.endpoint.recomputations", source,
        KubernetesSource::endpointRecomputations, "Computations of one Service's endpoints from its slices");
    Gauge.builder("shardgate.source.kubernetes.connected", source, s -> s.connected() ? 1 : 0)
        .description("1 while every informer has a watch open on the API server, else 0").register(registry);
    for (String kind : KubernetesSource.kindNames()) {
      Gauge.builder("shardgate.source.kubernetes.objects", source,
              s -> s.objectCounts().getOrDefault(kind, 0))
          .tag("kind", kind).description("Objects of this kind the source holds now").register(registry);
      FunctionCounter.builder("shardgate.source.kubernetes.watch.errors", source, s -> s.watchErrors(kind))
          .tag("kind", kind)
          .description("List and watch failures of this kind's informers (unreachable, 410 Gone, forbidden, missing)")
          .register(registry);
    }
  }

  /**
   * Exposes the Consul KV source's counters and gauges; call once per source. Deliveries share the other sources'
   * name (one source runs per process); the rest is Consul's own: queries (blocking ones included), failed calls,
   * index resets, values parsed, the last index and the keys held.
   */
  public void bindSource(ConsulKvSource source) {
    functionCounter("shardgate.source.deliveries", source, ConsulKvSource::deliveries,
        "Listings whose content changed and were handed to the pipeline (each starts a translation pass)");
    functionCounter("shardgate.source.consul.queries", source, ConsulKvSource::queries,
        "Listings asked of Consul's KV under the root key, blocking queries included");
    functionCounter("shardgate.source.consul.watch.errors", source, ConsulKvSource::watchErrors,
        "Listings that failed (Consul unreachable, 403, 5xx); each is retried with a back-off");
    functionCounter("shardgate.source.consul.index.resets", source, ConsulKvSource::indexResets,
        "Times the KV index went backwards (a snapshot restore, a rebuilt cluster) and the watch restarted");
    functionCounter("shardgate.source.consul.value.reads", source, ConsulKvSource::valueReads,
        "Key values parsed: one per key whose bytes changed or appeared");
    Gauge.builder("shardgate.source.consul.index", source, ConsulKvSource::lastIndex)
        .description("The X-Consul-Index of the last listing").register(registry);
    Gauge.builder("shardgate.source.consul.keys", source, ConsulKvSource::keyCount)
        .description("Keys held now under the root key").register(registry);
    Gauge.builder("shardgate.source.consul.connected", source, s -> s.connected() ? 1 : 0)
        .description("1 while the last listing reached Consul, else 0 (the last config is served)")
        .register(registry);
  }

  /** Binds Micrometer's standard JVM and process metrics (memory, GC, threads, CPU, uptime). */
  public void bindJvm() {
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(registry);
    gcMetrics = gc;
  }

  /** The {@code shard} tag of a role: the role itself only if a Gateway feeds it now. */
  public String shardTag(String group) {
    return group.equals(NodeRoles.MISCONFIGURED_NODE_GROUP) || cache.isKnownRole(group) ? group : UNKNOWN_ROLE;
  }

  /**
   * The value of the snapshot-version gauge for a content version: its first {@value #VERSION_GAUGE_HEX_DIGITS} hex
   * digits as a number (exact in a double), so equal content shows equal values on every replica and after restarts;
   * NaN when there is no version.
   */
  public static double versionValue(String version) {
    if (version == null || version.length() < VERSION_GAUGE_HEX_DIGITS) {
      return Double.NaN;
    }
    try {
      return Long.parseLong(version.substring(0, VERSION_GAUGE_HEX_DIGITS), 16);
    } catch (NumberFormatException e) {
      return Double.NaN;
    }
  }

  // ---- PipelineObserver

  @Override
  public void translated(SortedSet<String> translatedShards, long translationNanos) {
    passes.increment();
    translation.record(translationNanos, TimeUnit.NANOSECONDS);
    // Every shard is translated by the first pass, so every shard gets its gauges then; later passes add new shards.
    for (String shard : translatedShards) {
      perShard(shardTranslations, shard, s -> Counter.builder("shardgate.shard.translations")
          .description("xDS translations of this shard (a pass reuses a shard whose inputs did not change)")
          .tag(SHARD, s)
          .register(registry)).increment();
      ensureVersionGauges(shard);
      ensureConnectedGauge(shard);
    }
  }

  @Override
  public void secretsTranslated(SortedSet<String> updatedShards, long translationNanos) {
    secretPasses.increment();
  }

  @Override
  public void endpointsTranslated(SortedSet<String> updatedShards, long translationNanos) {
    endpointPasses.increment();
    for (String shard : updatedShards) {
      perShard(shardEndpointUpdates, shard, s -> Counter.builder("shardgate.shard.endpoint.updates")
          .description("Endpoint-only passes that rebuilt this shard's load assignments (nothing else translated)")
          .tag(SHARD, s)
          .register(registry)).increment();
    }
  }

  @Override
  public void passed(long cpuNanos) {
    passCpu.record(cpuNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void translationFailed() {
    translationFailures.increment();
  }

  @Override
  public void shardTranslated(String shard, long translationNanos) {
    perShard(shardTranslation, shard, s -> latencyTimer("shardgate.shard.translation")
        .description("Time to translate one shard's Proxy into its Envoy resources (xDS translation)")
        .tag(SHARD, s)
        .register(registry)).record(translationNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void shardPublished(String shard, boolean changed, long publishNanos) {
    perShard(publish, shard, s -> latencyTimer("shardgate.shard.publish")
        .description("Time to hand one shard's resources to the snapshot cache (hashing, checks, waking watches)")
        .tag(SHARD, s)
        .register(registry)).record(publishNanos, TimeUnit.NANOSECONDS);
    Counter updates = perShard(snapshotUpdates, shard, s -> Counter.builder("shardgate.shard.snapshot.updates")
        .description("Publications that changed this shard's snapshot, i.e. gave its Envoys something new")
        .tag(SHARD, s)
        .register(registry));
    if (changed) {
      updates.increment();
    }
  }

  @Override
  public void shardPublishFailed(String shard) {
    perShard(publishFailures, shard, s -> Counter.builder("shardgate.shard.publish.failures")
        .description("Publications the snapshot cache refused as inconsistent (a bug); the shard kept its snapshot")
        .tag(SHARD, s)
        .register(registry)).increment();
  }

  // ---- ShardStreamListener

  @Override
  public void onStreamOpen(String group, boolean delta) {
    connected.merge(group, 1, Integer::sum);
    ensureConnectedGauge(shardTag(group));
  }

  @Override
  public void onStreamClose(String group, boolean delta) {
    // Removing the entry at zero keeps the map as small as the set of roles with open streams.
    connected.computeIfPresent(group, (g, n) -> n <= 1 ? null : n - 1);
  }

  @Override
  public void onResponse(String group, String typeUrl, String version, String nonce, int resources, boolean delta) {
    pushes.computeIfAbsent(key(group, typeUrl), k -> Counter.builder("shardgate.shard.pushes")
        .description("xDS responses sent to the shard's Envoys, per type (state of the world and delta alike)")
        .tags(SHARD, k.shard(), TYPE_URL, k.typeUrl())
        .register(registry)).increment();
  }

  @Override
  public void onAck(String group, String typeUrl, String version, long latencyNanos) {
    ackLatency.computeIfAbsent(key(group, typeUrl), k -> latencyTimer("shardgate.shard.ack.latency")
        .description("Time from sending a response to receiving the ACK that carries its nonce")
        .tags(SHARD, k.shard(), TYPE_URL, k.typeUrl())
        .register(registry)).record(latencyNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void onNack(String group, ShardStreamStats.Nack nack) {
    nacks.computeIfAbsent(key(group, nack.typeUrl()), k -> Counter.builder("shardgate.shard.nacks")
        .description("xDS responses the shard's Envoys rejected (requests with error_detail), per type")
        .tags(SHARD, k.shard(), TYPE_URL, k.typeUrl())
        .register(registry)).increment();
  }

  /** Unbinds the GC metrics' JMX listeners. Other meters stay in the registry, which its owner closes. */
  @Override
  public void close() {
    JvmGcMetrics gc = gcMetrics;
    if (gc != null) {
      gc.close();
    }
  }

  // ---- helpers

  private void ensureVersionGauges(String shard) {
    if (!versionGauges.add(shard)) {
      return;
    }
    for (String typeUrl : TYPE_URLS) {
      Gauge.builder("shardgate.shard.snapshot.version", cache,
              c -> versionValue(c.versionOf(shard, typeUrl).orElse(null)))
          .description("The content version the shard serves for this type: its first 13 hex digits as a number;"
              + " equal on every replica serving equal content")
          .tags(SHARD, shard, TYPE_URL, typeUrl)
          .strongReference(true)
          .register(registry);
    }
  }

  private void ensureConnectedGauge(String tag) {
    if (!connectedGauges.add(tag)) {
      return;
    }
    Gauge.builder("shardgate.shard.connected.streams", this, m -> m.connectedStreams(tag))
        .description("Open xDS streams (state of the world and delta) whose node role is this shard")
        .tag(SHARD, tag)
        .strongReference(true)
        .register(registry);
  }

  /** Open streams whose role has the tag {@code tag} now. */
  double connectedStreams(String tag) {
    if (!tag.equals(UNKNOWN_ROLE)) {
      return connected.getOrDefault(tag, 0);
    }
    int sum = 0;
    for (Map.Entry<String, Integer> e : connected.entrySet()) {
      if (shardTag(e.getKey()).equals(UNKNOWN_ROLE)) {
        sum += e.getValue();
      }
    }
    return sum;
  }

  private ShardType key(String group, String typeUrl) {
    return new ShardType(shardTag(group), typeTag(typeUrl));
  }

  private static String typeTag(String typeUrl) {
    return TYPE_URLS.contains(typeUrl) ? typeUrl : OTHER_TYPE;
  }

  private static <M> M perShard(ConcurrentMap<String, M> meters, String shard, Function<String, M> create) {
    return meters.computeIfAbsent(shard, create);
  }

  private <T> void functionCounter(String name, T source, ToDoubleFunction<T> count,
      String description) {
    FunctionCounter.builder(name, source, count).description(description).register(registry);
  }

  private static Timer.Builder latencyTimer(String name) {
    return Timer.builder(name).serviceLevelObjectives(BUCKETS);
  }

  /** A meter key: shard tag and type URL tag. */
  private record ShardType(String shard, String typeUrl) {
  }
}
