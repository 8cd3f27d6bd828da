package io.shardgate.sharding.translate;

import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.secret.TlsSecretLookup.TlsSecretView;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Everything one piece of gateway translation looked up, with the answers it got: the resources it read, which
 * Upstreams existed, decode statuses, which UpstreamGroups were valid, which resources were substituted by their
 * last good output, the RouteTable selections it made, and the views of the TLS secrets it checked. If every lookup
 * gives the same answer in a later call, the piece would produce the same result, so its cached result can be used
 * instead: this is what makes an edit cost what it changes. Filled while the piece runs (not thread-safe), read-only afterwards.
 */
final class Reads {

  /** Stands for "not there" in the maps below. */
  private static final Object ABSENT = new Object();

  private final Map<ResourceKey, Object> resources = new HashMap<>();
  private final Map<ResourceKey, Boolean> existence = new HashMap<>();
  private final Map<ResourceKey, Object> decodeStatuses = new HashMap<>();
  private final Map<ResourceKey, Boolean> groupErrors = new HashMap<>();
  private final Map<ResourceKey, Boolean> substituted = new HashMap<>();
  /**
   * Per kube Upstream: the Service port it waited for (ABSENT when its Service existed), and the discovered Upstreams
   * that answer depended on.
   */
  private final Map<ResourceKey, Object> serviceMissing = new HashMap<>();
  private final Set<ResourceKey> discovered = new HashSet<>();
  private final List<RouteTableQuery> queries = new ArrayList<>();
  /** Per Upstream, why its TLS leaves it without a cluster (ABSENT when it has one). */
  private final Map<ResourceKey, Object> upstreamTls = new HashMap<>();
  /** Per TLS secret, the view translation got: what it may know of the secret, never its content. */
  private final Map<ResourceRef, TlsSecretView> secrets = new HashMap<>();

  void resource(ResourceKey key, Object value) {
    resources.putIfAbsent(key, value == null ? ABSENT : value);
  }

  void exists(ResourceKey key, boolean exists) {
    existence.putIfAbsent(key, exists);
  }

  void decodeStatus(ResourceKey key, Object status) {
    decodeStatuses.putIfAbsent(key, status == null ? ABSENT : status);
  }

  void groupErrors(ResourceKey key, boolean hasErrors) {
    groupErrors.putIfAbsent(key, hasErrors);
  }

  void substituted(ResourceKey key, boolean answer) {
    substituted.putIfAbsent(key, answer);
  }

  void serviceMissing(ResourceKey upstream, ResourceKey discoveredUpstream, Object missing) {
    serviceMissing.putIfAbsent(upstream, missing == null ? ABSENT : missing);
    if (discoveredUpstream != null) {
      discovered.add(discoveredUpstream);
    }
  }

  void query(RouteTableQuery query) {
    queries.add(query);
  }

  void upstreamTls(ResourceKey upstream, String problem) {
    upstreamTls.putIfAbsent(upstream, problem == null ? ABSENT : problem);
  }

  void secret(ResourceRef ref, TlsSecretView view) {
    secrets.putIfAbsent(ref, view);
  }

  /** Adds everything {@code other} read. */
  void addAll(Reads other) {
    other.resources.forEach(resources::putIfAbsent);
    other.existence.forEach(existence::putIfAbsent);
    other.decodeStatuses.forEach(decodeStatuses::putIfAbsent);
    other.groupErrors.forEach(groupErrors::putIfAbsent);
    other.substituted.forEach(substituted::putIfAbsent);
    other.serviceMissing.forEach(serviceMissing::putIfAbsent);
    discovered.addAll(other.discovered);
    queries.addAll(other.queries);
    other.secrets.forEach(secrets::putIfAbsent);
    other.upstreamTls.forEach(upstreamTls::putIfAbsent);
  }

  /**
   * Whether every lookup still answers the same in {@code lookups}, with {@code substitution} deciding which
   * resources serve their last good output.
   */
  boolean stillValid(Lookups lookups, Predicate<ResourceKey> substitution) {
    for (Map.Entry<ResourceKey, Object> e : resources.entrySet()) {
      if (!same(e.getValue(), lookups.resource(e.getKey()))) {
        return false;
      }
    }
    for (Map.Entry<ResourceKey, Boolean> e : existence.entrySet()) {
      if (e.getValue() != (lookups.resource(e.getKey()) != null)) {
        return false;
      }
    }
    for (Map.Entry<ResourceKey, Object> e : decodeStatuses.entrySet()) {
      if (!same(e.getValue(), lookups.decodeStatus(e.getKey()))) {
        return false;
      }
    }
    for (Map.Entry<ResourceKey, Boolean> e : groupErrors.entrySet()) {
      if (e.getValue() != lookups.groupsWithErrors().contains(e.getKey())) {
        return false;
      }
    }
    for (Map.Entry<ResourceKey, Boolean> e : substituted.entrySet()) {
      if (e.getValue() != substitution.test(e.getKey())) {
        return false;
      }
    }
    for (Map.Entry<ResourceKey, Object> e : serviceMissing.entrySet()) {
      if (!same(e.getValue(), lookups.missingService(e.getKey()))) {
        return false;
      }
    }
    for (RouteTableQuery q : queries) {
      if (!q.stillSelectsTheSame(lookups)) {
        return false;
      }
    }
    for (Map.Entry<ResourceKey, Object> e : upstreamTls.entrySet()) {
      if (!same(e.getValue(), lookups.upstreamTlsProblem(e.getKey()))) {
        return false;
      }
    }
    return secretsStillValid(lookups);
  }

  /**
   * Whether every TLS secret view read is the same in {@code lookups}: a valid-to-valid rotation answers the same
   * view, so it translates nothing again.
   */
  boolean secretsStillValid(Lookups lookups) {
    for (Map.Entry<ResourceRef, TlsSecretView> e : secrets.entrySet()) {
      if (!e.getValue().equals(lookups.secrets().find(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  /** Whether the result depended on whether {@code key} is substituted by its last good output. */
  boolean readSubstitution(ResourceKey key) {
    return substituted.containsKey(key);
  }

  /** The keys of every resource read (resources, decode statuses, groups, substitutions), into {@code out}. */
  void keysInto(Set<ResourceKey> out) {
    out.addAll(resources.keySet());
    out.addAll(existence.keySet());
    out.addAll(decodeStatuses.keySet());
    out.addAll(groupErrors.keySet());
    out.addAll(substituted.keySet());
    out.addAll(serviceMissing.keySet());
    out.addAll(upstreamTls.keySet());
    out.addAll(discovered);
  }

  /** The keys whose substitution answer was read, into {@code out}. */
  void substitutionKeysInto(Set<ResourceKey> out) {
    out.addAll(substituted.keySet());
    out.addAll(serviceMissing.keySet());
    out.addAll(discovered);
  }

  /** The namespaces RouteTable selectors searched ({@code *} for all), into {@code out}. */
  void queryNamespacesInto(Set<String> out) {
    for (RouteTableQuery q : queries) {
      out.addAll(q.namespaces());
    }
  }

  private static boolean same(Object recorded, Object current) {
    Object now = current == null ? ABSENT : current;
    return recorded == now || (recorded != ABSENT && now != ABSENT && Objects.equals(recorded, now));
  }
}
