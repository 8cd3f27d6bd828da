package io.shardgate.sharding.translate;

import io.shardgate.sharding.ir.ProxyVirtualHost;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.SniNames;
import io.shardgate.sharding.model.SslConfig;
import io.shardgate.sharding.model.TlsSecretSource;
import io.shardgate.sharding.model.VirtualService;
import io.shardgate.sharding.secret.TlsSecretLookup.TlsSecretView;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The TLS side of an SSL Gateway's listener: resolving each VirtualService's {@code sslConfig} for its filter chain
 * (SNI names, client certificate verification, the secret's view) and keeping the chains' SNI names apart.
 *
 * <p>Stage: gateway translation. Pure functions of their arguments; {@link SniClaims} holds the claims of one
 * listener while it is built (not thread-safe, never shared).
 */
final class ListenerTls {

  /** Stands for "every SNI" among the names a chain claims. */
  static final String EVERY_SNI = "*";

  private ListenerTls() {}

  /**
   * {@code vs}'s TLS as its filter chain serves it (see {@code ProxyVirtualHost.sslConfig}), or null when it can have
   * no chain; the problems go to {@code ctx} as errors (which reject the VirtualService) and warnings.
   *
   * <ul>
   *   <li>SNI names: {@code sniDomains}, else the VirtualService's domains without their ports (Shardgate's default;
   *       Gloo's is every SNI); {@code *} or no domains stand for every SNI. A domain Envoy cannot match as SNI
   *       ({@code foo.*}) is left out with a warning; when none is left the VirtualService is rejected.
   *   <li>A {@code secretRef} whose view is not servable, or that holds only a root CA (nothing to present), rejects
   *       the VirtualService, with no chain; one that serves its last good content while the current one is bad also
   *       rejects it (so it serves its last good host, whose chain uses that content), but the chain is kept.
   *   <li>Client certificates are required and verified (mTLS) when the source has a root CA, unless
   *       {@code oneWayTls} (or Settings {@code gateway.virtualServiceOptions.oneWayTls}) says otherwise.
   * </ul>
   */
  static SslConfig resolve(TranslationContext ctx, VirtualService vs, Boolean oneWayTlsDefault) {
    SslConfig cfg = vs.sslConfig().withOneWayTlsDefault(oneWayTlsDefault);
    List<String> names = serverNames(ctx, vs, cfg);
    if (names == null) {
      return null;
    }
    boolean hasRootCa;
    TlsSecretSource source = cfg.source();
    if (source instanceof TlsSecretSource.SecretRef r) {
      TlsSecretView view = ctx.secret(r.ref());
      String at = vs.at("spec.sslConfig.secretRef");
      if (!view.servable() || !view.hasCertificate()) {
        ctx.reports().error(vs.key(), at + ": " + problem(view, r.ref()) + "; no filter chain is built for this"
            + " VirtualService (the rest of the Gateway keeps serving)");
        return null;
      }
      if (view.problem() != null) {
        ctx.reports().error(vs.key(), at + ": " + view.problem() + "; the secret's last good certificate keeps being"
            + " served until it is fixed");
      }
      hasRootCa = view.hasRootCa();
      if (!cfg.verifySubjectAltName().isEmpty() && !hasRootCa && !Boolean.TRUE.equals(cfg.oneWayTls())) {
        ctx.reports().error(vs.key(), vs.at("spec.sslConfig.verifySubjectAltName") + ": needs a root CA to verify"
            + " client certificates with, and secret " + r.ref() + " has none (ca.crt or rootCa)");
        return null;
      }
    } else if (source instanceof TlsSecretSource.Files f) {
      hasRootCa = f.rootCa() != null;
    } else {
      hasRootCa = ((TlsSecretSource.Sds) source).validationContextName() != null;
    }
    boolean oneWay = Boolean.TRUE.equals(cfg.oneWayTls()) || !hasRootCa;
    return new SslConfig(cfg.source(), names, oneWay ? List.of() : cfg.verifySubjectAltName(), cfg.parameters(),
        cfg.alpnProtocols(), oneWay, cfg.disableTlsSessionResumption(), cfg.transportSocketConnectTimeout(),
        cfg.ocspStaplePolicy());
  }

  /** Why a VirtualService cannot serve {@code ref}: it cannot be served, or it has no certificate to present. */
  private static String problem(TlsSecretView view, ResourceRef ref) {
    if (view.servable() && !view.hasCertificate()) {
      return "secret " + ref + " holds only a root CA; a VirtualService needs a certificate and key";
    }
    // The lookup's problems name the secret.
    return view.problem() != null ? view.problem() : "secret " + ref + " has no content that can be served";
  }

  /** The SNI names (sorted; empty for every SNI), or null with an error when none is left. */
  private static List<String> serverNames(TranslationContext ctx, VirtualService vs, SslConfig cfg) {
    if (!cfg.sniDomains().isEmpty()) {
      // Checked while decoding; "*" stands for every SNI.
      return cfg.sniDomains().contains(EVERY_SNI) ? List.of() : List.copyOf(new TreeSet<>(cfg.sniDomains()));
    }
    List<String> domains = vs.virtualHost() == null ? List.of() : vs.virtualHost().domains();
    TreeSet<String> names = new TreeSet<>();
    List<String> unusable = new ArrayList<>();
    for (int i = 0; i < domains.size(); i++) {
      String name = SniNames.ofDomain(domains.get(i));
      if (name == null) {
        return List.of();
      }
      String problem = SniNames.problem(name);
      if (problem != null) {
        String path = vs.at("spec.virtualHost.domains[" + i + "]");
        ctx.reports().warning(vs.key(), path + ": '" + domains.get(i) + "' is left out of the SNI names its filter"
            + " chain matches: " + problem + "; to choose the SNI names, set spec.sslConfig.sniDomains");
        unusable.add(domains.get(i));
      } else {
        names.add(name);
      }
    }
    if (domains.isEmpty()) {
      return List.of();
    }
    if (names.isEmpty()) {
      ctx.reports().error(vs.key(), vs.at("spec.sslConfig") + ": no filter chain can match this VirtualService: none"
          + " of its domains " + unusable + " is an SNI name Envoy can match; list the SNI names in"
          + " spec.sslConfig.sniDomains");
      return null;
    }
    return List.copyOf(names);
  }

  /** The names a host's chain claims: its server names, or {@link #EVERY_SNI}. */
  static List<String> claimedNames(SslConfig resolved) {
    return resolved.sniDomains().isEmpty() ? List.of(EVERY_SNI) : resolved.sniDomains();
  }

  /** How a claimed name reads in a message. */
  static String describe(String name) {
    return name.equals(EVERY_SNI) ? "'*' (every SNI)" : "'" + name + "'";
  }

  /**
   * The SNI names the filter chains of one listener claim, each by the chain (its TLS settings but for SNI) and the
   * first VirtualService that claimed it. Two chains that claim one name make Envoy refuse the whole listener.
   */
  static final class SniClaims {

    record Claim(SslConfig chain, ResourceKey virtualService) {}

    private final Map<String, Claim> byName = new HashMap<>();

    /** The names {@code resolved} claims that another chain holds, with that claim; empty when it fits. */
    Map<String, Claim> conflicts(SslConfig resolved) {
      SslConfig chain = resolved.withSniDomains(List.of());
      Map<String, Claim> out = new TreeMap<>();
      for (String name : claimedNames(resolved)) {
        Claim c = byName.get(name);
        if (c != null && !c.chain().equals(chain)) {
          out.put(name, c);
        }
      }
      return out;
    }

    void add(SslConfig resolved, ResourceKey virtualService) {
      SslConfig chain = resolved.withSniDomains(List.of());
      for (String name : claimedNames(resolved)) {
        byName.putIfAbsent(name, new Claim(chain, virtualService));
      }
    }

    void add(ProxyVirtualHost vh) {
      add(vh.sslConfig(), vh.virtualService());
    }
  }

  /**
   * Why the last good host {@code vh} of an SSL listener cannot be served again under the current secret views, or
   * null when it can: its secret must still be servable with a certificate and key, and have a root CA if the host
   * verifies client certificates (an SDS name that no Secret backs would block the listener in Envoy forever).
   */
  static String lastGoodSecretProblem(TranslationContext ctx, ProxyVirtualHost vh) {
    ResourceRef ref = vh.sslConfig().secretRef();
    if (ref == null) {
      return null;
    }
    TlsSecretView view = ctx.secret(ref);
    if (!view.servable() || !view.hasCertificate()) {
      return problem(view, ref);
    }
    if (Boolean.FALSE.equals(vh.sslConfig().oneWayTls()) && !view.hasRootCa()) {
      return "it verified client certificates with the root CA of secret " + ref + ", which has none now";
    }
    return null;
  }
}
