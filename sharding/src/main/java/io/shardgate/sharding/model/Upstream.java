package io.shardgate.sharding.model;

import io.shardgate.sharding.discovery.ConsulServiceEndpoints;
import io.shardgate.sharding.discovery.DiscoveredUpstreams;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * {@code gloo.solo.io/v1} Upstream. {@code static}, {@code kube} and {@code consul} upstreams are served; the other
 * types are read so they can be reported, and produce no cluster.
 *
 * @param type the upstream type as written ({@code static}, {@code kube}, {@code consul}, ...), or empty
 * @param staticSpec the static hosts when {@code type} is {@code static}, else null
 * @param kubeSpec the Kubernetes Service port when {@code type} is {@code kube}, else null
 * @param consulSpec the Consul service when {@code type} is {@code consul}, else null
 * @param connectTimeout {@code connectionConfig.connectTimeout}, or null for the default (5 s)
 * @param sslConfig {@code sslConfig}: TLS to the hosts, or null
 * @param useHttp2 {@code useHttp2}: Envoy speaks HTTP/2 to the hosts (prior knowledge, or over TLS whatever ALPN
 *     says, as in Gloo); null when unset
 */
public record Upstream(
    ObjectMeta meta, String type, StaticSpec staticSpec, KubeSpec kubeSpec, ConsulSpec consulSpec,
    Duration connectTimeout, UpstreamSslConfig sslConfig, Boolean useHttp2)
    implements Resource {

  /** An Upstream that is not a {@code consul} one. */
  public Upstream(ObjectMeta meta, String type, StaticSpec staticSpec, KubeSpec kubeSpec, Duration connectTimeout,
      UpstreamSslConfig sslConfig, Boolean useHttp2) {
    this(meta, type, staticSpec, kubeSpec, null, connectTimeout, sslConfig, useHttp2);
  }

  /** Where the cluster's endpoints come from over EDS: the kube or consul spec; null for a static Upstream. */
  public EndpointSource endpointSource() {
    return kubeSpec != null ? kubeSpec : consulSpec;
  }

  /** The server name Envoy sends ({@code sslConfig.sni}), or null. */
  public String sni() {
    return sslConfig == null ? null : sslConfig.sni();
  }

  /** Whether Envoy speaks HTTP/2 to the hosts. */
  public boolean http2() {
    return Boolean.TRUE.equals(useHttp2);
  }

  @Override
  public Kind kind() {
    return Kind.UPSTREAM;
  }

  /** Whether Gloo's (or the Kubernetes source's) discovery wrote this Upstream for a Service port. */
  public boolean discovered() {
    return DiscoveredUpstreams.KUBERNETES_PLUGIN.equals(meta.labels().get(DiscoveredUpstreams.DISCOVERED_BY));
  }

  /**
   * Where an EDS cluster's endpoints come from: a Kubernetes Service port or a Consul service. Immutable values.
   */
  public sealed interface EndpointSource permits KubeSpec, ConsulSpec {

    /**
     * The key of the service's endpoints in {@link io.shardgate.sharding.discovery.EndpointState}: {@code
     * namespace/name} for Kubernetes, {@code consul:<service>} for Consul (a Kubernetes name holds no {@code :}, so
     * the two never collide).
     */
    String serviceKey();

    /** What the endpoints come from, for messages ({@code Service ns/name port P}, {@code Consul service S}). */
    String describe();
  }

  /**
   * {@code kube}: one port of a Kubernetes Service; its endpoints come from the Service's EndpointSlices (EDS).
   *
   * @param serviceNamespace as written, else the Upstream's namespace
   * @param selector only endpoints whose Pod carries all these labels; empty for all
   */
  public record KubeSpec(String serviceNamespace, String serviceName, int servicePort,
      SortedMap<String, String> selector) implements EndpointSource {
    public KubeSpec {
      selector = selector == null || selector.isEmpty()
          ? Collections.emptySortedMap()
          : Collections.unmodifiableSortedMap(new TreeMap<>(selector));
    }

    /** The Service's key in {@link io.shardgate.sharding.discovery.EndpointState}: {@code namespace/name}. */
    @Override
    public String serviceKey() {
      return serviceNamespace + "/" + serviceName;
    }

    /** {@code Service ns/name port P}, for messages. */
    @Override
    public String describe() {
      return "Service " + serviceKey() + " port " + servicePort;
    }

    /** Whether {@code other} names the same Service port (selectors aside). */
    public boolean sameServicePort(KubeSpec other) {
      return other != null && serviceNamespace.equals(other.serviceNamespace) && serviceName.equals(other.serviceName)
          && servicePort == other.servicePort;
    }

    /** The name of the Upstream discovery writes for this Service port (in the write namespace). */
    public String discoveredName() {
      return DiscoveredUpstreams.name(serviceNamespace, serviceName, servicePort);
    }
  }

  /**
   * {@code consul}: the instances of a Consul service that pass their health checks; their endpoints come from
   * Consul's health API (EDS), as Gloo's consul plugin builds them.
   *
   * @param serviceName the Consul service
   * @param subsetTags the tags written as {@code tag_<tag>} endpoint metadata ("1" when the instance has it, else
   *     "0"), for subset routing: {@code subsetTags}, else the deprecated {@code serviceTags}, as in Gloo
   * @param instanceTags only instances that carry all of these; empty for all
   * @param instanceBlacklistTags only instances that carry none of these
   * @param dataCenters only instances in these data centers, each written as {@code dc_<dc>} metadata; empty for
   *     every data center the agent knows
   */
  public record ConsulSpec(String serviceName, List<String> subsetTags, List<String> instanceTags,
      List<String> instanceBlacklistTags, List<String> dataCenters) implements EndpointSource {

    public ConsulSpec {
      subsetTags = List.copyOf(subsetTags);
      instanceTags = List.copyOf(instanceTags);
      instanceBlacklistTags = List.copyOf(instanceBlacklistTags);
      dataCenters = List.copyOf(dataCenters);
    }

    @Override
    public String serviceKey() {
      return ConsulServiceEndpoints.key(serviceName);
    }

    @Override
    public String describe() {
      return "Consul service " + serviceName;
    }
  }

  /**
   * {@code static}: fixed hosts.
   *
   * @param useTls null when unset: TLS then turns on automatically when any host uses port 443
   * @param autoSniRewrite whether a host named by a DNS name gets that name as its SNI (Gloo's default: true)
   */
  public record StaticSpec(List<StaticHost> hosts, Boolean useTls, boolean autoSniRewrite) {
    public StaticSpec {
      hosts = List.copyOf(hosts);
    }
  }

  /**
   * One static host.
   *
   * @param sniAddr the SNI of TLS connections to this host, or null
   */
  public record StaticHost(String addr, int port, String sniAddr) {
    public StaticHost {
      sniAddr = sniAddr == null || sniAddr.isEmpty() ? null : sniAddr;
    }
  }
}
