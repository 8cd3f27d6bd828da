package io.shardgate.controlplane.webhook;

import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.pipeline.TranslationEngine;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.Settings;
import io.shardgate.sharding.report.ResourceStatus;
import io.shardgate.sharding.translate.LastGood;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.LongSupplier;

/**
 * Decides admission requests for Gloo objects (docs/validation-webhook.md): the change is applied to a copy of the
 * control plane's current input and translated dry-run, and refused when it would reject the object itself or add a
 * rejection to another resource (a domain conflict, a delegation cycle), with the messages {@code validate} prints.
 *
 * <p>Where the dry run lives: in a translation engine of the validator's own ({@link TranslationEngine}, the same
 * incremental core as the pipeline's, with caches of its own), so nothing a request does can reach the pipeline's
 * caches, the Envoys or the statuses. Each input the source delivers is translated here too (incrementally, as the
 * pipeline does); a request is then one more incremental pass over that state with one document changed, so it
 * re-translates only the proxies whose recorded reads (selector answers, delegation lookups, Upstreams) the document
 * touches, and xDS-translates only the shards whose configuration changes: the cost follows the change, not the
 * configuration. An object no Gateway reaches is still decoded on its own, and its decode problems decide.
 *
 * <p>The validator's view: the source's latest documents with the admitted changes not yet seen from the source laid
 * over them, so that a burst of applies validates each against the ones before (as Gloo does). A pending change is
 * dropped once the source's document equals it (or is gone, for a delete), or after {@link #PENDING_TTL} (the API
 * server may have failed to store it), so the view converges to the source's.
 *
 * <p>Last good state: the engine's first pass starts from the pipeline's last good state; after that each pass
 * serves rejected resources what the pass before produced (the validator's own chain), which decides only what a
 * rejected resource would serve, never whether a resource is rejected.
 *
 * <p>Stateful; thread-safe: every method is synchronized (one request or source input at a time, as Gloo holds one
 * lock). The clock is given ({@code nanoTime}) for tests.
 */
public final class AdmissionValidator {

  /** How long an admitted change is laid over the source's documents if the source never shows it. */
  public static final Duration PENDING_TTL = Duration.ofSeconds(60);

  /** A document key: {@code Kind namespace/name}. */
  private record DocKey(Kind kind, String namespace, String name) implements Comparable<DocKey> {
    @Override
    public int compareTo(DocKey o) {
      return new ResourceKey(kind, namespace, name).compareTo(new ResourceKey(o.kind, o.namespace, o.name));
    }
  }

  /** An admitted change the source has not shown yet: the document, or null for a delete. */
  private record Pending(SourceDocument document, long admittedNanos) {}

  private final TranslationEngine engine = new TranslationEngine();
  private final LongSupplier nanoTime;
  private final TreeMap<DocKey, Pending> pending = new TreeMap<>();
  /** The key of every document of the view (identity), so a request does not read thousands of trees again. */
  private Map<SourceDocument, DocKey> keys = new IdentityHashMap<>();
  /** The source's latest input, as the pipeline's pass listener hands it over (without taking the lock). */
  private record Incoming(ConfigInput input, LastGood lastGood) {}

  private volatile Incoming incoming;
  private Incoming foldedIncoming; // the incoming the view was last built from
  private ConfigInput sourceInput; // the source's input the view is built from
  private LastGood seed; // the pipeline's last good state, for the first pass
  private List<SourceDocument> view = List.of(); // the source's documents with the pending changes applied
  private ConfigInput baseInput;
  private Translation base; // translation of the view
  private Translation last; // the engine's latest translation (the chain of last good state)

  /** A validator on the system clock. */
  public AdmissionValidator() {
    this(System::nanoTime);
  }

  /** A validator that reads the time from {@code nanoTime} (only to expire pending changes). */
  public AdmissionValidator(LongSupplier nanoTime) {
    this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
  }

  /**
   * The source delivered {@code input} and the pipeline translated it into a state whose last good part is
   * {@code lastGood}. Cheap: the input is translated here when the next request comes (or {@link #refresh} runs).
   */
  public void sourceChanged(ConfigInput input, LastGood lastGood) {
    incoming = new Incoming(Objects.requireNonNull(input, "input"), lastGood == null ? LastGood.EMPTY : lastGood);
  }

  /** Whether the source has delivered its first input (before that every request is answered "not ready"). */
  public boolean ready() {
    return incoming != null;
  }

  /** Brings the view and its translation up to the source's latest input, if it is not yet. */
  public synchronized void refresh() {
    Incoming now = incoming;
    if (now == null || now == foldedIncoming) {
      return;
    }
    sourceInput = now.input();
    if (seed == null) {
      seed = now.lastGood();
    }
    long nanos = nanoTime.getAsLong();
    Map<SourceDocument, DocKey> nextKeys = new IdentityHashMap<>();
    Map<DocKey, SourceDocument> fromSource = new HashMap<>();
    for (SourceDocument d : sourceInput.documents()) {
      DocKey k = keyOf(d);
      nextKeys.put(d, k);
      if (k != null) {
        fromSource.put(k, d);
      }
    }
    pending.entrySet().removeIf(e -> {
      SourceDocument seen = fromSource.get(e.getKey());
      SourceDocument want = e.getValue().document();
      boolean caughtUp = want == null ? seen == null : seen != null && seen.content().equals(want.content());
      return caughtUp || nanos - e.getValue().admittedNanos() > PENDING_TTL.toNanos();
    });
    pending.forEach((k, p) -> {
      if (p.document() != null) {
        nextKeys.put(p.document(), k);
      }
    });
    keys = nextKeys;
    List<SourceDocument> next = sourceInput.documents();
    for (Map.Entry<DocKey, Pending> e : pending.entrySet()) {
      next = with(next, e.getKey(), e.getValue().document());
    }
    view = next;
    baseInput = inputOf(view);
    base = translate(baseInput);
    foldedIncoming = now; // only now: a translation that threw is tried again by the next request
  }

  /** The Settings in force in the validator's view (the defaults before the first input). */
  public synchronized Settings settings() {
    refresh();
    return base == null ? Settings.DEFAULTS : base.settings();
  }

  /** How many admitted changes wait for the source to show them. */
  public synchronized int pendingChanges() {
    refresh();
    return pending.size();
  }

  /** Decides {@code request}; never throws for bad input. */
  public synchronized AdmissionVerdict decide(AdmissionRequest request) {
    if (request.kind() == null || request.kind() == Kind.PROXY || request.kind() == Kind.SECRET) {
      return AdmissionVerdict.skipped("not a kind Shardgate validates");
    }
    if (request.operation() == AdmissionRequest.Operation.CONNECT) {
      return AdmissionVerdict.skipped("CONNECT changes nothing");
    }
    if (incoming == null) {
      // Nothing to validate against yet; the Settings, and so alwaysAccept, are unknown: Shardgate's default holds.
      String why = "Shardgate's validation webhook is not ready: the control plane has not read its config source yet;"
          + " retry in a few seconds";
      boolean admit = Settings.Validation.DEFAULT.alwaysAccept();
      return new AdmissionVerdict(admit, admit ? "" : why, admit ? List.of(why) : List.of(),
          AdmissionVerdict.NOT_READY, List.of());
    }
    refresh();
    Settings.Validation knobs = base.settings().validation();
    if (!knobs.serverEnabled()) {
      return new AdmissionVerdict(true, "", List.of("Shardgate's validation is off (Settings "
          + base.settings().meta().namespace() + "/" + base.settings().meta().name()
          + " gateway.validation.serverEnabled: false); the change was not checked"), AdmissionVerdict.SKIPPED,
          List.of());
    }
    if (request.skipsValidation()) {
      return AdmissionVerdict.skipped("annotation " + AdmissionRequest.SKIP_ANNOTATION + ": \"true\"");
    }
    if (request.changesNothingRead()) {
      return AdmissionVerdict.skipped("the update changes no label, annotation or spec field");
    }
    DocKey key = new DocKey(request.kind(), request.namespace(), request.name());
    boolean delete = request.operation() == AdmissionRequest.Operation.DELETE;
    if (delete && view.stream().noneMatch(d -> key.equals(keys.get(d)))) {
      return AdmissionVerdict.skipped("the object is not in the control plane's view");
    }
    List<SourceDocument> candidateView = with(view, key, delete ? null : request.object());
    ConfigInput candidateInput = inputOf(candidateView);
    Translation candidate = translate(candidateInput);
    ResourceKey own = new ResourceKey(request.kind(), request.namespace(), request.name());
    Problems problems = problems(own, delete, base, candidate);
    // The shards the change reaches: those using the object, and those whose served configuration it changes.
    SortedSet<String> reached = new TreeSet<>(candidate.translated());
    ResourceStatus ownStatus = candidate.gateway().statuses().get(own);
    if (ownStatus != null) {
      ownStatus.proxies().forEach(p -> reached.add(candidate.gateway().writeNamespace() + "~" + p));
    }
    List<String> shards = List.copyOf(reached);
    List<String> warnings = new ArrayList<>(problems.warnings());
    boolean refuse = !problems.errors().isEmpty() || (!knobs.allowWarnings() && !problems.warnings().isEmpty());
    if (refuse && knobs.alwaysAccept()) {
      problems.errors().forEach(e -> warnings.add("would be refused (Settings gateway.validation.alwaysAccept is true,"
          + " so it is admitted): " + e));
      refuse = false;
    }
    if (refuse) {
      List<String> reasons = new ArrayList<>(problems.errors());
      if (!knobs.allowWarnings()) {
        problems.warnings().forEach(w -> reasons.add(w + " (a warning; Settings gateway.validation.allowWarnings is"
            + " false)"));
      }
      // No warnings beside a refusal: most are consequences of the rejection the message already names.
      return new AdmissionVerdict(false, String.join("; ", reasons), List.of(), AdmissionVerdict.REFUSED, shards);
    }
    if (!request.dryRun()) {
      pending.put(key, new Pending(delete ? null : request.object(), nanoTime.getAsLong()));
      if (!delete) {
        keys.put(request.object(), key); // in the view now
      }
      view = candidateView;
      baseInput = candidateInput;
      base = candidate;
    }
    return new AdmissionVerdict(true, "", warnings, AdmissionVerdict.ADMITTED, shards);
  }

  /** The problems a change brings: errors and warnings, each {@code Kind namespace/name: message}. */
  record Problems(List<String> errors, List<String> warnings) {}

  /**
   * What {@code candidate} finds that {@code base} did not: every error and warning of the object itself (it is the
   * one being written; none for a delete), and the errors and warnings of any other resource, Proxy or shard that
   * were not there before. Problems other resources already had do not count, so a rejection elsewhere never blocks
   * an unrelated change. Pure.
   */
  static Problems problems(ResourceKey own, boolean delete, Translation base, Translation candidate) {
    List<String> errors = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    SortedMap<ResourceKey, ResourceStatus> before = base.gateway().statuses();
    // The object's own problems first (they are what its author must fix), then the others' in key order.
    List<ResourceStatus> statuses = new ArrayList<>(candidate.gateway().statuses().values());
    statuses.sort(Comparator.comparing((ResourceStatus s) -> !s.key().equals(own)));
    for (ResourceStatus s : statuses) {
      boolean mine = !delete && s.key().equals(own);
      ResourceStatus was = mine ? null : before.get(s.key());
      if (was == s) {
        continue; // the translation kept its status object: nothing new (the common case, so it must be cheap)
      }
      Set<String> oldErrors = was == null ? Set.of() : new HashSet<>(was.errors());
      Set<String> oldWarnings = was == null ? Set.of() : new HashSet<>(was.warnings());
      for (String e : s.errors()) {
        if (!oldErrors.contains(e)) {
          errors.add(s.key() + ": " + e);
        }
      }
      for (String w : s.warnings()) {
        if (!oldWarnings.contains(w)) {
          warnings.add(s.key() + ": " + w);
        }
      }
    }
    Set<String> oldDocumentProblems = new HashSet<>(base.gateway().documentProblems());
    for (String p : candidate.gateway().documentProblems()) {
      if (!oldDocumentProblems.contains(p)) {
        errors.add(p);
      }
    }
    candidate.failures().forEach((role, message) -> {
      if (!message.equals(base.failures().get(role))) {
        errors.add("shard " + role + ": " + message);
      }
    });
    return new Problems(errors, warnings);
  }

  private Translation translate(ConfigInput input) {
    LastGood previous = last != null ? last.gateway().lastGood() : seed == null ? LastGood.EMPTY : seed;
    Translation t = engine.translate(input, previous);
    engine.drainFailures(); // an internal error is in the translation's failures, which decide; nothing to log twice
    last = t;
    return t;
  }

  /**
   * {@code documents} with every document of {@code key} replaced by {@code document} (null: removed). Documents that
   * name no Gloo object, and the others, stay as they are, in their order, so their problems are the source's.
   */
  private List<SourceDocument> with(List<SourceDocument> documents, DocKey key, SourceDocument document) {
    List<SourceDocument> out = new ArrayList<>(documents.size() + 1);
    for (SourceDocument d : documents) {
      if (!key.equals(keys.get(d))) {
        out.add(d);
      }
    }
    if (document != null) {
      out.add(document);
    }
    return out;
  }

  private ConfigInput inputOf(List<SourceDocument> documents) {
    return new ConfigInput(sourceInput.description() + " (admission view)", documents,
        sourceInput.problems(), sourceInput.endpoints(), sourceInput.secrets());
  }

  /** The key of a Gloo document in Kubernetes form, or null when it names none. */
  static DocKey keyOf(SourceDocument d) {
    Object kindName = d.content().get("kind");
    if (!(d.content().get("metadata") instanceof Map<?, ?> meta) || kindName == null) {
      return null;
    }
    Kind kind = kindOf(String.valueOf(kindName));
    Object ns = meta.get("namespace");
    Object name = meta.get("name");
    if (kind == null || name == null) {
      return null;
    }
    return new DocKey(kind, ns == null ? "" : String.valueOf(ns), String.valueOf(name));
  }

  /** The Gloo kind of this name, or null. */
  static Kind kindOf(String kindName) {
    for (Kind k : Kind.values()) {
      if (k.kindName().equals(kindName)) {
        return k;
      }
    }
    return null;
  }

  /** For tests: the documents of the view, in order. */
  synchronized List<SourceDocument> viewDocuments() {
    refresh();
    return List.copyOf(view);
  }

  /** For tests and the log: per resource, its state in the view's translation. */
  synchronized Map<ResourceKey, ResourceStatus> viewStatuses() {
    refresh();
    return base == null ? Map.of() : new LinkedHashMap<>(base.gateway().statuses());
  }
}
