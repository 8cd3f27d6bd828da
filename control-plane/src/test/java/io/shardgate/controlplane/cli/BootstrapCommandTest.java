package io.shardgate.controlplane.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.templates.BootstrapParams;
import io.shardgate.templates.BootstrapRenderer;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code bootstrap} prints exactly {@link BootstrapRenderer}'s bootstrap for its options, so the Helm chart (whose
 * bootstraps HelmChartTest compares with the renderer's) and the command are one source. Covers the options the
 * chart relies on, the stats listener's port and pod address among them.
 */
class BootstrapCommandTest {

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new ShardgateCli()).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
        .execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void printsTheRenderersBootstrapWithTheStatsListenerOnThePodAddress() {
    Run r = run("bootstrap", "--proxy", "payments", "--namespace", "team-gateways",
        "--xds", "gw-shardgate.gloo-system.svc.cluster.local:9977", "--admin-port", "19001",
        "--stats-port", "8081", "--stats-address", "0.0.0.0");
    assertEquals(0, r.exit(), r::toString);
    assertEquals(BootstrapRenderer.render(BootstrapParams.builder("payments").namespace("team-gateways")
        .xdsHost("gw-shardgate.gloo-system.svc.cluster.local").xdsPort(9977).adminPort(19001)
        .statsPort(8081).statsAddress("0.0.0.0").build()), r.out());
  }

  @Test
  void statsAddressDefaultsToLoopbackAndMustBeAnAddress() {
    Run plain = run("bootstrap", "--proxy", "gw", "--stats-port", "8081");
    assertEquals(0, plain.exit(), plain::toString);
    assertEquals(BootstrapRenderer.render(BootstrapParams.builder("gw").statsPort(8081).build()), plain.out());

    Run named = run("bootstrap", "--proxy", "gw", "--stats-port", "8081", "--stats-address", "gw.local");
    assertEquals(2, named.exit(), named::toString);
    assertEquals("error: statsAddress \"gw.local\" is not valid: Envoy binds its stats listener to an IP address (like"
        + " 127.0.0.1 or 0.0.0.0), not a name", named.err().strip());
  }

  @Test
  void xdsConsulResolvesTheServiceThroughTheAgentsDnsOnTheXdsPort() {
    Run r = run("bootstrap", "--proxy", "gw", "--xds-consul", "gloo-xds", "--consul-dns", "127.0.0.1:18600",
        "--consul-domain", "dc1.example", "--xds-port", "19977");
    assertEquals(0, r.exit(), r::toString);
    assertEquals(BootstrapRenderer.render(BootstrapParams.builder("gw").xdsHost("gloo-xds.service.dc1.example")
        .xdsPort(19977).xdsDnsResolver("127.0.0.1", 18600).build()), r.out());

    Run defaults = run("bootstrap", "--proxy", "gw", "--xds-consul", "gloo-xds", "--xds-tls-ca", "ca.crt");
    assertEquals(0, defaults.exit(), defaults::toString);
    assertEquals(BootstrapRenderer.render(BootstrapParams.builder("gw").xdsHost("gloo-xds.service.consul")
        .xdsPort(9977).xdsDnsResolver("127.0.0.1", 8600).xdsCaFile("ca.crt").build()), defaults.out());
    assertTrue(defaults.out().contains("sni: \"gloo-xds.service.consul\""), defaults.out());
  }

  @Test
  void consulOptionsThatDoNotFitTogetherAreRefusedByName() {
    assertRefused("error: --xds and --xds-consul are mutually exclusive: give the control plane's address either as"
        + " --xds HOST:PORT or as a Consul service name (with --xds-port PORT).",
        "--xds-consul", "gloo-xds", "--xds", "10.0.0.7:9977");
    for (String[] alone : new String[][] {{"--xds-port", "9977"}, {"--consul-dns", "127.0.0.1:8600"},
        {"--consul-domain", "consul"}}) {
      assertRefused("error: --xds-port, --consul-dns and --consul-domain are only read with --xds-consul SERVICE;"
          + " without it, give the control plane's address as --xds HOST:PORT.", alone);
    }
    assertRefused("error: --consul-dns needs the agent's IP address (Envoy sends its DNS queries to an address, it"
        + " does not resolve the resolver), got 'consul.local'", "--xds-consul", "gloo-xds", "--consul-dns",
        "consul.local:8600");
    assertRefused("error: --consul-dns must be HOST:PORT, e.g. 127.0.0.1:9977; got '127.0.0.1'",
        "--xds-consul", "gloo-xds", "--consul-dns", "127.0.0.1");
    assertRefused("error: --xds-consul 'Gloo_xds' is not a Consul service name that DNS can carry: use lowercase"
        + " letters, digits and '-' (like gloo-xds).", "--xds-consul", "Gloo_xds");
    assertRefused("error: --consul-domain 'consul.' is not a DNS domain (like consul or consul.example.com).",
        "--xds-consul", "gloo-xds", "--consul-domain", "consul.");
  }

  private static void assertRefused(String expected, String... options) {
    String[] args = new String[options.length + 3];
    args[0] = "bootstrap";
    args[1] = "--proxy";
    args[2] = "gw";
    System.arraycopy(options, 0, args, 3, options.length);
    Run r = run(args);
    assertEquals(2, r.exit(), r::toString);
    assertEquals(expected, r.err().strip());
    assertEquals("", r.out());
  }
}
