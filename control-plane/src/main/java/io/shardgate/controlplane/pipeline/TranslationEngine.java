package io.shardgate.controlplane.pipeline;

import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.shardgate.controlplane.source.GlooSecretContent;
import io.shardgate.controlplane.xds.EdgeXdsTranslator;
import io.shardgate.controlplane.xds.EndpointTranslator;
import io.shardgate.controlplane.xds.SecretTranslator;
import io.shardgate.controlplane.xds.XdsNames;
import io.shardgate.controlplane.xds.XdsTranslationCache;
import io.shardgate.sharding.decode.DecodedResources;
import io.shardgate.sharding.decode.DecodedResourcesCache;
import io.shardgate.sharding.discovery.DiscoveredEndpoints;
import io.shardgate.sharding.discovery.EndpointState;
import io.shardgate.sharding.ir.SecretUse;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.ir.UpstreamCluster;
import io.shardgate.sharding.model.SameObjects;
import io.shardgate.sharding.model.Upstream;
import io.shardgate.sharding.plan.PlanSettings;
import io.shardgate.sharding.plan.ShardPlan;
import io.shardgate.sharding.plan.EdgePlan;
import io.shardgate.sharding.plan.PlanInput;
import io.shardgate.sharding.plan.ShardPlanCache;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.report.Contribution;
import io.shardgate.sharding.report.Reports;
import io.shardgate.sharding.report.ResourceStatus;
import io.shardgate.sharding.secret.KubeSecret;
import io.shardgate.sharding.secret.TlsSecretCatalog;
import io.shardgate.sharding.secret.TlsSecretContent;
import io.shardgate.sharding.secret.TlsSecretLookup;
import io.shardgate.sharding.translate.GatewayTranslation;
import io.shardgate.sharding.translate.GatewayTranslationCache;
import io.shardgate.sharding.translate.InvalidRoutePolicy;
import io.shardgate.sharding.translate.LastGood;
import io.shardgate.snapshot.ShardResources;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.ObjLongConsumer;
import java.util.function.Supplier;

/**
 * Runs the whole translation of each input (decode, gateway translation, shard plan, xDS translation per shard),
 * reusing what unchanged inputs produced the time before: documents that did not change are not decoded again, a
 * proxy whose inputs did not change is not translated again, a VirtualService whose lookups answer the same is not
 * flattened again, and a shard whose configuration did not change is not xDS-translated again. Each shard's EDS
 * clusters get their load assignments from the input's Service endpoints ({@link EndpointTranslator}), rebuilt only
 * for the Services whose endpoints object changed. An input whose documents are the very objects of the last one's
 * changed only endpoints: then nothing but the load assignments of the Services that changed is rebuilt, in the
 * shards whose EDS clusters target them ({@link Translation#endpointsOnly}).
 *
 * <p>TLS secrets: each input's Secrets become a {@link TlsSecretCatalog} (built with the catalog before, for last good
 * content), which gateway translation reads as its {@link TlsSecretLookup}, and each shard's SDS resources are exactly
 * its {@link ShardConfig#secretUses()} ({@link SecretTranslator}), merged after the load assignments. An input whose
 * documents are the very objects of the last one's and whose secret views, as far as gateway translation read them,
 * answer the same (a valid certificate rotated to another valid one, or secrets no VirtualService names changed) takes
 * the same path as an endpoint change: only the SDS resources of the shards using a changed secret are rebuilt, every
 * other list of theirs stays the very same object, so the snapshot cache pushes SDS alone. The clock is read once per
 * input ({@link Clock}), never inside the catalog; {@link #nextSecretChange()} says when a certificate's validity
 * changes the verdict next, for the pipeline to translate again then.
 *
 * <p>Every result equals what a fresh engine gives for the same arguments ({@link Translation#of}); a randomized
 * test holds the two to byte equality.
 *
 * <p>Stateful: its caches are its only state. Not thread-safe: the pipeline calls it from its one translation
 * thread, one input at a time.
 */
public final class TranslationEngine {

  // Each cache knows what changed since its own previous call; after a pass that failed half-way they would disagree
  // about which call that was, so a failed pass replaces all three and the next pass starts from scratch.
  private DecodedResourcesCache decodeCache = new DecodedResourcesCache();
  private GatewayTranslationCache gatewayCache = new GatewayTranslationCache();
  private ShardPlanCache planCache = new ShardPlanCache();
  /** Per proxy: the configuration as the gateway translation gave it, and with only its reached clusters. */
  private final Map<String, Reached> reached = new HashMap<>();
  private final ObjLongConsumer<String> timing;
  private final Function<ShardConfig, ShardResources> xdsTranslator;
  /** Per role, what its xDS resources were translated from last time (a ShardConfig, or the EdgePlan). */
  private Map<String, Object> lastInputs = Map.of();
  private SortedMap<String, ShardResources> lastXds = new TreeMap<>();

  private final Clock clock;
  private final Function<ShardConfig, SortedSet<SecretUse>> secretUses;
  /** The catalog of the last input translated: last good content, and what the views said. */
  private TlsSecretCatalog catalog = TlsSecretCatalog.EMPTY;
  /** The secrets gateway translation looked up in the last full pass (a proxy re-checks every view it read). */
  private Set<ResourceRef> readSecrets = Set.of();
  /** Per role: its SDS resources, and what they were built from. */
  private final Map<String, RoleSecrets> secrets = new HashMap<>();
  /** Secret key ({@code ns/name}) to the roles whose shards use it, as of the last full translation. */
  private final Map<String, SortedSet<String>> rolesBySecret = new HashMap<>();
  /** SDS name to the resource built for the served content object: equal content, the same resource object. */
  private Map<String, SecretProto> secretProtos = new HashMap<>();
  private long secretPasses;

  private record SecretProto(TlsSecretContent content, Secret proto) {}

  /** An engine that times nothing. */
  public TranslationEngine() {
    this((ObjLongConsumer<String>) null);
  }

  /**
   * An engine whose TLS secrets start from {@code secrets} (another engine's {@link #secretCatalog()}): the last good
   * content is state beside {@link LastGood}, so a fresh engine given both translates as the one that made them.
   */
  public TranslationEngine(TlsSecretCatalog secrets) {
    this((ObjLongConsumer<String>) null);
    this.catalog = secrets;
  }

  /** The TLS secret catalog of the last input translated (its last good content included). */
  public TlsSecretCatalog secretCatalog() {
    return catalog;
  }

  /**
   * An engine that reports how long each shard's xDS translation took to {@code timing} (null for none). The clock is
   * read here, around the pure translators, never inside them.
   */
  public TranslationEngine(ObjLongConsumer<String> timing) {
    this(timing, null);
  }

  /**
   * An engine that translates each shard to xDS with {@code xdsTranslator} (tests give one that fails on purpose, to
   * prove that a shard's failure stays that shard's).
   */
  public TranslationEngine(ObjLongConsumer<String> timing, Function<ShardConfig, ShardResources> xdsTranslator) {
    this(timing, xdsTranslator, Clock.systemUTC(), ShardConfig::secretUses);
  }

  /**
   * An engine that reads the time from {@code clock} (certificate validity) and a shard's SDS resources from
   * {@code secretUses} (normally {@link ShardConfig#secretUses()}; tests give fixed uses).
   */
  public TranslationEngine(ObjLongConsumer<String> timing, Function<ShardConfig, ShardResources> xdsTranslator,
      Clock clock, Function<ShardConfig, SortedSet<SecretUse>> secretUses) {
    this.clock = clock;
    this.secretUses = secretUses;
    this.timing = timing;
    // One xDS memo per shard: each keeps what its own last translation used.
    this.xdsTranslator = xdsTranslator != null ? xdsTranslator
        : shard -> xdsCaches.computeIfAbsent(shard.proxy().role(), r -> new XdsTranslationCache()).translate(shard);
  }

  private final Map<String, XdsTranslationCache> xdsCaches = new HashMap<>();

  /**
   * Translates {@code input}; rejected resources serve what they produced in {@code previous}. An internal error
   * outside the per-proxy and per-shard isolation propagates, and the next call translates from scratch.
   */
  public Translation translate(ConfigInput input, LastGood previous) {
    return translate(input, previous, TlsSecretLookup.NONE);
  }

  /**
   * As {@link #translate(ConfigInput, LastGood)}, with {@code override} telling gateway translation what is known of
   * the TLS secrets VirtualServices name (never their content) instead of the catalog of {@code input}'s Secrets:
   * for cases that show listeners and statuses alone (golden files with fake PEM text). Since such a lookup knows
   * no content, no SDS resources are built then. {@link TlsSecretLookup#NONE} means the catalog.
   */
  public Translation translate(ConfigInput input, LastGood previous, TlsSecretLookup override) {
    try {
      TlsSecretCatalog next = TlsSecretCatalog.build(input.secrets(), clock.instant(), catalog,
          GlooSecretContent::read);
      boolean sameOverride = override == lastOverride;
      Translation t = onlyEndpointsChanged(input, previous) && sameOverride && !readViewsChanged(next)
          ? translateWithoutDocuments(input, next)
          : translateIncrementally(input, previous, next, override);
      last = t;
      lastEndpoints = input.endpoints();
      lastOverride = override;
      catalog = next;
      return t;
    } catch (RuntimeException | StackOverflowError e) {
      decodeCache = new DecodedResourcesCache();
      gatewayCache = new GatewayTranslationCache();
      planCache = new ShardPlanCache();
      reached.clear();
      endpoints.clear();
      rolesByService.clear();
      secrets.clear();
      rolesBySecret.clear();
      readSecrets = Set.of();
      last = null;
      lastEndpoints = EndpointState.EMPTY;
      lastOverride = TlsSecretLookup.NONE;
      throw e;
    }
  }

  /**
   * When a certificate of the last input's secrets becomes valid or expires, if any will: translating the same input
   * again then changes what is served (the pipeline schedules that).
   */
  public Optional<Instant> nextSecretChange() {
    return catalog.nextChange();
  }

  /**
   * Whether a secret whose view gateway translation read (or a shard uses) answers differently in {@code next}: then
   * the gateway must be translated again, and the input takes the full path.
   */
  private boolean readViewsChanged(TlsSecretCatalog next) {
    for (String key : next.viewsChangedSince(catalog)) {
      int slash = key.indexOf('/');
      if (readSecrets.contains(new ResourceRef(key.substring(0, slash), key.substring(slash + 1)))
          || rolesBySecret.containsKey(key)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether {@code input} differs from the last translated one only in its endpoints: its documents are the very
   * same objects in the same order (sources reuse unchanged ones), its problems are equal, and {@code previous} is
   * the last good state that translation produced. Nothing but load assignments can then differ.
   */
  private boolean onlyEndpointsChanged(ConfigInput input, LastGood previous) {
    if (last == null || previous != last.gateway().lastGood() || !last.failures().isEmpty()) {
      return false;
    }
    return last.input().problems().equals(input.problems())
        && last.input().endpoints().consulAgent() == input.endpoints().consulAgent()
        && SameObjects.inOrder(last.input().documents(), input.documents());
  }

  /**
   * Only endpoints, or secrets as far as their served content goes, changed: rebuilds the load assignments of the
   * Services that changed and the SDS resources of the secrets whose served content changed, in the shards that use
   * them, and reuses everything else of the last translation as it is (the Secrets' statuses are brought up to date).
   * Work follows the changed Services and secrets, not the configuration.
   */
  private Translation translateWithoutDocuments(ConfigInput input, TlsSecretCatalog next) {
    EndpointState state = input.endpoints();
    SortedSet<String> changed = state.changedSince(lastEndpoints);
    SortedMap<String, Set<String>> affected = new TreeMap<>();
    for (String service : changed) {
      for (String role : rolesByService.getOrDefault(service, Collections.emptySortedSet())) {
        affected.computeIfAbsent(role, r -> new HashSet<>()).add(service);
      }
    }
    SortedSet<String> secretRoles = new TreeSet<>();
    for (String secret : next.servedChangedSince(catalog)) {
      secretRoles.addAll(rolesBySecret.getOrDefault(secret, Collections.emptySortedSet()));
    }
    SortedSet<String> roles = new TreeSet<>(affected.keySet());
    roles.addAll(secretRoles);
    SortedMap<String, ShardResources> xds = new TreeMap<>(last.xds());
    SortedSet<String> done = new TreeSet<>();
    SortedMap<String, String> failures = new TreeMap<>(last.failures());
    for (String role : roles) {
      RoleEndpoints re = endpoints.get(role);
      Set<String> services = affected.get(role);
      ShardResources withEndpoints = services == null ? re.merged : re.update(services, state);
      RoleSecrets before = secrets.get(role);
      ShardResources merged = withEndpoints;
      try {
        if (before != null) {
          RoleSecrets rs = RoleSecrets.of(before, withEndpoints, before.uses,
              sdsResources(before.uses, next, secretProtos));
          secrets.put(role, rs);
          merged = rs.merged;
        }
      } catch (RuntimeException e) {
        secretFailure(role, e, failures);
        continue; // it keeps what it served; the next input takes the full path (a failure is on record)
      }
      if (merged != xds.get(role)) {
        xds.put(role, merged);
        done.add(role);
      }
    }
    GatewayTranslation gateway = withSecretStatuses(last.gateway(), next);
    if (!input.secrets().changedSince(last.input().secrets()).isEmpty() || gateway != last.gateway()) {
      secretPasses++;
    } else {
      endpointPasses++;
    }
    return new Translation(input, gateway, last.plan(), xds, done, failures, last.settings(), true);
  }

  /** {@code gateway} with the Secrets' statuses of {@code next}; the very object when they did not change. */
  private GatewayTranslation withSecretStatuses(GatewayTranslation gateway, TlsSecretCatalog next) {
    SortedMap<ResourceKey, ResourceStatus> now = secretReports(next).freeze();
    SortedMap<ResourceKey, ResourceStatus> before = new TreeMap<>();
    gateway.statuses().forEach((k, st) -> {
      if (k.kind() == Kind.SECRET) {
        before.put(k, st);
      }
    });
    if (before.equals(now)) {
      return gateway;
    }
    SortedMap<ResourceKey, ResourceStatus> statuses = new TreeMap<>(gateway.statuses());
    statuses.keySet().removeAll(before.keySet());
    statuses.putAll(now);
    return new GatewayTranslation(gateway.writeNamespace(), gateway.shards(), statuses, gateway.documentProblems(),
        gateway.lastGood());
  }

  /**
   * Without a Consul agent, every consul Upstream is served with no endpoints; its status says which option gives it
   * one. (An agent is part of the endpoint state, so a change of it takes the full path: see
   * {@link #onlyEndpointsChanged}.)
   */
  private static Reports consulAgentReports(DecodedResources decoded, EndpointState endpoints) {
    Reports reports = new Reports();
    if (endpoints.consulAgent()) {
      return reports;
    }
    for (Upstream u : decoded.snapshot().upstreams()) {
      if (u.consulSpec() != null) {
        reports.warning(u.key(), "spec.consul: no Consul agent is known, so " + u.consulSpec().describe()
            + " has no endpoints and requests to it get 503; start serve with --consul-agent ADDR (or --consul ADDR)");
      }
    }
    return reports;
  }

  /**
   * Every Secret's status: its origin, the shards using it, and its problem as an error. Secrets have no status
   * subresource; these are for {@code /api/status}, {@code validate} and the log.
   */
  private Reports secretReports(TlsSecretCatalog next) {
    Reports reports = new Reports();
    next.entries().forEach((k, e) -> {
      ResourceKey key = new ResourceKey(Kind.SECRET, e.source().namespace(), e.source().name());
      reports.accept(key, e.source().origin());
      if (e.problem() != null) {
        reports.error(key, e.problem());
      }
      for (String role : rolesBySecret.getOrDefault(k, Collections.emptySortedSet())) {
        reports.usedBy(key, role.substring(role.indexOf('~') + 1));
      }
    });
    return reports;
  }

  /**
   * The SDS resources of {@code uses} from {@code next}: a resource whose served content is the object it was built
   * from before is that very resource, so the snapshot cache finds nothing new to hash or send.
   */
  private List<Secret> sdsResources(SortedSet<SecretUse> uses, TlsSecretCatalog next,
      Map<String, SecretProto> before) {
    List<Secret> out = new ArrayList<>();
    for (SecretUse use : uses) {
      TlsSecretContent content = SecretTranslator.content(use, next::served);
      if (use.certificate()) {
        out.add(memo(XdsNames.certificateSecret(use.secret()), content,
            () -> SecretTranslator.certificate(use.secret(), content), before));
      }
      if (use.validation()) {
        out.add(memo(XdsNames.validationSecret(use.secret()), content,
            () -> SecretTranslator.validation(use.secret(), content), before));
      }
    }
    return out;
  }

  /** Looks up in {@code before}, keeps in {@link #secretProtos} (a full pass starts it empty: only what is used). */
  private Secret memo(String name, TlsSecretContent content, Supplier<Secret> build, Map<String, SecretProto> before) {
    SecretProto p = secretProtos.get(name);
    if (p == null || p.content() != content) {
      p = before.get(name);
    }
    if (p == null || p.content() != content) {
      p = new SecretProto(content, build.get());
    }
    secretProtos.put(name, p);
    return p.proto();
  }

  private void secretFailure(String role, RuntimeException e, SortedMap<String, String> failures) {
    failures.put(role, Failures.describe("building the SDS resources of shard " + role, e)
        + "; it keeps serving what it served before this change");
    failureLog.add(new Failure(role, failures.get(role), e));
  }

  /** How many inputs were translated in full (decode, gateway translation, plan, xDS), for tests and metrics. */
  public long fullPasses() {
    return fullPasses;
  }

  /** How many inputs changed only endpoints and were translated by rebuilding load assignments alone. */
  public long endpointPasses() {
    return endpointPasses;
  }

  /**
   * How many inputs changed Secrets but no document and no secret view gateway translation read (a valid certificate
   * rotated, a secret no shard uses changed) and were translated by rebuilding SDS resources (and Secret statuses)
   * alone; such an input that changed endpoints too counts here, not in {@link #endpointPasses()}.
   */
  public long secretPasses() {
    return secretPasses;
  }

  private Translation translateIncrementally(ConfigInput input, LastGood previous, TlsSecretCatalog next,
      TlsSecretLookup override) {
    DecodedResourcesCache.Result decode = decodeCache.decode(input.documents(), previous.documents());
    DecodedResources decoded = decode.resources();
    var settings = decoded.snapshot().settings();
    Set<ResourceRef> read = ConcurrentHashMap.newKeySet();
    TlsSecretLookup lookup = ref -> {
      read.add(ref);
      return next.find(ref);
    };
    GatewayTranslationCache.Pass pass =
        gatewayCache.translate(decoded, decode.changed(), previous, InvalidRoutePolicy.of(settings),
            override == TlsSecretLookup.NONE ? lookup : override);
    PlanInput planInput = new PlanInput(pass.writeNamespace(), decoded.snapshot(), pass.shards(), pass::usedBy,
        p -> pass.lastGood().of(p), pass::resource, pass::rejectedWhileDecoding, pass::isRejected, pass.changedKeys());
    ShardPlan plan = planCache.plan(planInput, PlanSettings.of(settings));
    SortedMap<String, ShardConfig> shards = new TreeMap<>();
    pass.shards().forEach((name, shard) -> shards.put(name, reachedClusters(plan, shard)));
    // Every role served: the shards, and the edge (whose terminating TLS chains use the shards' secrets too).
    List<RoleInput> roleInputs = new ArrayList<>();
    for (ShardConfig shard : shards.values()) {
      roleInputs.add(new RoleInput(shard.proxy().role(), shard, () -> xdsTranslator.apply(shard), shard.clusters(),
          secretUses.apply(shard)));
    }
    if (plan.edge() != null) {
      EdgePlan edge = plan.edge();
      roleInputs.add(new RoleInput(edge.role(), edge, () -> EdgeXdsTranslator.translate(edge), List.of(),
          edge.secretUses()));
    }
    Map<String, SortedSet<SecretUse>> usesByRole = new HashMap<>();
    rolesBySecret.clear();
    for (RoleInput r : roleInputs) {
      // A lookup given instead of the catalog knows views, not content: no SDS resources then (golden cases).
      SortedSet<SecretUse> uses = override == TlsSecretLookup.NONE ? r.secretUses() : Collections.emptySortedSet();
      usesByRole.put(r.role(), uses);
      for (SecretUse u : uses) {
        rolesBySecret.computeIfAbsent(KubeSecret.key(u.secret().namespace(), u.secret().name()),
            k -> new TreeSet<>()).add(r.role());
      }
    }
    Reports extra = new Reports().addAll(planContribution(plan)).addAll(secretReports(next).contribution())
        .addAll(consulAgentReports(decoded, input.endpoints()).contribution());
    GatewayTranslation gateway =
        new GatewayTranslation(
            pass.writeNamespace(),
            shards,
            pass.statuses(extra.contribution()),
            pass.documentProblems(),
            pass.lastGood().withDocuments(decode.accepted()));

    // A shard is translated to xDS again only when what it serves differs from last time: equal input, equal
    // output, so the previous resources are reused as they are (and the cache sees nothing new to push).
    SortedMap<String, ShardResources> xds = new TreeMap<>();
    SortedSet<String> done = new TreeSet<>();
    SortedMap<String, String> failures = new TreeMap<>();
    pass.failures().forEach((proxy, message) -> failures.put(pass.writeNamespace() + "~" + proxy, message));
    Map<String, Object> inputs = new HashMap<>();
    SortedMap<String, ShardResources> served = new TreeMap<>();
    Map<String, RoleEndpoints> nextEndpoints = new HashMap<>();
    Map<String, RoleSecrets> nextSecrets = new HashMap<>();
    Map<String, SecretProto> protosBefore = secretProtos;
    secretProtos = new HashMap<>();
    for (RoleInput r : roleInputs) {
      String role = r.role();
      boolean ok = translate(role, r.from(), r.translate(), inputs, xds, done, failures);
      RoleEndpoints before = endpoints.get(role);
      RoleSecrets secretsBefore = secrets.get(role);
      ShardResources servedBefore = secretsBefore != null ? secretsBefore.merged
          : before != null ? before.merged : null;
      if (ok) {
        RoleEndpoints re = RoleEndpoints.of(before, xds.get(role), r.clusters(), input.endpoints());
        nextEndpoints.put(role, re);
        try {
          SortedSet<SecretUse> uses = usesByRole.get(role);
          RoleSecrets rs = RoleSecrets.of(secretsBefore, re.merged, uses, sdsResources(uses, next, protosBefore));
          served.put(role, rs.merged);
          nextSecrets.put(role, rs);
          if (servedBefore == null || rs.merged != servedBefore) {
            done.add(role);
          }
          continue;
        } catch (RuntimeException e) {
          secretFailure(role, e, failures);
          done.remove(role);
        }
      } else if (before != null) {
        nextEndpoints.put(role, before);
      }
      // It keeps what it served, load assignments and secrets included.
      served.put(role, servedBefore != null ? servedBefore : xds.get(role));
      if (secretsBefore != null) {
        nextSecrets.put(role, secretsBefore);
      }
    }
    lastInputs = inputs;
    lastXds = xds;
    xdsCaches.keySet().retainAll(xds.keySet());
    endpoints.clear();
    endpoints.putAll(nextEndpoints);
    rolesByService.clear();
    endpoints.forEach((role, re) -> re.byService.keySet()
        .forEach(service -> rolesByService.computeIfAbsent(service, k -> new TreeSet<>()).add(role)));
    secrets.clear();
    secrets.putAll(nextSecrets);
    readSecrets = Set.copyOf(read);
    fullPasses++;
    return new Translation(input, gateway, plan, served, done, failures, settings, false);
  }

  /**
   * One role to serve in a full pass: what its xDS resources are translated from (compared with last time's), how,
   * its EDS clusters and its SDS secrets.
   */
  private record RoleInput(String role, Object from, Supplier<ShardResources> translate, List<UpstreamCluster> clusters,
      SortedSet<SecretUse> secretUses) {}

  /** One load assignment, with what it was built from (its source compared by identity). */
  private record Assignment(UpstreamCluster cluster, DiscoveredEndpoints source, ClusterLoadAssignment proto) {}

  /**
   * One shard's load assignments: its xDS resources as translated ({@code base}), the same with the load
   * assignments of its EDS clusters ({@code merged}, what is served), and which clusters target which Service.
   * A memo of the engine's thread: a full translation makes a new one, reusing every assignment whose cluster and
   * Service endpoints are the same objects; an endpoint change updates the assignments it touches in place.
   */
  private static final class RoleEndpoints {
    final ShardResources base;
    /** By cluster name. */
    final SortedMap<String, Assignment> assignments;
    /** Service key ({@code ns/name}, {@code consul:<service>}) to the EDS clusters that target it. */
    final Map<String, List<UpstreamCluster>> byService;
    ShardResources merged;

    private RoleEndpoints(ShardResources base, SortedMap<String, Assignment> assignments,
        Map<String, List<UpstreamCluster>> byService, ShardResources merged) {
      this.base = base;
      this.assignments = assignments;
      this.byService = byService;
      this.merged = merged;
    }

    /** From a full translation: every EDS cluster of {@code clusters}, reusing what {@code before} built. */
    static RoleEndpoints of(RoleEndpoints before, ShardResources base, List<UpstreamCluster> clusters,
        EndpointState state) {
      SortedMap<String, Assignment> assignments = new TreeMap<>();
      Map<String, List<UpstreamCluster>> byService = new HashMap<>();
      boolean same = before != null && before.base == base;
      for (UpstreamCluster c : clusters) {
        if (!c.eds()) {
          continue;
        }
        String name = XdsNames.cluster(c.upstream());
        DiscoveredEndpoints source = state.get(c.service().serviceKey());
        Assignment a = before == null ? null : before.assignments.get(name);
        if (a == null || a.source() != source || !a.cluster().equals(c)) {
          a = new Assignment(c, source, EndpointTranslator.loadAssignment(c, source));
          same = false;
        }
        assignments.put(name, a);
        byService.computeIfAbsent(c.service().serviceKey(), k -> new ArrayList<>()).add(c);
      }
      if (same && before.assignments.size() == assignments.size()) {
        return before;
      }
      return new RoleEndpoints(base, assignments, byService, merge(base, assignments));
    }

    /** After an endpoint change of {@code services} only: rebuilds the assignments of the clusters targeting them. */
    ShardResources update(Set<String> services, EndpointState state) {
      boolean changed = false;
      for (String service : services) {
        for (UpstreamCluster c : byService.getOrDefault(service, List.of())) {
          String name = XdsNames.cluster(c.upstream());
          DiscoveredEndpoints source = state.get(c.service().serviceKey());
          Assignment a = assignments.get(name);
          if (a.source() != source) {
            ClusterLoadAssignment proto = EndpointTranslator.loadAssignment(c, source);
            // Equal content keeps the old object, so the cache finds nothing new to hash or send.
            assignments.put(name, new Assignment(c, source, proto.equals(a.proto()) ? a.proto() : proto));
            changed |= !proto.equals(a.proto());
          }
        }
      }
      if (changed) {
        merged = merge(base, assignments);
      }
      return merged;
    }

    private static ShardResources merge(ShardResources base, SortedMap<String, Assignment> assignments) {
      if (assignments.isEmpty()) {
        return base;
      }
      List<ClusterLoadAssignment> clas = new ArrayList<>(assignments.size());
      assignments.values().forEach(a -> clas.add(a.proto()));
      return new ShardResources(base.clusters(), clas, base.listeners(), base.routes(), base.secrets());
    }
  }

  /**
   * One shard's SDS resources: what is served with them ({@code merged}: its xDS resources with load assignments,
   * {@code input}, plus exactly the Secrets of its {@code uses}). Immutable; a new one only when something changed,
   * and then every list but the secrets is {@code input}'s very object.
   */
  private static final class RoleSecrets {
    final ShardResources input;
    final SortedSet<SecretUse> uses;
    final List<Secret> resources;
    final ShardResources merged;

    private RoleSecrets(ShardResources input, SortedSet<SecretUse> uses, List<Secret> resources,
        ShardResources merged) {
      this.input = input;
      this.uses = uses;
      this.resources = resources;
      this.merged = merged;
    }

    static RoleSecrets of(RoleSecrets before, ShardResources input, SortedSet<SecretUse> uses,
        List<Secret> resources) {
      if (before != null && before.input == input && before.uses.equals(uses)
          && SameObjects.inOrder(before.resources, resources)) {
        return before;
      }
      ShardResources merged = resources.isEmpty() && input.secrets().isEmpty() ? input
          : new ShardResources(input.clusters(), input.endpoints(), input.listeners(), input.routes(), resources);
      return new RoleSecrets(input, uses, List.copyOf(resources), merged);
    }
  }

  private final Map<String, RoleEndpoints> endpoints = new HashMap<>();
  /** Service key to the roles whose EDS clusters target it, as of the last full translation. */
  private final Map<String, SortedSet<String>> rolesByService = new HashMap<>();
  private Translation last;
  private EndpointState lastEndpoints = EndpointState.EMPTY;
  /** The lookup the last input was translated with instead of the catalog's, or NONE. */
  private TlsSecretLookup lastOverride = TlsSecretLookup.NONE;
  private long fullPasses;
  private long endpointPasses;

  /** {@code shard} with only the clusters its routes reach, reused while the shard and its plan are the same. */
  private ShardConfig reachedClusters(ShardPlan plan, ShardConfig shard) {
    String name = shard.proxy().name();
    ShardPlan.Shard planned = plan.shards().get(name);
    Reached memo = reached.get(name);
    if (memo != null && memo.in() == shard && memo.planned() == planned) {
      return memo.out();
    }
    ShardConfig out = plan.withReachedClusters(shard);
    reached.put(name, new Reached(shard, planned, out));
    return out;
  }

  private record Reached(ShardConfig in, ShardPlan.Shard planned, ShardConfig out) {}

  /** The internal errors of the last translation, one per shard that failed, for the caller to log. */
  public List<Failure> drainFailures() {
    List<Failure> out = new ArrayList<>();
    for (GatewayTranslationCache.Failure f : gatewayCache.drainFailures()) {
      out.add(new Failure(f.proxy(), f.message(), f.error()));
    }
    out.addAll(failureLog);
    failureLog.clear();
    return out;
  }

  /** The plan's problems as a status contribution (and the edge Proxy registered when there is one). */
  private static Contribution planContribution(ShardPlan plan) {
    Reports reports = new Reports();
    plan.errors().forEach((k, ms) -> ms.forEach(m -> reports.accept(k, "").error(k, m)));
    plan.warnings().forEach((k, ms) -> ms.forEach(m -> reports.accept(k, "").warning(k, m)));
    if (plan.edge() != null) {
      reports.accept(plan.edgeProxyKey(), "");
    }
    return reports.contribution();
  }

  /**
   * The shard's xDS resources: reused when its input equals last time's; else translated, and on an internal error
   * (a bug) the shard keeps what it had, with the error in {@code failures}, and the others go on.
   */
  private boolean translate(String role, Object input, Supplier<ShardResources> translator, Map<String, Object> inputs,
      SortedMap<String, ShardResources> xds, SortedSet<String> done, SortedMap<String, String> failures) {
    Object then = lastInputs.get(role);
    if (then != null && (then == input || then.equals(input))) {
      inputs.put(role, then);
      xds.put(role, lastXds.get(role));
      return true;
    }
    long started = timing == null ? 0 : System.nanoTime();
    try {
      ShardResources out = translator.get();
      if (timing != null) {
        timing.accept(role, System.nanoTime() - started);
      }
      inputs.put(role, input);
      xds.put(role, out);
      done.add(role);
      return true;
    } catch (RuntimeException | StackOverflowError e) {
      failures.put(role, Failures.describe("translating shard " + role + " to xDS", e)
          + "; it keeps serving what it served before this change");
      failureLog.add(new Failure(role, failures.get(role), e));
      ShardResources kept = lastXds.get(role);
      xds.put(role, kept == null ? ShardResources.empty() : kept);
      if (then != null) {
        inputs.put(role, then);
      }
      return false;
    }
  }

  /** An internal error of one shard's translation, for the caller to log with its stack trace. */
  public record Failure(String shard, String message, Throwable error) {}

  private final List<Failure> failureLog = new ArrayList<>();
}
