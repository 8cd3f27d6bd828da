package io.shardgate.templates;

import java.util.HashMap;
import java.util.Map;

/**
 * Renders the Envoy bootstrap (YAML) of a gateway-proxy shard from {@link BootstrapParams}.
 *
 * <p>Stage: bootstrap rendering, the one source of bootstraps for the CLI and the Helm chart. Pure: the output
 * depends only on the parameters (no clock, environment or I/O after the template is loaded with this class), so
 * equal parameters give byte-equal text. Stateless and thread-safe.
 *
 * <p>The bootstrap names the shard through {@code node.metadata.role} ({@link BootstrapParams#role()}), reaches
 * the control plane over ADS on the {@code xds_cluster}, and gets every listener and cluster of the shard from
 * it. Bootstraps that differ in {@code adminPort} (and {@code statsPort}, when set) can run side by side on one
 * host; start such Envoys with {@code --disable-hot-restart} or distinct {@code --base-id}s, which are
 * command-line options rather than bootstrap fields.
 */
public final class BootstrapRenderer {

  /** The template, as a class path resource next to this class. */
  static final String TEMPLATE_RESOURCE = "gateway-proxy-bootstrap.yaml";

  private static final Template TEMPLATE = Template.load(BootstrapRenderer.class, TEMPLATE_RESOURCE);

  private BootstrapRenderer() {}

  /**
   * The bootstrap for {@code params}, as YAML text ending in a newline.
   *
   * @throws IllegalStateException never for valid parameters; only when the bundled template and this renderer
   *     disagree on placeholders or sections, which the module's own tests rule out
   */
  public static String render(BootstrapParams params) {
    boolean xdsHostIsIp = HostSyntax.isIpLiteral(params.xdsHost());
    // HashMap: the file paths are null when (m)TLS is off, and the template only uses them inside its sections.
    Map<String, String> values = new HashMap<>();
    values.put("nodeId", params.nodeId());
    values.put("nodeCluster", params.nodeCluster());
    values.put("role", params.role());
    values.put("adminAddress", params.adminAddress());
    values.put("adminPort", Integer.toString(params.adminPort()));
    values.put("statsPort", Integer.toString(params.statsPort()));
    values.put("statsAddress", params.statsAddress());
    values.put("xdsApiType", params.xdsMode().adsApiType());
    values.put("xdsClusterType", xdsHostIsIp ? "STATIC" : "STRICT_DNS");
    values.put("xdsHost", params.xdsHost());
    values.put("xdsPort", Integer.toString(params.xdsPort()));
    values.put("xdsCaFile", params.xdsCaFile());
    values.put("xdsCertFile", params.xdsCertFile());
    values.put("xdsKeyFile", params.xdsKeyFile());
    values.put("xdsDnsResolverAddress", params.xdsDnsResolverAddress());
    values.put("xdsDnsResolverPort", Integer.toString(params.xdsDnsResolverPort()));
    values.put("xdsSanType", xdsHostIsIp ? "IP_ADDRESS" : "DNS");
    Map<String, Boolean> switches = Map.of(
        "stats", params.statsPort() > 0,
        "xdsTls", params.xdsTls(),
        "xdsMutualTls", params.xdsMutualTls(),
        "xdsDnsResolver", params.xdsDnsResolver(),
        // SNI carries host names only (RFC 6066); an IP address there would be refused by strict servers.
        "xdsSni", !xdsHostIsIp);
    try {
      return TEMPLATE.render(values, switches);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException("the bootstrap template does not fit its renderer: " + e.getMessage(), e);
    }
  }
}
