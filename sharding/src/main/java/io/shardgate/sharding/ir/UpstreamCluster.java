package io.shardgate.sharding.ir;

import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.Upstream;
import io.shardgate.sharding.model.UpstreamSslConfig;
import java.time.Duration;
import java.util.List;

/**
 * An Upstream that can be served as an Envoy cluster: a static one (fixed hosts), a Kubernetes one (its endpoints
 * come over EDS from the Service's EndpointSlices) or a Consul one (over EDS from Consul's health API). Immutable
 * value, built by gateway translation.
 *
 * @param hosts the static hosts; empty for a Kubernetes Upstream. On a TLS cluster a host's {@code sniAddr} is the SNI
 *     Envoy sends to that host when it differs from the cluster's {@code sni} (null: the cluster's)
 * @param tls whether connections to the hosts use TLS ({@code sslConfig}, {@code useTls}, or automatically for port
 *     443)
 * @param sni the SNI to send, or null
 * @param service the Service port or Consul service whose endpoints the cluster gets over EDS, or null for a static
 *     Upstream
 * @param sslConfig the Upstream's {@code sslConfig}, or null ({@code tls} alone then presents and verifies nothing)
 * @param secret for a {@code secretRef}, which parts of the secret the transport socket references over SDS (the
 *     client certificate unless {@code oneWayTls}; the root CA when the secret has one); null otherwise. Gateway
 *     translation builds a cluster with a secret only when the secret is servable.
 * @param http2 whether Envoy speaks HTTP/2 to the hosts ({@code useHttp2})
 */
public record UpstreamCluster(
    ResourceRef upstream,
    List<Upstream.StaticHost> hosts,
    boolean tls,
    String sni,
    Duration connectTimeout,
    Upstream.EndpointSource service,
    UpstreamSslConfig sslConfig,
    SecretUse secret,
    boolean http2) {

  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);

  public UpstreamCluster {
    hosts = List.copyOf(hosts);
    connectTimeout = connectTimeout == null ? DEFAULT_CONNECT_TIMEOUT : connectTimeout;
    if (secret != null && (sslConfig == null || !secret.secret().equals(sslConfig.secretRef()))) {
      throw new IllegalArgumentException("the secret use of " + upstream + " must be its sslConfig's secretRef");
    }
  }

  /** A cluster without an {@code sslConfig} source or HTTP/2. */
  public UpstreamCluster(
      ResourceRef upstream, List<Upstream.StaticHost> hosts, boolean tls, String sni, Duration connectTimeout,
      Upstream.EndpointSource service) {
    this(upstream, hosts, tls, sni, connectTimeout, service, null, null, false);
  }

  /** A static cluster without an {@code sslConfig} source or HTTP/2. */
  public UpstreamCluster(
      ResourceRef upstream, List<Upstream.StaticHost> hosts, boolean tls, String sni, Duration connectTimeout) {
    this(upstream, hosts, tls, sni, connectTimeout, null);
  }

  /** The TLS secrets this cluster's transport socket references over SDS, sorted. */
  public List<SecretUse> secretUses() {
    return secret == null || !(secret.certificate() || secret.validation()) ? List.of() : List.of(secret);
  }

  /** Whether Envoy gets this cluster's endpoints over EDS. */
  public boolean eds() {
    return service != null;
  }
}
