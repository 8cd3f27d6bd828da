package io.shardgate.controlplane.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.security.AdminRemoteAccess;
import io.shardgate.templates.TestPki;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;
import picocli.CommandLine;

/**
 * The security options of {@code serve} and {@code bootstrap} on the command line: defaults, and one clear
 * {@code error:} line (exit 2, no stack trace, before anything starts) for every combination or file that cannot work.
 */
class TlsOptionsTest {

  @TempDir Path dir;

  /** Output of one in-process run. */
  private record Run(int exit, String out, String err) {}

  private Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new ShardgateCli()).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
        .execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  private void assertServeRefuses(String expected, String... securityArgs) {
    String[] args = new String[securityArgs.length + 3];
    args[0] = "serve";
    args[1] = "--config-dir";
    args[2] = dir.toString();
    System.arraycopy(securityArgs, 0, args, 3, securityArgs.length);
    Run r = run(args);
    assertEquals(2, r.exit(), () -> "serve " + String.join(" ", securityArgs) + " must fail: " + r);
    assertEquals("error: " + expected, r.err().strip(), () -> "one line naming the problem: " + r);
  }

  @Test
  void xdsListensOnLoopbackUnlessToldOtherwise() {
    ServeCommand serve = new ServeCommand();
    new CommandLine(serve).parseArgs();
    assertEquals("127.0.0.1", serve.security.toSecurity().xdsAddress());
    assertEquals("127.0.0.1", serve.adminAddress);
    new CommandLine(serve).parseArgs("--xds-address", "0.0.0.0");
    assertEquals("0.0.0.0", serve.security.toSecurity().xdsAddress());
  }

  @Test
  void serveRefusesOptionsThatDoNotFitTogether() {
    assertServeRefuses("xDS TLS needs both --xds-tls-cert FILE and --xds-tls-key FILE; only --xds-tls-cert was given",
        "--xds-tls-cert", "server.crt");
    assertServeRefuses("--xds-tls-client-ca needs TLS: also pass --xds-tls-cert FILE and --xds-tls-key FILE, the xDS"
        + " server's own certificate and key", "--xds-tls-client-ca", "ca.crt");
    assertServeRefuses("--xds-require-role-identity needs mutual TLS, so that every Envoy presents a certificate: also"
        + " pass --xds-tls-cert FILE --xds-tls-key FILE --xds-tls-client-ca FILE", "--xds-require-role-identity");
    assertServeRefuses("--xds-trust-domain only applies with --xds-require-role-identity",
        "--xds-trust-domain", "cluster.local");
    assertServeRefuses("--admin-allowed-hosts entry \"https://ops.example.com/\" is not a host name: expected NAME,"
        + " NAME:PORT, an IP address or [IPv6]:PORT",
        "--admin-allowed-hosts", "ops.example.com,https://ops.example.com/");
    assertServeRefuses("--admin-remote-access \"everything\" is not one of health, metrics, all",
        "--admin-remote-access", "everything");
  }

  @Test
  void adminRemoteAccessIsDocumentedAndDefaultsToMetrics() {
    Run help = run("serve", "--help");
    assertEquals(0, help.exit(), help::toString);
    assertTrue(help.out().contains("--admin-remote-access=LEVEL"), help.out());
    assertTrue(help.out().replaceAll("\\s+", " ").contains("kubectl port-forward"), help.out());
    ServeCommand serve = new ServeCommand();
    new CommandLine(serve).parseArgs();
    assertEquals(AdminRemoteAccess.METRICS, serve.security.toSecurity().adminRemoteAccess());
    new CommandLine(serve).parseArgs("--admin-remote-access", "health");
    assertEquals(AdminRemoteAccess.HEALTH, serve.security.toSecurity().adminRemoteAccess());
  }

  @Test
  void serveRefusesTlsFilesThatCannotWorkBeforeStarting() {
    TestPki ca = TestPki.create("tls-options-test-ca");
    TestPki.Issued server = ca.leaf("server").sans("IP:127.0.0.1").writeTo(dir, "server");
    TestPki.Issued other = ca.leaf("other").writeTo(dir, "other");
    Path missing = dir.resolve("missing.crt");
    assertServeRefuses("--xds-tls-cert " + missing + " does not exist",
        "--xds-tls-cert", missing.toString(), "--xds-tls-key", server.keyFile().toString());
    assertServeRefuses("--xds-tls-key " + other.keyFile() + " is not the private key of the certificate in"
        + " --xds-tls-cert " + server.certificateFile() + " (they are from different key pairs)",
        "--xds-tls-cert", server.certificateFile().toString(), "--xds-tls-key", other.keyFile().toString());
    assertServeRefuses("--xds-tls-client-ca " + missing + " does not exist",
        "--xds-tls-cert", server.certificateFile().toString(), "--xds-tls-key", server.keyFile().toString(),
        "--xds-tls-client-ca", missing.toString());
  }

  @Test
  void bootstrapRendersTlsAndMutualTlsAndRefusesHalfTheOptions() {
    Run tls = run("bootstrap", "--proxy", "gw", "--xds", "shardgate.example:9977", "--xds-tls",
        "--xds-tls-ca", "/etc/xds/ca.crt");
    assertEquals(0, tls.exit(), tls::toString);
    Map<String, Object> context = tlsContext(tls.out());
    assertEquals("shardgate.example", context.get("sni"));
    assertEquals(Map.of("filename", "/etc/xds/ca.crt"), at(context, "common_tls_context", "validation_context",
        "trusted_ca"));
    assertFalse(((Map<?, ?>) context.get("common_tls_context")).containsKey("tls_certificates"));

    Run implied = run("bootstrap", "--proxy", "gw", "--xds-tls-ca", "ca.crt", "--xds-tls-cert", "gw.crt",
        "--xds-tls-key", "gw.key");
    assertEquals(0, implied.exit(), implied::toString);
    assertEquals(
        List.of(Map.of("certificate_chain", Map.of("filename", "gw.crt"),
            "private_key", Map.of("filename", "gw.key"))),
        at(tlsContext(implied.out()), "common_tls_context", "tls_certificates"));

    assertBootstrapRefuses("--xds-tls needs --xds-tls-ca FILE", "--xds-tls");
    assertBootstrapRefuses("a client certificate needs both --xds-tls-cert FILE and --xds-tls-key FILE; only"
        + " --xds-tls-cert was given", "--xds-tls-ca", "ca.crt", "--xds-tls-cert", "gw.crt");
    assertBootstrapRefuses("--xds-tls-cert needs TLS: also pass --xds-tls-ca FILE",
        "--xds-tls-cert", "gw.crt", "--xds-tls-key", "gw.key");
  }

  private void assertBootstrapRefuses(String expectedStart, String... tlsArgs) {
    String[] args = new String[tlsArgs.length + 3];
    args[0] = "bootstrap";
    args[1] = "--proxy";
    args[2] = "gw";
    System.arraycopy(tlsArgs, 0, args, 3, tlsArgs.length);
    Run r = run(args);
    assertEquals(2, r.exit(), r::toString);
    assertTrue(r.err().startsWith("error: " + expectedStart), r::toString);
    assertEquals("", r.out(), "no partial bootstrap");
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> tlsContext(String bootstrap) {
    Map<String, Object> doc = new Yaml().load(bootstrap);
    for (Object cluster : (Iterable<?>) at(doc, "static_resources", "clusters")) {
      Map<String, Object> c = (Map<String, Object>) cluster;
      if ("xds_cluster".equals(c.get("name"))) {
        return (Map<String, Object>) at(c, "transport_socket", "typed_config");
      }
    }
    throw new AssertionError("no xds_cluster in\n" + bootstrap);
  }

  private static Object at(Map<String, Object> tree, String... path) {
    Object node = tree;
    for (String step : path) {
      node = node instanceof Map<?, ?> map ? map.get(step) : null;
    }
    return node;
  }
}
