package io.shardgate.templates;

import java.util.regex.Pattern;

/**
 * Everything that varies between the Envoy bootstraps of gateway-proxy shards.
 *
 * <p>Stage: bootstrap rendering input. Immutable value; thread-safe. The constructor rejects every value that
 * could not become a working bootstrap, with an {@link IllegalArgumentException} naming the parameter, so the
 * renderer never produces a file Envoy would refuse or misread.
 *
 * <p>Build instances with {@link #forProxy(String)} (all defaults) or {@link #builder(String)}.
 *
 * @param proxyName the shard: the Gloo proxy name this Envoy serves (lowercase, Kubernetes-name-like)
 * @param namespace Gloo's {@code writeNamespace}; with {@code proxyName} it forms the node role. Default
 *     {@value #DEFAULT_NAMESPACE}
 * @param nodeId Envoy's {@code node.id}, shown in logs and admin pages; it does not select the shard. Default
 *     {@code <proxyName>.<namespace>}
 * @param nodeCluster Envoy's {@code node.cluster}, the prefix of some Envoy stats. Default
 *     {@value #DEFAULT_NODE_CLUSTER}
 * @param xdsHost the control plane's gRPC xDS address: an IP literal, or a DNS name re-resolved by Envoy. Default
 *     {@value #DEFAULT_XDS_HOST}
 * @param xdsPort the control plane's gRPC xDS port. Default {@value #DEFAULT_XDS_PORT}
 * @param adminAddress the IP literal the Envoy admin interface binds to. Default {@value #DEFAULT_ADMIN_ADDRESS}
 * @param adminPort the Envoy admin port; Envoys sharing a host need distinct ones. Default
 *     {@value #DEFAULT_ADMIN_PORT}
 * @param statsPort the port of the {@code prometheus_listener} ({@code /ready}, {@code /metrics}), or 0 for none.
 *     Default {@value #DEFAULT_STATS_PORT}
 * @param statsAddress the IP literal the {@code prometheus_listener} binds to. Default
 *     {@value #DEFAULT_STATS_ADDRESS}; in a pod, {@code 0.0.0.0} (or {@code ::}) so the kubelet's probes and
 *     Prometheus reach it, while the admin interface stays on loopback
 * @param xdsMode state-of-the-world or delta ADS. Default {@link XdsMode#SOTW}
 * @param xdsCaFile path, on the Envoy's machine, of the PEM CA bundle that signs the control plane's serving
 *     certificate; relative paths resolve against Envoy's working directory. {@code null} (the default) means
 *     plaintext xDS. With a CA file, the certificate must also name {@code xdsHost} as a DNS or IP subject
 *     alternative name, in the same spelling (for IPv6, the compressed lowercase form)
 * @param xdsCertFile path, on the Envoy's machine, of the PEM certificate chain this Envoy presents to the control
 *     plane (mutual TLS), or {@code null} (the default) for none. Set together with {@code xdsKeyFile}, and only with
 *     {@code xdsCaFile}. When the control plane requires role identities, the certificate must name this Envoy's role
 *     (docs/security.md)
 * @param xdsKeyFile path, on the Envoy's machine, of the PEM private key of {@code xdsCertFile}, or {@code null}
 * @param xdsDnsResolverAddress the IP literal of the DNS server that resolves {@code xdsHost} instead of the
 *     host's own resolvers (Consul's DNS interface, for {@code bootstrap --xds-consul}), or {@code null} (the
 *     default) for the host's resolvers. Needs a DNS name as {@code xdsHost}
 * @param xdsDnsResolverPort the port of {@code xdsDnsResolverAddress} (Consul's is 8600), or 0 when there is none
 */
public record BootstrapParams(
    String proxyName,
    String namespace,
    String nodeId,
    String nodeCluster,
    String xdsHost,
    int xdsPort,
    String adminAddress,
    int adminPort,
    int statsPort,
    String statsAddress,
    XdsMode xdsMode,
    String xdsCaFile,
    String xdsCertFile,
    String xdsKeyFile,
    String xdsDnsResolverAddress,
    int xdsDnsResolverPort) {

  public static final String DEFAULT_NAMESPACE = "gloo-system";
  public static final String DEFAULT_NODE_CLUSTER = "gateway";
  public static final String DEFAULT_XDS_HOST = "127.0.0.1";
  public static final int DEFAULT_XDS_PORT = 9977;
  public static final String DEFAULT_ADMIN_ADDRESS = "127.0.0.1";
  public static final int DEFAULT_ADMIN_PORT = 19000;
  public static final int DEFAULT_STATS_PORT = 0;
  public static final String DEFAULT_STATS_ADDRESS = "127.0.0.1";

  private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");

  public BootstrapParams {
    requireName("proxyName", proxyName);
    requireName("namespace", namespace);
    requireToken("nodeId", nodeId);
    requireToken("nodeCluster", nodeCluster);
    requireNonNull("xdsHost", xdsHost);
    if (!HostSyntax.isIpLiteral(xdsHost) && !HostSyntax.isHostname(xdsHost)) {
      throw new IllegalArgumentException("xdsHost " + quote(xdsHost) + " is not valid: expected a DNS name"
          + " (like shardgate.gloo-system.svc) or an IP address (like 10.0.0.7 or ::1)");
    }
    requirePort("xdsPort", xdsPort);
    requireNonNull("adminAddress", adminAddress);
    if (!HostSyntax.isIpLiteral(adminAddress)) {
      throw new IllegalArgumentException("adminAddress " + quote(adminAddress)
          + " is not valid: Envoy binds its admin interface to an IP address (like 127.0.0.1 or ::1), not a name");
    }
    requirePort("adminPort", adminPort);
    if (statsPort < 0 || statsPort > 65535) {
      throw new IllegalArgumentException(
          "statsPort " + statsPort + " is out of range: expected 1..65535, or 0 for no stats listener");
    }
    requireNonNull("statsAddress", statsAddress);
    if (!HostSyntax.isIpLiteral(statsAddress)) {
      throw new IllegalArgumentException("statsAddress " + quote(statsAddress)
          + " is not valid: Envoy binds its stats listener to an IP address (like 127.0.0.1 or 0.0.0.0), not a name");
    }
    if (statsPort == adminPort) {
      throw new IllegalArgumentException("statsPort " + statsPort
          + " is the same as adminPort: the stats listener and the admin interface need different ports");
    }
    if (xdsMode == null) {
      throw new IllegalArgumentException("xdsMode is missing: expected one of SOTW, DELTA");
    }
    if (xdsCaFile != null) {
      requireToken("xdsCaFile", xdsCaFile);
    }
    if (xdsCertFile != null) {
      requireToken("xdsCertFile", xdsCertFile);
    }
    if (xdsKeyFile != null) {
      requireToken("xdsKeyFile", xdsKeyFile);
    }
    if ((xdsCertFile == null) != (xdsKeyFile == null)) {
      throw new IllegalArgumentException((xdsCertFile == null ? "xdsKeyFile" : "xdsCertFile")
          + " is set without " + (xdsCertFile == null ? "xdsCertFile" : "xdsKeyFile")
          + ": a client certificate needs both its certificate chain and its private key");
    }
    if (xdsCertFile != null && xdsCaFile == null) {
      throw new IllegalArgumentException("xdsCertFile is set without xdsCaFile: a client certificate is only sent"
          + " over TLS, which needs the CA that signs the control plane's certificate");
    }
    if (xdsDnsResolverAddress != null) {
      if (!HostSyntax.isIpLiteral(xdsDnsResolverAddress)) {
        throw new IllegalArgumentException("xdsDnsResolverAddress " + quote(xdsDnsResolverAddress)
            + " is not valid: Envoy sends DNS queries to an IP address (like 127.0.0.1), not a name");
      }
      requirePort("xdsDnsResolverPort", xdsDnsResolverPort);
      if (HostSyntax.isIpLiteral(xdsHost)) {
        throw new IllegalArgumentException("xdsDnsResolverAddress is set but xdsHost " + quote(xdsHost)
            + " is an IP address: a DNS resolver only serves a DNS name (like gloo-xds.service.consul)");
      }
    } else if (xdsDnsResolverPort != 0) {
      throw new IllegalArgumentException("xdsDnsResolverPort " + xdsDnsResolverPort
          + " is set without xdsDnsResolverAddress");
    }
  }

  /** All defaults for the shard {@code proxyName}. */
  public static BootstrapParams forProxy(String proxyName) {
    return builder(proxyName).build();
  }

  /** A builder preset with the defaults for the shard {@code proxyName}. */
  public static Builder builder(String proxyName) {
    return new Builder(proxyName);
  }

  /**
   * A builder holding these values. A {@code nodeId} equal to the default for this proxy name and namespace is
   * not carried over, so that changing either one in the builder changes the node id with it.
   */
  public Builder toBuilder() {
    Builder b = new Builder(proxyName)
        .namespace(namespace)
        .nodeCluster(nodeCluster)
        .xdsHost(xdsHost)
        .xdsPort(xdsPort)
        .adminAddress(adminAddress)
        .adminPort(adminPort)
        .statsPort(statsPort)
        .statsAddress(statsAddress)
        .xdsMode(xdsMode)
        .xdsCaFile(xdsCaFile)
        .xdsClientCertificate(xdsCertFile, xdsKeyFile)
        .xdsDnsResolver(xdsDnsResolverAddress, xdsDnsResolverPort);
    if (!nodeId.equals(defaultNodeId(proxyName, namespace))) {
      b.nodeId(nodeId);
    }
    return b;
  }

  /** The node role that selects this shard's snapshot: {@code <namespace>~<proxyName>}. */
  public String role() {
    return namespace + "~" + proxyName;
  }

  /** Whether the xDS connection uses TLS, that is whether {@link #xdsCaFile()} is set. */
  public boolean xdsTls() {
    return xdsCaFile != null;
  }

  /** Whether this Envoy presents a client certificate to the control plane (mutual TLS). */
  public boolean xdsMutualTls() {
    return xdsCertFile != null;
  }

  /** Whether {@code xdsHost} is resolved through {@link #xdsDnsResolverAddress()} rather than the host's resolvers. */
  public boolean xdsDnsResolver() {
    return xdsDnsResolverAddress != null;
  }

  private static String defaultNodeId(String proxyName, String namespace) {
    return proxyName + "." + namespace;
  }

  private static void requireNonNull(String param, String value) {
    if (value == null) {
      throw new IllegalArgumentException(param + " is missing");
    }
  }

  private static void requireName(String param, String value) {
    requireNonNull(param, value);
    if (!NAME.matcher(value).matches()) {
      throw new IllegalArgumentException(param + " " + quote(value) + " is not valid: use lowercase letters, digits,"
          + " '-' and '.', starting and ending with a letter or digit (like gateway-proxy)");
    }
  }

  /** Values land in double-quoted YAML scalars, where quotes, backslashes and control characters break out. */
  private static void requireToken(String param, String value) {
    requireNonNull(param, value);
    if (value.isEmpty()) {
      throw new IllegalArgumentException(param + " is empty");
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (Character.isWhitespace(c) || Character.isISOControl(c) || c == '"' || c == '\'' || c == '\\') {
        throw new IllegalArgumentException(param + " " + quote(value)
            + " is not valid: no whitespace, quotes, backslashes or control characters allowed");
      }
    }
  }

  private static void requirePort(String param, int port) {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(param + " " + port + " is out of range: expected 1..65535");
    }
  }

  /** Shows the rejected value with its invisible characters spelled out, so the message alone explains it. */
  private static String quote(String value) {
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x20 || c == 0x7f || Character.isWhitespace(c) && c != ' ') {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.append('"').toString();
  }

  /** Collects parameters for a {@link BootstrapParams}; not thread-safe, validation happens in {@link #build()}. */
  public static final class Builder {
    private final String proxyName;
    private String namespace = DEFAULT_NAMESPACE;
    private String nodeId;
    private String nodeCluster = DEFAULT_NODE_CLUSTER;
    private String xdsHost = DEFAULT_XDS_HOST;
    private int xdsPort = DEFAULT_XDS_PORT;
    private String adminAddress = DEFAULT_ADMIN_ADDRESS;
    private int adminPort = DEFAULT_ADMIN_PORT;
    private int statsPort = DEFAULT_STATS_PORT;
    private String statsAddress = DEFAULT_STATS_ADDRESS;
    private XdsMode xdsMode = XdsMode.SOTW;
    private String xdsCaFile;
    private String xdsCertFile;
    private String xdsKeyFile;
    private String xdsDnsResolverAddress;
    private int xdsDnsResolverPort;

    private Builder(String proxyName) {
      this.proxyName = proxyName;
    }

    public Builder namespace(String namespace) {
      this.namespace = namespace;
      return this;
    }

    /** Sets the node id; {@code null} restores the default {@code <proxyName>.<namespace>}. */
    public Builder nodeId(String nodeId) {
      this.nodeId = nodeId;
      return this;
    }

    public Builder nodeCluster(String nodeCluster) {
      this.nodeCluster = nodeCluster;
      return this;
    }

    public Builder xdsHost(String xdsHost) {
      this.xdsHost = xdsHost;
      return this;
    }

    public Builder xdsPort(int xdsPort) {
      this.xdsPort = xdsPort;
      return this;
    }

    public Builder adminAddress(String adminAddress) {
      this.adminAddress = adminAddress;
      return this;
    }

    public Builder adminPort(int adminPort) {
      this.adminPort = adminPort;
      return this;
    }

    /** Sets the stats listener port; 0 means no stats listener. */
    public Builder statsPort(int statsPort) {
      this.statsPort = statsPort;
      return this;
    }

    /** Sets the IP address the stats listener binds to. */
    public Builder statsAddress(String statsAddress) {
      this.statsAddress = statsAddress;
      return this;
    }

    public Builder xdsMode(XdsMode xdsMode) {
      this.xdsMode = xdsMode;
      return this;
    }

    /** Sets the CA bundle that turns on TLS for xDS; {@code null} means plaintext. */
    public Builder xdsCaFile(String xdsCaFile) {
      this.xdsCaFile = xdsCaFile;
      return this;
    }

    /**
     * Sets the certificate chain and private key this Envoy presents for mutual TLS; {@code null}s mean none. Needs
     * {@link #xdsCaFile}.
     */
    public Builder xdsClientCertificate(String certFile, String keyFile) {
      this.xdsCertFile = certFile;
      this.xdsKeyFile = keyFile;
      return this;
    }

    /**
     * Sets the DNS server (an IP address and port, such as Consul's DNS interface) that resolves the xDS host
     * name; {@code null} and 0 mean the host's own resolvers.
     */
    public Builder xdsDnsResolver(String address, int port) {
      this.xdsDnsResolverAddress = address;
      this.xdsDnsResolverPort = port;
      return this;
    }

    /**
     * The validated parameters.
     *
     * @throws IllegalArgumentException naming the first parameter that is wrong
     */
    public BootstrapParams build() {
      String id = nodeId != null ? nodeId : defaultNodeId(proxyName, namespace);
      return new BootstrapParams(proxyName, namespace, id, nodeCluster, xdsHost, xdsPort, adminAddress, adminPort,
          statsPort, statsAddress, xdsMode, xdsCaFile, xdsCertFile, xdsKeyFile, xdsDnsResolverAddress,
          xdsDnsResolverPort);
    }
  }
}
