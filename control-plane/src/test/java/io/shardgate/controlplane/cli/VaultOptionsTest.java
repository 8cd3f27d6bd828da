package io.shardgate.controlplane.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.app.ServeFactory;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The Vault options of {@code serve}: nothing without {@code --vault-addr}, Gloo's mount and path by default, and one
 * clear {@code error:} line (exit 2, before anything starts) for every option that cannot work; the token file's
 * content never becomes a property or a message.
 */
class VaultOptionsTest {

  @TempDir Path dir;

  private String serveError(String... vaultArgs) {
    String[] args = new String[vaultArgs.length + 3];
    args[0] = "serve";
    args[1] = "--config-dir";
    args[2] = dir.toString();
    System.arraycopy(vaultArgs, 0, args, 3, vaultArgs.length);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new ShardgateCli()).setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true)).execute(args);
    assertEquals(2, exit, () -> "serve " + String.join(" ", vaultArgs) + " must fail: " + err);
    assertEquals(1, err.toString().strip().lines().count(), err::toString);
    return err.toString().strip();
  }

  private VaultOptions parse(String... args) {
    ServeCommand serve = new ServeCommand();
    new CommandLine(serve).parseArgs(args);
    return serve.vault;
  }

  @Test
  void helpDocumentsTheVaultOptions() {
    StringWriter out = new StringWriter();
    int exit = new CommandLine(new ShardgateCli()).setOut(new PrintWriter(out, true)).execute("serve", "--help");
    assertEquals(0, exit);
    String help = out.toString().replaceAll("\\s+", " "); // picocli wraps descriptions at its own width
    for (String option : new String[] {"--vault-addr=URL", "--vault-token-file=FILE", "--vault-role-id=ID",
        "--vault-secret-id-file=FILE", "--vault-mount=PATH", "--vault-path-prefix=PATH", "--vault-ca-file=FILE",
        "--vault-poll-interval=DURATION", "--vault-approle-mount=PATH"}) {
      assertTrue(help.contains(option), () -> option + " is not in serve --help: " + out);
    }
    // picocli may break a line inside a path: compare without any whitespace.
    assertTrue(help.replace(" ", "").contains("(default:gloo/gloo.solo.io/v1/Secret,whereGlookeepsSecrets)"),
        out::toString);
  }

  @Test
  void noStoreWithoutAnAddressAndGloosLayoutByDefault() throws IOException {
    assertTrue(parse().properties().isEmpty());
    Path token = Files.writeString(dir.resolve("token"), "hvs.do-not-show-me");
    Map<String, Object> props = parse("--vault-addr", "https://vault:8200", "--vault-token-file", token.toString())
        .properties();
    assertEquals("https://vault:8200", props.get(ServeFactory.VAULT_ADDR));
    assertEquals("secret", props.get(ServeFactory.VAULT_MOUNT));
    assertEquals("gloo/gloo.solo.io/v1/Secret", props.get(ServeFactory.VAULT_PATH_PREFIX));
    assertEquals(30_000L, props.get(ServeFactory.VAULT_POLL_MS));
    assertEquals(token.toAbsolutePath().normalize().toString(), props.get(ServeFactory.VAULT_TOKEN_FILE));
    assertFalse(props.toString().contains("do-not-show-me"), "the token is never a property");
  }

  @Test
  void optionsThatCannotWorkAreRefusedWithOneLine() throws IOException {
    Path token = Files.writeString(dir.resolve("token"), "hvs.do-not-show-me");
    Path secretId = Files.writeString(dir.resolve("secret-id"), "do-not-show-me-either");
    Path missing = dir.resolve("missing-token");
    String addr = "http://127.0.0.1:8200";
    assertEquals("error: --vault-token-file " + missing.toAbsolutePath() + " is not a readable file",
        serveError("--vault-addr", addr, "--vault-token-file", missing.toString()));
    assertEquals("error: --vault-token-file is only read with --vault-addr URL",
        serveError("--vault-token-file", token.toString()));
    assertEquals("error: --vault-addr 'vault:8200' is not an http:// or https:// URL (e.g. https://vault:8200)",
        serveError("--vault-addr", "vault:8200", "--vault-token-file", token.toString()));
    assertEquals("error: --vault-role-id needs --vault-secret-id-file FILE (the AppRole secret id)",
        serveError("--vault-addr", addr, "--vault-role-id", "shardgate"));
    assertEquals("error: --vault-token-file and --vault-role-id are two ways to log in: give one",
        serveError("--vault-addr", addr, "--vault-token-file", token.toString(), "--vault-role-id", "r",
            "--vault-secret-id-file", secretId.toString()));
    assertEquals("error: --vault-poll-interval must be between 1s and 10m, not PT0.5S",
        serveError("--vault-addr", addr, "--vault-token-file", token.toString(), "--vault-poll-interval", "500ms"));
    assertEquals("error: --vault-poll-interval must be between 1s and 10m, not PT11M",
        serveError("--vault-addr", addr, "--vault-token-file", token.toString(), "--vault-poll-interval", "11m"));
    assertEquals("error: --vault-ca-file is only used with an https:// --vault-addr",
        serveError("--vault-addr", addr, "--vault-token-file", token.toString(), "--vault-ca-file",
            token.toString()));
    if (System.getenv("VAULT_TOKEN") == null) {
      assertEquals("error: --vault-addr needs a token: pass --vault-token-file FILE, set VAULT_TOKEN, or log in with"
          + " --vault-role-id ID and --vault-secret-id-file FILE", serveError("--vault-addr", addr));
    }
  }
}
