package io.shardgate.sharding.translate;

import io.shardgate.sharding.decode.DecodedResources;
import io.shardgate.sharding.ir.UpstreamCluster;
import io.shardgate.sharding.model.Upstream;
import io.shardgate.sharding.report.Contribution;
import io.shardgate.sharding.secret.TlsSecretLookup;
import java.util.List;

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

  /** The cluster of a static or kube Upstream. */
  static UpstreamCluster cluster(Upstream u) {
    if (u.kubeSpec() != null) {
      // TLS to a kube Upstream (sslConfig) is not built yet; the table serves only its sni, used with static hosts.
      return new UpstreamCluster(u.meta().ref(), List.of(), false, u.sni(), u.connectTimeout(), u.kubeSpec());
    }
    Upstream.StaticSpec s = u.staticSpec();
    boolean tls = s.useTls() != null ? s.useTls() : s.hosts().stream().anyMatch(h -> h.port() == 443);
    return new UpstreamCluster(u.meta().ref(), s.hosts(), tls, u.sni(), u.connectTimeout());
  }
}
