package io.shardgate.controlplane.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.templates.TestPki;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The validation webhook options of {@code serve}: no webhook without {@code --webhook-port}, loopback by default,
 * and one clear {@code error:} line (exit 2, before anything starts) naming the option and file for every combination
 * or file that cannot work; a key file's content is never shown.
 */
class WebhookOptionsTest {

  @TempDir Path dir;

  private String serveError(String... webhookArgs) {
    String[] args = new String[webhookArgs.length + 3];
    args[0] = "serve";
    args[1] = "--config-dir";
    args[2] = dir.toString();
    System.arraycopy(webhookArgs, 0, args, 3, webhookArgs.length);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new ShardgateCli()).setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true)).execute(args);
    assertEquals(2, exit, () -> "serve " + String.join(" ", webhookArgs) + " must fail: " + err);
    assertEquals(1, err.toString().strip().lines().count(), err::toString);
    return err.toString().strip();
  }

  @Test
  void noWebhookWithoutAPortAndLoopbackByDefault() {
    ServeCommand serve = new ServeCommand();
    new CommandLine(serve).parseArgs();
    assertTrue(serve.webhook.properties().isEmpty());
    assertEquals("127.0.0.1", serve.webhook.address);
  }

  @Test
  void optionsThatDoNotFitTogetherAndFilesThatCannotWorkAreRefusedBeforeStarting() {
    TestPki ca = TestPki.create("webhook-options-test-ca");
    TestPki.Issued server = ca.leaf("server").sans("IP:127.0.0.1").writeTo(dir, "server");
    TestPki.Issued other = ca.leaf("other").writeTo(dir, "other");
    Path missing = dir.resolve("missing.crt");
    assertEquals("error: the validation webhook serves HTTPS only: --webhook-port needs --webhook-cert FILE and"
        + " --webhook-key FILE (PEM; in the chart, the Secret <release>-webhook-tls)", serveError("--webhook-port",
        "8443"));
    assertTrue(serveError("--webhook-port", "8443", "--webhook-cert", "x.crt").endsWith("; only --webhook-cert was"
        + " given"));
    assertEquals("error: --webhook-key is only read with --webhook-port PORT, which turns the validation webhook on",
        serveError("--webhook-key", server.keyFile().toString()));
    assertEquals("error: --webhook-cert " + missing + " does not exist", serveError("--webhook-port", "8443",
        "--webhook-cert", missing.toString(), "--webhook-key", server.keyFile().toString()));
    String mismatch = serveError("--webhook-port", "8443", "--webhook-cert", server.certificateFile().toString(),
        "--webhook-key", other.keyFile().toString());
    assertEquals("error: --webhook-key " + other.keyFile() + " is not the private key of the certificate in"
        + " --webhook-cert " + server.certificateFile() + " (they are from different key pairs)", mismatch);
    assertEquals("error: --webhook-port 70000 is not a port (0 to 65535)", serveError("--webhook-port", "70000",
        "--webhook-cert", server.certificateFile().toString(), "--webhook-key", server.keyFile().toString()));
  }
}
