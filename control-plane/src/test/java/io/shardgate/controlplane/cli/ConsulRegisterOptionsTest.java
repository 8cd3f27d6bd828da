package io.shardgate.controlplane.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.app.ServeFactory;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code serve --consul-register} and {@code --consul-agent}: documented by {@code --help} in whole sentences, one
 * clear {@code error:} line (exit 2, before anything starts) for every combination that cannot work, and the
 * properties the context gets (the check on the admin API's loopback {@code /ready} for a wildcard admin address).
 * Nothing here reaches a Consul: every case fails or stops before the first call.
 */
class ConsulRegisterOptionsTest {

  @TempDir Path dir;

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new ShardgateCli()).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
        .execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  private String serveError(String... args) {
    String[] all = new String[args.length + 3];
    all[0] = "serve";
    all[1] = "--config-dir";
    all[2] = dir.toString();
    System.arraycopy(args, 0, all, 3, args.length);
    Run r = run(all);
    assertEquals(2, r.exit(), () -> String.join(" ", args) + " must fail: " + r);
    assertEquals(1, r.err().strip().lines().count(), r::err);
    return r.err().strip();
  }

  @Test
  void helpDocumentsRegistrationAndTheAgentInSentences() {
    Run r = run("serve", "--help");
    assertEquals(0, r.exit(), r::toString);
    String help = r.out().replaceAll("\\s+", " ");
    assertTrue(help.contains("--consul-register Register the xDS endpoint as a service in the Consul agent"), help);
    assertTrue(help.contains("--consul-service-name=NAME With --consul-register: the service name, a DNS label"
        + " (default: gloo-xds)."), help);
    assertTrue(help.contains("--consul-service-address=ADDR With --consul-register: the IP address Envoys dial"), help);
    assertTrue(help.contains("service discovery (consul Upstreams get the passing instances of their service over EDS)"
        + " and for --consul-register"), help);
    Run bootstrap = run("bootstrap", "--help");
    String bootstrapHelp = bootstrap.out().replaceAll("\\s+", " ");
    for (String option : new String[] {"--xds-consul=SERVICE Find the control plane through Consul's DNS",
        "--consul-dns=IP:PORT With --xds-consul:", "--consul-domain=DOMAIN With --xds-consul:",
        "--xds-port=PORT With --xds-consul:"}) {
      assertTrue(bootstrapHelp.contains(option), () -> option + " is not in bootstrap --help: " + bootstrapHelp);
    }
  }

  @Test
  void combinationsThatCannotWorkAreRefusedWithOneLine() {
    assertEquals("error: --consul-register needs the Consul agent to register with: --consul ADDR (the KV source's"
        + " agent) or --consul-agent ADDR.", serveError("--consul-register"));
    assertEquals("error: --consul-service-name and --consul-service-address are only read with --consul-register.",
        serveError("--consul-service-name", "xds"));
    assertEquals("error: --consul-service-name and --consul-service-address are only read with --consul-register.",
        serveError("--consul-service-address", "10.0.0.7"));
    assertEquals("error: --consul-register with --xds-address 0.0.0.0 needs --consul-service-address ADDR: the"
        + " address Envoys dial, which a wildcard bind address does not tell.",
        serveError("--consul-agent", "http://127.0.0.1:1", "--consul-register", "--xds-address", "0.0.0.0"));
    assertEquals("error: --consul-service-address 'xds.example.com' is not an IP address Envoys can dial (Consul's"
        + " DNS answers with it as an A or AAAA record).", serveError("--consul-agent", "http://127.0.0.1:1",
        "--consul-register", "--consul-service-address", "xds.example.com"));
    assertEquals("error: --consul-service-name 'Gloo_XDS' cannot be looked up through Consul's DNS: use lowercase"
        + " letters, digits and '-' (like gloo-xds).", serveError("--consul-agent", "http://127.0.0.1:1",
        "--consul-register", "--consul-service-name", "Gloo_XDS"));
    Run both = run("serve", "--consul", "http://127.0.0.1:1", "--consul-agent", "http://127.0.0.1:2");
    assertEquals(2, both.exit(), both::toString);
    assertEquals("error: --consul and --consul-agent are mutually exclusive: with --consul, that agent is also used"
        + " for service discovery and registration.", both.err().strip());
  }

  @Test
  void theRegistrationsPropertiesCheckTheAdminReadyOnLoopbackForAWildcardAdminAddress() {
    ServeCommand serve = new ServeCommand();
    new CommandLine(serve).parseArgs("--consul-agent", "http://127.0.0.1:8500", "--consul-register",
        "--xds-address", "0.0.0.0", "--consul-service-address", "10.0.0.7", "--admin-address", "0.0.0.0",
        "--admin-port", "9191");
    assertEquals(null, serve.consulRegister.problem(false, serve.security.xdsAddress, serve.consul.agentAddress()));
    Map<String, Object> p = serve.consulRegister.properties(serve.security.xdsAddress, "0.0.0.0", 9191);
    assertEquals("true", p.get(ServeFactory.CONSUL_REGISTER));
    assertEquals("gloo-xds", p.get(ServeFactory.CONSUL_REGISTER_PREFIX + "service-name"));
    assertEquals("10.0.0.7", p.get(ServeFactory.CONSUL_REGISTER_PREFIX + "address"));
    assertEquals("http://127.0.0.1:9191/ready", p.get(ServeFactory.CONSUL_REGISTER_PREFIX + "check-url"));
    assertEquals(Map.of(ServeFactory.CONSUL_AGENT, "http://127.0.0.1:8500"), serve.consul.properties());

    ServeCommand plain = new ServeCommand();
    new CommandLine(plain).parseArgs();
    assertTrue(plain.consulRegister.properties("127.0.0.1", "127.0.0.1", 9091).isEmpty());
    assertFalse(plain.consul.properties().containsKey(ServeFactory.CONSUL_AGENT));
  }
}
