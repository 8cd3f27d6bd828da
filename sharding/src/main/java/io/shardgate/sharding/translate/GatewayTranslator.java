package io.shardgate.sharding.translate;

import io.shardgate.sharding.decode.DecodedResources;
import io.shardgate.sharding.ir.SecretUse;
import io.shardgate.sharding.ir.UpstreamCluster;
import io.shardgate.sharding.model.IpLiterals;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.Upstream;
import io.shardgate.sharding.model.UpstreamSslConfig;
import io.shardgate.sharding.report.Contribution;
import io.shardgate.sharding.secret.TlsSecretLookup;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Gateway translation from scratch: Gateways, VirtualServices and RouteTables to one {@link io.shardgate.sharding.ir.Proxy}
 * per proxy name, plus the status of every resource. The running control plane keeps a
 * {@link GatewayTranslationCache} between inputs instead; both give the same result for the same arguments.
 *
 * <p>Stage: gateway translation. Pure function of its input (no clock, no I/O, no fields): equal input gives equal
 * output, whatever order the resources arrived in. Thread-safe.
 */
public final class GatewayTranslator {

  private GatewayTranslator() {}

  /** Translates with no last good state (a first start, or tools that show only the current input). */
  public static GatewayTranslation translate(DecodedResources in) {
    return translate(in, LastGood.EMPTY, InvalidRoutePolicy.DEFAULT);
  }

  /**
   * Translates, serving the last accepted output of every rejected resource from {@code previous}; the result
   * carries the next last good state.
   */
  public static GatewayTranslation translate(DecodedResources in, LastGood previous, InvalidRoutePolicy policy) {
    return translate(in, previous, policy, TlsSecretLookup.NONE);
  }

  /** As {@link #translate(DecodedResources, LastGood, InvalidRoutePolicy)}, knowing the TLS secrets by {@code secrets}. */
  public static GatewayTranslation translate(DecodedResources in, LastGood previous, InvalidRoutePolicy policy,
      TlsSecretLookup secrets) {
    return new GatewayTranslationCache().translate(in, null, previous, policy, secrets).translation(Contribution.EMPTY);
  }

  /**
   * The cluster of a static or kube Upstream, or why it has none: its {@code sslConfig.secretRef} names a secret
   * that cannot be served (Envoy would wait for the SDS resource forever, so the cluster is left out and routes to it
   * get 503, as routes to a missing Upstream do), or {@code verifySubjectAltName} has no root CA to verify with.
   */
  static Built cluster(Upstream u, TlsSecretLookup secrets) {
    UpstreamSslConfig ssl = u.sslConfig();
    SecretUse use = null;
    String lastGoodProblem = null;
    if (ssl != null && ssl.secretRef() != null) {
      ResourceRef ref = ssl.secretRef();
      TlsSecretLookup.TlsSecretView view = secrets.find(ref);
      if (!view.servable()) {
        return new Built(null, "spec.sslConfig.secretRef: " + problem(ref, view));
      }
      if (!ssl.verifySubjectAltName().isEmpty() && !view.hasRootCa()) {
        return new Built(null, "spec.sslConfig.verifySubjectAltName: secret " + ref + " has no root CA (ca.crt or"
            + " rootCa) to verify the backend with");
      }
      // Envoy presents the secret's certificate and key unless oneWayTls (Gloo's rule); a secret with only a root CA
      // verifies the backend and presents nothing.
      use = new SecretUse(ref, view.hasCertificate() && !ssl.oneWayTls(), view.hasRootCa());
      // Servable with a problem: its current content is bad and its last good content serves; the Upstream says so.
      lastGoodProblem = view.problem() == null ? null : "spec.sslConfig.secretRef: " + problem(ref, view);
    }
    boolean tls;
    String sni = u.sni();
    List<Upstream.StaticHost> hosts = List.of();
    if (u.endpointSource() != null) {
      tls = ssl != null;
    } else {
      Upstream.StaticSpec s = u.staticSpec();
      // As in Gloo: an sslConfig always means TLS; without one, useTls, else TLS when a host uses port 443.
      tls = ssl != null || (s.useTls() != null ? s.useTls() : s.hosts().stream().anyMatch(h -> h.port() == 443));
      hosts = tls ? hostsWithSni(s, sni) : s.hosts();
      Set<String> distinct = hosts.stream().map(h -> String.valueOf(h.sniAddr())).collect(Collectors.toSet());
      if (tls && distinct.size() == 1 && hosts.get(0).sniAddr() != null) {
        // Every host has the same SNI: it is the cluster's, and no host needs a transport socket of its own.
        sni = hosts.get(0).sniAddr();
        hosts = hosts.stream().map(h -> new Upstream.StaticHost(h.addr(), h.port(), null)).toList();
      }
    }
    return new Built(new UpstreamCluster(u.meta().ref(), hosts, tls, sni, u.connectTimeout(), u.endpointSource(),
        ssl, use, u.http2()), lastGoodProblem);
  }

  /**
   * Each host with the SNI Envoy sends it: its {@code sniAddr}; else the {@code sslConfig.sni}; else, with
   * {@code autoSniRewrite} (Gloo's default), its address when that is a DNS name (RFC 6066: never an IP address).
   * Gloo lets the address win over {@code sslConfig.sni}; Shardgate keeps the SNI the Upstream names.
   */
  private static List<Upstream.StaticHost> hostsWithSni(Upstream.StaticSpec s, String clusterSni) {
    return s.hosts().stream().map(h -> {
      String sni = h.sniAddr() != null ? h.sniAddr()
          : clusterSni != null ? clusterSni
          : s.autoSniRewrite() && !IpLiterals.isIp(h.addr()) ? h.addr()
          : null;
      return new Upstream.StaticHost(h.addr(), h.port(), sni);
    }).toList();
  }

  /** What is wrong with a secret that cannot be served, naming it (never its content). */
  private static String problem(ResourceRef ref, TlsSecretLookup.TlsSecretView view) {
    String p = view.problem() == null ? "secret " + ref + " cannot be served" : view.problem();
    return p.contains(ref.toString()) ? p : "secret " + ref + ": " + p;
  }

  /**
   * An Upstream's cluster, or why it has none.
   *
   * @param cluster the cluster, or null
   * @param problem why there is no cluster (the field and the cause); with a cluster, why its secret serves its last
   *     good content; else null
   */
  record Built(UpstreamCluster cluster, String problem) {

    /** The error on the Upstream's status, or null when there is none. */
    String upstreamError() {
      if (problem == null || cluster != null) {
        return problem;
      }
      return problem + "; no cluster is served for this Upstream, so requests routed to it get 503 until this is"
          + " fixed";
    }

    /** Why the Upstream has no cluster, or null when it has one. */
    String noClusterProblem() {
      return cluster == null ? problem : null;
    }
  }
}
