package io.shardgate.controlplane.source;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.Informable;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.security.LogOnce;
import io.shardgate.controlplane.source.ServiceDiscovery.EndpointView;
import io.shardgate.controlplane.source.ServiceDiscovery.ServiceView;
import io.shardgate.controlplane.source.ServiceDiscovery.SliceView;
import io.shardgate.sharding.decode.DecodedDocument;
import io.shardgate.sharding.decode.ResourceDecoder;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.discovery.EndpointState;
import io.shardgate.sharding.discovery.ServiceEndpoints;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.SameObjects;
import io.shardgate.sharding.model.Settings;
import io.shardgate.sharding.secret.KubeSecret;
import io.shardgate.sharding.secret.SecretState;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Collections;
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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the Gloo Edge resources, Services, EndpointSlices, Pods and TLS Secrets from the Kubernetes API server with
 * informers and hands each new set of documents, with the Services' endpoints and the Secrets, to a listener as an
 * immutable {@link ConfigInput}.
 *
 * <p>Stage: source (the edge that talks to the API server). Stateful; thread-safe: {@link #start()},
 * {@link #close()} and the accessors may be called from any thread. The informers' threads only record changes;
 * the listener is called on the daemon thread {@value #THREAD_NAME}, one call at a time.
 *
 * <ul>
 *   <li>Each Gloo object becomes a {@link SourceDocument} in Kubernetes form holding {@code apiVersion},
 *       {@code kind}, {@code metadata} (name, namespace, labels and annotations only: server-set fields such as
 *       {@code managedFields}, {@code uid} or {@code resourceVersion} never reach the decoder) and {@code spec}
 *       ({@code status} is dropped). Its origin is {@code Kind namespace/name@resourceVersion}, line 0, which error
 *       messages show where a file source shows {@code file:line}.
 *   <li>Each TCP port of each Service becomes a discovered Upstream document, as Gloo's discovery writes it (see
 *       {@link ServiceDiscovery}), in the effective Settings' {@code discoveryNamespace}, with the origin
 *       {@code Service namespace/name@resourceVersion}. They live in memory only. A user's Upstream with the same
 *       namespace and name wins over a discovered one.
 *   <li>Each Service's endpoints come from its EndpointSlices and the labels of their Pods, in
 *       {@link ConfigInput#endpoints()}; only the Services whose Service, slices or referenced Pods changed are
 *       recomputed, and a recomputed {@link ServiceEndpoints} equal to the last one is that very object.
 *   <li>The Secrets that can hold TLS material Gloo reads ({@link #keepsSecret}) are in {@link ConfigInput#secrets()},
 *       for the TLS issue; the pipeline ignores them for now. Two informers per namespace read them, one per
 *       {@code type} ({@code kubernetes.io/tls} and {@code Opaque}) through a server-side field selector, so
 *       service-account tokens, Helm releases and other typed Secrets never reach this process; an Opaque Secret that
 *       is not one of Gloo's TLS secrets stays only in the informer's metadata-only cache. A Secret whose content did
 *       not change (labels or annotations only, a resync) keeps its {@link KubeSecret} object. Their data is never
 *       logged: {@link KubeSecret#toString()} is redacted, and messages name a Secret by its origin.
 *   <li>An object whose resourceVersion, or failing that whose document, did not change keeps its very
 *       {@link SourceDocument} object, and an input identical to the last delivered one (same document objects, same
 *       endpoint and Secret objects) is not delivered: a resync, a relist after a watch error or a 410 Gone, an API server
 *       restart or a status-only update costs no pipeline pass.
 *   <li>Settings are read in all namespaces first (the Settings say which namespaces the rest is read from, so they
 *       cannot be scoped by themselves; Gloo too reads its Settings from outside {@code watchNamespaces}). Then every
 *       other kind is read in the effective Settings' {@code watchNamespaces} plus its {@code discoveryNamespace} (one
 *       informer per kind and namespace), or in all namespaces when {@code watchNamespaces} is empty. A change of that
 *       scope at run time stops the informers of namespaces no longer read, drops their objects and starts the new
 *       ones; objects of namespaces still read keep their documents.
 *   <li>Nothing is delivered before every informer has listed its kind once (nor while a change of scope has
 *       informers that have not listed yet); the first delivery is the whole initial list. Changes of documents and
 *       of endpoints are debounced as the directory source debounces its events
 *       ({@link DirectorySource#DEFAULT_DEBOUNCE} after the last change, at most
 *       {@link DirectorySource#DEFAULT_MAX_DELAY} after the first).
 *   <li>A kind that cannot be listed or watched (its CRD is not installed, access is forbidden, the API server is
 *       unreachable) is logged at ERROR naming the kind and the verb, and retried by the informer with back-off;
 *       meanwhile the pipeline keeps serving what it was last given, and {@link #health()} says since when the API
 *       server is unreachable.
 * </ul>
 *
 * <p>Documents are delivered ordered by kind, namespace and name, so the input never depends on event order.
 *
 * <p>Memory: the informers' caches keep only names and resourceVersions ({@link MetadataOnlyItemStore}); the source
 * keeps the documents, the reduced views of Services and slices ({@link ServiceDiscovery}) and only the labels of
 * Pods, so a Pod costs about its labels.
 */
public final class KubernetesSource implements ConfigSource, SourceHealth {

  private static final Logger LOG = LoggerFactory.getLogger(KubernetesSource.class);

  /** Name of the delivering thread. */
  public static final String THREAD_NAME = "shardgate-kubernetes-source";

  /** The informers' resync period: a resync re-announces every cached object, which costs no pass here. */
  public static final Duration DEFAULT_RESYNC = Duration.ofMinutes(10);

  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);

  /**
   * How often the API server is asked for {@code /version} to tell whether it is reachable: the informers retry a
   * lost watch by themselves and say nothing meanwhile, so they cannot tell.
   */
  public static final Duration PROBE_INTERVAL = Duration.ofSeconds(5);

  /** One Gloo kind the source reads. */
  public record Kind(String group, String kind, String plural) {

    /** How the client addresses this kind. */
    public ResourceDefinitionContext context() {
      return new ResourceDefinitionContext.Builder().withGroup(group).withVersion("v1").withKind(kind)
          .withPlural(plural).withNamespaced(true).build();
    }
  }

  /** The Gloo kinds read, in delivery order. */
  public static final List<Kind> KINDS = List.of(
      new Kind("gateway.solo.io", "Gateway", "gateways"),
      new Kind("gateway.solo.io", "VirtualService", "virtualservices"),
      new Kind("gateway.solo.io", "RouteTable", "routetables"),
      new Kind("gloo.solo.io", "Upstream", "upstreams"),
      new Kind("gloo.solo.io", "UpstreamGroup", "upstreamgroups"),
      new Kind("gloo.solo.io", "Settings", "settings"));

  /** The Kubernetes kinds read beside the Gloo ones: core Services and Pods, and discovery.k8s.io EndpointSlices. */
  public static final List<Kind> DISCOVERY_KINDS = List.of(
      new Kind("", "Service", "services"),
      new Kind("discovery.k8s.io", "EndpointSlice", "endpointslices"),
      new Kind("", "Pod", "pods"));

  /** Core Secrets: those that can hold TLS material ({@link #keepsSecret}), for the TLS issue. */
  public static final Kind SECRET = new Kind("", "Secret", "secrets");

  /** The {@code type} of a Kubernetes TLS Secret. */
  public static final String TLS_SECRET_TYPE = "kubernetes.io/tls";

  /** The {@code type} of Secrets Gloo stores its own secrets as. */
  public static final String OPAQUE_SECRET_TYPE = "Opaque";

  /** The annotation and value by which Gloo recognises an Opaque Secret as one of its own secrets. */
  public static final String GLOO_KIND_ANNOTATION = "resource_kind";

  public static final String GLOO_SECRET_KIND = "*v1.Secret";

  /** The data key of a Gloo secret of kind TLS ({@code certChain}, {@code privateKey}, {@code rootCa} as YAML). */
  public static final String GLOO_TLS_KEY = "tls";

  private static final int UPSTREAM = 3;
  private static final int SETTINGS = 5;
  private static final String UPSTREAM_PREFIX = UPSTREAM + "/";

  private record Entry(String resourceVersion, SourceDocument document) {}

  private record ServiceEntry(ServiceView view, List<SourceDocument> documents) {}

  private record PodEntry(String resourceVersion, SortedMap<String, String> labels) {}

  private record SecretEntry(String resourceVersion, KubeSecret secret) {}

  /**
   * What one kind's informers do with their objects: keyed by {@code namespace/name}. Called with the lock held.
   */
  private interface Store<T extends HasMetadata> {
    void put(T obj);

    void forget(String key);

    /** The {@code namespace/name} keys held now. */
    Collection<String> keys();
  }

  /**
   * One kind as the source reads it.
   *
   * @param empty an object of the kind holding only the given metadata: what its informer's cache keeps
   * @param selector the server-side field selector its informers list and watch with, as messages show it; empty
   *     for none
   */
  private record Watched<T extends HasMetadata>(Kind kind, boolean scoped, Function<String, Informable<T>> informable,
      Store<T> store, Function<ObjectMeta, T> empty, String selector) {

    Watched(Kind kind, boolean scoped, Function<String, Informable<T>> informable, Store<T> store,
        Function<ObjectMeta, T> empty) {
      this(kind, scoped, informable, store, empty, "");
    }

    /** {@code plural.group}, or {@code plural} for the core group, as RBAC names the resource. */
    String resource() {
      return kind.group().isEmpty() ? kind.plural() : kind.plural() + "." + kind.group();
    }
  }

  /** One running informer: a kind in one namespace, or in all ({@code namespace} null). */
  private static final class Watch {
    final Watched<?> watched;
    final String namespace;
    final SharedIndexInformer<? extends HasMetadata> informer;
    boolean active = true; // guarded by lock
    boolean synced; // guarded by lock

    Watch(Watched<?> watched, String namespace, SharedIndexInformer<? extends HasMetadata> informer) {
      this.watched = watched;
      this.namespace = namespace;
      this.informer = informer;
    }

    String scope() {
      String where = namespace == null ? "all namespaces" : "namespace " + namespace;
      return watched.selector().isEmpty() ? where : where + ", " + watched.selector();
    }
  }

  private final KubernetesClient client;
  private final Consumer<ConfigInput> listener;
  private final Duration resync;
  private final long debounceNanos = DirectorySource.DEFAULT_DEBOUNCE.toNanos();
  private final long maxDelayNanos = DirectorySource.DEFAULT_MAX_DELAY.toNanos();
  private final AtomicLong deliveries = new AtomicLong();
  private final AtomicLong changes = new AtomicLong();
  private final AtomicLong unchangedUpdates = new AtomicLong();
  private final AtomicLong endpointRecomputations = new AtomicLong();
  private final Map<String, AtomicLong> watchErrors = new TreeMap<>();
  private final ExecutorService scoper = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, THREAD_NAME + "-scope");
    t.setDaemon(true);
    return t;
  });
  private final ScheduledExecutorService prober = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, THREAD_NAME + "-probe");
    t.setDaemon(true);
    return t;
  });
  /** A client of its own that fails at once: the main one retries a failed request for many seconds. */
  private final KubernetesClient probeClient;

  private final Object lock = new Object();
  /** Discovered-name collisions already warned about, so each is logged once rather than on every delivery. */
  private final LogOnce collisions = new LogOnce(10_000);
  /** Current Gloo objects, keyed by kind index, namespace and name so that iteration is delivery order. */
  private final TreeMap<String, Entry> objects = new TreeMap<>(); // guarded by lock
  private final TreeMap<String, ServiceEntry> services = new TreeMap<>(); // guarded by lock
  private final Map<String, SliceView> slices = new HashMap<>(); // guarded by lock
  private final Map<String, SortedSet<String>> slicesByService = new HashMap<>(); // guarded by lock
  private final Map<String, PodEntry> pods = new HashMap<>(); // guarded by lock
  /** Per Secret type read (one informer each), the kept Secrets by {@code namespace/name}. */
  private final Map<String, TreeMap<String, SecretEntry>> secrets = new TreeMap<>(); // guarded by lock
  /** Per Pod, the Services whose slices name it, with how many endpoints do. */
  private final Map<String, Map<String, Integer>> servicesByPod = new HashMap<>(); // guarded by lock
  private final TreeMap<String, ServiceEndpoints> endpoints = new TreeMap<>(); // guarded by lock
  private final Set<String> dirtyServices = new TreeSet<>(); // guarded by lock
  private final TreeMap<ResourceKey, Settings> acceptedSettings = new TreeMap<>(); // guarded by lock
  private final List<Watched<?>> scopedKinds = new ArrayList<>();
  private final Watched<GenericKubernetesResource> settingsKind;
  private final List<Watch> watches = new ArrayList<>(); // guarded by lock
  private final Map<String, String> lastProblem = new LinkedHashMap<>(); // guarded by lock
  private String discoveryNamespace = Settings.DEFAULT_WRITE_NAMESPACE; // guarded by lock
  /** The namespaces the scoped kinds are to be read in; null: all. */
  private SortedSet<String> scope; // guarded by lock
  /** The scope the running informers read; differs from scope while a change is being applied. */
  private SortedSet<String> appliedScope; // guarded by lock
  private boolean scopedStarted; // guarded by lock
  private boolean scopeApplied; // guarded by lock
  private boolean synced; // guarded by lock
  private boolean pending; // guarded by lock
  private long burstStart; // guarded by lock
  private long lastChange; // guarded by lock
  private boolean started; // guarded by lock
  private Instant unreachableSince; // guarded by lock
  private volatile boolean closed;
  private volatile Thread thread;
  private List<SourceDocument> lastDelivered; // touched by the delivering thread only
  private EndpointState lastEndpoints = EndpointState.EMPTY; // touched by the delivering thread only
  private SecretState lastSecrets = SecretState.EMPTY; // touched by the delivering thread only

  /** A source with the default resync period; nothing is read until {@link #start()}. */
  public KubernetesSource(KubernetesClient client, Consumer<ConfigInput> listener) {
    this(client, DEFAULT_RESYNC, listener);
  }

  /**
   * A source; nothing is read until {@link #start()}.
   *
   * @param client the API server's client; the caller closes it after this source
   * @param resync the informers' resync period (tests use a short one to show that a resync delivers nothing)
   * @param listener receives each new input
   */
  public KubernetesSource(KubernetesClient client, Duration resync, Consumer<ConfigInput> listener) {
    this.client = Objects.requireNonNull(client, "client");
    this.resync = Objects.requireNonNull(resync, "resync");
    this.listener = Objects.requireNonNull(listener, "listener");
    this.probeClient = new KubernetesClientBuilder().withConfig(new ConfigBuilder(client.getConfiguration())
        .withRequestRetryBackoffLimit(0).withRequestTimeout((int) PROBE_INTERVAL.toMillis())
        .withConnectionTimeout((int) PROBE_INTERVAL.toMillis()).build()).build();
    Watched<GenericKubernetesResource> settings = null;
    for (int i = 0; i < KINDS.size(); i++) {
      Kind kind = KINDS.get(i);
      Watched<GenericKubernetesResource> w = new Watched<>(kind, i != SETTINGS,
          ns -> ns == null ? client.genericKubernetesResources(kind.context()).inAnyNamespace()
              : client.genericKubernetesResources(kind.context()).inNamespace(ns),
          new GlooStore(i), meta -> {
            GenericKubernetesResource r = new GenericKubernetesResource();
            r.setApiVersion(kind.group() + "/v1");
            r.setKind(kind.kind());
            r.setMetadata(meta);
            return r;
          });
      if (i == SETTINGS) {
        settings = w;
      } else {
        scopedKinds.add(w);
      }
    }
    settingsKind = settings;
    scopedKinds.add(new Watched<>(DISCOVERY_KINDS.get(0), true,
        ns -> ns == null ? client.services().inAnyNamespace() : client.services().inNamespace(ns),
        new ServiceStore(), meta -> new ServiceBuilder().withMetadata(meta).build()));
    scopedKinds.add(new Watched<>(DISCOVERY_KINDS.get(1), true,
        ns -> ns == null ? client.discovery().v1().endpointSlices().inAnyNamespace()
            : client.discovery().v1().endpointSlices().inNamespace(ns),
        new SliceStore(), meta -> new EndpointSliceBuilder().withMetadata(meta).build()));
    scopedKinds.add(new Watched<>(DISCOVERY_KINDS.get(2), true,
        ns -> ns == null ? client.pods().inAnyNamespace() : client.pods().inNamespace(ns),
        new PodStore(), meta -> new PodBuilder().withMetadata(meta).build()));
    // A field selector takes one value per field, so one informer per type; a Secret's type cannot change.
    for (String type : List.of(TLS_SECRET_TYPE, OPAQUE_SECRET_TYPE)) {
      scopedKinds.add(new Watched<>(SECRET, true,
          ns -> ns == null ? client.secrets().inAnyNamespace().withField("type", type)
              : client.secrets().inNamespace(ns).withField("type", type),
          new SecretStore(type), meta -> new SecretBuilder().withMetadata(meta).build(), "type=" + type));
    }
  }

  /**
   * Starts the Settings informer and the delivering thread; returns at once. Once the Settings are listed, the
   * informers of the other kinds start in the namespaces the Settings name; the first delivery follows their first
   * sync.
   *
   * @throws IllegalStateException when called twice or after {@link #close()}
   */
  @Override
  public void start() {
    Watch settingsWatch;
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("closed");
      }
      if (started) {
        throw new IllegalStateException("already started");
      }
      started = true;
      settingsWatch = newWatch(settingsKind, null);
      Thread t = new Thread(this::run, THREAD_NAME);
      t.setDaemon(true);
      thread = t;
      t.start();
    }
    startWatch(settingsWatch, () -> {
      synchronized (lock) {
        scopedStarted = true;
      }
      rescope();
    });
    prober.scheduleWithFixedDelay(this::probe, PROBE_INTERVAL.toMillis(), PROBE_INTERVAL.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  /** Asks the API server for its version: the one sure sign that it answers. */
  private void probe() {
    try {
      probeClient.getKubernetesVersion();
      synchronized (lock) {
        if (unreachableSince != null) {
          LOG.info("Kubernetes: the API server {} answers again (unreachable since {})", client.getMasterUrl(),
              unreachableSince);
          unreachableSince = null;
        }
      }
    } catch (RuntimeException e) {
      if (closed) {
        return;
      }
      Instant since;
      synchronized (lock) {
        if (unreachableSince != null) {
          return;
        }
        unreachableSince = Instant.now();
        since = unreachableSince;
      }
      Throwable root = e;
      while (root.getCause() != null) {
        root = root.getCause();
      }
      LOG.error("Kubernetes: the API server {} is unreachable since {} ({}); serving the last config, retrying",
          client.getMasterUrl(), since, root.toString());
    }
  }

  /** Has the scope thread bring the informers to the current scope. */
  private void rescope() {
    try {
      scoper.execute(this::applyScope);
    } catch (RejectedExecutionException closing) {
      // close() has stopped the scope thread: nothing is to be read any more
    }
  }

  @Override
  public String describe() {
    return "Kubernetes API server " + client.getMasterUrl();
  }

  /** How many inputs were delivered to the listener. */
  public long deliveries() {
    return deliveries.get();
  }

  /**
   * How many adds and updates changed no document: resyncs and relists of known objects, and updates of
   * server-side fields or the status only.
   */
  public long unchangedUpdates() {
    return unchangedUpdates.get();
  }

  /** How many object changes were recorded (adds, updates and deletes that changed a document or an endpoint). */
  public long changes() {
    return changes.get();
  }

  /** How many times one Service's endpoints were computed (the work endpoint churn costs). */
  public long endpointRecomputations() {
    return endpointRecomputations.get();
  }

  /** The objects held now per kind (Gloo kinds, Service, EndpointSlice, Pod, Secret: the kept ones), for metrics. */
  public SortedMap<String, Integer> objectCounts() {
    SortedMap<String, Integer> out = new TreeMap<>();
    synchronized (lock) {
      for (int i = 0; i < KINDS.size(); i++) {
        out.put(KINDS.get(i).kind(), objects.subMap(i + "/", i + "0").size());
      }
      out.put("Service", services.size());
      out.put("EndpointSlice", slices.size());
      out.put("Pod", pods.size());
      out.put(SECRET.kind(), secrets.values().stream().mapToInt(Map::size).sum());
    }
    return out;
  }

  /** List and watch errors per kind since the start (connection failures, 410 Gone, forbidden, not found). */
  public long watchErrors(String kind) {
    synchronized (watchErrors) {
      AtomicLong n = watchErrors.get(kind);
      return n == null ? 0 : n.get();
    }
  }

  /** The kinds {@link #watchErrors(String)} and {@link #objectCounts()} know. */
  public static List<String> kindNames() {
    List<String> out = new ArrayList<>();
    KINDS.forEach(k -> out.add(k.kind()));
    DISCOVERY_KINDS.forEach(k -> out.add(k.kind()));
    out.add(SECRET.kind());
    return out;
  }

  /** Whether the API server answers and every running informer has listed and watches. */
  public boolean connected() {
    synchronized (lock) {
      return started && unreachableSince == null && !watches.isEmpty()
          && watches.stream().allMatch(w -> w.synced && w.informer.isWatching());
    }
  }

  /**
   * Empty while the API server answers; otherwise a line for {@code /ready} saying since when it is unreachable and
   * that the last config is served.
   */
  @Override
  public Optional<String> health() {
    synchronized (lock) {
      if (unreachableSince == null) {
        return Optional.empty();
      }
      return Optional.of("kubernetes source: API server " + client.getMasterUrl() + " unreachable since "
          + unreachableSince + ", serving the last config");
    }
  }

  /** Stops the informers and the delivering thread; no more deliveries happen. Idempotent. */
  @Override
  public void close() {
    List<Watch> toStop;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      toStop = List.copyOf(watches);
      watches.forEach(w -> w.active = false);
      lock.notifyAll();
    }
    scoper.shutdownNow();
    prober.shutdownNow();
    probeClient.close();
    for (Watch w : toStop) {
      w.informer.stop();
    }
    Thread t = thread;
    if (t == null || t == Thread.currentThread()) {
      return;
    }
    try {
      t.join(CLOSE_TIMEOUT.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---- informers ----

  /** A new informer for one kind in one namespace (null: all); not started. Caller holds lock. */
  private <T extends HasMetadata> Watch newWatch(Watched<T> watched, String namespace) {
    SharedIndexInformer<T> informer = watched.informable().apply(namespace).runnableInformer(resync.toMillis());
    informer.removeNamespaceIndex(); // nothing looks objects up by namespace: save the index's memory
    // The stores below keep what the source reads; the informer's cache needs only names and resourceVersions.
    informer.itemStore(new MetadataOnlyItemStore<>(watched.empty()));
    Watch watch = new Watch(watched, namespace, informer);
    informer.exceptionHandler((isStarted, error) -> {
      problem(watch, isStarted ? "watch" : "list", error);
      return true; // keep retrying: installing the CRD, granting access or a restarted API server needs no restart
    });
    informer.addEventHandler(new ResourceEventHandler<>() {
      @Override
      public void onAdd(T obj) {
        synchronized (lock) {
          if (watch.active) {
            watched.store().put(obj);
          }
        }
      }

      @Override
      public void onUpdate(T oldObj, T newObj) {
        onAdd(newObj);
      }

      @Override
      public void onDelete(T obj, boolean deletedFinalStateUnknown) {
        synchronized (lock) {
          if (watch.active) {
            watched.store().forget(key(obj.getMetadata()));
          }
        }
      }
    });
    watches.add(watch);
    return watch;
  }

  /**
   * Starts an informer; once it has listed, objects of its kind and namespace that it does not hold (deleted while
   * another informer read them, during a change of scope) are dropped, and {@code then} runs.
   */
  private void startWatch(Watch watch, Runnable then) {
    watch.informer.start().toCompletableFuture().whenComplete((ok, error) -> {
      if (error != null) {
        if (!closed) {
          LOG.error("Kubernetes: the {} informer ({}) did not start: {}", watch.watched.kind().kind(), watch.scope(),
              error.toString());
        }
        return;
      }
      synchronized (lock) {
        if (!watch.active) {
          return;
        }
        Set<String> held = new HashSet<>(watch.informer.getStore().listKeys());
        for (String key : List.copyOf(watch.watched.store().keys())) {
          if ((watch.namespace == null || namespaceOf(key).equals(watch.namespace)) && !held.contains(key)) {
            watch.watched.store().forget(key);
          }
        }
        watch.synced = true;
        clearProblem(watch);
        updateSynced();
      }
      if (then != null) {
        then.run();
      }
    });
  }

  /** Whether every running informer has listed; logs the first time. Caller holds lock. */
  private void updateSynced() {
    boolean now = scopeApplied && Objects.equals(scope, appliedScope)
        && watches.stream().allMatch(w -> w.synced);
    if (now && !synced) {
      LOG.info("Kubernetes: every kind listed ({} Gloo objects, {} Services, {} EndpointSlices, {} Pods, {} TLS "
          + "Secrets; {})", objects.size(), services.size(), slices.size(), pods.size(),
          secrets.values().stream().mapToInt(Map::size).sum(),
          appliedScope == null ? "all namespaces" : "namespaces " + appliedScope);
    }
    synced = now;
    if (synced) {
      markChanged();
    }
  }

  /**
   * Brings the informers of the scoped kinds to the scope the Settings ask for: stops those of namespaces no longer
   * read and drops their objects, starts those of new namespaces. Runs on the scope thread, one change at a time.
   */
  private void applyScope() {
    List<Watch> toStop = new ArrayList<>();
    List<Watch> toStart = new ArrayList<>();
    synchronized (lock) {
      if (closed || scopeApplied && Objects.equals(scope, appliedScope)) {
        return;
      }
      SortedSet<String> target = scope;
      for (Watch w : List.copyOf(watches)) {
        if (w.watched.scoped() && !covers(target, w.namespace)) {
          w.active = false;
          watches.remove(w);
          toStop.add(w);
        }
      }
      if (target != null) {
        for (Watched<?> kind : scopedKinds) {
          for (String key : List.copyOf(kind.store().keys())) {
            if (!target.contains(namespaceOf(key))) {
              kind.store().forget(key);
            }
          }
        }
      }
      List<String> namespaces = target == null ? Collections.singletonList(null) : List.copyOf(target);
      for (Watched<?> kind : scopedKinds) {
        for (String ns : namespaces) {
          boolean running = watches.stream().anyMatch(w -> w.watched == kind && Objects.equals(w.namespace, ns));
          if (!running) {
            toStart.add(newWatch(kind, ns));
          }
        }
      }
      if (scopeApplied || target != null) {
        LOG.info("Kubernetes: reading {} (Settings watchNamespaces and discoveryNamespace)",
            target == null ? "all namespaces" : "namespaces " + target);
      }
      appliedScope = target;
      scopeApplied = true;
      updateSynced();
    }
    for (Watch w : toStop) {
      w.informer.stop();
    }
    for (Watch w : toStart) {
      startWatch(w, null);
    }
  }

  private static boolean covers(SortedSet<String> target, String namespace) {
    return target == null ? namespace == null : namespace != null && target.contains(namespace);
  }

  private static String key(ObjectMeta meta) {
    return meta.getNamespace() + "/" + meta.getName();
  }

  private static String namespaceOf(String key) {
    return key.substring(0, key.indexOf('/'));
  }

  // ---- what the informers record (caller holds lock) ----

  /** The Gloo objects of one kind, as documents. */
  private final class GlooStore implements Store<GenericKubernetesResource> {
    private final int index;
    private final Kind kind;
    private final String prefix;

    GlooStore(int index) {
      this.index = index;
      this.kind = KINDS.get(index);
      this.prefix = index + "/";
    }

    @Override
    public void put(GenericKubernetesResource obj) {
      ObjectMeta meta = obj.getMetadata();
      String key = prefix + key(meta);
      String rv = meta.getResourceVersion();
      Entry before = objects.get(key);
      if (before != null && Objects.equals(before.resourceVersion(), rv)) {
        unchangedUpdates.incrementAndGet();
        return; // a resync or relist of an object we have
      }
      SourceDocument doc = document(kind, obj);
      if (before != null && before.document().content().equals(doc.content())) {
        // Only server-side fields or the status changed: keep the document object, so nothing is re-decoded.
        objects.put(key, new Entry(rv, before.document()));
        unchangedUpdates.incrementAndGet();
        return;
      }
      objects.put(key, new Entry(rv, doc));
      if (index == SETTINGS) {
        settingsChanged(settingsKey(meta.getNamespace(), meta.getName()), doc);
      }
      markChanged();
    }

    @Override
    public void forget(String nsName) {
      if (objects.remove(prefix + nsName) != null) {
        if (index == SETTINGS) {
          int slash = nsName.indexOf('/');
          settingsChanged(settingsKey(nsName.substring(0, slash), nsName.substring(slash + 1)), null);
        }
        markChanged();
      }
    }

    @Override
    public Collection<String> keys() {
      List<String> out = new ArrayList<>();
      for (String k : objects.subMap(prefix, index + "0").keySet()) {
        out.add(k.substring(prefix.length()));
      }
      return out;
    }
  }

  /** Services: their discovered Upstream documents, and the Services whose endpoints are computed. */
  private final class ServiceStore implements Store<Service> {
    @Override
    public void put(Service obj) {
      String key = key(obj.getMetadata());
      ServiceEntry before = services.get(key);
      if (before != null && Objects.equals(before.view().resourceVersion(), obj.getMetadata().getResourceVersion())) {
        unchangedUpdates.incrementAndGet();
        return;
      }
      ServiceView view = ServiceView.of(obj);
      List<SourceDocument> previous = before == null ? List.of() : before.documents();
      List<SourceDocument> docs = ServiceDiscovery.upstreamDocuments(view, discoveryNamespace, previous);
      services.put(key, new ServiceEntry(view, docs));
      boolean sameDocs = SameObjects.inOrder(docs, previous);
      boolean samePorts = before != null && before.view().ports().equals(view.ports());
      if (sameDocs && samePorts) {
        unchangedUpdates.incrementAndGet();
        return;
      }
      if (!samePorts) {
        dirtyServices.add(key);
      }
      markChanged();
    }

    @Override
    public void forget(String key) {
      if (services.remove(key) != null) {
        dirtyServices.add(key);
        markChanged();
      }
    }

    @Override
    public Collection<String> keys() {
      return services.keySet();
    }
  }

  /** EndpointSlices, reduced to their views, indexed by Service; a change marks its Service's endpoints dirty. */
  private final class SliceStore implements Store<EndpointSlice> {
    @Override
    public void put(EndpointSlice obj) {
      String key = key(obj.getMetadata());
      SliceView before = slices.get(key);
      if (before != null && Objects.equals(before.resourceVersion(), obj.getMetadata().getResourceVersion())) {
        unchangedUpdates.incrementAndGet();
        return;
      }
      SliceView view = SliceView.of(obj);
      slices.put(key, view);
      if (ServiceDiscovery.sameEndpoints(before, view)) {
        unchangedUpdates.incrementAndGet();
        return;
      }
      unindex(key, before);
      index(key, view);
      markChanged();
    }

    @Override
    public void forget(String key) {
      SliceView before = slices.remove(key);
      if (before != null) {
        unindex(key, before);
        markChanged();
      }
    }

    @Override
    public Collection<String> keys() {
      return slices.keySet();
    }

    private void index(String key, SliceView view) {
      if (view.service() == null) {
        return;
      }
      slicesByService.computeIfAbsent(view.service(), s -> new TreeSet<>()).add(key);
      dirtyServices.add(view.service());
      for (EndpointView e : view.endpoints()) {
        if (e.pod() != null) {
          servicesByPod.computeIfAbsent(e.pod(), p -> new HashMap<>()).merge(view.service(), 1, Integer::sum);
        }
      }
    }

    private void unindex(String key, SliceView view) {
      if (view == null || view.service() == null) {
        return;
      }
      SortedSet<String> of = slicesByService.get(view.service());
      if (of != null && of.remove(key) && of.isEmpty()) {
        slicesByService.remove(view.service());
      }
      dirtyServices.add(view.service());
      for (EndpointView e : view.endpoints()) {
        Map<String, Integer> users = e.pod() == null ? null : servicesByPod.get(e.pod());
        if (users != null && users.merge(view.service(), -1, Integer::sum) <= 0) {
          users.remove(view.service());
          if (users.isEmpty()) {
            servicesByPod.remove(e.pod());
          }
        }
      }
    }
  }

  /** Pods: only their labels are kept; a change marks dirty the Services whose slices name the Pod. */
  private final class PodStore implements Store<Pod> {
    @Override
    public void put(Pod obj) {
      String key = key(obj.getMetadata());
      PodEntry before = pods.get(key);
      String rv = obj.getMetadata().getResourceVersion();
      if (before != null && Objects.equals(before.resourceVersion(), rv)) {
        unchangedUpdates.incrementAndGet();
        return;
      }
      Map<String, String> labels = obj.getMetadata().getLabels();
      SortedMap<String, String> sorted = labels == null || labels.isEmpty() ? Collections.emptySortedMap()
          : Collections.unmodifiableSortedMap(new TreeMap<>(labels));
      pods.put(key, new PodEntry(rv, before != null && before.labels().equals(sorted) ? before.labels() : sorted));
      if (before != null && before.labels().equals(sorted)) {
        unchangedUpdates.incrementAndGet(); // a status change (the Pod got an IP, became ready): not our business
        return;
      }
      podChanged(key);
    }

    @Override
    public void forget(String key) {
      if (pods.remove(key) != null) {
        podChanged(key);
      }
    }

    @Override
    public Collection<String> keys() {
      return pods.keySet();
    }

    private void podChanged(String key) {
      Map<String, Integer> users = servicesByPod.get(key);
      if (users != null && !users.isEmpty()) {
        dirtyServices.addAll(users.keySet());
        markChanged();
      }
    }
  }

  /**
   * The Secrets of one type (one informer per namespace read): only those {@link #keepsSecret} accepts, as
   * {@link KubeSecret}s; any other is forgotten at once (an update can remove Gloo's annotation).
   */
  private final class SecretStore implements Store<Secret> {
    private final TreeMap<String, SecretEntry> kept = new TreeMap<>();

    SecretStore(String type) {
      secrets.put(type, kept);
    }

    @Override
    public void put(Secret obj) {
      String key = key(obj.getMetadata());
      SecretEntry before = kept.get(key);
      String rv = obj.getMetadata().getResourceVersion();
      if (before != null && Objects.equals(before.resourceVersion(), rv)) {
        unchangedUpdates.incrementAndGet();
        return;
      }
      if (!keepsSecret(obj)) {
        forget(key);
        return;
      }
      KubeSecret now = kubeSecret(obj);
      if (before != null && before.secret().equals(now)) {
        kept.put(key, new SecretEntry(rv, before.secret())); // labels or annotations only: the same object
        unchangedUpdates.incrementAndGet();
        return;
      }
      kept.put(key, new SecretEntry(rv, now));
      markChanged();
    }

    @Override
    public void forget(String key) {
      if (kept.remove(key) != null) {
        markChanged();
      }
    }

    @Override
    public Collection<String> keys() {
      return kept.keySet();
    }
  }

  /**
   * Whether a Secret can hold TLS material Gloo reads, so the source keeps it: a {@code kubernetes.io/tls} Secret
   * (Gloo's TLS converter), or an Opaque Secret that Gloo recognises as one of its own secrets by the annotation
   * {@code resource_kind: '*v1.Secret'} and that holds a {@code tls} entry (Gloo's TLS secret kind; its other kinds,
   * such as AWS, API-key, OAuth or header secrets, carry credentials no Envoy is given through TLS, so they stay out
   * of memory). Pure.
   */
  public static boolean keepsSecret(Secret secret) {
    if (TLS_SECRET_TYPE.equals(secret.getType())) {
      return true;
    }
    Map<String, String> annotations = secret.getMetadata().getAnnotations();
    return OPAQUE_SECRET_TYPE.equals(secret.getType()) && annotations != null
        && GLOO_SECRET_KIND.equals(annotations.get(GLOO_KIND_ANNOTATION))
        && secret.getData() != null && secret.getData().containsKey(GLOO_TLS_KEY);
  }

  /** The value of a kept Secret: its data decoded from base64. Pure. */
  static KubeSecret kubeSecret(Secret secret) {
    ObjectMeta meta = secret.getMetadata();
    SortedMap<String, byte[]> data = new TreeMap<>();
    if (secret.getData() != null) {
      Base64.Decoder base64 = Base64.getMimeDecoder(); // the API server sends plain base64; MIME also takes none
      secret.getData().forEach((k, v) -> data.put(k, v == null ? new byte[0] : base64.decode(v)));
    }
    return new KubeSecret(meta.getNamespace(), meta.getName(), secret.getType(), data,
        SECRET.kind() + " " + key(meta) + "@" + meta.getResourceVersion());
  }

  /** A Settings document changed (null: deleted): the effective Settings, the discovery namespace, the scope. */
  private void settingsChanged(ResourceKey key, SourceDocument doc) {
    if (doc == null) {
      acceptedSettings.remove(key);
    } else {
      DecodedDocument decoded = ResourceDecoder.decodeDocument(doc);
      if (decoded.resource() instanceof Settings s && decoded.errors().isEmpty()) {
        acceptedSettings.put(key, s);
      } // a rejected Settings keeps its last accepted version, as the decoder's cache does
    }
    Settings effective = effectiveSettings(acceptedSettings.values());
    if (!effective.discoveryNamespace().equals(discoveryNamespace)) {
      LOG.info("Kubernetes: discovered Upstreams go to namespace {} (Settings discoveryNamespace)",
          effective.discoveryNamespace());
      discoveryNamespace = effective.discoveryNamespace();
      for (Map.Entry<String, ServiceEntry> e : services.entrySet()) {
        ServiceView view = e.getValue().view();
        e.setValue(new ServiceEntry(view, ServiceDiscovery.upstreamDocuments(view, discoveryNamespace, List.of())));
      }
    }
    SortedSet<String> wanted = scopeOf(effective);
    if (!Objects.equals(wanted, scope)) {
      scope = wanted;
      synced = false; // nothing is delivered until the informers of the new scope have listed
      if (scopedStarted) {
        rescope();
      }
    }
  }

  private static ResourceKey settingsKey(String namespace, String name) {
    return new ResourceKey(Settings.DEFAULTS.kind(), namespace, name);
  }

  /**
   * The Settings in force, as the decoder picks them: the one named {@code default}, else the first by namespace and
   * name; the defaults when there is none.
   */
  static Settings effectiveSettings(Collection<Settings> candidates) {
    Settings chosen = null;
    for (Settings s : candidates) {
      if (chosen == null || (s.meta().name().equals("default") && !chosen.meta().name().equals("default"))) {
        chosen = s;
      }
    }
    return chosen == null ? Settings.DEFAULTS : chosen;
  }

  /** The namespaces read: {@code watchNamespaces} plus the discovery namespace; null (all) when it is empty. */
  static SortedSet<String> scopeOf(Settings settings) {
    if (settings.watchNamespaces().isEmpty()) {
      return null;
    }
    SortedSet<String> out = new TreeSet<>(settings.watchNamespaces());
    out.add(settings.discoveryNamespace());
    return Collections.unmodifiableSortedSet(out);
  }

  private void problem(Watch watch, String verb, Throwable error) {
    Kind kind = watch.watched.kind();
    synchronized (watchErrors) {
      watchErrors.computeIfAbsent(kind.kind(), k -> new AtomicLong()).incrementAndGet();
    }
    int code = 0;
    boolean unreachable = false;
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof KubernetesClientException k && code == 0) {
        code = k.getCode(); // the informer may wrap it
      }
      unreachable |= t instanceof IOException;
    }
    String resource = watch.watched.resource();
    String why = code == 404
        ? "not found (is its CRD installed? see docs/kubernetes.md)"
        : code == 403
            ? "forbidden (grant list and watch on " + resource + ")"
            : code == 410
                ? "gone (the API server compacted past the informer's version; listing again)"
                : String.valueOf(error.getMessage());
    String message = "Kubernetes: cannot " + verb + " " + kind.kind() + " (" + resource + ", " + watch.scope()
        + "): " + why + "; retrying, and serving what was read last";
    synchronized (lock) {
      if ((unreachable || code >= 500) && code != 403 && code != 404 && unreachableSince == null) {
        unreachableSince = Instant.now();
      }
      if (message.equals(lastProblem.put(kind.kind() + " " + watch.scope(), message))) {
        LOG.debug("{}", message);
        return;
      }
    }
    LOG.error("{}", message);
  }

  private void clearProblem(Watch watch) { // caller holds lock
    if (lastProblem.remove(watch.watched.kind().kind() + " " + watch.scope()) != null) {
      LOG.info("Kubernetes: {} ({}) is readable again", watch.watched.kind().kind(), watch.scope());
    }
  }

  private void markChanged() { // caller holds lock
    changes.incrementAndGet();
    long now = System.nanoTime();
    if (!pending) {
      pending = true;
      burstStart = now;
    }
    lastChange = now;
    lock.notifyAll();
  }

  // ---- the delivering thread ----

  private void run() {
    while (!closed) {
      List<SourceDocument> documents;
      EndpointState state;
      SecretState secretState;
      try {
        synchronized (lock) {
          while (!closed) {
            if (pending && synced) {
              long now = System.nanoTime();
              long due = Math.min(lastChange + debounceNanos, burstStart + maxDelayNanos);
              if (now - due >= 0) {
                break;
              }
              TimeUnit.NANOSECONDS.timedWait(lock, due - now);
            } else {
              lock.wait();
            }
          }
          if (closed) {
            return;
          }
          pending = false;
          documents = documents();
          state = endpointState();
          secretState = secretState();
        }
      } catch (InterruptedException e) {
        continue; // only close() ends this thread
      }
      deliver(documents, state, secretState);
    }
  }

  /**
   * The documents in delivery order: the Gloo objects, with the discovered Upstreams among the Upstreams. A user's
   * Upstream wins over a discovered one of the same namespace and name; of two Services whose discovered names
   * collide (sanitizing can make {@code a-b/c} and {@code a/b-c} alike), the first by namespace and name wins.
   * Caller holds lock.
   */
  private List<SourceDocument> documents() {
    TreeMap<String, SourceDocument> discovered = new TreeMap<>();
    for (Map.Entry<String, ServiceEntry> e : services.entrySet()) {
      for (SourceDocument d : e.getValue().documents()) {
        String key = UPSTREAM_PREFIX + discoveryNamespace + "/" + nameOf(d);
        if (objects.containsKey(key)) {
          LOG.debug("Kubernetes: Upstream {}/{} is the user's; not the one discovered from Service {}",
              discoveryNamespace, nameOf(d), e.getKey());
          continue;
        }
        SourceDocument first = discovered.putIfAbsent(key, d);
        if (first != null && collisions.first(e.getKey() + " " + nameOf(d) + " " + first.origin())) {
          // Routes written for the second Service reach the first one's endpoints: the owner must rename one.
          LOG.warn("Kubernetes: Service {} gives the discovered Upstream name {}/{}, which {} already has; routes to "
              + "that name reach the first; rename one of the Services or write an Upstream of your own",
              e.getKey(), discoveryNamespace, nameOf(d), first.origin());
        }
      }
    }
    List<SourceDocument> out = new ArrayList<>(objects.size() + discovered.size());
    var theirs = discovered.entrySet().iterator();
    Map.Entry<String, SourceDocument> next = theirs.hasNext() ? theirs.next() : null;
    for (Map.Entry<String, Entry> e : objects.entrySet()) {
      while (next != null && next.getKey().compareTo(e.getKey()) < 0) {
        out.add(next.getValue());
        next = theirs.hasNext() ? theirs.next() : null;
      }
      out.add(e.getValue().document());
    }
    while (next != null) {
      out.add(next.getValue());
      next = theirs.hasNext() ? theirs.next() : null;
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private static String nameOf(SourceDocument d) {
    return String.valueOf(((Map<String, Object>) d.content().get("metadata")).get("name"));
  }

  /** Recomputes the endpoints of the Services marked dirty; all others keep their objects. Caller holds lock. */
  private EndpointState endpointState() {
    for (String key : dirtyServices) {
      ServiceEntry service = services.get(key);
      if (service == null) {
        endpoints.remove(key);
        continue;
      }
      List<SliceView> of = new ArrayList<>();
      for (String slice : slicesByService.getOrDefault(key, Collections.emptySortedSet())) {
        of.add(slices.get(slice));
      }
      endpointRecomputations.incrementAndGet();
      ServiceEndpoints now = ServiceDiscovery.endpoints(service.view(), of, this::podLabels);
      ServiceEndpoints before = endpoints.get(key);
      if (!now.equals(before)) {
        endpoints.put(key, now);
      }
    }
    dirtyServices.clear();
    // A Service's endpoints exist from its first event on, also before any slice names it.
    for (Map.Entry<String, ServiceEntry> e : services.entrySet()) {
      if (!endpoints.containsKey(e.getKey())) {
        endpointRecomputations.incrementAndGet();
        endpoints.put(e.getKey(), ServiceDiscovery.endpoints(e.getValue().view(), List.of(), this::podLabels));
      }
    }
    return new EndpointState(endpoints);
  }

  /** The kept Secrets of every type, their objects as they are. Caller holds lock. */
  private SecretState secretState() {
    SortedMap<String, KubeSecret> out = new TreeMap<>();
    for (TreeMap<String, SecretEntry> of : secrets.values()) {
      of.forEach((key, e) -> out.put(key, e.secret()));
    }
    return new SecretState(out);
  }

  private SortedMap<String, String> podLabels(String pod) {
    PodEntry p = pods.get(pod);
    return p == null ? null : p.labels();
  }

  private void deliver(List<SourceDocument> documents, EndpointState state, SecretState secretState) {
    if (SameObjects.inOrder(documents, lastDelivered) && state.changedSince(lastEndpoints).isEmpty()
        && secretState.changedSince(lastSecrets).isEmpty()) {
      LOG.debug("Kubernetes: changes cancelled out; nothing to deliver");
      return;
    }
    lastDelivered = documents;
    lastEndpoints = state;
    lastSecrets = secretState;
    long n = deliveries.incrementAndGet();
    LOG.info("Kubernetes: {} documents, {} Services' endpoints, {} TLS Secrets [delivery {}]", documents.size(),
        state.services().size(), secretState.secrets().size(), n);
    try {
      listener.accept(new ConfigInput(describe(), documents, List.of(), state, secretState));
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) { // NOPMD: whatever the listener does must not stop config from being read
      LOG.error("Kubernetes: the listener failed on delivery {}; reading goes on", n, e);
    }
  }

  // ---- object to document (pure) ----

  /**
   * The document of one object: Kubernetes form, metadata reduced to what the decoder reads (also the form the
   * validation webhook gives the objects of admission requests). Pure.
   */
  public static SourceDocument document(Kind kind, GenericKubernetesResource obj) {
    ObjectMeta meta = obj.getMetadata();
    Map<String, Object> metadata = new LinkedHashMap<>();
    metadata.put("name", meta.getName());
    metadata.put("namespace", meta.getNamespace());
    if (meta.getLabels() != null && !meta.getLabels().isEmpty()) {
      metadata.put("labels", new LinkedHashMap<>(new TreeMap<>(meta.getLabels())));
    }
    if (meta.getAnnotations() != null && !meta.getAnnotations().isEmpty()) {
      metadata.put("annotations", new LinkedHashMap<>(new TreeMap<>(meta.getAnnotations())));
    }
    Map<String, Object> content = new LinkedHashMap<>();
    content.put("apiVersion", obj.getApiVersion());
    content.put("kind", obj.getKind() != null ? obj.getKind() : kind.kind());
    content.put("metadata", metadata);
    Object spec = obj.getAdditionalProperties().get("spec");
    if (spec != null) {
      content.put("spec", plain(spec));
    }
    String origin = kind.kind() + " " + meta.getNamespace() + "/" + meta.getName()
        + (meta.getResourceVersion() == null ? "" : "@" + meta.getResourceVersion());
    return new SourceDocument(origin, 0, content, Map.of());
  }

  /** The tree in the decoder's value types: maps, lists, strings, Long, Double, Boolean and null. */
  private static Object plain(Object value) {
    if (value instanceof Map<?, ?> map) {
      Map<String, Object> out = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : map.entrySet()) {
        out.put(String.valueOf(e.getKey()), plain(e.getValue()));
      }
      return out;
    }
    if (value instanceof List<?> list) {
      List<Object> out = new ArrayList<>(list.size());
      for (Object item : list) {
        out.add(plain(item));
      }
      return out;
    }
    if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
      return ((Number) value).longValue();
    }
    if (value instanceof BigInteger big) {
      return big.bitLength() < 64 ? (Object) big.longValue() : big.toString();
    }
    if (value instanceof Float || value instanceof Double) {
      return ((Number) value).doubleValue();
    }
    if (value instanceof BigDecimal dec) {
      return dec.doubleValue();
    }
    return value;
  }
}
