package io.shardgate.sharding.model;

import java.time.Duration;
import java.util.List;

/**
 * {@code gloo.solo.io/v1} Upstream. Only {@code static} upstreams are served today; the other types are read so
 * they can be reported, and produce no cluster.
 *
 * @param type the upstream type as written ({@code static}, {@code kube}, {@code consul}, ...), or empty
 * @param staticSpec the static hosts when {@code type} is {@code static}, else null
 * @param connectTimeout {@code connectionConfig.connectTimeout}, or null for the default (5 s)
 */
public record Upstream(ObjectMeta meta, String type, StaticSpec staticSpec, Duration connectTimeout, String sni)
    implements Resource {

  @Override
  public Kind kind() {
    return Kind.UPSTREAM;
  }

  /**
   * {@code static}: fixed hosts.
   *
   * @param useTls null when unset: TLS then turns on automatically when any host uses port 443
   */
  public record StaticSpec(List<StaticHost> hosts, Boolean useTls, boolean autoSniRewrite) {
    public StaticSpec {
      hosts = List.copyOf(hosts);
    }
  }

  /** One static host. */
  public record StaticHost(String addr, int port, String sniAddr) {}
}
