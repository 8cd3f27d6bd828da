package io.shardgate.controlplane.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.e2e.ExampleConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code --consul} on {@code serve}, {@code validate} and {@code translate}, and {@code consul push}: documented by
 * {@code --help}, and one clear {@code error:} line (exit 2, before anything starts or is read) for combinations that
 * cannot work. Nothing here reaches a Consul: every case fails before the first call.
 */
class ConsulOptionsTest {

  @TempDir Path dir;

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new ShardgateCli()).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
        .execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void helpDocumentsTheConsulSourceOnEveryCommandThatReadsConfig() {
    for (String command : new String[] {"serve", "validate", "translate"}) {
      Run r = run(command, "--help");
      assertEquals(0, r.exit(), r::toString);
      String help = r.out().replaceAll("\\s+", " ");
      assertTrue(help.contains("--consul=ADDR Read the Gloo resources from Consul's KV store"), command + ": " + help);
      assertTrue(help.contains("--consul-token-file=FILE"), help);
      assertTrue(help.contains("--consul-root-key=KEY"), help);
      assertTrue(help.contains("--consul-ca-file=FILE"), help);
      assertTrue(help.contains("--consul-datacenter=DC"), help);
      assertTrue(help.contains("--consul-agent=ADDR Use the Consul agent at this HTTP address for service discovery"
          + " only"), command + ": " + help);
      assertTrue(help.contains("--consul-discovery Also turn every service in the Consul catalog into an Upstream"),
          help);
    }
    Run push = run("consul", "push", "--help");
    assertEquals(0, push.exit(), push::toString);
    String help = push.out().replaceAll("\\s+", " ");
    assertTrue(help.contains("Usage: shardgate consul push"), help);
    assertTrue(help.contains("--prune"), help);
    assertTrue(help.contains("--root-key=KEY"), help);
  }

  @Test
  void consulIsExclusiveWithTheOtherSources() {
    String expected = "error: --consul, --kubernetes and --config-dir are mutually exclusive: serve one source.";
    Run withDir = run("serve", "--consul", "http://127.0.0.1:1", "--config-dir", dir.toString());
    assertEquals(2, withDir.exit(), withDir::toString);
    assertEquals(expected, withDir.err().strip());
    Run withKube = run("serve", "--consul", "http://127.0.0.1:1", "--kubernetes");
    assertEquals(2, withKube.exit(), withKube::toString);
    assertEquals(expected, withKube.err().strip());
    Run validate = run("validate", "--consul", "http://127.0.0.1:1", "--config-dir", dir.toString());
    assertEquals(2, validate.exit(), validate::toString);
    assertEquals("error: --config-dir and --consul are mutually exclusive: read one source.", validate.err().strip());
    Run both = run("serve", "--consul", "http://127.0.0.1:1", "--consul-agent", "http://127.0.0.1:2");
    assertEquals(2, both.exit(), both::toString);
    assertEquals("error: --consul and --consul-agent are mutually exclusive: with --consul, that agent is also used"
        + " for service discovery.", both.err().strip());
    Run neither = run("translate");
    assertEquals(2, neither.exit(), neither::toString);
    assertEquals("error: Missing required option: '--config-dir=DIR' (or --consul ADDR)", neither.err().strip());
  }

  @Test
  void consulOptionsNeedConsulAndReadableFilesAndAnHttpAddress() {
    Run without = run("serve", "--consul-datacenter", "dc2");
    assertEquals(2, without.exit(), without::toString);
    assertTrue(without.err().strip().startsWith("error: --consul-token-file, --consul-ca-file, --consul-datacenter"
        + " and --consul-discovery are only read with --consul or --consul-agent."), without::err);
    Run rootKeyWithAgent = run("serve", "--consul-agent", "http://127.0.0.1:1", "--consul-root-key", "x");
    assertEquals(2, rootKeyWithAgent.exit(), rootKeyWithAgent::toString);
    assertEquals("error: --consul-root-key is only read with --consul.", rootKeyWithAgent.err().strip());
    Run discoveryAlone = run("validate", "--config-dir", dir.toString(), "--consul-discovery");
    assertEquals(2, discoveryAlone.exit(), discoveryAlone::toString);
    assertTrue(discoveryAlone.err().contains("only read with --consul or --consul-agent"), discoveryAlone::err);
    Run missingToken = run("validate", "--consul", "http://127.0.0.1:1", "--consul-token-file",
        dir.resolve("token").toString());
    assertEquals(2, missingToken.exit(), missingToken::toString);
    assertEquals("error: Consul token file " + dir.resolve("token").toAbsolutePath() + " is not readable.",
        missingToken.err().strip());
    Run badScheme = run("serve", "--consul", "ftp://127.0.0.1:8500");
    assertEquals(2, badScheme.exit(), badScheme::toString);
    assertEquals("error: Consul address ftp://127.0.0.1:8500 must start with http:// or https://",
        badScheme.err().strip());
  }

  @Test
  void validateSaysWhenConsulCannotBeReached() throws Exception {
    int port = ExampleConfig.freePorts(1)[0];
    Run r = run("validate", "--consul", "http://127.0.0.1:" + port);
    assertEquals(2, r.exit(), r::toString);
    assertTrue(r.err().startsWith("error: Consul at http://127.0.0.1:" + port + " cannot be reached"), r::err);
  }
}
