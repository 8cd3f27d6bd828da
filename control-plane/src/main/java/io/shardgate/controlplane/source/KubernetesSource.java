package io.shardgate.controlplane.source;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.sharding.decode.SourceDocument;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the Gloo Edge resources from the Kubernetes API server with one informer per kind (all namespaces) and
 * hands each new set of documents to a listener as an immutable {@link ConfigInput}.
 *
 * <p>Stage: source (the edge that talks to the API server). Stateful; thread-safe: {@link #start()},
 * {@link #close()} and the accessors may be called from any thread. The informers' threads only record changes;
 * the listener is called on the daemon thread {@value #THREAD_NAME}, one call at a time.
 *
 * <ul>
 *   <li>Each object becomes a {@link SourceDocument} in Kubernetes form holding {@code apiVersion}, {@code kind},
 *       {@code metadata} (name, namespace, labels and annotations only: server-set fields such as
 *       {@code managedFields}, {@code uid} or {@code resourceVersion} never reach the decoder) and {@code spec}
 *       ({@code status} is dropped). Its origin is {@code Kind namespace/name@resourceVersion}, line 0, which error
 *       messages show where a file source shows {@code file:line}.
 *   <li>An object whose resourceVersion, or failing that whose document, did not change keeps its very
 *       {@link SourceDocument} object, and a set of documents identical to the last delivered one is not delivered:
 *       a resync, a relist or a status-only update costs no pipeline pass, and the decode cache and the incremental
 *       engine, which reuse by identity, see unchanged objects as unchanged.
 *   <li>Nothing is delivered before every informer has listed its kind once; the first delivery is the whole initial
 *       list. Changes are debounced as the directory source debounces its events
 *       ({@link DirectorySource#DEFAULT_DEBOUNCE} after the last change, at most
 *       {@link DirectorySource#DEFAULT_MAX_DELAY} after the first).
 *   <li>A kind that cannot be listed or watched (its CRD is not installed, or access is forbidden) is logged at ERROR
 *       naming the kind and the verb, and retried by the informer with back-off; meanwhile the pipeline keeps serving
 *       what it was last given (before the first sync, nothing: no delivery happens until every kind has synced).
 * </ul>
 *
 * <p>Documents are delivered ordered by kind, namespace and name, so the input never depends on event order.
 */
public final class KubernetesSource implements ConfigSource {

  private static final Logger LOG = LoggerFactory.getLogger(KubernetesSource.class);

  /** Name of the delivering thread. */
  public static final String THREAD_NAME = "shardgate-kubernetes-source";

  /** The informers' resync period: a resync re-announces every cached object, which costs no pass here. */
  public static final Duration DEFAULT_RESYNC = Duration.ofMinutes(10);

  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);

  /** One Gloo kind the source reads. */
  public record Kind(String group, String kind, String plural) {

    /** How the client addresses this kind. */
    public ResourceDefinitionContext context() {
      return new ResourceDefinitionContext.Builder().withGroup(group).withVersion("v1").withKind(kind)
          .withPlural(plural).withNamespaced(true).build();
    }
  }

  /** The kinds read, in delivery order. */
  public static final List<Kind> KINDS = List.of(
      new Kind("gateway.solo.io", "Gateway", "gateways"),
      new Kind("gateway.solo.io", "VirtualService", "virtualservices"),
      new Kind("gateway.solo.io", "RouteTable", "routetables"),
      new Kind("gloo.solo.io", "Upstream", "upstreams"),
      new Kind("gloo.solo.io", "UpstreamGroup", "upstreamgroups"),
      new Kind("gloo.solo.io", "Settings", "settings"));

  private record Entry(String resourceVersion, SourceDocument document) {}

  private final KubernetesClient client;
  private final Consumer<ConfigInput> listener;
  private final Duration resync;
  private final long debounceNanos = DirectorySource.DEFAULT_DEBOUNCE.toNanos();
  private final long maxDelayNanos = DirectorySource.DEFAULT_MAX_DELAY.toNanos();
  private final AtomicLong deliveries = new AtomicLong();
  private final AtomicLong changes = new AtomicLong();
  private final AtomicLong unchangedUpdates = new AtomicLong();

  private final Object lock = new Object();
  /** Current objects, keyed by kind index, namespace and name so that iteration is delivery order. */
  private final TreeMap<String, Entry> objects = new TreeMap<>(); // guarded by lock
  private final List<SharedIndexInformer<GenericKubernetesResource>> informers = new ArrayList<>(); // by lock
  private final Map<String, String> lastProblem = new LinkedHashMap<>(); // guarded by lock
  private boolean synced; // guarded by lock
  private boolean pending; // guarded by lock
  private long burstStart; // guarded by lock
  private long lastChange; // guarded by lock
  private boolean started; // guarded by lock
  private volatile boolean closed;
  private volatile Thread thread;
  private List<SourceDocument> lastDelivered; // touched by the delivering thread only

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
  }

  /**
   * Starts one informer per kind and the delivering thread; returns at once. The first delivery follows the first
   * sync of every informer.
   *
   * @throws IllegalStateException when called twice or after {@link #close()}
   */
  @Override
  public void start() {
    List<CompletableFuture<Void>> syncs = new ArrayList<>();
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("closed");
      }
      if (started) {
        throw new IllegalStateException("already started");
      }
      started = true;
      for (int i = 0; i < KINDS.size(); i++) {
        Kind kind = KINDS.get(i);
        String prefix = i + "/";
        SharedIndexInformer<GenericKubernetesResource> informer = client.genericKubernetesResources(kind.context())
            .inAnyNamespace().runnableInformer(resync.toMillis());
        informer.exceptionHandler((isStarted, error) -> {
          problem(kind, isStarted ? "watch" : "list", error);
          return true; // keep retrying: installing the CRD or granting access must not need a restart
        });
        informer.addEventHandler(new ResourceEventHandler<>() {
          @Override
          public void onAdd(GenericKubernetesResource obj) {
            put(kind, prefix, obj);
          }

          @Override
          public void onUpdate(GenericKubernetesResource oldObj, GenericKubernetesResource newObj) {
            put(kind, prefix, newObj);
          }

          @Override
          public void onDelete(GenericKubernetesResource obj, boolean deletedFinalStateUnknown) {
            remove(prefix, obj);
          }
        });
        informers.add(informer);
        syncs.add(informer.start().toCompletableFuture());
      }
      Thread t = new Thread(this::run, THREAD_NAME);
      t.setDaemon(true);
      thread = t;
      t.start();
    }
    CompletableFuture.allOf(syncs.toArray(CompletableFuture[]::new)).whenComplete((ok, error) -> {
      if (error != null) {
        if (!closed) {
          LOG.error("Kubernetes: the informers did not start: {}", error.toString());
        }
        return;
      }
      synchronized (lock) {
        synced = true;
        KINDS.forEach(this::clearProblem);
        LOG.info("Kubernetes: every kind listed once ({} objects)", objects.size());
        markChanged();
      }
    });
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

  /** How many object changes were recorded (adds, updates and deletes that changed a document). */
  public long changes() {
    return changes.get();
  }

  /** Stops the informers and the delivering thread; no more deliveries happen. Idempotent. */
  @Override
  public void close() {
    List<SharedIndexInformer<GenericKubernetesResource>> toStop;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      toStop = List.copyOf(informers);
      lock.notifyAll();
    }
    for (SharedIndexInformer<GenericKubernetesResource> informer : toStop) {
      informer.stop();
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

  // ---- informer threads ----

  private void put(Kind kind, String prefix, GenericKubernetesResource obj) {
    ObjectMeta meta = obj.getMetadata();
    String key = prefix + meta.getNamespace() + "/" + meta.getName();
    String rv = meta.getResourceVersion();
    synchronized (lock) {
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
      clearProblem(kind);
      markChanged();
    }
  }

  private void remove(String prefix, GenericKubernetesResource obj) {
    String key = prefix + obj.getMetadata().getNamespace() + "/" + obj.getMetadata().getName();
    synchronized (lock) {
      if (objects.remove(key) != null) {
        markChanged();
      }
    }
  }

  private void problem(Kind kind, String verb, Throwable error) {
    int code = 0;
    for (Throwable t = error; t != null && code == 0; t = t.getCause()) {
      if (t instanceof KubernetesClientException k) {
        code = k.getCode(); // the informer may wrap it
      }
    }
    String why = code == 404
        ? "not found (is its CRD installed? see docs/kubernetes.md)"
        : code == 403
            ? "forbidden (grant list and watch on " + kind.plural() + "." + kind.group() + ")"
            : String.valueOf(error.getMessage());
    String message = "Kubernetes: cannot " + verb + " " + kind.kind() + " (" + kind.plural() + "." + kind.group()
        + ", all namespaces): " + why + "; retrying, and serving what was read last";
    synchronized (lock) {
      if (message.equals(lastProblem.put(kind.kind(), message))) {
        LOG.debug("{}", message);
        return;
      }
    }
    LOG.error("{}", message);
  }

  private void clearProblem(Kind kind) {
    if (lastProblem.remove(kind.kind()) != null) {
      LOG.info("Kubernetes: {} is readable again", kind.kind());
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
          documents = new ArrayList<>(objects.size());
          for (Entry e : objects.values()) {
            documents.add(e.document());
          }
        }
      } catch (InterruptedException e) {
        continue; // only close() ends this thread
      }
      deliver(documents);
    }
  }

  private void deliver(List<SourceDocument> documents) {
    if (sameDocuments(documents, lastDelivered)) {
      LOG.debug("Kubernetes: changes cancelled out; nothing to deliver");
      return;
    }
    lastDelivered = documents;
    long n = deliveries.incrementAndGet();
    LOG.info("Kubernetes: {} documents [delivery {}]", documents.size(), n);
    try {
      listener.accept(new ConfigInput(describe(), documents, List.of()));
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) { // NOPMD: whatever the listener does must not stop config from being read
      LOG.error("Kubernetes: the listener failed on delivery {}; reading goes on", n, e);
    }
  }

  private static boolean sameDocuments(List<SourceDocument> a, List<SourceDocument> b) {
    if (b == null || a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      if (a.get(i) != b.get(i)) {
        return false;
      }
    }
    return true;
  }

  // ---- object to document (pure) ----

  /** The document of one object: Kubernetes form, metadata reduced to what the decoder reads. */
  static SourceDocument document(Kind kind, GenericKubernetesResource obj) {
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
    String origin = kind.kind() + " " + meta.getNamespace() + "/" + meta.getName() + "@" + meta.getResourceVersion();
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
