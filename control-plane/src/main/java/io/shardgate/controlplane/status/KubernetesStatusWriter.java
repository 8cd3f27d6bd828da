package io.shardgate.controlplane.status;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.source.KubernetesSource;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the statuses {@link StatusTranslator} renders onto the Gloo objects through their status subresource, and
 * the Proxy objects {@link ProxyObjectTranslator} renders when Settings {@code gateway.persistProxySpec} is on (stale
 * ones deleted), while this replica is active (the leader). The edge of the status stage.
 *
 * <ul>
 *   <li>Never on the pipeline's thread: {@link #wake()} only signals the writer's own daemon thread
 *       {@value #THREAD_NAME}, which renders the newest translation (older ones are skipped: only the newest desired
 *       state matters) and also notices, every {@link #POLL}, when the Envoys' NACKs changed.
 *   <li>Only what changed: an object whose last written status equals the desired one, at the resourceVersion the
 *       translation read, is not touched; otherwise it is read and written only when its status differs (statuses of
 *       other write namespaces are kept).
 *   <li>A 409 conflict re-reads the object and tries again, {@value #MAX_ATTEMPTS} times; then, as after any other
 *       error (403 on {@code /status}, a missing object), it is logged once per resource naming the verb and
 *       resource, and retried on the next pass or after {@link #RETRY}.
 *   <li>Rate-bounded: at least the given interval between two writes.
 *   <li>{@link #setActive(boolean) setActive(false)} stops writing before the next write; {@code setActive(true)}
 *       forgets what was written and reconciles every status.
 * </ul>
 *
 * <p>Stateful; thread-safe: every public method may be called from any thread.
 */
public final class KubernetesStatusWriter implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(KubernetesStatusWriter.class);

  /** Name of the writing thread. */
  public static final String THREAD_NAME = "shardgate-status-writer";
  /** How often the writer looks for changed NACKs without a new translation. */
  public static final Duration POLL = Duration.ofSeconds(1);
  /** When a failed write is tried again without a new translation. */
  public static final Duration RETRY = Duration.ofSeconds(5);
  /** Writes of one status before a conflict is given up until the next pass. */
  public static final int MAX_ATTEMPTS = 5;
  /** The default rate bound: at most 50 writes a second. */
  public static final Duration DEFAULT_MIN_INTERVAL = Duration.ofMillis(20);

  private static final ResourceDefinitionContext PROXY_CONTEXT = new ResourceDefinitionContext.Builder()
      .withGroup("gloo.solo.io").withVersion("v1").withKind("Proxy").withPlural("proxies").withNamespaced(true)
      .build();

  private record Written(String resourceVersion, Map<String, Object> status) {}

  private final KubernetesClient client;
  private final Supplier<Translation> latest;
  private final Function<Translation, List<EnvoyRejections.Rejection>> rejections;
  private final StatusTranslator translator = new StatusTranslator();
  private final ProxyObjectTranslator proxyTranslator = new ProxyObjectTranslator();
  private final long minIntervalNanos;
  private final Thread thread;

  private final Object lock = new Object();
  private boolean woken; // guarded by lock
  private long activations; // guarded by lock
  private volatile boolean active;
  private volatile boolean closed;
  private volatile BiConsumer<ResourceKey, GenericKubernetesResource> beforeWrite = (k, o) -> { };

  private final AtomicLong writes = new AtomicLong();
  private final AtomicLong conflicts = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong rounds = new AtomicLong();
  private final AtomicLong proxyWrites = new AtomicLong();
  private final AtomicLong proxyDeletes = new AtomicLong();

  // Touched by the writing thread only.
  private final Map<ResourceKey, Written> written = new HashMap<>();
  private final Map<ResourceKey, String> logged = new HashMap<>();
  private final Map<String, ProxyObjectTranslator.ProxyObject> writtenProxies = new HashMap<>();
  private long seenActivations;
  private volatile Translation lastTranslation;
  private List<EnvoyRejections.Rejection> lastRejections;
  private long retryAt;
  private boolean proxiesFailed;
  private long lastWrite;

  /**
   * A writer; its thread starts at once and writes nothing until {@link #setActive(boolean) setActive(true)}.
   *
   * @param client the API server's client; the caller closes it after this writer
   * @param latest the newest translation (null before the first)
   * @param rejections the Envoys' current NACKs mapped to the translation's resources
   * @param minInterval the least time between two writes
   */
  public KubernetesStatusWriter(KubernetesClient client, Supplier<Translation> latest,
      Function<Translation, List<EnvoyRejections.Rejection>> rejections, Duration minInterval) {
    this.client = Objects.requireNonNull(client, "client");
    this.latest = Objects.requireNonNull(latest, "latest");
    this.rejections = Objects.requireNonNull(rejections, "rejections");
    this.minIntervalNanos = minInterval.toNanos();
    this.thread = new Thread(this::run, THREAD_NAME);
    thread.setDaemon(true);
    thread.start();
  }

  /** A new translation was published (called after each pipeline pass); returns at once. */
  public void wake() {
    synchronized (lock) {
      woken = true;
      lock.notifyAll();
    }
  }

  /**
   * Starts or stops writing. Becoming active reconciles every status (what this replica wrote before may have been
   * overwritten meanwhile); becoming inactive takes effect before the next write.
   */
  public void setActive(boolean active) {
    synchronized (lock) {
      if (active && !this.active) {
        activations++;
      }
      this.active = active;
      woken = true;
      lock.notifyAll();
    }
  }

  public boolean isActive() {
    return active;
  }

  /** Status writes that the API server took. */
  public long writes() {
    return writes.get();
  }

  /** Writes refused with 409 Conflict (each was re-read and tried again). */
  public long conflicts() {
    return conflicts.get();
  }

  /** Writes or reads that failed otherwise (logged once per resource). */
  public long failures() {
    return failures.get();
  }

  /** Proxy objects created or updated (Settings {@code gateway.persistProxySpec}). */
  public long proxyWrites() {
    return proxyWrites.get();
  }

  /** Stale Proxy objects deleted. */
  public long proxyDeletes() {
    return proxyDeletes.get();
  }

  /** The translation whose statuses the last complete round checked (and wrote where needed), or null. */
  public Translation lastRound() {
    return lastTranslation;
  }

  /** Rounds that rendered and checked every status (a round that finds nothing changed writes nothing). */
  public long rounds() {
    return rounds.get();
  }

  /**
   * Test hook: called on the writing thread between reading an object and writing its status, with what was read.
   * A test updates the object there to provoke a real 409 Conflict.
   */
  public void beforeWrite(BiConsumer<ResourceKey, GenericKubernetesResource> hook) {
    this.beforeWrite = Objects.requireNonNull(hook, "hook");
  }

  @Override
  public void close() {
    closed = true;
    active = false;
    thread.interrupt();
    try {
      thread.join(TimeUnit.SECONDS.toMillis(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---- the writing thread ----

  private void run() {
    while (!closed) {
      try {
        long activation;
        synchronized (lock) {
          if (!woken) {
            lock.wait(POLL.toMillis());
          }
          woken = false;
          activation = activations;
        }
        if (!active) {
          continue;
        }
        if (activation != seenActivations) {
          seenActivations = activation;
          written.clear();
          writtenProxies.clear();
          lastTranslation = null;
          LOG.info("Status writer: active; reconciling every status");
        }
        round();
      } catch (InterruptedException e) {
        if (closed) {
          return;
        }
      } catch (RuntimeException e) {
        LOG.error("Status writer: a round failed; it is tried again", e);
        retryAt = System.nanoTime() + RETRY.toNanos();
      }
    }
  }

  private void round() throws InterruptedException {
    Translation t = latest.get();
    if (t == null) {
      return;
    }
    List<EnvoyRejections.Rejection> r = rejections.apply(t);
    boolean retryDue = retryAt != 0 && System.nanoTime() - retryAt >= 0;
    if (t == lastTranslation && r.equals(lastRejections) && !retryDue) {
      return;
    }
    retryAt = 0;
    SortedMap<ResourceKey, StatusTranslator.ObjectStatus> desired = translator.render(t, r);
    written.keySet().retainAll(desired.keySet());
    logged.keySet().removeIf(k -> k.kind() != Kind.PROXY && !desired.containsKey(k));
    boolean failed = false;
    for (StatusTranslator.ObjectStatus d : desired.values()) {
      if (!active || closed) {
        return;
      }
      if (newerWork(t)) {
        return; // coalesce: start over with the newest translation; what was written stays cached
      }
      Written w = written.get(d.key());
      if (w != null && w.resourceVersion().equals(d.resourceVersion()) && w.status().equals(d.status())) {
        continue;
      }
      failed |= !write(d, t.gateway().writeNamespace());
    }
    if ((t != lastTranslation || proxiesFailed) && active && !closed) {
      proxiesFailed = !writeProxies(t);
      failed |= proxiesFailed;
    }
    lastTranslation = t;
    lastRejections = r;
    rounds.incrementAndGet();
    if (failed) {
      retryAt = System.nanoTime() + RETRY.toNanos();
    }
  }

  private boolean newerWork(Translation t) {
    synchronized (lock) {
      return woken && latest.get() != t;
    }
  }

  /** Writes one status; true when it is on the object (or the object is gone), false to try again later. */
  private boolean write(StatusTranslator.ObjectStatus d, String writeNamespace) throws InterruptedException {
    ResourceKey key = d.key();
    Resource<GenericKubernetesResource> resource = namespace(key).withName(key.name());
    for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      GenericKubernetesResource obj;
      try {
        obj = resource.get();
      } catch (KubernetesClientException e) {
        problem(key, "get", e);
        return false;
      }
      if (obj == null) {
        // Deleted since the translation read it; the next pass no longer has it.
        logOnce(key, "Status writer: " + key + " is gone (get " + plural(key) + "); its status is not written");
        return true;
      }
      Map<String, Object> current = asMap(obj.getAdditionalProperties().get("status"));
      Map<String, Object> merged = merge(current, d.status(), writeNamespace);
      if (merged.equals(current)) {
        written.put(key, new Written(d.resourceVersion(), d.status()));
        return true;
      }
      beforeWrite.accept(key, obj);
      if (!active) {
        return true; // lost leadership: not one more write
      }
      pace();
      obj.setAdditionalProperty("status", merged);
      try {
        namespace(key).resource(obj).updateStatus();
      } catch (KubernetesClientException e) {
        if (e.getCode() == 409) {
          conflicts.incrementAndGet();
          LOG.debug("Status writer: conflict on {} (attempt {}); re-reading it", key, attempt);
          continue;
        }
        problem(key, "update", e);
        return false;
      } finally {
        lastWrite = System.nanoTime();
      }
      writes.incrementAndGet();
      written.put(key, new Written(d.resourceVersion(), d.status()));
      if (logged.remove(key) != null) {
        LOG.info("Status writer: the status of {} is written again", key);
      }
      return true;
    }
    failures.incrementAndGet();
    logOnce(key, "Status writer: " + MAX_ATTEMPTS + " conflicts in a row on " + key + " (update " + plural(key)
        + "/status); tried again on the next pass");
    return false;
  }

  // ---- Proxy objects (Settings gateway.persistProxySpec) ----

  /**
   * Creates or updates the Proxy objects the translation asks for and deletes this writer's stale ones (labelled
   * {@code created_by: shardgate} in the write namespace); true when all of that succeeded.
   */
  private boolean writeProxies(Translation t) throws InterruptedException {
    SortedMap<String, ProxyObjectTranslator.ProxyObject> desired = proxyTranslator.render(t);
    String namespace = t.gateway().writeNamespace();
    ResourceKey listKey = new ResourceKey(Kind.PROXY, namespace, "*");
    boolean ok = true;
    for (ProxyObjectTranslator.ProxyObject p : desired.values()) {
      if (!active) {
        return true;
      }
      if (p.equals(writtenProxies.get(p.name()))) {
        continue;
      }
      ok &= writeProxy(p);
    }
    writtenProxies.keySet().retainAll(desired.keySet());
    List<GenericKubernetesResource> existing;
    try {
      existing = proxies().inNamespace(namespace)
          .withLabel(ProxyObjectTranslator.CREATED_BY_LABEL, ProxyObjectTranslator.CREATED_BY).list().getItems();
    } catch (KubernetesClientException e) {
      if (!t.settings().persistProxySpec() && (e.getCode() == 403 || e.getCode() == 404)) {
        // Without persistProxySpec the list only looks for Proxies to clean up: no access (or no Proxy CRD) means
        // there are none of ours to delete, and the RBAC for Proxies is needed only with persistProxySpec.
        LOG.debug("Status writer: cannot list Proxies ({}); none to clean up", e.getCode());
        return true;
      }
      problem(listKey, "list", e);
      return false;
    }
    for (GenericKubernetesResource stale : existing) {
      String name = stale.getMetadata().getName();
      if (desired.containsKey(name) || !active) {
        continue;
      }
      ResourceKey key = new ResourceKey(Kind.PROXY, namespace, name);
      try {
        pace();
        proxies().inNamespace(namespace).withName(name).delete();
        lastWrite = System.nanoTime();
        proxyDeletes.incrementAndGet();
        LOG.info("Status writer: deleted the stale {}", key);
      } catch (KubernetesClientException e) {
        problem(key, "delete", e);
        ok = false;
      }
    }
    return ok;
  }

  private boolean writeProxy(ProxyObjectTranslator.ProxyObject p) throws InterruptedException {
    ResourceKey key = new ResourceKey(Kind.PROXY, p.namespace(), p.name());
    for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      GenericKubernetesResource current;
      try {
        current = proxies().inNamespace(p.namespace()).withName(p.name()).get();
      } catch (KubernetesClientException e) {
        problem(key, "get", e);
        return false;
      }
      GenericKubernetesResource obj = current != null ? current : new GenericKubernetesResource();
      if (current == null) {
        obj.setApiVersion(Kind.PROXY.apiVersion());
        obj.setKind(Kind.PROXY.kindName());
        obj.setMetadata(new ObjectMetaBuilder().withName(p.name()).withNamespace(p.namespace()).build());
      } else if (sameJson(current.getAdditionalProperties().get("spec"), p.spec())
          && p.annotations().equals(ours(current.getMetadata().getAnnotations()))
          && ProxyObjectTranslator.CREATED_BY.equals(labels(current).get(ProxyObjectTranslator.CREATED_BY_LABEL))) {
        writtenProxies.put(p.name(), p);
        return true;
      }
      Map<String, String> labels = new TreeMap<>(labels(obj));
      labels.put(ProxyObjectTranslator.CREATED_BY_LABEL, ProxyObjectTranslator.CREATED_BY);
      obj.getMetadata().setLabels(labels);
      Map<String, String> annotations = new TreeMap<>(obj.getMetadata().getAnnotations() == null ? Map.of()
          : obj.getMetadata().getAnnotations());
      annotations.remove(ProxyObjectTranslator.COMPRESS_ANNOTATION);
      annotations.putAll(p.annotations());
      obj.getMetadata().setAnnotations(annotations);
      obj.setAdditionalProperty("spec", p.spec());
      pace();
      try {
        if (current == null) {
          proxies().inNamespace(p.namespace()).resource(obj).create();
        } else {
          proxies().inNamespace(p.namespace()).resource(obj).update();
        }
      } catch (KubernetesClientException e) {
        if (e.getCode() == 409) {
          conflicts.incrementAndGet();
          continue; // changed or created meanwhile: read it again
        }
        problem(key, current == null ? "create" : "update", e);
        return false;
      } finally {
        lastWrite = System.nanoTime();
      }
      proxyWrites.incrementAndGet();
      writtenProxies.put(p.name(), p);
      return true;
    }
    failures.incrementAndGet();
    logOnce(key, "Status writer: " + MAX_ATTEMPTS + " conflicts in a row on " + key + "; tried again later");
    return false;
  }

  private static Map<String, String> labels(GenericKubernetesResource r) {
    return r.getMetadata() == null || r.getMetadata().getLabels() == null ? Map.of() : r.getMetadata().getLabels();
  }

  /** The annotations this writer owns on a Proxy. */
  private static Map<String, String> ours(Map<String, String> annotations) {
    Map<String, String> out = new TreeMap<>();
    if (annotations != null && annotations.containsKey(ProxyObjectTranslator.COMPRESS_ANNOTATION)) {
      out.put(ProxyObjectTranslator.COMPRESS_ANNOTATION, annotations.get(ProxyObjectTranslator.COMPRESS_ANNOTATION));
    }
    return out;
  }

  /** Equal as JSON values (the API server's copy has its own number types and key order). */
  private boolean sameJson(Object a, Object b) {
    KubernetesSerialization json = client.getKubernetesSerialization();
    return json.unmarshal(json.asJson(a), Object.class).equals(json.unmarshal(json.asJson(b), Object.class));
  }

  private MixedOperation<GenericKubernetesResource, GenericKubernetesResourceList,
      Resource<GenericKubernetesResource>> proxies() {
    return client.genericKubernetesResources(PROXY_CONTEXT);
  }

  private void pace() throws InterruptedException {
    long wait = lastWrite + minIntervalNanos - System.nanoTime();
    if (lastWrite != 0 && wait > 0) {
      TimeUnit.NANOSECONDS.sleep(wait);
    }
  }

  private void problem(ResourceKey key, String verb, KubernetesClientException e) {
    failures.incrementAndGet();
    String what = verb + " " + plural(key) + ("update".equals(verb) ? "/status" : "");
    logOnce(key, "Status writer: cannot " + what + " of " + key + ": " + e.getCode() + " "
        + (e.getStatus() != null && e.getStatus().getReason() != null ? e.getStatus().getReason() : "")
        + " " + firstLine(e.getMessage()) + "; tried again on the next pass");
  }

  private void logOnce(ResourceKey key, String message) {
    if (!message.equals(logged.put(key, message))) {
      LOG.error("{}", message);
    }
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  private static String plural(ResourceKey key) {
    return key.kind().plural() + "." + key.kind().apiVersion().substring(0, key.kind().apiVersion().indexOf('/'));
  }

  private NonNamespaceOperation<GenericKubernetesResource, GenericKubernetesResourceList,
      Resource<GenericKubernetesResource>> namespace(ResourceKey key) {
    KubernetesSource.Kind kind = KubernetesSource.KINDS.stream()
        .filter(k -> k.kind().equals(key.kind().kindName())).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no API kind for " + key));
    return client.genericKubernetesResources(kind.context()).inNamespace(key.namespace());
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> asMap(Object value) {
    return value instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
  }

  /** The object's status with ours in place: the top-level state and proxies, and our write namespace's entry. */
  static Map<String, Object> merge(Map<String, Object> current, Map<String, Object> ours, String writeNamespace) {
    Map<String, Object> merged = new LinkedHashMap<>(current);
    merged.remove("proxies");
    for (Map.Entry<String, Object> e : ours.entrySet()) {
      if (!"statuses".equals(e.getKey())) {
        merged.put(e.getKey(), e.getValue());
      }
    }
    Map<String, Object> statuses = new LinkedHashMap<>(asMap(current.get("statuses")));
    statuses.put(writeNamespace, asMap(ours.get("statuses")).get(writeNamespace));
    merged.put("statuses", statuses);
    return merged;
  }
}
