package io.shardgate.sharding.ir;

import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.Upstream;
import java.time.Duration;
import java.util.List;

/**
 * An Upstream that can be served as an Envoy cluster (today: static upstreams).
 *
 * @param tls whether connections to the hosts use TLS ({@code useTls}, or automatically for port 443)
 * @param sni the SNI to send, or null
 */
public record UpstreamCluster(
    ResourceRef upstream, List<Upstream.StaticHost> hosts, boolean tls, String sni, Duration connectTimeout) {

  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);

  public UpstreamCluster {
    hosts = List.copyOf(hosts);
    connectTimeout = connectTimeout == null ? DEFAULT_CONNECT_TIMEOUT : connectTimeout;
  }
}
