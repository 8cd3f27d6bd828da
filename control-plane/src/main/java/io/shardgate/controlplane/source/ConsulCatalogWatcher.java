package io.shardgate.controlplane.source;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.render.JsonTrees;
import io.shardgate.controlplane.source.ConsulKvClient.Response;
import io.shardgate.sharding.decode.DecodedDocument;
import io.shardgate.sharding.decode.ResourceDecoder;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.discovery.ConsulInstance;
import io.shardgate.sharding.discovery.ConsulServiceEndpoints;
import io.shardgate.sharding.discovery.DiscoveredUpstreams;
import io.shardgate.sharding.model.KubernetesNames;
import io.shardgate.sharding.model.SameObjects;
import io.shardgate.sharding.model.Settings;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consul service discovery in front of the pipeline, beside any config source: every input of the source passes
 * through {@link #inFrontOf}, which adds the passing instances of the Consul services its {@code consul} Upstreams
 * name (and, with discovery on, one Upstream document per Consul service, as Gloo's consul discovery writes them).
 *
 * <ul>
 *   <li>One blocking query per (service, data center) on {@code /v1/health/service/<name>?passing&dc=<dc>}: the
 *       data centers an Upstream names, else every data center the agent knows ({@code /v1/catalog/datacenters},
 *       read again every {@link Options#dataCenterRefresh()}). Watches start when an input first names a service
 *       (its first answer is read at once, so the first translation already has the endpoints) and stop when no
 *       input names it any more.
 *   <li>Consul's index rules, as {@link ConsulKvSource} follows them: an index that goes backwards or is 0 restarts
 *       the watch from a plain read; errors back off (up to {@link Options#maxBackoff()}) and keep the endpoints
 *       read last; the token file is read again on each reconnect (and by the client after a 403).
 *   <li>An instance change re-delivers the source's last input with a new endpoint state in which every unchanged
 *       service is the very same {@link ConsulServiceEndpoints}, so the pipeline takes its endpoints-only path and
 *       rebuilds only the load assignments of the shards that reach the changed service. Changes are debounced as
 *       the directory source's are ({@link DirectorySource#DEFAULT_DEBOUNCE} after the last, at most
 *       {@link DirectorySource#DEFAULT_MAX_DELAY} after the first); an answer equal to the last one delivers nothing.
 *       The source's own (Kubernetes) endpoints pass through unchanged.
 *   <li>With {@link Options#discovery()}, {@code /v1/catalog/services} is watched in every data center, and each
 *       service becomes the Upstream Gloo's consul discovery writes: named like the service (sanitized only when it
 *       is not a valid Kubernetes name), in the Settings' {@code discoveryNamespace}, labelled
 *       {@code discovered_by: consulplugin}, with {@code spec.consul.serviceName}, the sorted data centers it is
 *       registered in and the union of its tags as {@code serviceTags}. A document whose content did not change is
 *       the very same object; a user's Upstream of the same namespace and name wins.
 * </ul>
 *
 * <p>Stage: source (service discovery). Stateful; thread-safe: inputs, answers and deliveries are serialized on one
 * lock, so the downstream consumer sees inputs in order. One daemon thread per watch, one for debounce and refresh.
 * Nothing here logs the token.
 */
public final class ConsulCatalogWatcher implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ConsulCatalogWatcher.class);
  private static final JsonFactory JSON = new JsonFactory();

  /** The label value Gloo's consul discovery writes on its Upstreams ({@code discovered_by}). */
  public static final String CONSUL_PLUGIN = "consulplugin";

  /**
   * How the watcher paces itself and what it discovers.
   *
   * @param discovery whether every Consul service also becomes an Upstream ({@code serve --consul-discovery})
   */
  public record Options(Duration blockingWait, Duration minGap, Duration debounce, Duration maxDelay,
      Duration minBackoff, Duration maxBackoff, Duration dataCenterRefresh, boolean discovery) {

    public Options {
      for (Duration d : List.of(blockingWait, minGap, debounce, maxDelay, minBackoff, maxBackoff, dataCenterRefresh)) {
        if (d.isNegative() || d.isZero()) {
          throw new IllegalArgumentException("durations must be positive: " + d);
        }
      }
    }

    /** Five-minute blocking queries (Consul's default), the directory source's debounce. */
    public static Options defaults(boolean discovery) {
      return new Options(Duration.ofMinutes(5), Duration.ofMillis(50), DirectorySource.DEFAULT_DEBOUNCE,
          DirectorySource.DEFAULT_MAX_DELAY, Duration.ofMillis(250), Duration.ofSeconds(10), Duration.ofMinutes(1),
          discovery);
    }

    /** Short waits and back-off, for tests that restart Consul under the watcher. */
    public static Options quick(boolean discovery) {
      return new Options(Duration.ofSeconds(30), Duration.ofMillis(50), DirectorySource.DEFAULT_DEBOUNCE,
          DirectorySource.DEFAULT_MAX_DELAY, Duration.ofMillis(100), Duration.ofSeconds(1), Duration.ofSeconds(5),
          discovery);
    }
  }

  /** What one watch reads: the health of a service in a data center, or the catalog of a data center. */
  private record WatchKey(String service, String dataCenter) implements Comparable<WatchKey> {
    boolean catalog() {
      return service == null;
    }

    String path() {
      return catalog() ? "/v1/catalog/services" : "/v1/health/service/" + ConsulKvClient.encodePath(service);
    }

    String query() {
      String dc = "dc=" + URLEncoder.encode(dataCenter, StandardCharsets.UTF_8);
      return catalog() ? dc : "passing&" + dc;
    }

    @Override
    public int compareTo(WatchKey o) {
      int c = String.valueOf(service).compareTo(String.valueOf(o.service));
      return c != 0 ? c : dataCenter.compareTo(o.dataCenter);
    }

    @Override
    public String toString() {
      return catalog() ? "catalog of " + dataCenter : "service " + service + " in " + dataCenter;
    }
  }

  private final ConsulKvClient client;
  private final Options options;
  private final ScheduledExecutorService timer;
  private final Object lock = new Object();
  private final AtomicLong deliveries = new AtomicLong();
  private final AtomicLong queries = new AtomicLong();
  private final AtomicLong resets = new AtomicLong();

  // Guarded by lock.
  private Consumer<ConfigInput> downstream;
  private ConfigInput lastSource;
  private ConfigInput lastDelivered;
  private List<String> dataCenters;
  private final SortedMap<WatchKey, Watch> watches = new TreeMap<>();
  /** The last answer of each watch that answered: instances for a service, service to tags for a catalog. */
  private final Map<WatchKey, Object> answers = new HashMap<>();
  private final Map<String, ConsulServiceEndpoints> endpoints = new HashMap<>();
  private final Set<String> dirtyServices = new HashSet<>();
  private List<SourceDocument> discovered = List.of();
  private boolean pending;
  private long burstStart;
  private long lastChange;
  private boolean closed;
  private volatile Instant unreachableSince;
  private volatile String lastError;

  public ConsulCatalogWatcher(ConsulKvClient client, Options options) {
    this(client, options, true);
  }

  private ConsulCatalogWatcher(ConsulKvClient client, Options options, boolean threads) {
    this.client = Objects.requireNonNull(client, "client");
    this.options = Objects.requireNonNull(options, "options");
    if (!threads) {
      this.timer = null;
      return;
    }
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "shardgate-consul-discovery");
      t.setDaemon(true);
      return t;
    });
    long refresh = options.dataCenterRefresh().toMillis();
    timer.scheduleWithFixedDelay(this::refreshDataCenters, refresh, refresh, TimeUnit.MILLISECONDS);
  }

  /** What a log line names this watcher by: the agent's address; never the token. */
  public String describe() {
    return "Consul service discovery at " + client.options().address()
        + (options.discovery() ? " (every service an Upstream)" : "");
  }

  /** The consumer a source hands its inputs to: they reach {@code next} with Consul's endpoints added. */
  public Consumer<ConfigInput> inFrontOf(Consumer<ConfigInput> next) {
    synchronized (lock) {
      this.downstream = Objects.requireNonNull(next, "next");
    }
    return this::accept;
  }

  /**
   * One read of everything {@code input} needs from Consul (no watches), as the first delivery of {@code serve}
   * would hand it on: for {@code validate} and {@code translate}. When Consul could not be read, the input says so
   * in a warning (the consul Upstreams then show no endpoints).
   */
  public static ConfigInput readOnce(ConsulKvClient client, boolean discovery, ConfigInput input) {
    ConsulCatalogWatcher once = new ConsulCatalogWatcher(client, Options.defaults(discovery), false);
    ConfigInput[] out = new ConfigInput[1];
    once.inFrontOf(i -> out[0] = i).accept(input);
    ConfigInput read = out[0];
    if (once.unreachableSince == null) {
      return read;
    }
    List<SourceProblem> problems = new ArrayList<>(read.problems());
    problems.add(new SourceProblem("Consul agent " + client.options().address(), 0, SourceProblem.Severity.WARNING,
        once.lastError + "; the consul Upstreams show the endpoints that could be read (none where nothing was)"));
    return new ConfigInput(read.description(), read.documents(), problems, read.endpoints(), read.secrets());
  }

  /** How many inputs were handed on. */
  public long deliveries() {
    return deliveries.get();
  }

  /** How many calls were made to Consul, answered or not. */
  public long queries() {
    return queries.get();
  }

  /** How many times a watch restarted from a plain read because the index went backwards or was 0. */
  public long indexResets() {
    return resets.get();
  }

  /** The (service, data center) pairs and catalogs watched now, for tests and logs. */
  public List<String> watched() {
    synchronized (lock) {
      return watches.keySet().stream().map(WatchKey::toString).toList();
    }
  }

  /**
   * Empty while Consul answers; else since when it fails. (Not a {@link SourceHealth} bean: {@code /ready} asks the
   * config source.)
   */
  public Optional<String> health() {
    Instant since = unreachableSince;
    return since == null ? Optional.empty() : Optional.of("Consul service discovery at "
        + client.options().address() + " failing since " + since + " (" + lastError
        + "); serving the endpoints read last");
  }

  private void accept(ConfigInput input) {
    synchronized (lock) {
      if (closed) {
        return;
      }
      lastSource = input;
      replan();
      emit();
    }
  }

  /**
   * Starts the watches the last source input (with the discovered Upstreams) needs and stops the others; a new
   * watch's first answer is read here, so what is emitted next already has it. Caller holds lock.
   */
  private void replan() {
    if (lastSource == null) {
      return;
    }
    boolean reachable = true;
    // The agent's data centers are asked for only when something needs them (and until they are known).
    if (dataCenters == null && (options.discovery()
        || consulServices(lastSource.documents()).containsValue(List.of()))) {
      reachable = readDataCenters();
    }
    List<String> dcs = dataCenters == null ? List.of() : dataCenters;
    SortedSet<WatchKey> wanted = new TreeSet<>();
    if (options.discovery()) {
      for (String dc : dcs) {
        wanted.add(new WatchKey(null, dc));
      }
      reachable = startWatches(wanted, reachable);
      discovered = discoveredUpstreams(lastSource.documents());
    }
    for (Map.Entry<String, List<String>> e : consulServices(documents()).entrySet()) {
      for (String dc : e.getValue().isEmpty() ? dcs : e.getValue()) {
        wanted.add(new WatchKey(e.getKey(), dc));
      }
    }
    startWatches(wanted, reachable);
    for (WatchKey k : new ArrayList<>(watches.keySet())) {
      if (!wanted.contains(k)) {
        watches.remove(k).stop();
        answers.remove(k);
        if (!k.catalog()) {
          dirtyServices.add(k.service());
        }
      }
    }
  }

  /** Starts the watches of {@code wanted} that do not run yet; says whether Consul answered the last first read. */
  private boolean startWatches(Collection<WatchKey> wanted, boolean reachable) {
    for (WatchKey k : wanted) {
      if (!watches.containsKey(k)) {
        Watch w = new Watch(k);
        watches.put(k, w);
        // After one failure the rest wait for their threads, so an unreachable agent delays the input once.
        if (reachable) {
          reachable = w.poll(0, Duration.ZERO);
        }
        w.start();
      }
    }
    return reachable;
  }

  /** Reads the data centers the agent knows; says whether it answered. Caller holds lock. */
  private boolean readDataCenters() {
    try {
      queries.incrementAndGet();
      Response r = client.get("/v1/catalog/datacenters", "", 0, Duration.ZERO);
      List<String> dcs = new ArrayList<>();
      if (parse(r.body()) instanceof List<?> l) {
        l.forEach(o -> dcs.add(String.valueOf(o)));
      }
      dcs.sort(null);
      if (!dcs.equals(dataCenters)) {
        LOG.info("Consul discovery: data centers {}", dcs);
        dataCenters = List.copyOf(dcs);
      }
      return true;
    } catch (IOException | RuntimeException e) {
      failing(e);
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private void refreshDataCenters() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      List<String> before = dataCenters;
      readDataCenters();
      if (!Objects.equals(before, dataCenters)) {
        replan();
        changed();
      }
    }
  }

  /** The source's documents and the discovered Upstreams no document of the source replaces. Caller holds lock. */
  private List<SourceDocument> documents() {
    if (discovered.isEmpty()) {
      return lastSource.documents();
    }
    Set<String> theirs = new HashSet<>();
    for (SourceDocument d : lastSource.documents()) {
      if ("Upstream".equals(d.content().get("kind"))) {
        theirs.add(namespaceAndName(d));
      }
    }
    List<SourceDocument> out = new ArrayList<>(lastSource.documents());
    for (SourceDocument d : discovered) {
      if (!theirs.contains(namespaceAndName(d))) {
        out.add(d);
      }
    }
    return out;
  }

  private static String namespaceAndName(SourceDocument d) {
    Object m = d.content().get("metadata");
    if (m instanceof Map<?, ?> meta) {
      return meta.get("namespace") + "/" + meta.get("name");
    }
    return "";
  }

  /** Hands the last source input on with what Consul says now, unless that is what was handed on last. */
  private void emit() {
    if (downstream == null || lastSource == null) {
      return;
    }
    SortedMap<String, ConsulServiceEndpoints> consul = new TreeMap<>();
    Map<String, SortedMap<String, List<ConsulInstance>>> byService = new HashMap<>();
    for (Map.Entry<WatchKey, Watch> e : watches.entrySet()) {
      WatchKey k = e.getKey();
      if (k.catalog()) {
        continue;
      }
      SortedMap<String, List<ConsulInstance>> dcs = byService.computeIfAbsent(k.service(), s -> new TreeMap<>());
      @SuppressWarnings("unchecked")
      List<ConsulInstance> instances = (List<ConsulInstance>) answers.get(k);
      if (instances != null) {
        dcs.put(k.dataCenter(), instances);
      }
    }
    endpoints.keySet().retainAll(byService.keySet());
    byService.forEach((service, dcs) -> {
      ConsulServiceEndpoints before = endpoints.get(service);
      if (before == null || dirtyServices.contains(service)) {
        ConsulServiceEndpoints now = new ConsulServiceEndpoints(service, dcs);
        // Equal content keeps the old object: the pipeline tells changes by identity.
        endpoints.put(service, before != null && before.equals(now) ? before : now);
      }
      consul.put(ConsulServiceEndpoints.key(service), endpoints.get(service));
    });
    dirtyServices.clear();
    ConfigInput input = new ConfigInput(lastSource.description(), documents(), lastSource.problems(),
        lastSource.endpoints().withConsul(consul), lastSource.secrets());
    if (lastDelivered != null && sameInput(lastDelivered, input)) {
      return;
    }
    lastDelivered = input;
    long n = deliveries.incrementAndGet();
    LOG.debug("Consul discovery: {} services watched in {} watches [delivery {}]", consul.size(), watches.size(), n);
    try {
      downstream.accept(input);
    } catch (VirtualMachineError err) {
      throw err;
    } catch (Throwable err) { // NOPMD: whatever the pipeline does must not stop the watches
      LOG.error("Consul discovery: the pipeline failed on delivery {}; watching goes on", n, err);
    }
  }

  /** Same documents (by identity, in order), problems, secrets and endpoints (by identity). */
  private static boolean sameInput(ConfigInput a, ConfigInput b) {
    return a.documents().size() == b.documents().size()
        && SameObjects.inOrder(a.documents(), b.documents())
        && a.problems().equals(b.problems()) && a.secrets() == b.secrets()
        && a.endpoints().changedSince(b.endpoints()).isEmpty()
        && a.endpoints().consulAgent() == b.endpoints().consulAgent();
  }

  /** A watch's answer changed: deliver after the debounce. Caller holds lock. */
  private void changed() {
    long now = System.nanoTime();
    if (!pending) {
      pending = true;
      burstStart = now;
    }
    lastChange = now;
    if (timer == null) {
      return;
    }
    timer.schedule(this::flushIfQuiet, options.debounce().toNanos(), TimeUnit.NANOSECONDS);
  }

  private void flushIfQuiet() {
    synchronized (lock) {
      if (closed || !pending) {
        return;
      }
      long now = System.nanoTime();
      if (now - lastChange >= options.debounce().toNanos() || now - burstStart >= options.maxDelay().toNanos()) {
        pending = false;
        if (options.discovery()) {
          replan(); // a service new to the catalog becomes an Upstream and gets a health watch
        }
        emit();
      } else {
        long due = Math.min(lastChange + options.debounce().toNanos(), burstStart + options.maxDelay().toNanos());
        timer.schedule(this::flushIfQuiet, Math.max(1_000_000, due - now), TimeUnit.NANOSECONDS);
      }
    }
  }

  private void failing(Exception e) {
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    lastError = message;
    if (unreachableSince == null) {
      unreachableSince = Instant.now();
      LOG.error("Consul discovery: {}; keeping the endpoints read last; retrying with back-off up to {}", message,
          options.maxBackoff());
    } else {
      LOG.debug("Consul discovery still failing: {}", message);
    }
  }

  private void reachable() {
    if (unreachableSince != null) {
      LOG.info("Consul discovery at {}: reachable again", client.options().address());
      unreachableSince = null;
    }
  }

  // ---- discovered Upstreams ----

  /**
   * The Upstream documents of every service the catalogs list, by name; one whose content equals a document
   * discovered before is that very object. Caller holds lock.
   */
  private List<SourceDocument> discoveredUpstreams(List<SourceDocument> sourceDocuments) {
    SortedMap<String, SortedSet<String>> dcsByService = new TreeMap<>();
    Map<String, SortedSet<String>> tagsByService = new HashMap<>();
    answers.forEach((k, v) -> {
      if (k.catalog()) {
        @SuppressWarnings("unchecked")
        Map<String, List<String>> services = (Map<String, List<String>>) v;
        services.forEach((service, tags) -> {
          dcsByService.computeIfAbsent(service, s -> new TreeSet<>()).add(k.dataCenter());
          tagsByService.computeIfAbsent(service, s -> new TreeSet<>()).addAll(tags);
        });
      }
    });
    String namespace = discoveryNamespace(sourceDocuments);
    Map<Object, SourceDocument> reusable = new HashMap<>();
    for (SourceDocument d : discovered) {
      reusable.put(d.content(), d);
    }
    List<SourceDocument> out = new ArrayList<>();
    dcsByService.forEach((service, dcs) -> {
      Map<String, Object> content = upstreamContent(service, namespace, dcs, tagsByService.get(service));
      SourceDocument before = reusable.get(content);
      out.add(before != null ? before : new SourceDocument("consul-catalog:" + service, 0, content, Map.of()));
    });
    return List.copyOf(out);
  }

  /** The Upstream Gloo's consul discovery writes for a service. Pure. */
  static Map<String, Object> upstreamContent(String service, String namespace, Collection<String> dataCenters,
      Collection<String> tags) {
    Map<String, Object> metadata = new LinkedHashMap<>();
    metadata.put("name", discoveredName(service));
    metadata.put("namespace", namespace);
    metadata.put("labels", Map.of(DiscoveredUpstreams.DISCOVERED_BY, CONSUL_PLUGIN));
    Map<String, Object> consul = new LinkedHashMap<>();
    consul.put("serviceName", service);
    if (!tags.isEmpty()) {
      consul.put("serviceTags", List.copyOf(new TreeSet<>(tags)));
    }
    consul.put("dataCenters", List.copyOf(new TreeSet<>(dataCenters)));
    Map<String, Object> content = new LinkedHashMap<>();
    content.put("apiVersion", "gloo.solo.io/v1");
    content.put("kind", "Upstream");
    content.put("metadata", metadata);
    content.put("spec", Map.of("consul", consul));
    return content;
  }

  /** Gloo names the Upstream like the service; sanitized here only when that is no valid Kubernetes name. */
  public static String discoveredName(String service) {
    return KubernetesNames.objectNameProblem(service) == null ? service : DiscoveredUpstreams.sanitize(service);
  }

  private static String discoveryNamespace(List<SourceDocument> documents) {
    List<Settings> settings = new ArrayList<>();
    for (SourceDocument d : documents) {
      if ("Settings".equals(d.content().get("kind"))) {
        DecodedDocument decoded = ResourceDecoder.decodeDocument(d);
        if (decoded.resource() instanceof Settings s && decoded.errors().isEmpty()) {
          settings.add(s);
        }
      }
    }
    return KubernetesSource.effectiveSettings(settings).discoveryNamespace();
  }

  /** The Consul services the Upstream documents name, with the data centers each names (empty: all). Pure. */
  static SortedMap<String, List<String>> consulServices(List<SourceDocument> documents) {
    SortedMap<String, Set<String>> dcs = new TreeMap<>();
    Set<String> allDcs = new HashSet<>();
    for (SourceDocument d : documents) {
      if (!"Upstream".equals(d.content().get("kind")) || !(d.content().get("spec") instanceof Map<?, ?> spec)
          || !(spec.get("consul") instanceof Map<?, ?> consul)) {
        continue;
      }
      Object name = consul.containsKey("serviceName") ? consul.get("serviceName") : consul.get("service_name");
      if (!(name instanceof String service) || service.isEmpty()) {
        continue;
      }
      Object listed = consul.containsKey("dataCenters") ? consul.get("dataCenters") : consul.get("data_centers");
      Set<String> named = dcs.computeIfAbsent(service, s -> new TreeSet<>());
      if (listed instanceof List<?> l && !l.isEmpty()) {
        l.forEach(o -> named.add(String.valueOf(o)));
      } else {
        allDcs.add(service);
      }
    }
    SortedMap<String, List<String>> out = new TreeMap<>();
    dcs.forEach((service, named) -> out.put(service, allDcs.contains(service) ? List.of() : List.copyOf(named)));
    return out;
  }

  // ---- answers ----

  /** The passing instances of a health answer. Pure. */
  static List<ConsulInstance> instances(String dataCenter, byte[] body) throws IOException {
    List<ConsulInstance> out = new ArrayList<>();
    if (!(parse(body) instanceof List<?> entries)) {
      return out;
    }
    for (Object entry : entries) {
      if (!(entry instanceof Map<?, ?> e) || !(e.get("Service") instanceof Map<?, ?> s)) {
        continue;
      }
      Map<?, ?> node = e.get("Node") instanceof Map<?, ?> n ? n : Map.of();
      Object serviceAddress = s.get("Address");
      Object nodeAddress = node.get("Address");
      String address = serviceAddress instanceof String a && !a.isEmpty() ? a
          : nodeAddress instanceof String a ? a : "";
      int port = s.get("Port") instanceof Number p ? p.intValue() : 0;
      List<String> tags = new ArrayList<>();
      if (s.get("Tags") instanceof List<?> l) {
        l.forEach(t -> tags.add(String.valueOf(t)));
      }
      Object nodeName = node.get("Node");
      out.add(new ConsulInstance(dataCenter, nodeName == null ? "" : String.valueOf(nodeName),
          String.valueOf(s.get("ID")), address, port, tags));
    }
    out.sort(null);
    return List.copyOf(out);
  }

  /** The services of a catalog answer, with their tags. Pure. */
  static SortedMap<String, List<String>> catalog(byte[] body) throws IOException {
    SortedMap<String, List<String>> out = new TreeMap<>();
    if (parse(body) instanceof Map<?, ?> m) {
      m.forEach((k, v) -> {
        List<String> tags = new ArrayList<>();
        if (v instanceof List<?> l) {
          l.forEach(t -> tags.add(String.valueOf(t)));
        }
        out.put(String.valueOf(k), List.copyOf(tags));
      });
    }
    return out;
  }

  /** A JSON answer as plain trees ({@link JsonTrees}); null for an empty body. */
  private static Object parse(byte[] body) throws IOException {
    if (body.length == 0) {
      return null;
    }
    try (JsonParser p = JSON.createParser(body)) {
      return JsonTrees.readWhole(p);
    }
  }

  // ---- watches ----

  /** One blocking query loop on its own daemon thread. */
  private final class Watch {
    private final WatchKey key;
    private volatile boolean stopped;
    private Thread thread;
    private long index;

    Watch(WatchKey key) {
      this.key = key;
    }

    void start() {
      if (timer == null) {
        return; // a one-shot read
      }
      Thread t = new Thread(this::run, "shardgate-consul-watch");
      t.setDaemon(true);
      thread = t;
      t.start();
    }

    void stop() {
      stopped = true;
      Thread t = thread;
      if (t != null) {
        t.interrupt(); // ends a blocking query in flight
      }
    }

    private void run() {
      long backoff = options.minBackoff().toNanos();
      long lastCall = 0;
      while (!stopped) {
        long gap = options.minGap().toNanos() - (System.nanoTime() - lastCall);
        if (lastCall != 0 && gap > 0) {
          LockSupport.parkNanos(gap);
        }
        if (stopped) {
          return;
        }
        lastCall = System.nanoTime();
        if (poll(index, options.blockingWait())) {
          backoff = options.minBackoff().toNanos();
        } else if (!stopped) {
          index = 0; // the agent may have restarted: a plain read next, not a block on an index it never reached
          LockSupport.parkNanos(backoff);
          backoff = Math.min(backoff * 2, options.maxBackoff().toNanos());
          client.reloadToken(); // a reconnect takes a rotated token file
        }
      }
    }

    /** One query from {@code from}; takes its answer in. Says whether Consul answered. */
    boolean poll(long from, Duration wait) {
      queries.incrementAndGet();
      Response r;
      Object answer;
      try {
        r = client.get(key.path(), key.query(), from, wait);
        answer = r.status() == 404 ? (key.catalog() ? new TreeMap<>() : List.of())
            : key.catalog() ? catalog(r.body()) : instances(key.dataCenter(), r.body());
      } catch (InterruptedException e) {
        if (timer == null) {
          Thread.currentThread().interrupt();
        }
        return !stopped;
      } catch (IOException | RuntimeException e) {
        if (!stopped) {
          failing(new IOException(key + ": " + e.getMessage(), e));
        }
        return false;
      }
      long next = r.index();
      if (next < from) {
        resets.incrementAndGet();
        LOG.info("Consul discovery, {}: the index went back from {} to {}; reading again", key, from, next);
        next = 0;
      } else if (next <= 0) {
        next = 1; // never block on index 0, which answers at once
      }
      synchronized (lock) {
        if (stopped || closed) {
          return true;
        }
        reachable();
        index = next;
        if (!answer.equals(answers.get(key))) {
          answers.put(key, answer);
          if (!key.catalog()) {
            dirtyServices.add(key.service());
          }
          changed();
        }
      }
      return true;
    }
  }

  @Override
  public void close() {
    List<Watch> running;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      running = new ArrayList<>(watches.values());
      watches.clear();
    }
    running.forEach(Watch::stop);
    if (timer != null) {
      timer.shutdownNow();
    }
  }
}
