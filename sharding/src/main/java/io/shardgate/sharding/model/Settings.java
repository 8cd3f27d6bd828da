package io.shardgate.sharding.model;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code gloo.solo.io/v1} Settings: the fields Shardgate reads.
 *
 * @param discoveryNamespace the write namespace: where Proxies live and the first half of node roles
 * @param watchNamespaces namespaces whose resources are read; empty means all (the write namespace is always read)
 * @param readGatewaysFromAllNamespaces when false only Gateways in the write namespace are translated
 * @param invalidConfigPolicy {@code gloo.invalidConfigPolicy}
 * @param shardgate {@code shardgate}: Shardgate's own block (per-shard clusters, the edge shard); see
 *     docs/sharding.md
 * @param persistProxySpec {@code gateway.persistProxySpec}: in Kubernetes mode, the leader writes one Proxy object
 *     per shard into the write namespace
 * @param compressedProxySpec {@code gateway.compressedProxySpec}: those Proxy objects' specs are compressed as Gloo
 *     compresses them
 * @param virtualServiceOneWayTls {@code gateway.virtualServiceOptions.oneWayTls}: the {@code oneWayTls} of every
 *     VirtualService {@code sslConfig} that leaves it unset, or null
 * @param validation {@code gateway.validation}: what the admission webhook ({@code serve --webhook-port}) does
 */
public record Settings(
    ObjectMeta meta,
    String discoveryNamespace,
    List<String> watchNamespaces,
    boolean readGatewaysFromAllNamespaces,
    InvalidConfigPolicy invalidConfigPolicy,
    Shardgate shardgate,
    boolean persistProxySpec,
    boolean compressedProxySpec,
    Boolean virtualServiceOneWayTls,
    Validation validation)
    implements Resource {

  /**
   * {@code gloo.invalidConfigPolicy}: with {@code replaceInvalidRoutes}, routes that cannot be served answer with
   * this code and body instead of being dropped.
   */
  public record InvalidConfigPolicy(boolean replaceInvalidRoutes, int invalidRouteResponseCode, String invalidRouteResponseBody) {
    public static final String DEFAULT_BODY =
        "Shardgate has invalid configuration for this route. Administrators should run 'shardgate validate'.";
    public static final InvalidConfigPolicy DEFAULT = new InvalidConfigPolicy(false, 404, DEFAULT_BODY);
  }

  public static final String DEFAULT_WRITE_NAMESPACE = "gloo-system";

  /** Settings as Gloo behaves with no Settings resource at all. */
  public static final Settings DEFAULTS =
      new Settings(
          new ObjectMeta("default", DEFAULT_WRITE_NAMESPACE, Map.of(), Map.of(), "(defaults)"),
          DEFAULT_WRITE_NAMESPACE,
          List.of(),
          false,
          InvalidConfigPolicy.DEFAULT,
          Shardgate.DEFAULT,
          false,
          false,
          null,
          Validation.DEFAULT);

  public Settings {
    discoveryNamespace =
        discoveryNamespace == null || discoveryNamespace.isEmpty() ? DEFAULT_WRITE_NAMESPACE : discoveryNamespace;
    watchNamespaces = List.copyOf(watchNamespaces);
    invalidConfigPolicy = invalidConfigPolicy == null ? InvalidConfigPolicy.DEFAULT : invalidConfigPolicy;
    shardgate = shardgate == null ? Shardgate.DEFAULT : shardgate;
    validation = validation == null ? Validation.DEFAULT : validation;
  }

  /**
   * {@code gateway.validation}: Gloo's knobs of the validating admission webhook, as Shardgate's webhook reads them
   * (docs/validation-webhook.md).
   *
   * @param alwaysAccept admit every change, returning what would have refused it as warnings; Shardgate's default is
   *     false (refuse), where Gloo's is true
   * @param allowWarnings admit changes that only add warnings (returned to the client); false refuses them too
   * @param serverEnabled false admits everything, with a warning that validation is off
   */
  public record Validation(boolean alwaysAccept, boolean allowWarnings, boolean serverEnabled) {
    public static final Validation DEFAULT = new Validation(false, true, true);
  }

  /**
   * {@code spec.shardgate}: settings of Shardgate's own that Gloo does not have.
   *
   * @param allUpstreamsPerShard true: every shard gets a cluster for every Upstream, as in Gloo; false (default):
   *     each shard gets only the clusters its routes reach
   * @param edge the edge shard
   */
  public record Shardgate(boolean allUpstreamsPerShard, Edge edge) {
    public static final Shardgate DEFAULT = new Shardgate(false, Edge.DEFAULT);

    public Shardgate {
      edge = edge == null ? Edge.DEFAULT : edge;
    }
  }

  /**
   * {@code spec.shardgate.edge}: a thin edge proxy, synthesized by Shardgate, that routes each shard's domains (by
   * Host, and by SNI for TLS passthrough) to that shard's gateway-proxy.
   *
   * @param enabled whether the edge shard is built
   * @param proxyName its proxy name; its Envoys present the role {@code <writeNamespace>~<proxyName>}
   * @param bindAddress the address of its listeners
   * @param bindPort the port of its HTTP listener
   * @param tlsBindPort the port of its TLS passthrough listener (built only when some shard has a TLS address)
   * @param shardAddresses per shard (proxy name), where its gateway-proxy takes plain HTTP
   * @param shardTlsAddresses per shard (proxy name), where its gateway-proxy takes TLS
   * @param tlsMode what the edge's TLS listener does with TLS: pass it through by SNI to the shard that terminates it
   *     (the default), or terminate it with the shards' certificates and route by Host
   */
  public record Edge(
      boolean enabled,
      String proxyName,
      String bindAddress,
      int bindPort,
      int tlsBindPort,
      Map<String, HostPort> shardAddresses,
      Map<String, HostPort> shardTlsAddresses,
      TlsMode tlsMode) {

    public static final String DEFAULT_PROXY_NAME = "gateway-proxy-edge";
    public static final String DEFAULT_BIND_ADDRESS = "::";
    public static final int DEFAULT_BIND_PORT = 8080;
    public static final int DEFAULT_TLS_BIND_PORT = 8443;
    public static final Edge DEFAULT =
        new Edge(false, DEFAULT_PROXY_NAME, DEFAULT_BIND_ADDRESS, DEFAULT_BIND_PORT, DEFAULT_TLS_BIND_PORT,
            Map.of(), Map.of(), TlsMode.PASSTHROUGH);

    public Edge {
      proxyName = proxyName == null || proxyName.isEmpty() ? DEFAULT_PROXY_NAME : proxyName;
      bindAddress = bindAddress == null || bindAddress.isEmpty() ? DEFAULT_BIND_ADDRESS : bindAddress;
      shardAddresses = Collections.unmodifiableSortedMap(new TreeMap<>(shardAddresses));
      shardTlsAddresses = Collections.unmodifiableSortedMap(new TreeMap<>(shardTlsAddresses));
      tlsMode = tlsMode == null ? TlsMode.PASSTHROUGH : tlsMode;
    }

    /** {@code spec.shardgate.edge.tlsMode}: where TLS ends for traffic that enters through the edge. */
    public enum TlsMode {
      /** The edge picks the shard by SNI and relays the TLS stream; the shard terminates it (keys only on shards). */
      PASSTHROUGH("Passthrough"),
      /** The edge terminates TLS with the shards' certificates, routes by Host, and re-encrypts to the shard. */
      TERMINATE("Terminate");

      private final String settingName;

      TlsMode(String settingName) {
        this.settingName = settingName;
      }

      /** The value as written in Settings. */
      public String settingName() {
        return settingName;
      }

      /** The mode named {@code value} in Settings. */
      public static TlsMode of(String value) {
        for (TlsMode m : values()) {
          if (m.settingName.equals(value)) {
            return m;
          }
        }
        throw new IllegalArgumentException(value);
      }
    }
  }

  /** A {@code host:port} address; {@code host} is a name or an IP literal (IPv6 without brackets). */
  public record HostPort(String host, int port) {
    @Override
    public String toString() {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }

  @Override
  public Kind kind() {
    return Kind.SETTINGS;
  }

  /** Whether resources in {@code namespace} are read at all. */
  public boolean watches(String namespace) {
    return watchNamespaces.isEmpty()
        || watchNamespaces.contains(namespace)
        || namespace.equals(discoveryNamespace);
  }
}
