package io.shardgate.sharding.decode;

import io.shardgate.sharding.model.Gateway;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ObjectMeta;
import io.shardgate.sharding.model.Resource;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceSnapshot;
import io.shardgate.sharding.model.RouteTable;
import io.shardgate.sharding.model.Settings;
import io.shardgate.sharding.model.Upstream;
import io.shardgate.sharding.model.UpstreamGroup;
import io.shardgate.sharding.model.VirtualService;
import io.shardgate.sharding.report.MessageOrder;
import io.shardgate.sharding.report.ResourceStatus;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Puts decoded documents together into {@link DecodedResources}, re-doing only what changed since the previous
 * call: a document handed over again as the very same object is not decoded again, and only the resources whose
 * documents appeared or disappeared are assembled again (which duplicate wins, statuses, watched namespaces), unless
 * the Settings in force changed. Reports which resources changed, so later stages can start from there.
 *
 * <p>Last accepted versions: an Upstream, UpstreamGroup or Settings that is rejected while decoding keeps its last
 * accepted document in force (from {@code lastAccepted}, the previous call's {@link Result#accepted}), with a warning
 * on its status; one that was never accepted is left out (Settings: the defaults). The accepted documents are what
 * the pipeline persists, so this survives a restart; being documents, not decoded values, they are decoded again by
 * the running version of Shardgate. (Gateways, VirtualServices and RouteTables keep their last good output instead,
 * at gateway translation.)
 *
 * <p>Stage: decoding. Stateful (its memos); the result depends only on the arguments, and equals a fresh cache's
 * ({@link ResourceDecoder#decode}). Not thread-safe: one pipeline thread calls it.
 */
public final class DecodedResourcesCache {

  /** Kinds whose last accepted document stays in force while the current one is rejected. */
  static final Set<Kind> KEEPS_LAST_ACCEPTED_DOCUMENT = Set.of(Kind.UPSTREAM, Kind.UPSTREAM_GROUP, Kind.SETTINGS);

  /**
   * The result of one call.
   *
   * @param changed the resources whose status, snapshot entry or rejected metadata differ from the previous call's,
   *     or null when everything must be considered changed (the first call, or the Settings in force changed)
   * @param accepted per resource ({@code Kind ns/name}), the last accepted document of every resource whose kind
   *     keeps one, to pass back as {@code lastAccepted}
   */
  public record Result(DecodedResources resources, Set<ResourceKey> changed, AcceptedDocuments accepted) {}

  /** One document, decoded, with its place in the order that decides which of two duplicates wins. */
  private static final class Entry {
    final SourceDocument doc;
    final DecodedDocument decoded;
    final long seq;

    Entry(SourceDocument doc, DecodedDocument decoded, long seq) {
      this.doc = doc;
      this.decoded = decoded;
      this.seq = seq;
    }
  }

  /** Sorting by origin first makes "which duplicate wins" independent of delivery order. */
  private static final Comparator<Entry> ORDER = Comparator.comparing((Entry e) -> e.doc.origin())
      .thenComparingInt(e -> e.doc.line())
      .thenComparingLong(e -> e.seq);

  /** What one resource is, as assembled. */
  private record Assembled(ResourceStatus status, Resource resource, ObjectMeta rejectedMeta, boolean watched,
      SourceDocument accepted) {}

  private final Function<SourceDocument, DecodedDocument> decoder;
  private IdentityHashMap<SourceDocument, Entry> entries = new IdentityHashMap<>();
  private List<SourceDocument> lastDocuments;
  private final Map<ResourceKey, TreeSet<Entry>> byKey = new HashMap<>();
  private final TreeSet<Entry> documentProblems = new TreeSet<>(ORDER);
  private final Map<ResourceKey, Assembled> assembled = new HashMap<>();
  private final EnumMap<Kind, TreeMap<ResourceKey, Resource>> snapshotByKind = new EnumMap<>(Kind.class);
  private final TreeMap<ResourceKey, ResourceStatus> statuses = new TreeMap<>();
  private final TreeMap<ResourceKey, ObjectMeta> rejectedMeta = new TreeMap<>();
  private final TreeMap<ResourceKey, Settings> settingsCandidates = new TreeMap<>();
  private final IdentityHashMap<SourceDocument, DecodedDocument> lastAcceptedDecoded = new IdentityHashMap<>();
  private SortedMap<String, SourceDocument> lastAccepted = AcceptedDocuments.EMPTY;
  private TreeMap<String, SourceDocument> accepted = new TreeMap<>();
  private Settings settings;
  private long seq;
  private long decodes;

  /** A cache that decodes each document with {@link ResourceDecoder#decodeDocument}. */
  public DecodedResourcesCache() {
    this(ResourceDecoder::decodeDocument);
  }

  /** A cache that decodes each document with {@code decoder} (a pure function of the document). */
  public DecodedResourcesCache(Function<SourceDocument, DecodedDocument> decoder) {
    this.decoder = Objects.requireNonNull(decoder, "decoder");
  }

  /** How many documents this cache has decoded (not reused), for tests and metrics. */
  public long decodes() {
    return decodes;
  }

  /**
   * Decodes {@code documents}; never throws for bad input.
   *
   * @param lastAccepted the previous call's {@link Result#accepted} (or what was persisted); empty for none
   */
  public Result decode(List<SourceDocument> documents, SortedMap<String, SourceDocument> lastAccepted) {
    Set<ResourceKey> affected = new HashSet<>();
    if (!patch(documents, affected)) {
      IdentityHashMap<SourceDocument, Entry> next = new IdentityHashMap<>(documents.size() * 2);
      for (SourceDocument doc : documents) {
        Entry e = entries.get(doc);
        if (e == null) {
          e = next.get(doc);
        }
        if (e == null) {
          e = new Entry(doc, decodeSafely(doc), seq++);
          decodes++;
          add(e, affected);
        }
        next.put(doc, e);
      }
      for (Entry old : entries.values()) {
        if (!next.containsKey(old.doc)) {
          remove(old, affected);
        }
      }
      entries = next;
    }
    lastDocuments = documents;
    if (lastAccepted != this.lastAccepted) {
      Set<String> keys = new HashSet<>(lastAccepted.keySet());
      keys.addAll(this.lastAccepted.keySet());
      for (String k : keys) {
        if (lastAccepted.get(k) != this.lastAccepted.get(k)) {
          ResourceKey key = parseKey(k);
          if (key != null) {
            affected.add(key);
          }
        }
      }
      this.lastAccepted = lastAccepted;
      this.accepted = new TreeMap<>(lastAccepted);
      this.accepted.keySet().removeIf(k -> {
        ResourceKey key = parseKey(k);
        return key == null || !byKey.containsKey(key);
      });
    }

    Map<ResourceKey, Assembled> before = new HashMap<>();
    for (ResourceKey k : affected) {
      before.put(k, assembled.get(k));
      assemble(k);
    }
    boolean everything = settings == null;
    Settings chosen = chooseSettings(before);
    if (!chosen.equals(settings)) {
      everything = true;
    }
    settings = chosen;
    Set<ResourceKey> toFinish = new HashSet<>(before.keySet());
    if (everything) {
      toFinish.addAll(assembled.keySet());
    }
    toFinish.addAll(settingsCandidates.keySet());
    Set<ResourceKey> changed = new HashSet<>();
    for (ResourceKey k : toFinish) {
      Assembled was = before.containsKey(k) ? before.get(k) : assembled.get(k);
      Assembled now = finish(k);
      if (!Objects.equals(was, now)) {
        changed.add(k);
      }
    }

    List<String> problems = new ArrayList<>(documentProblems.size());
    documentProblems.forEach(e -> problems.add(e.decoded.documentProblem()));
    ResourceSnapshot snapshot = new ResourceSnapshot(
        list(Kind.GATEWAY, Gateway.class),
        list(Kind.VIRTUAL_SERVICE, VirtualService.class),
        list(Kind.ROUTE_TABLE, RouteTable.class),
        list(Kind.UPSTREAM, Upstream.class),
        list(Kind.UPSTREAM_GROUP, UpstreamGroup.class),
        settings);
    DecodedResources out = new DecodedResources(snapshot, statuses, problems, rejectedMeta);
    // Handed back as the next call's lastAccepted: the same object then means "nothing to compare".
    this.lastAccepted = AcceptedDocuments.of(new TreeMap<>(accepted));
    return new Result(out, everything ? null : Collections.unmodifiableSet(changed),
        (AcceptedDocuments) this.lastAccepted);
  }

  /**
   * The common case, cheaply: the same number of documents as last time, differing at a few positions (a source
   * re-read a few files). Compares positions by identity instead of hashing every document; false when the change
   * does not look like that, and nothing was done.
   */
  private boolean patch(List<SourceDocument> documents, Set<ResourceKey> affected) {
    List<SourceDocument> before = lastDocuments;
    if (before == null || before.size() != documents.size()) {
      return false;
    }
    List<SourceDocument> gone = new ArrayList<>();
    List<SourceDocument> come = new ArrayList<>();
    for (int i = 0; i < documents.size(); i++) {
      SourceDocument a = before.get(i);
      SourceDocument b = documents.get(i);
      if (a != b) {
        gone.add(a);
        come.add(b);
        if (gone.size() > PATCH_LIMIT) {
          return false;
        }
      }
    }
    IdentityHashMap<SourceDocument, Boolean> moved = new IdentityHashMap<>();
    gone.forEach(d -> moved.put(d, Boolean.TRUE));
    for (SourceDocument d : come) {
      if (moved.containsKey(d) || entries.containsKey(d)) {
        return false; // a document moved, or appears twice: take the general path
      }
    }
    for (SourceDocument d : gone) {
      Entry e = entries.remove(d);
      if (e != null) {
        remove(e, affected);
      }
    }
    for (SourceDocument d : come) {
      Entry e = new Entry(d, decodeSafely(d), seq++);
      decodes++;
      add(e, affected);
      entries.put(d, e);
    }
    return true;
  }

  /** Beyond this many changed positions, the general path is as cheap. */
  private static final int PATCH_LIMIT = 256;

  private <T extends Resource> List<T> list(Kind kind, Class<T> type) {
    List<? extends Resource> cached = lists.get(kind);
    if (cached != null && !dirtyKinds.contains(kind)) {
      @SuppressWarnings("unchecked")
      List<T> same = (List<T>) cached;
      return same;
    }
    TreeMap<ResourceKey, Resource> byKind = snapshotByKind.get(kind);
    List<T> out = new ArrayList<>(byKind == null ? 0 : byKind.size());
    if (byKind != null) {
      byKind.values().forEach(r -> out.add(type.cast(r)));
    }
    List<T> frozen = List.copyOf(out);
    lists.put(kind, frozen);
    dirtyKinds.remove(kind);
    return frozen;
  }

  /** The snapshot's list of each kind, rebuilt only when a resource of that kind entered, left or changed. */
  private final EnumMap<Kind, List<? extends Resource>> lists = new EnumMap<>(Kind.class);
  private final EnumSet<Kind> dirtyKinds = EnumSet.allOf(Kind.class);

  private void add(Entry e, Set<ResourceKey> affected) {
    if (e.decoded.documentProblem() != null) {
      documentProblems.add(e);
      return;
    }
    byKey.computeIfAbsent(e.decoded.key(), k -> new TreeSet<>(ORDER)).add(e);
    affected.add(e.decoded.key());
  }

  private void remove(Entry e, Set<ResourceKey> affected) {
    if (e.decoded.documentProblem() != null) {
      documentProblems.remove(e);
      return;
    }
    ResourceKey key = e.decoded.key();
    TreeSet<Entry> candidates = byKey.get(key);
    if (candidates != null) {
      candidates.remove(e);
      if (candidates.isEmpty()) {
        byKey.remove(key);
      }
    }
    affected.add(key);
  }

  /** Decides the winning document of one key and what it contributes, before watched namespaces are applied. */
  private void assemble(ResourceKey key) {
    TreeSet<Entry> candidates = byKey.get(key);
    if (candidates == null) {
      assembled.remove(key);
      settingsCandidates.remove(key);
      accepted.remove(key.toString());
      return;
    }
    Entry winner = candidates.first();
    DecodedDocument d = winner.decoded;
    TreeSet<String> errors = new TreeSet<>(MessageOrder.INSTANCE);
    TreeSet<String> warnings = new TreeSet<>(MessageOrder.INSTANCE);
    errors.addAll(d.errors());
    warnings.addAll(d.warnings());
    for (Entry other : candidates.tailSet(winner, false)) {
      warnings.add("defined again at " + other.decoded.meta().origin() + "; the definition at " + d.meta().origin()
          + " is used and this one is ignored");
    }
    Resource resource = null;
    ObjectMeta rejected = null;
    SourceDocument acceptedDoc = null;
    if (errors.isEmpty()) {
      resource = d.resource();
      if (KEEPS_LAST_ACCEPTED_DOCUMENT.contains(key.kind())) {
        acceptedDoc = winner.doc;
      }
    } else {
      rejected = d.meta();
      if (KEEPS_LAST_ACCEPTED_DOCUMENT.contains(key.kind())) {
        SourceDocument last = lastAccepted.get(key.toString());
        DecodedDocument lastDecoded = last == null ? null : decodeLastAccepted(last);
        if (lastDecoded != null && lastDecoded.documentProblem() == null && lastDecoded.errors().isEmpty()
            && key.equals(lastDecoded.key())) {
          resource = lastDecoded.resource();
          acceptedDoc = last;
          warnings.add("the " + key.kind().kindName() + " is rejected; its last accepted version ("
              + lastDecoded.meta().origin() + ") keeps being served until this one is fixed");
        } else {
          warnings.add("the " + key.kind().kindName() + " is rejected and has no last accepted version, so "
              + (key.kind() == Kind.SETTINGS ? "the defaults are in force" : "nothing is served for it"));
        }
      }
    }
    if (acceptedDoc != null) {
      accepted.put(key.toString(), acceptedDoc);
    } else {
      accepted.remove(key.toString());
    }
    ResourceStatus status = ResourceStatus.of(key, d.meta().origin(), List.copyOf(errors), List.copyOf(warnings),
        new TreeSet<>());
    assembled.put(key, new Assembled(status, resource, rejected, false, acceptedDoc));
    if (key.kind() == Kind.SETTINGS && resource instanceof Settings s) {
      settingsCandidates.put(key, s);
    } else {
      settingsCandidates.remove(key);
    }
  }

  /** Gloo reads one Settings; prefer the one named {@code default}, then the first by namespace/name. */
  private Settings chooseSettings(Map<ResourceKey, Assembled> touched) {
    Settings chosen = null;
    for (Settings s : settingsCandidates.values()) {
      if (chosen == null || (s.meta().name().equals("default") && !chosen.meta().name().equals("default"))) {
        chosen = s;
      }
    }
    for (ResourceKey k : settingsCandidates.keySet()) {
      touched.putIfAbsent(k, assembled.get(k));
    }
    return chosen == null ? Settings.DEFAULTS : chosen;
  }

  /** Applies the Settings in force to one assembled resource: its Settings warnings, and whether it is watched. */
  private Assembled finish(ResourceKey key) {
    Assembled a = assembled.get(key);
    TreeMap<ResourceKey, Resource> byKind = snapshotByKind.computeIfAbsent(key.kind(), k -> new TreeMap<>());
    if (a == null) {
      if (byKind.remove(key) != null) {
        dirtyKinds.add(key.kind());
      }
      statuses.remove(key);
      rejectedMeta.remove(key);
      return null;
    }
    ResourceStatus status = a.status();
    boolean watched = false;
    if (a.resource() != null && key.kind() == Kind.SETTINGS) {
      if (a.resource() != settings) {
        status = withWarning(status, "only one Settings is read; " + settings.key() + " is used and this one is"
            + " ignored");
      }
    } else if (a.resource() != null) {
      watched = settings.watches(key.namespace());
      if (!watched) {
        status = withWarning(status, "namespace " + key.namespace() + " is not in settings.watchNamespaces "
            + settings.watchNamespaces() + "; ignored");
      }
    }
    if (watched) {
      if (byKind.put(key, a.resource()) != a.resource()) {
        dirtyKinds.add(key.kind());
      }
    } else if (byKind.remove(key) != null) {
      dirtyKinds.add(key.kind());
    }
    statuses.put(key, status);
    if (a.rejectedMeta() != null) {
      rejectedMeta.put(key, a.rejectedMeta());
    } else {
      rejectedMeta.remove(key);
    }
    return new Assembled(status, a.resource(), a.rejectedMeta(), watched, a.accepted());
  }

  private static ResourceStatus withWarning(ResourceStatus s, String warning) {
    TreeSet<String> warnings = new TreeSet<>(MessageOrder.INSTANCE);
    warnings.addAll(s.warnings());
    warnings.add(warning);
    return ResourceStatus.of(s.key(), s.origin(), s.errors(), List.copyOf(warnings), s.proxies());
  }

  private DecodedDocument decodeLastAccepted(SourceDocument doc) {
    return lastAcceptedDecoded.computeIfAbsent(doc, this::decodeSafely);
  }

  /**
   * Decodes one document; an exception (a bug, never bad input) rejects the resource it describes, or makes it a
   * document problem when not even that is known, instead of stopping the whole pass.
   */
  private DecodedDocument decodeSafely(SourceDocument doc) {
    try {
      return decoder.apply(doc);
    } catch (RuntimeException | StackOverflowError e) {
      StackTraceElement top = e.getStackTrace().length == 0 ? null : e.getStackTrace()[0];
      String where = top == null ? "" : " at " + top.getFileName() + ":" + top.getLineNumber();
      String message = "internal error while decoding (" + e.getClass().getSimpleName() + where + "); this is a"
          + " bug in Shardgate, please report it";
      DocumentIdentity.Result identity;
      try {
        identity = DocumentIdentity.check(doc);
      } catch (RuntimeException | StackOverflowError again) {
        return DecodedDocument.problem(doc, doc.locationOf("") + ": not read: " + message);
      }
      Object metadata = doc.content().get("metadata");
      if (identity.verdict() != DocumentIdentity.Verdict.RESOURCE || !(metadata instanceof Map<?, ?> m)
          || !(m.get("name") instanceof String name)) {
        return DecodedDocument.problem(doc, doc.locationOf("") + ": not read: " + message);
      }
      Object ns = m.get("namespace");
      ResourceKey key = new ResourceKey(identity.kind(), ns instanceof String n && !n.isEmpty() ? n : "default", name);
      ObjectMeta meta = new ObjectMeta(key.name(), key.namespace(), Map.of(), Map.of(), doc.locationOf(""));
      return new DecodedDocument(doc, key, meta, null, List.of(doc.locationOf("") + ": " + message), List.of(), null);
    }
  }

  private static ResourceKey parseKey(String text) {
    int space = text.indexOf(' ');
    int slash = space < 0 ? -1 : text.indexOf('/', space);
    if (slash < 0) {
      return null;
    }
    return Kind.byKindName(text.substring(0, space))
        .map(k -> new ResourceKey(k, text.substring(space + 1, slash), text.substring(slash + 1)))
        .orElse(null);
  }
}
