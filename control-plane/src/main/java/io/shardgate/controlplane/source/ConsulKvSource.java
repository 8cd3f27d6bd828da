package io.shardgate.controlplane.source;

import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.source.ConsulKvClient.ConsulException;
import io.shardgate.controlplane.source.ConsulKvClient.Entry;
import io.shardgate.controlplane.source.ConsulKvClient.Listing;
import io.shardgate.controlplane.source.SourceProblem.Severity;
import io.shardgate.sharding.decode.DocumentIdentity;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.model.SameObjects;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the Gloo Edge resources from Consul's key/value store, at the keys Gloo itself uses,
 * {@code <rootKey>/<group>/<version>/<Kind>/<namespace>/<name>} (for example
 * {@code gloo/gateway.solo.io/v1/VirtualService/gloo-system/default}), and hands each new set of documents to a
 * listener as an immutable {@link ConfigInput}.
 *
 * <p>Stage: source (the edge that talks to Consul). Stateful; thread-safe: {@link #start()}, {@link #close()} and
 * the accessors may be called from any thread; the listener is called on the daemon thread {@value #THREAD_NAME},
 * one call at a time.
 *
 * <ul>
 *   <li>One recursive blocking query on {@code <rootKey>/} at a time ({@code ?recurse&index=N&wait=...}). Consul's
 *       index rules are followed: an index that goes backwards, or is 0, resets the watch to a fresh full read; and
 *       an index that is 0 blocks as index 1; calls are at least {@link Options#minGap()} apart, so nothing can spin.
 *   <li>A value is YAML or JSON (JSON is read as YAML), in Kubernetes form or Gloo's flat form (metadata plus the
 *       spec fields), normalised as a file of the directory layout is ({@link DirectoryLoader}); the key supplies
 *       kind, namespace and name where the value leaves them out. A document's origin is
 *       {@code consul:<key>@<modifyIndex>}.
 *   <li>A value that does not parse, holds other than one document, or has a wrong identity is an
 *       {@link Severity#ERROR} problem naming the key, and the key's last good document is served meanwhile, as a
 *       broken file's is. Keys outside the layout are a {@link Severity#WARNING} (logged once per key).
 *   <li>A key whose value bytes did not change keeps its very {@link SourceDocument} (with the origin of the
 *       modifyIndex it was first read at), so an answer that changed nothing, a Consul restart, or an index reset
 *       with the same content pushed back delivers nothing. Changes are debounced as the directory source's are.
 *   <li>Consul unreachable or refusing: logged once at ERROR, retried with back-off (up to
 *       {@link Options#maxBackoff()}), {@link #health()} says since when; the pipeline keeps serving what it was last
 *       given. Nothing is delivered before the first successful read.
 * </ul>
 */
public final class ConsulKvSource implements ConfigSource, SourceHealth {

  private static final Logger LOG = LoggerFactory.getLogger(ConsulKvSource.class);

  /** Name of the reading thread. */
  public static final String THREAD_NAME = "shardgate-consul-kv";

  /** Gloo's default root key. */
  public static final String DEFAULT_ROOT_KEY = "gloo";

  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);

  /** How the source paces itself. */
  public record Options(String rootKey, Duration blockingWait, Duration minGap, Duration debounce, Duration maxDelay,
      Duration minBackoff, Duration maxBackoff) {

    public Options {
      rootKey = normaliseRoot(rootKey);
      for (Duration d : List.of(blockingWait, minGap, debounce, maxDelay, minBackoff, maxBackoff)) {
        if (d.isNegative() || d.isZero()) {
          throw new IllegalArgumentException("durations must be positive: " + d);
        }
      }
    }

    /** Gloo's root key and the directory source's debounce; blocking queries of five minutes, as Consul's default. */
    public static Options defaults(String rootKey) {
      return new Options(rootKey, Duration.ofMinutes(5), Duration.ofMillis(50), DirectorySource.DEFAULT_DEBOUNCE,
          DirectorySource.DEFAULT_MAX_DELAY, Duration.ofMillis(250), Duration.ofSeconds(10));
    }
  }

  /** The Gloo kinds read, by {@code <group>/<version>/<Kind>}, in delivery order. */
  static final List<String> KIND_PATHS = KubernetesSource.KINDS.stream()
      .map(k -> k.group() + "/v1/" + k.kind()).toList();

  /** The key of a resource in the layout. */
  public static String keyOf(String rootKey, String apiVersion, String kind, String namespace, String name) {
    return normaliseRoot(rootKey) + "/" + apiVersion + "/" + kind + "/" + namespace + "/" + name;
  }

  private static String normaliseRoot(String rootKey) {
    String r = rootKey == null ? "" : rootKey.strip();
    while (r.endsWith("/")) {
      r = r.substring(0, r.length() - 1);
    }
    while (r.startsWith("/")) {
      r = r.substring(1);
    }
    if (r.isEmpty()) {
      throw new IllegalArgumentException("the Consul root key must not be empty (Gloo's default is gloo)");
    }
    return r;
  }

  /** What one key holds now: its value's bytes, what they made and the document served for it. */
  private record Held(byte[] value, long modifyIndex, SourceDocument document, List<SourceProblem> problems) {}

  private final ConsulKvClient client;
  private final Options options;
  private final Consumer<ConfigInput> listener;

  private final AtomicLong deliveries = new AtomicLong();
  private final AtomicLong queries = new AtomicLong();
  private final AtomicLong resets = new AtomicLong();
  private final AtomicLong watchErrors = new AtomicLong();
  private final AtomicLong valueReads = new AtomicLong();
  private volatile long lastIndex;
  private volatile int keyCount;
  private final Object lifecycle = new Object();
  private boolean started; // guarded by lifecycle
  private volatile boolean closed;
  private volatile Thread thread;
  private volatile Instant unreachableSince;
  private volatile String lastError;
  private volatile ConfigInput current;

  // Only the reading thread touches these.
  private final TreeMap<String, Held> held = new TreeMap<>();
  private final Set<String> warnedKeys = new HashSet<>();
  private List<SourceDocument> lastDocuments;
  private List<SourceProblem> lastProblems;

  public ConsulKvSource(ConsulKvClient client, Options options, Consumer<ConfigInput> listener) {
    this.client = Objects.requireNonNull(client, "client");
    this.options = Objects.requireNonNull(options, "options");
    this.listener = Objects.requireNonNull(listener, "listener");
  }

  /** Starts the reading thread; the first delivery follows the first successful read. */
  @Override
  public void start() {
    synchronized (lifecycle) {
      if (closed) {
        throw new IllegalStateException("closed");
      }
      if (started) {
        throw new IllegalStateException("already started");
      }
      started = true;
      Thread t = new Thread(this::run, THREAD_NAME);
      t.setDaemon(true);
      thread = t;
      t.start();
    }
  }

  @Override
  public String describe() {
    return "Consul KV " + client.options().address() + " under " + options.rootKey() + "/";
  }

  /** How many inputs were delivered to the listener. */
  public long deliveries() {
    return deliveries.get();
  }

  /** How many list calls were made to Consul, answered or not. */
  public long queries() {
    return queries.get();
  }

  /** How many times the watch restarted from a full read because the index went backwards or was 0. */
  public long indexResets() {
    return resets.get();
  }

  /** The input last delivered, or null before the first. */
  public long watchErrors() {
    return watchErrors.get();
  }

  /** Values parsed: one per key whose bytes changed (or appeared); unchanged keys in a listing cost nothing. */
  public long valueReads() {
    return valueReads.get();
  }

  /** The {@code X-Consul-Index} of the last listing (0 before the first): the KV store's raft index under the root. */
  public long lastIndex() {
    return lastIndex;
  }

  /** Keys held now under the root key (those outside Gloo's layout included, as their warnings are). */
  public int keyCount() {
    return keyCount;
  }

  /** Whether the last call reached Consul (false before the first answer and while it is unreachable). */
  public boolean connected() {
    return current != null && unreachableSince == null;
  }

  public ConfigInput current() {
    return current;
  }

  @Override
  public Optional<String> health() {
    Instant since = unreachableSince;
    if (since == null) {
      return Optional.empty();
    }
    return Optional.of("Consul KV at " + client.options().address() + " unreachable since " + since + " ("
        + lastError + "); serving the config read last" + (current == null ? " (none yet)" : ""));
  }

  @Override
  public void close() {
    synchronized (lifecycle) {
      if (closed) {
        return;
      }
      closed = true;
    }
    Thread t = thread;
    if (t == null || t == Thread.currentThread()) {
      return;
    }
    t.interrupt(); // ends a blocking query in flight
    try {
      t.join(CLOSE_TIMEOUT.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---- the reading thread ----

  private void run() {
    long index = 0;
    long backoffNanos = options.minBackoff().toNanos();
    long lastCall = 0;
    boolean pending = false;
    long burstStart = 0;
    long lastChange = 0;
    while (!closed) {
      long gap = options.minGap().toNanos() - (System.nanoTime() - lastCall);
      if (lastCall != 0 && gap > 0) {
        LockSupport.parkNanos(gap);
        if (closed) {
          return;
        }
      }
      // While a burst is pending, wait only for the rest of its debounce; else for a long blocking query.
      long now = System.nanoTime();
      Duration wait = pending
          ? Duration.ofNanos(Math.max(1_000_000, Math.min(lastChange + options.debounce().toNanos(),
              burstStart + options.maxDelay().toNanos()) - now))
          : options.blockingWait();
      lastCall = System.nanoTime();
      queries.incrementAndGet();
      Listing listing;
      try {
        listing = client.list(options.rootKey() + "/", index, wait);
      } catch (InterruptedException e) {
        if (closed) {
          return;
        }
        continue; // a stray interrupt; only close() ends the thread
      } catch (IOException | RuntimeException e) {
        if (closed) {
          return;
        }
        unreachable(e);
        index = 0; // Consul may have restarted: a fresh full read, not a block on an index it never reached
        LockSupport.parkNanos(backoffNanos);
        backoffNanos = Math.min(backoffNanos * 2, options.maxBackoff().toNanos());
        continue;
      }
      backoffNanos = options.minBackoff().toNanos();
      if (unreachableSince != null) {
        LOG.info("Consul KV at {}: reachable again", client.options().address());
        unreachableSince = null;
      }
      long next = listing.index();
      lastIndex = next;
      if (next < index) {
        // Consul's rule: an index that goes backwards (a snapshot restore, a rebuilt cluster) restarts the watch from
        // a full read. This answer is itself a full listing, so it is used; the next call is a plain read.
        resets.incrementAndGet();
        LOG.info("Consul KV at {}: the index went back from {} to {}; reading everything again",
            client.options().address(), index, next);
        next = 0;
      } else if (next <= 0) {
        next = 1; // Consul's rule: never block on index 0, which answers at once; 1 blocks until anything changes
      }
      boolean changed = apply(listing);
      keyCount = held.size();
      now = System.nanoTime();
      if (changed) {
        if (!pending) {
          pending = true;
          burstStart = now;
        }
        lastChange = now;
      }
      boolean first = current == null;
      if (first || (pending && (now - lastChange >= options.debounce().toNanos()
          || now - burstStart >= options.maxDelay().toNanos()))) {
        pending = false;
        deliver();
      }
      index = next;
    }
  }

  private void unreachable(Exception e) {
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    watchErrors.incrementAndGet();
    lastError = message;
    if (unreachableSince == null) {
      unreachableSince = Instant.now();
      LOG.error("{}; still serving the config read last; retrying with back-off up to {}", message,
          options.maxBackoff());
    } else {
      LOG.debug("Consul KV still unreachable: {}", message);
    }
  }

  /** Takes one full listing in; says whether what is served changed. */
  private boolean apply(Listing listing) {
    boolean changed = false;
    Set<String> seen = new HashSet<>();
    String prefix = options.rootKey() + "/";
    for (Entry e : listing.entries()) {
      if (!e.key().startsWith(prefix) || e.key().endsWith("/")) {
        continue; // a "folder" key made by the UI or the CLI holds nothing
      }
      seen.add(e.key());
      Held before = held.get(e.key());
      if (before != null && Arrays.equals(before.value(), e.value())) {
        continue; // same bytes: same document object, whatever its modifyIndex now is
      }
      Held now = read(e, before);
      valueReads.incrementAndGet();
      held.put(e.key(), now);
      changed = true;
    }
    changed |= held.keySet().retainAll(seen);
    return changed;
  }

  /** What one key's value makes, falling back on {@code before}'s document when it is broken. Pure. */
  private Held read(Entry e, Held before) {
    String origin = "consul:" + e.key() + "@" + e.modifyIndex();
    String[] path = e.key().substring(options.rootKey().length() + 1).split("/", -1);
    String kindPath = path.length == 5 ? path[0] + "/" + path[1] + "/" + path[2] : null;
    if (kindPath == null || !KIND_PATHS.contains(kindPath) || path[3].isEmpty() || path[4].isEmpty()) {
      return new Held(e.value(), e.modifyIndex(), null, List.of(new SourceProblem(origin, 0, Severity.WARNING,
          "the key is outside Gloo's layout " + options.rootKey() + "/<group>/<version>/<Kind>/<namespace>/<name> "
              + "(kinds: " + String.join(", ", KIND_PATHS) + ") and is skipped")));
    }
    byte[] value = e.value() == null ? new byte[0] : e.value();
    List<SourceDocument> docs;
    List<SourceProblem> problems = new ArrayList<>();
    try {
      docs = new YamlDocumentReader().read(origin, value);
    } catch (SourceException ex) {
      return broken(e, origin, ex.line(), ex.reason(), before);
    }
    if (docs.size() != 1) {
      return broken(e, origin, 0, "the value holds " + docs.size() + " documents; a key holds exactly one resource",
          before);
    }
    SourceDocument doc = DirectoryLoader.normaliseGloo(docs.get(0), path[2], path[3], path[4], problems);
    DocumentIdentity.Result identity = DocumentIdentity.check(doc);
    if (identity.verdict() == DocumentIdentity.Verdict.ERROR) {
      return broken(e, origin, doc.lineOf(identity.field()), identity.message(), before);
    }
    return new Held(e.value(), e.modifyIndex(), doc, List.copyOf(problems));
  }

  private static Held broken(Entry e, String origin, int line, String reason, Held before) {
    SourceDocument kept = before == null ? null : before.document();
    String consequence = kept == null ? "; the key contributes nothing until it is fixed"
        : "; still serving its last good value (" + kept.origin() + ")";
    return new Held(e.value(), e.modifyIndex(), kept,
        List.of(new SourceProblem(origin, line, Severity.ERROR, reason + consequence)));
  }

  /**
   * One full, non-blocking read of {@code rootKey}, as the first delivery of a source would hand it over (for
   * {@code validate --consul} and {@code translate --consul}).
   */
  public static ConfigInput readOnce(ConsulKvClient client, String rootKey) throws IOException, InterruptedException {
    ConsulKvSource source = new ConsulKvSource(client, Options.defaults(rootKey), input -> { });
    source.apply(client.list(source.options.rootKey() + "/", 0, Duration.ZERO));
    return source.input();
  }

  private ConfigInput input() {
    List<Held> ordered = new ArrayList<>(held.values());
    ordered.sort((a, b) -> Integer.compare(kindOrder(a), kindOrder(b)));
    List<SourceDocument> documents = new ArrayList<>();
    List<SourceProblem> problems = new ArrayList<>();
    for (Held h : ordered) {
      if (h.document() != null) {
        documents.add(h.document());
      }
      problems.addAll(h.problems());
    }
    return new ConfigInput(describe(), documents, problems);
  }

  private void deliver() {
    ConfigInput input = input();
    List<SourceDocument> documents = input.documents();
    List<SourceProblem> problems = input.problems();
    if (lastDocuments != null && SameObjects.inOrder(documents, lastDocuments) && problems.equals(lastProblems)) {
      LOG.debug("Consul KV: changes cancelled out; nothing to deliver");
      return;
    }
    Set<SourceProblem> known = lastProblems == null ? Set.of() : new HashSet<>(lastProblems);
    for (SourceProblem p : problems) {
      if (known.contains(p)) {
        continue;
      }
      if (p.severity() == Severity.ERROR) {
        LOG.error("{}", p);
      } else if (warnedKeys.add(p.file().substring(0, p.file().lastIndexOf('@')))) {
        LOG.warn("{}", p);
      }
    }
    lastDocuments = documents;
    lastProblems = problems;
    current = input;
    long n = deliveries.incrementAndGet();
    LOG.info("Consul KV: {} keys, {} documents, {} problems [delivery {}]", held.size(), documents.size(),
        problems.size(), n);
    try {
      listener.accept(input);
    } catch (VirtualMachineError err) {
      throw err;
    } catch (Throwable err) { // NOPMD: whatever the listener does must not stop config from being read
      LOG.error("Consul KV: the listener failed on delivery {}; reading goes on", n, err);
    }
  }

  /** Kind order first, then key order (the sort is stable over the key-sorted map). */
  private int kindOrder(Held h) {
    if (h.document() == null) {
      return KIND_PATHS.size();
    }
    String kind = String.valueOf(h.document().content().get("kind"));
    for (int i = 0; i < KubernetesSource.KINDS.size(); i++) {
      if (KubernetesSource.KINDS.get(i).kind().equals(kind)) {
        return i;
      }
    }
    return KIND_PATHS.size();
  }

  /** Short waits and back-off, for tests that restart Consul under the source. */
  public static Options quick(String rootKey) {
    return new Options(rootKey, Duration.ofSeconds(30), Duration.ofMillis(50), DirectorySource.DEFAULT_DEBOUNCE,
        DirectorySource.DEFAULT_MAX_DELAY, Duration.ofMillis(100), Duration.ofSeconds(1));
  }
}
