package io.shardgate.sharding.translate;

import io.shardgate.sharding.ir.ProxyRoute;
import io.shardgate.sharding.ir.RouteAction;
import io.shardgate.sharding.model.Action;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.RouteTable;
import io.shardgate.sharding.model.Upstream;
import io.shardgate.sharding.model.UpstreamGroup;
import io.shardgate.sharding.model.VirtualService;
import io.shardgate.sharding.report.Reports;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.report.ResourceStatus;
import io.shardgate.sharding.secret.TlsSecretLookup.TlsSecretView;
import java.util.List;
import java.util.SortedSet;
import java.util.function.Predicate;

/**
 * What one piece of gateway translation sees: the call's {@link Lookups}, its own {@link Reports}, and the
 * {@link Reads} that record every lookup it makes, so its result can be reused while those lookups answer the same.
 * Made per piece and never shared, so the translators stay pure; not thread-safe.
 */
final class TranslationContext {

  private final Lookups lookups;
  private final Reports reports = new Reports();
  private final Reads reads = new Reads();
  private final Predicate<ResourceKey> substitution;

  /**
   * @param substitution which resources serve their last good output instead of being translated (the rejected
   *     ones)
   */
  TranslationContext(Lookups lookups, Predicate<ResourceKey> substitution) {
    this.lookups = lookups;
    this.substitution = substitution;
  }

  Lookups lookups() {
    return lookups;
  }

  Reports reports() {
    return reports;
  }

  Reads reads() {
    return reads;
  }

  /** Whether {@code key} serves its last good output instead of being translated now. */
  boolean substituted(ResourceKey key) {
    boolean answer = substitution.test(key);
    reads.substituted(key, answer);
    return answer;
  }

  RouteTable routeTable(ResourceRef ref) {
    RouteTable t = lookups.routeTables().get(ref);
    reads.resource(new ResourceKey(Kind.ROUTE_TABLE, ref.namespace(), ref.name()), t);
    return t;
  }

  /** The tables a selector picks in {@code namespaces} ({@code *} for all), recording the selection. */
  RouteTableQuery.Evaluated selectRouteTables(SortedSet<String> namespaces, Action.RouteTableSelector selector) {
    RouteTableQuery.Evaluated e = RouteTableQuery.evaluate(lookups, namespaces, selector);
    reads.query(e.query());
    for (RouteTable t : e.tables()) {
      reads.resource(t.key(), t);
    }
    for (ResourceKey rejected : e.query().rejectedMatched()) {
      reads.decodeStatus(rejected, lookups.decodeStatus(rejected));
    }
    return e;
  }

  /** The Upstream, or null; only whether it exists is recorded, because that is all gateway translation uses. */
  Upstream upstream(ResourceRef ref) {
    Upstream u = lookups.upstreams().get(ref);
    reads.exists(Lookups.upstreamKey(ref), u != null);
    return u;
  }

  /**
   * The Service port of a kube Upstream whose Service does not exist (see {@link Lookups#missingService}), or null
   * when it exists, the Upstream is of another type, or {@code u} is null. Records the answer, so a Service that
   * appears or disappears re-translates exactly what depended on it.
   */
  Upstream.KubeSpec missingService(Upstream u) {
    if (u == null) {
      return null;
    }
    ResourceKey key = Lookups.upstreamKey(u.meta().ref());
    Upstream.KubeSpec missing = lookups.missingService(key);
    reads.serviceMissing(key, u.kubeSpec() == null ? null : lookups.discoveredKey(u.kubeSpec()), missing);
    return missing;
  }

  UpstreamGroup upstreamGroup(ResourceRef ref) {
    UpstreamGroup g = lookups.upstreamGroups().get(ref);
    reads.resource(new ResourceKey(Kind.UPSTREAM_GROUP, ref.namespace(), ref.name()), g);
    return g;
  }

  /** Whether an UpstreamGroup failed validation. */
  boolean groupHasErrors(ResourceKey group) {
    boolean errors = lookups.groupsWithErrors().contains(group);
    reads.groupErrors(group, errors);
    return errors;
  }

  /**
   * Why the Upstream {@code u} has no cluster because of its TLS (its secret cannot be served, ...), or null when it
   * has one or {@code u} is null. Records the answer and the secret's view, so a secret that becomes servable (or
   * stops being) re-translates exactly what depended on it.
   */
  String upstreamTlsProblem(Upstream u) {
    if (u == null) {
      return null;
    }
    ResourceKey key = Lookups.upstreamKey(u.meta().ref());
    ResourceRef secret = u.sslConfig() == null ? null : u.sslConfig().secretRef();
    if (secret != null) {
      secret(secret);
    }
    String problem = lookups.upstreamTlsProblem(key);
    reads.upstreamTls(key, problem);
    return problem;
  }

  /** What is known of the TLS secret {@code ref} (never its content), recording the view. */
  TlsSecretView secret(ResourceRef ref) {
    TlsSecretView view = lookups.secrets().find(ref);
    reads.secret(ref, view);
    return view;
  }

  boolean virtualServiceExists(ResourceRef ref) {
    VirtualService vs = lookups.virtualServices().get(ref);
    reads.exists(new ResourceKey(Kind.VIRTUAL_SERVICE, ref.namespace(), ref.name()), vs != null);
    return vs != null;
  }

  void usedBy(ResourceKey key, String proxyName) {
    reports.usedBy(key, proxyName);
  }

  /**
   * Marks what served routes come from and send to as used by {@code proxyName}: last good routes still serve their
   * VirtualService's or RouteTable's requests and send traffic to their Upstreams, which must keep their clusters
   * and must not look unused.
   */
  void usedByRoutes(List<ProxyRoute> routes, String proxyName) {
    for (ProxyRoute r : routes) {
      if (r.source() != null) {
        usedBy(r.source(), proxyName);
      }
      if (r.action() instanceof RouteAction.Forward f) {
        for (RouteAction.ClusterWeight c : f.clusters()) {
          usedBy(Lookups.upstreamKey(c.upstream()), proxyName);
        }
      }
      var shadowing = r.options().shadowing();
      if (shadowing != null && shadowing.upstream() != null) {
        usedBy(Lookups.upstreamKey(shadowing.upstream().withDefaultNamespace(r.source().namespace())), proxyName);
      }
    }
  }

  private ResourceStatus decodeStatus(ResourceKey key) {
    ResourceStatus s = lookups.decodeStatus(key);
    reads.decodeStatus(key, s);
    return s;
  }

  /** Explains a failed lookup when the resource exists but was rejected while decoding; else empty. */
  String rejectedHint(ResourceKey key) {
    ResourceStatus s = decodeStatus(key);
    if (s != null && s.state() == ResourceState.REJECTED) {
      return " (" + key + " exists but is rejected: " + s.errors().get(0) + ")";
    }
    return "";
  }

  /** The key named by {@code text} ({@code Kind ns/name}) when that resource was rejected while decoding; else null. */
  ResourceKey decodeRejectedKey(String text) {
    ResourceKey key = lookups.rejectedWhileDecodingByName().get(text);
    if (key != null) {
      decodeStatus(key);
    } else {
      ResourceKey parsed = parseKey(text);
      if (parsed != null) {
        decodeStatus(parsed);
      }
    }
    return key;
  }

  /** The first error that rejected {@code key} while decoding, or empty. */
  String firstDecodeError(ResourceKey key) {
    ResourceStatus s = decodeStatus(key);
    return s == null || s.errors().isEmpty() ? "" : s.errors().get(0);
  }

  boolean rejectedWhileDecoding(ResourceKey key) {
    ResourceStatus s = decodeStatus(key);
    return s != null && s.state() == ResourceState.REJECTED;
  }

  static ResourceKey proxyKey(String namespace, String name) {
    return new ResourceKey(Kind.PROXY, namespace, name);
  }

  /** {@code Kind ns/name} back to a key, or null when it is not one. */
  static ResourceKey parseKey(String text) {
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
