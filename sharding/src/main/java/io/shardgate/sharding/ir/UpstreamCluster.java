package io.shardgate.sharding.ir;

import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.Upstream;
import java.time.Duration;
import java.util.List;

/**
 * An Upstream that can be served as an Envoy cluster: a static one (fixed hosts) or a Kubernetes one (its endpoints
 * come over EDS from the Service's EndpointSlices).
 *
 * @param hosts the static hosts; empty for a Kubernetes Upstream
 * @param tls whether connections to the hosts use TLS ({@code useTls}, or automatically for port 443)
 * @param sni the SNI to send, or null
 * @param service the Service port whose endpoints the cluster gets over EDS, or null for a static Upstream
 */
public record UpstreamCluster(
    ResourceRef upstream,
    List<Upstream.StaticHost> hosts,
    boolean tls,
    String sni,
    Duration connectTimeout,
    Upstream.KubeSpec service) {

  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);

  public UpstreamCluster {
    hosts = List.copyOf(hosts);
    connectTimeout = connectTimeout == null ? DEFAULT_CONNECT_TIMEOUT : connectTimeout;
  }

  /** A static cluster. */
  public UpstreamCluster(
      ResourceRef upstream, List<Upstream.StaticHost> hosts, boolean tls, String sni, Duration connectTimeout) {
    this(upstream, hosts, tls, sni, connectTimeout, null);
  }

  /** The TLS secrets this cluster's transport socket references over SDS, sorted. */
  public List<SecretUse> secretUses() {
    return List.of();
  }

  /** Whether Envoy gets this cluster's endpoints over EDS. */
  public boolean eds() {
    return service != null;
  }
}
