package io.shardgate.sharding.translate;

import io.shardgate.sharding.decode.DecodedResources;
import io.shardgate.sharding.ir.Proxy;
import io.shardgate.sharding.ir.ProxyListener;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.ir.UpstreamCluster;
import io.shardgate.sharding.model.Action;
import io.shardgate.sharding.model.Gateway;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.ResourceSnapshot;
import io.shardgate.sharding.model.Settings;
import io.shardgate.sharding.model.Upstream;
import io.shardgate.sharding.model.UpstreamGroup;
import io.shardgate.sharding.model.VirtualService;
import io.shardgate.sharding.report.Contribution;
import io.shardgate.sharding.report.Reports;
import io.shardgate.sharding.report.ResourceStatus;
import io.shardgate.sharding.report.StatusLedger;
import io.shardgate.sharding.secret.TlsSecretLookup;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
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
import java.util.function.Predicate;

/**
 * Gateway translation that re-runs only what an input change touches. Between calls it keeps, per proxy, what the
 * proxy's translation looked up ({@link Reads}) and produced, and per VirtualService flattening a memo; a call
 * re-translates a proxy only when something it looked up changed, and within that proxy re-flattens only the
 * VirtualServices whose lookups changed. Statuses are kept in a {@link StatusLedger}, so a call updates only the
 * statuses it touched. The result of every call is exactly what {@link GatewayTranslator#translate} gives for the
 * same arguments from scratch (a fresh cache does just that); a randomized test holds the two to byte equality.
 *
 * <p>Stage: gateway translation. Stateful: the memos are its only state, and its result depends only on its
 * arguments. Not thread-safe: one pipeline thread calls it; each call must finish (including
 * {@link Pass#statuses}) before the next.
 *
 * <p>How a mistake is contained: a rejected VirtualService loses only its own virtual host, a rejected Gateway only
 * its own listener; the rest of the shard is built as usual. Where Gloo rejects a whole Gateway for a domain
 * conflict, Shardgate rejects only the VirtualServices that conflict. An internal error while translating one proxy
 * fails that proxy only: it keeps what it served, and its Proxy status says why.
 */
public final class GatewayTranslationCache {

  private record DecodeSlot(ResourceKey key) {}

  private record GroupSlot(ResourceKey key) {}

  private record NamespaceSlot(ResourceKey key) {}

  private record ServiceSlot(ResourceKey key) {}

  private record UnreachedSlot(ResourceKey key) {}

  private record ServesNothingSlot(ResourceKey key) {}

  private record FailureSlot(String proxy) {}

  /**
   * An Upstream whose TLS cannot be served (its secret, its root CA): it has no cluster; or whose secret serves its
   * last good content.
   */
  private record TlsSlot(ResourceKey key) {}

  /** An Upstream's cluster (or why none) and the view of its TLS secret it was built with (null: no secretRef). */
  private record BuiltCluster(TlsSecretLookup.TlsSecretView view, GatewayTranslator.Built built) {}

  private record ExtraSlot() {}

  /** What the cache keeps of one proxy between calls. */
  private static final class ProxyState {
    final ProxyTranslator.FlattenMemo memo = new ProxyTranslator.FlattenMemo();
    List<Gateway> gateways = List.of();
    Set<ProxyTranslator.Slot> findSlots = Set.of();
    Set<ProxyTranslator.Slot> buildSlots = Set.of();
    Reads findReads = new Reads();
    Reads buildReads = new Reads();
    Set<ResourceKey> readKeys = Set.of();
    Set<ResourceKey> substitutionReads = Set.of();
    Set<String> queryNamespaces = Set.of();
    ProxyLastGood written;
    Set<ResourceKey> carried = Set.of();
    Proxy proxy;
    boolean failed;
  }

  private final StatusLedger ledger = new StatusLedger();
  private final Map<String, ProxyState> proxies = new HashMap<>();
  private final Set<ResourceKey> decodeKeys = new HashSet<>();
  private final Set<ResourceKey> groupKeys = new HashSet<>();
  private final Set<ResourceKey> namespaceKeys = new HashSet<>();
  private final Set<ResourceKey> serviceKeys = new HashSet<>();
  private final Set<ResourceKey> unreachedKeys = new HashSet<>();
  private final Set<ResourceKey> servesNothingKeys = new HashSet<>();
  /** How many proxies carry last good output of each resource. */
  private final Map<ResourceKey, Integer> carriedBy = new HashMap<>();
  /** Resources whose carried count changed in this call. */
  private final Set<ResourceKey> carriedChanged = new HashSet<>();
  private final Map<Upstream, BuiltCluster> clusterOf = new IdentityHashMap<>();
  private final Set<ResourceKey> tlsKeys = new HashSet<>();
  private final Map<String, ShardConfig> shards = new HashMap<>();
  private DecodedResources lastInput;
  private InvalidRoutePolicy lastPolicy;
  private Set<ResourceKey> groupsWithErrors = Set.of();
  private List<UpstreamCluster> clusters = List.of();
  private long proxyTranslations;

  /**
   * Translates, serving the last accepted output of every rejected resource from {@code previous}; the result
   * carries the next last good state.
   */
  public Pass translate(DecodedResources in, LastGood previous, InvalidRoutePolicy policy) {
    return translate(in, null, previous, policy);
  }

  /**
   * As {@link #translate(DecodedResources, LastGood, InvalidRoutePolicy)}, told which resources changed since the
   * previous call (status, snapshot entry or rejected metadata), as a decoder that knows it can; null to have the
   * cache compare the two inputs itself.
   */
  public Pass translate(DecodedResources in, Set<ResourceKey> changed, LastGood previous, InvalidRoutePolicy policy) {
    return translate(in, changed, previous, policy, TlsSecretLookup.NONE);
  }

  /**
   * As {@link #translate(DecodedResources, Set, LastGood, InvalidRoutePolicy)}, with {@code secrets} telling what is
   * known of the TLS secrets VirtualServices' {@code secretRef}s name. The views each proxy read are recorded: a proxy
   * is translated again exactly when a view it read now answers differently (so a valid-to-valid rotation, which
   * answers the same, translates nothing).
   */
  public Pass translate(DecodedResources in, Set<ResourceKey> changed, LastGood previous, InvalidRoutePolicy policy,
      TlsSecretLookup secrets) {
    // What later stages added last time is not part of this translation until they add it again.
    ledger.remove(new ExtraSlot());
    ledger.drainChanged();
    ResourceSnapshot snapshot = in.snapshot();
    Settings settings = snapshot.settings();
    String writeNamespace = settings.discoveryNamespace();
    boolean everything = lastInput == null || !settings.equals(lastInput.snapshot().settings())
        || !policy.equals(lastPolicy);
    InputDelta delta = everything ? null
        : changed != null ? InputDelta.of(changed, in) : InputDelta.between(lastInput, in);
    if (everything) {
      // Settings and the policy are read everywhere without being recorded: nothing cached survives them.
      proxies.values().forEach(st -> st.memo.clear());
    }
    lastInput = in;
    lastPolicy = policy;

    updateDecodeSlots(in, delta);
    Lookups base = Lookups.of(in, Set.of(), everything ? Set.of("*") : delta.routeTableNamespaces(), secrets);
    Set<ResourceKey> groupErrors = validateGroups(base);
    Set<ResourceKey> groupFlips = symmetricDifference(groupsWithErrors, groupErrors);
    groupsWithErrors = groupErrors;
    Lookups lookups = base.withGroupsWithErrors(groupErrors);
    warnAboutGatewayNamespaces(snapshot, settings);
    warnAboutMissingServices(lookups);
    // Before the proxies: an Upstream whose TLS cannot be served is in error while they translate.
    List<UpstreamCluster> allClusters = upstreamClusters(snapshot, secrets);

    Map<String, List<Gateway>> served = servedGateways(snapshot, settings, previous, lookups);
    for (String gone : new ArrayList<>(proxies.keySet())) {
      if (!served.containsKey(gone)) {
        forget(gone);
      }
    }

    SortedSet<String> dirty = new TreeSet<>();
    for (Map.Entry<String, List<Gateway>> e : served.entrySet()) {
      ProxyState st = proxies.get(e.getKey());
      if (st != null && previous.of(e.getKey()) != st.written) {
        st.memo.clear(); // its memos read a last good slice it did not write
      }
      if (everything || st == null || st.failed || !sameGateways(st.gateways, e.getValue())
          || previous.of(e.getKey()) != st.written
          || touches(st, delta, groupFlips, e.getValue())
          || !st.findReads.secretsStillValid(lookups) || !st.buildReads.secretsStillValid(lookups)) {
        dirty.add(e.getKey());
      }
    }

    Map<String, ProxyTranslator.Result> found = new HashMap<>();
    for (String proxy : dirty) {
      ProxyState st = proxies.computeIfAbsent(proxy, p -> new ProxyState());
      try {
        ProxyTranslator.Result r = new ProxyTranslator(lookups, writeNamespace, proxy, served.get(proxy),
            ProxyTranslator.Pass.FIND_PROBLEMS, lookups::rejectedWhileDecoding, previous.of(proxy), policy, st.memo)
            .run();
        found.put(proxy, r);
        st.findSlots = replace(st.findSlots, r.slots(), StatusLedger.Layer.FINDINGS);
        st.findReads = r.reads();
      } catch (RuntimeException | StackOverflowError e) {
        fail(proxy, st, e);
      }
    }

    Set<ResourceKey> flips = ledger.drainRejectedFlips();
    Set<ResourceKey> changedKeys = null;
    if (delta != null) {
      changedKeys = new HashSet<>(delta.changed());
      changedKeys.addAll(groupFlips);
      changedKeys.addAll(flips);
    }
    SortedSet<String> build = new TreeSet<>(found.keySet());
    for (Map.Entry<String, List<Gateway>> e : served.entrySet()) {
      ProxyState st = proxies.get(e.getKey());
      if (st != null && !st.failed && !build.contains(e.getKey()) && intersects(st.substitutionReads, flips)) {
        build.add(e.getKey());
      }
    }
    Predicate<ResourceKey> rejected = ledger::isRejected;
    Set<String> retranslated = new TreeSet<>();
    for (String proxy : build) {
      ProxyState st = proxies.get(proxy);
      try {
        ProxyLastGood slice = previous.of(proxy);
        ProxyTranslator.Result r = new ProxyTranslator(lookups, writeNamespace, proxy, served.get(proxy),
            ProxyTranslator.Pass.BUILD, rejected, slice, policy, st.memo).run();
        st.buildSlots = replace(st.buildSlots, r.slots(), StatusLedger.Layer.SERVING);
        st.buildReads = r.reads();
        st.memo.endCall();
        st.gateways = served.get(proxy);
        st.written = r.next().isEmpty() ? ProxyLastGood.EMPTY : r.next();
        carry(st, st.written.carriedKeys());
        remember(st, slice);
        Proxy p = new Proxy(proxy, writeNamespace, r.listeners());
        if (st.proxy == null || !st.proxy.equals(p)) {
          st.proxy = p;
          retranslated.add(proxy);
        }
        if (st.failed) {
          st.failed = false;
          ledger.remove(new FailureSlot(proxy));
        }
        proxyTranslations++;
      } catch (RuntimeException | StackOverflowError e) {
        fail(proxy, st, e);
      }
    }

    markUnreached(snapshot, lookups, delta);
    SortedMap<String, ShardConfig> out = new TreeMap<>();
    TreeMap<String, ProxyLastGood> next = new TreeMap<>();
    SortedMap<String, String> failures = new TreeMap<>();
    for (Map.Entry<String, List<Gateway>> e : served.entrySet()) {
      String proxy = e.getKey();
      ProxyState st = proxies.get(proxy);
      if (st.failed) {
        failures.put(proxy, ledger.get(new FailureSlot(proxy)).parts().values().iterator().next().errors().first());
      }
      if (st.written != null) {
        next.put(proxy, st.written);
      } else if (!previous.of(proxy).isEmpty()) {
        next.put(proxy, previous.of(proxy)); // failed before it ever translated: keep what it had
      }
      if (st.proxy == null || (st.proxy.listeners().isEmpty() && e.getValue().isEmpty())) {
        shards.remove(proxy);
        if (st.proxy != null && !st.failed && (st.written == null || st.written.isEmpty())) {
          // Translated only because its Gateways moved away, and none of them is kept here: no Proxy, as for a
          // proxy no Gateway names.
          forget(proxy);
          next.remove(proxy);
        }
        continue;
      }
      ShardConfig before = shards.get(proxy);
      ShardConfig shard = before != null && before.proxy() == st.proxy && before.clusters() == allClusters
          ? before
          : new ShardConfig(st.proxy, allClusters);
      shards.put(proxy, shard);
      out.put(proxy, shard);
    }
    return new Pass(writeNamespace, out, in.documentProblems(), new LastGood(next, previous.documents()), retranslated,
        failures, lookups, changedKeys);
  }

  /** Drops all a proxy's state: its memos, statuses and shard. */
  private void forget(String proxy) {
    ProxyState st = proxies.remove(proxy);
    carry(st, Set.of());
    st.findSlots.forEach(ledger::remove);
    st.buildSlots.forEach(ledger::remove);
    ledger.remove(new FailureSlot(proxy));
    shards.remove(proxy);
  }

  /** How many proxy translations (second passes) this cache has run, for tests and metrics. */
  public long proxyTranslations() {
    return proxyTranslations;
  }

  /** How many VirtualService flattenings were reused and how many were run, over every proxy. */
  public long[] flattenHitsAndMisses() {
    long hits = 0;
    long misses = 0;
    for (ProxyState st : proxies.values()) {
      hits += st.memo.hits;
      misses += st.memo.misses;
    }
    return new long[] {hits, misses};
  }

  /**
   * The result of one {@link #translate} call. {@link #statuses} completes it and must be called once, before the
   * next call.
   *
   * @param retranslated the proxies whose Proxy differs from the previous call's (all on the first call)
   * @param failures proxies whose translation failed with an internal error, with the message; they keep what they
   *     served before
   */
  public final class Pass {
    private final String writeNamespace;
    private final SortedMap<String, ShardConfig> shards;
    private final List<String> documentProblems;
    private final LastGood lastGood;
    private final Set<String> retranslated;
    private final SortedMap<String, String> failures;
    private final Lookups lookups;
    private final Set<ResourceKey> changedKeys;

    private Pass(String writeNamespace, SortedMap<String, ShardConfig> shards, List<String> documentProblems,
        LastGood lastGood, Set<String> retranslated, SortedMap<String, String> failures, Lookups lookups,
        Set<ResourceKey> changedKeys) {
      this.lookups = lookups;
      this.changedKeys = changedKeys == null ? null : Collections.unmodifiableSet(changedKeys);
      this.writeNamespace = writeNamespace;
      this.shards = Collections.unmodifiableSortedMap(shards);
      this.documentProblems = documentProblems;
      this.lastGood = lastGood;
      this.retranslated = Collections.unmodifiableSet(retranslated);
      this.failures = Collections.unmodifiableSortedMap(failures);
    }

    public String writeNamespace() {
      return writeNamespace;
    }

    public SortedMap<String, ShardConfig> shards() {
      return shards;
    }

    public List<String> documentProblems() {
      return documentProblems;
    }

    public LastGood lastGood() {
      return lastGood;
    }

    public Set<String> retranslated() {
      return retranslated;
    }

    public SortedMap<String, String> failures() {
      return failures;
    }

    /** The resources the proxy uses (their statuses list it), Proxies and Settings left out, as of this call. */
    public Set<ResourceKey> usedBy(String proxy) {
      Set<ResourceKey> out = new HashSet<>();
      for (ResourceKey k : ledger.usedBy(proxy)) {
        if (k.kind() != Kind.PROXY && k.kind() != Kind.SETTINGS) {
          out.add(k);
        }
      }
      return out;
    }

    /**
     * Whether decoding or a first-pass finding rejected the resource (what later stages add not counted), as of this
     * call.
     */
    public boolean isRejected(ResourceKey key) {
      return ledger.isRejected(key);
    }

    /**
     * The resources whose object, decode status or rejection may differ from the previous call's, or null when
     * everything must be considered changed (the first call, a Settings or policy change).
     */
    public Set<ResourceKey> changedKeys() {
      return changedKeys;
    }

    /** The current object of a resource, or null when it is not in the snapshot. */
    public Object resource(ResourceKey key) {
      return lookups.resource(key);
    }

    /** Whether the resource is left out of the snapshot because it did not decode. */
    public boolean rejectedWhileDecoding(ResourceKey key) {
      return lookups.resource(key) == null && lookups.rejectedWhileDecoding(key);
    }

    /**
     * Every status, with {@code extra} (what later stages found, such as the shard plan's problems) merged in:
     * replaces the {@code extra} of the previous call.
     */
    public SortedMap<ResourceKey, ResourceStatus> statuses(Contribution extra) {
      ledger.put(new ExtraSlot(), StatusLedger.Layer.SERVING, extra);
      return ledger.statuses();
    }

    /** The whole result, with {@code extra} merged into the statuses; see {@link #statuses}. */
    public GatewayTranslation translation(Contribution extra) {
      return new GatewayTranslation(writeNamespace, shards, statuses(extra), documentProblems, lastGood);
    }
  }

  // ------------------------------------------------------------------ input-wide steps

  private void updateDecodeSlots(DecodedResources in, InputDelta delta) {
    Collection<ResourceKey> keys = delta == null ? new ArrayList<>(decodeKeys) : delta.changed();
    if (delta == null) {
      keys.addAll(in.statuses().keySet());
    }
    for (ResourceKey k : keys) {
      ResourceStatus st = in.statuses().get(k);
      if (st == null) {
        ledger.remove(new DecodeSlot(k));
        decodeKeys.remove(k);
      } else {
        ledger.put(new DecodeSlot(k), StatusLedger.Layer.FINDINGS, contributionOf(st));
        decodeKeys.add(k);
      }
    }
  }

  private static Contribution contributionOf(ResourceStatus st) {
    return new Contribution(new TreeMap<>(Map.of(st.key(), new Contribution.Part(st.origin(),
        new TreeSet<>(st.errors()), new TreeSet<>(st.warnings()), st.proxies()))));
  }

  /** An UpstreamGroup whose destinations cannot be served is rejected, naming each bad destination. */
  private Set<ResourceKey> validateGroups(Lookups lookups) {
    Set<ResourceKey> withErrors = new HashSet<>();
    Set<ResourceKey> present = new HashSet<>();
    for (UpstreamGroup group : lookups.snapshot().upstreamGroups()) {
      TranslationContext ctx = new TranslationContext(lookups, k -> false);
      List<Action.WeightedDestination> ds = group.destinations();
      long total = 0;
      for (int i = 0; i < ds.size(); i++) {
        Action.Destination d = ds.get(i).destination();
        total += ds.get(i).weight();
        String field = "spec.destinations[" + i + "]";
        ResourceRef ref = d.upstreamRef(group.meta().namespace(), lookups.writeNamespace());
        if (ref == null) {
          ctx.reports().error(group.key(), field + ": " + d.unsupported() + " destinations are not served by Shardgate yet");
          continue;
        }
        Upstream u = ctx.upstream(ref);
        if (u == null && d.service() != null) {
          ctx.reports().error(group.key(), field + ": " + d.service().describe(group.meta().namespace())
              + " not found (no Upstream " + ref + " was discovered for it)");
        } else if (u == null) {
          ResourceKey key = new ResourceKey(Kind.UPSTREAM, ref.namespace(), ref.name());
          ctx.reports().error(group.key(), field + ": upstream " + ref + " not found" + ctx.rejectedHint(key));
        }
      }
      if (total < 1) {
        ctx.reports().error(group.key(), "spec.destinations: the weights add up to " + total + "; they must add up to at least 1");
      }
      Contribution c = ctx.reports().contribution();
      ledger.put(new GroupSlot(group.key()), StatusLedger.Layer.FINDINGS, c);
      present.add(group.key());
      if (c.hasErrors(group.key())) {
        withErrors.add(group.key());
      }
    }
    for (ResourceKey k : new ArrayList<>(groupKeys)) {
      if (!present.contains(k)) {
        ledger.remove(new GroupSlot(k));
      }
    }
    groupKeys.clear();
    groupKeys.addAll(present);
    return withErrors;
  }

  private void warnAboutGatewayNamespaces(ResourceSnapshot snapshot, Settings settings) {
    String writeNamespace = settings.discoveryNamespace();
    Set<ResourceKey> present = new HashSet<>();
    for (Gateway g : snapshot.gateways()) {
      if (!settings.readGatewaysFromAllNamespaces() && !g.meta().namespace().equals(writeNamespace)) {
        Contribution c = new Reports().warning(
            g.key(),
            "Gateway is outside the write namespace " + writeNamespace
                + " and settings.gateway.readGatewaysFromAllNamespaces is false; it is ignored (move it to "
                + writeNamespace + " or set readGatewaysFromAllNamespaces: true)").contribution();
        ledger.put(new NamespaceSlot(g.key()), StatusLedger.Layer.FINDINGS, c);
        present.add(g.key());
      }
    }
    for (ResourceKey k : new ArrayList<>(namespaceKeys)) {
      if (!present.contains(k)) {
        ledger.remove(new NamespaceSlot(k));
      }
    }
    namespaceKeys.clear();
    namespaceKeys.addAll(present);
  }

  /**
   * A kube Upstream whose Service port does not exist (no Upstream was discovered for it) is served with no
   * endpoints; its status says which Service it waits for.
   */
  private void warnAboutMissingServices(Lookups lookups) {
    Set<ResourceKey> present = new HashSet<>();
    for (Upstream u : lookups.snapshot().upstreams()) {
      Upstream.KubeSpec spec = u.kubeSpec() == null ? null : lookups.missingService(u.key());
      if (spec == null) {
        continue;
      }
      Contribution c = new Reports().warning(
          u.key(),
          "spec.kube: " + spec.describe() + " not found (no Upstream " + lookups.discoveredKey(spec).ref()
              + " was discovered for it); the cluster has no endpoints, so requests to it get 503 until the Service"
              + " exists").contribution();
      ledger.put(new ServiceSlot(u.key()), StatusLedger.Layer.FINDINGS, c);
      present.add(u.key());
    }
    for (ResourceKey k : new ArrayList<>(serviceKeys)) {
      if (!present.contains(k)) {
        ledger.remove(new ServiceSlot(k));
      }
    }
    serviceKeys.clear();
    serviceKeys.addAll(present);
  }

  /**
   * Which proxies get a Proxy, with the Gateways each translates. Grouped before filtering by namespace, as Gloo does:
   * a proxy whose Gateways are all filtered out has no Proxy, unless it still serves last good listeners.
   */
  private static Map<String, List<Gateway>> servedGateways(ResourceSnapshot snapshot, Settings settings,
      LastGood previous, Lookups lookups) {
    SortedMap<String, List<Gateway>> byProxy = new TreeMap<>();
    for (Gateway g : snapshot.gateways()) {
      for (String name : g.proxyNames()) {
        byProxy.computeIfAbsent(name, n -> new ArrayList<>()).add(g);
      }
    }
    Map<String, List<Gateway>> served = new LinkedHashMap<>();
    byProxy.forEach((proxyName, gateways) -> {
      List<Gateway> kept = gateways.stream()
          .filter(g -> settings.readGatewaysFromAllNamespaces()
              || g.meta().namespace().equals(settings.discoveryNamespace()))
          .toList();
      if (!kept.isEmpty() || !previous.of(proxyName).listeners().isEmpty()) {
        served.put(proxyName, kept);
      }
    });
    // A proxy whose only Gateways were rejected while decoding still serves their last accepted listeners. So may
    // one whose Gateways now name other proxyNames: moved, or rejected in the shard their broken version names
    // (which only translation tells); without a listener to keep it has no Proxy, as before.
    Set<ResourceKey> present = new HashSet<>();
    snapshot.gateways().forEach(g -> present.add(g.key()));
    previous.proxies().forEach((proxyName, slice) -> {
      if (!served.containsKey(proxyName) && slice.listeners().values().stream()
          .anyMatch(l -> lookups.rejectedWhileDecoding(l.gateway()) || present.contains(l.gateway()))) {
        served.put(proxyName, List.of());
      }
    });
    return served;
  }

  /** Whether anything the proxy looked up last time changed, or a changed VirtualService may now be selected. */
  private static boolean touches(ProxyState st, InputDelta delta, Set<ResourceKey> groupFlips, List<Gateway> gateways) {
    if (intersects(st.readKeys, delta.changed()) || intersects(st.readKeys, groupFlips)) {
      return true;
    }
    for (String ns : delta.routeTableNamespaces()) {
      if (st.queryNamespaces.contains(ns) || st.queryNamespaces.contains("*")) {
        return true;
      }
    }
    for (VirtualService vs : delta.changedVirtualServices()) {
      for (Gateway g : gateways) {
        // Ignoring the ssl flag: an SSL Gateway that selects nothing names the VirtualServices that lack sslConfig.
        if (g.type() == Gateway.GatewayType.HTTP && g.httpGateway() != null
            && VirtualServiceSelection.selectsIgnoringSsl(g, vs)) {
          return true;
        }
      }
    }
    return false;
  }

  private void remember(ProxyState st, ProxyLastGood slice) {
    Set<ResourceKey> keys = new HashSet<>();
    st.findReads.keysInto(keys);
    st.buildReads.keysInto(keys);
    st.gateways.forEach(g -> keys.add(g.key()));
    // What its last good slice carries: those resources' decode statuses decide what it serves.
    for (ProxyListener l : slice.listeners().values()) {
      keys.add(l.gateway());
      l.virtualHosts().forEach(vh -> keys.add(vh.virtualService()));
    }
    slice.virtualHosts().values().forEach(vh -> keys.add(vh.virtualService()));
    st.readKeys = keys;
    Set<ResourceKey> substitutions = new HashSet<>();
    st.buildReads.substitutionKeysInto(substitutions);
    st.substitutionReads = substitutions;
    Set<String> namespaces = new HashSet<>();
    st.findReads.queryNamespacesInto(namespaces);
    st.buildReads.queryNamespacesInto(namespaces);
    st.queryNamespaces = namespaces;
  }

  private void fail(String proxy, ProxyState st, Throwable e) {
    st.failed = true;
    StackTraceElement top = e.getStackTrace().length == 0 ? null : e.getStackTrace()[0];
    String where = top == null ? "" : " at " + top.getClassName().substring(top.getClassName().lastIndexOf('.') + 1)
        + "." + top.getMethodName() + ":" + top.getLineNumber();
    String message = "internal error while translating proxy " + proxy + " (" + e.getClass().getSimpleName() + where
        + "); it keeps serving what it served before this change. This is a bug in Shardgate: please report it"
        + " with the control plane's log";
    ledger.put(new FailureSlot(proxy), StatusLedger.Layer.SERVING, new Reports()
        .error(TranslationContext.proxyKey(lastInput.snapshot().settings().discoveryNamespace(), proxy), message)
        .contribution());
    failureLog.add(new Failure(proxy, message, e));
  }

  /** An internal error of one proxy's translation, for the caller to log with its stack trace. */
  public record Failure(String proxy, String message, Throwable error) {}

  private final List<Failure> failureLog = new ArrayList<>();

  /** The internal errors of the last call, and forgets them. */
  public List<Failure> drainFailures() {
    List<Failure> out = List.copyOf(failureLog);
    failureLog.clear();
    return out;
  }

  private void carry(ProxyState st, Set<ResourceKey> now) {
    for (ResourceKey k : st.carried) {
      if (!now.contains(k)) {
        carriedBy.merge(k, -1, (a, b) -> a + b == 0 ? null : a + b);
        carriedChanged.add(k);
      }
    }
    for (ResourceKey k : now) {
      if (!st.carried.contains(k)) {
        carriedBy.merge(k, 1, Integer::sum);
        carriedChanged.add(k);
      }
    }
    st.carried = now;
  }

  /**
   * VirtualServices no Gateway selects and RouteTables no served VirtualService reaches serve nothing: say so, so a
   * team does not read "Accepted" as "live". So do rejected Gateways, VirtualServices and RouteTables with no last
   * accepted output anywhere (none was ever accepted, or a fresh state directory has none): say that too, since
   * their hosts or routes are simply gone.
   */
  private void markUnreached(ResourceSnapshot snapshot, Lookups lookups, InputDelta delta) {
    Set<ResourceKey> candidates = new HashSet<>(ledger.drainChanged());
    candidates.addAll(carriedChanged);
    carriedChanged.clear();
    candidates.addAll(unreachedKeys);
    candidates.addAll(servesNothingKeys);
    if (delta == null) {
      snapshot.virtualServices().forEach(v -> candidates.add(v.key()));
      snapshot.routeTables().forEach(t -> candidates.add(t.key()));
    } else {
      candidates.addAll(delta.changed());
    }
    for (ResourceKey k : candidates) {
      if (k.kind() != Kind.VIRTUAL_SERVICE && k.kind() != Kind.ROUTE_TABLE && k.kind() != Kind.GATEWAY) {
        continue;
      }
      boolean servesNothing = ledger.isRejected(k) && !carriedBy.containsKey(k);
      if (servesNothing) {
        ledger.put(new ServesNothingSlot(k), StatusLedger.Layer.SERVING, new Reports()
            .warning(k, "it is rejected and has no last accepted version to fall back on (none was accepted, or the"
                + " state directory has none), so it serves nothing until it is fixed")
            .contribution());
        servesNothingKeys.add(k);
      } else if (servesNothingKeys.remove(k)) {
        ledger.remove(new ServesNothingSlot(k));
      }
      if (k.kind() == Kind.GATEWAY) {
        continue;
      }
      boolean unreached = lookups.resource(k) != null && ledger.proxiesOf(k).isEmpty();
      if (unreached) {
        String message = k.kind() == Kind.VIRTUAL_SERVICE
            ? "no Gateway selects this VirtualService; it serves nothing"
                + (lookups.resource(k) instanceof VirtualService vs && vs.hasSslConfig()
                    ? " (it has an sslConfig, so only Gateways with ssl: true select it)" : "")
            : "no served VirtualService delegates to this RouteTable; it serves nothing";
        ledger.put(new UnreachedSlot(k), StatusLedger.Layer.SERVING,
            new Reports().warning(k, message).contribution());
        unreachedKeys.add(k);
      } else if (unreachedKeys.remove(k)) {
        ledger.remove(new UnreachedSlot(k));
      }
    }
  }

  /**
   * Every static, kube and consul Upstream becomes a cluster, except one whose TLS secret cannot be served (its
   * status says why); other types were reported while decoding. Reused while the Upstream and its secret's view are unchanged.
   */
  private List<UpstreamCluster> upstreamClusters(ResourceSnapshot snapshot, TlsSecretLookup secrets) {
    List<UpstreamCluster> out = new ArrayList<>();
    Map<Upstream, BuiltCluster> seen = new IdentityHashMap<>();
    Set<ResourceKey> problems = new HashSet<>();
    for (Upstream u : snapshot.upstreams()) {
      if (u.staticSpec() == null && u.endpointSource() == null) {
        continue;
      }
      ResourceRef secret = u.sslConfig() == null ? null : u.sslConfig().secretRef();
      TlsSecretLookup.TlsSecretView view = secret == null ? null : secrets.find(secret);
      BuiltCluster b = clusterOf.get(u);
      if (b == null || !Objects.equals(b.view(), view)) {
        b = new BuiltCluster(view, GatewayTranslator.cluster(u, secrets));
      }
      seen.put(u, b);
      if (b.built().cluster() != null) {
        out.add(b.built().cluster());
      }
      if (b.built().upstreamError() != null) {
        problems.add(u.key());
        ledger.put(new TlsSlot(u.key()), StatusLedger.Layer.FINDINGS,
            new Reports().error(u.key(), b.built().upstreamError()).contribution());
      }
    }
    for (ResourceKey k : tlsKeys) {
      if (!problems.contains(k)) {
        ledger.remove(new TlsSlot(k));
      }
    }
    tlsKeys.clear();
    tlsKeys.addAll(problems);
    clusterOf.clear();
    clusterOf.putAll(seen);
    if (out.size() == clusters.size()) {
      boolean same = true;
      for (int i = 0; i < out.size() && same; i++) {
        same = out.get(i) == clusters.get(i);
      }
      if (same) {
        return clusters;
      }
    }
    clusters = List.copyOf(out);
    return clusters;
  }

  private <S> Set<S> replace(Set<S> old, Map<S, Contribution> now, StatusLedger.Layer layer) {
    for (S slot : old) {
      if (!now.containsKey(slot)) {
        ledger.remove(slot);
      }
    }
    now.forEach((slot, c) -> ledger.put(slot, layer, c));
    return Set.copyOf(now.keySet());
  }

  private static boolean sameGateways(List<Gateway> a, List<Gateway> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      if (a.get(i) != b.get(i) && !a.get(i).equals(b.get(i))) {
        return false;
      }
    }
    return true;
  }

  private static boolean intersects(Set<ResourceKey> a, Set<ResourceKey> b) {
    Set<ResourceKey> small = a.size() < b.size() ? a : b;
    Set<ResourceKey> large = small == a ? b : a;
    for (ResourceKey k : small) {
      if (large.contains(k)) {
        return true;
      }
    }
    return false;
  }

  private static Set<ResourceKey> symmetricDifference(Set<ResourceKey> a, Set<ResourceKey> b) {
    Set<ResourceKey> out = new HashSet<>();
    for (ResourceKey k : a) {
      if (!b.contains(k)) {
        out.add(k);
      }
    }
    for (ResourceKey k : b) {
      if (!a.contains(k)) {
        out.add(k);
      }
    }
    return out;
  }
}
