package io.shardgate.controlplane.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
