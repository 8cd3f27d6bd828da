package io.shardgate.controlplane.cli;

import io.shardgate.controlplane.app.ServeFactory;
import io.shardgate.controlplane.source.VaultSettings;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The Vault secret store options of {@code serve} (docs/vault.md), as a picocli mixin; {@link #properties()} checks
 * them and gives the application properties {@link ServeFactory} reads. No token is ever a property: only the file
 * it is read from, or nothing, and then the process reads {@code VAULT_TOKEN} itself.
 */
final class VaultOptions {

  @Option(names = "--vault-addr", paramLabel = "URL",
      description = "Read the TLS secrets that sslConfig.secretRef names from Vault's KV v2 engine at this address"
          + " (http://127.0.0.1:8200 or https://...), before the config source's own Secrets (docs/vault.md).")
  String address;

  @Option(names = "--vault-token-file", paramLabel = "FILE",
      description = "With --vault-addr: the file holding the Vault token (read again when it changes; default: the"
          + " VAULT_TOKEN environment variable).")
  Path tokenFile;

  @Option(names = "--vault-role-id", paramLabel = "ID",
      description = "With --vault-addr: log in with AppRole using this role id (and --vault-secret-id-file).")
  String roleId;

  @Option(names = "--vault-secret-id-file", paramLabel = "FILE",
      description = "With --vault-role-id: the file holding the AppRole secret id (read at every login).")
  Path secretIdFile;

  @Option(names = "--vault-approle-mount", paramLabel = "PATH", defaultValue = "approle",
      description = "With --vault-role-id: where the AppRole auth method is mounted (default: ${DEFAULT-VALUE}).")
  String approleMount;

  @Option(names = "--vault-mount", paramLabel = "PATH", defaultValue = VaultSettings.DEFAULT_MOUNT,
      description = "With --vault-addr: the KV v2 secrets engine's mount (default: ${DEFAULT-VALUE}).")
  String mount;

  @Option(names = "--vault-path-prefix", paramLabel = "PATH", defaultValue = VaultSettings.GLOO_PATH_PREFIX,
      description = "With --vault-addr: the path below the mount before <namespace>/<name> (default:"
          + " ${DEFAULT-VALUE}, where Gloo keeps Secrets).")
  String pathPrefix;

  @Option(names = "--vault-ca-file", paramLabel = "FILE",
      description = "With --vault-addr: PEM CA bundle that verifies Vault's certificate (default: the JVM's).")
  Path caFile;

  @Option(names = "--vault-poll-interval", paramLabel = "DURATION", defaultValue = "30s",
      converter = LeaderElectionOptions.DurationConverter.class,
      description = "With --vault-addr: how often each referenced secret is read again for a new version, 1s to 10m"
          + " (default: ${DEFAULT-VALUE}).")
  Duration pollInterval;

  /**
   * The store's application properties; empty without {@code --vault-addr}.
   *
   * @throws IllegalArgumentException naming the option that is wrong, in one line
   */
  Map<String, Object> properties() {
    Map<String, Object> props = new LinkedHashMap<>();
    if (address == null) {
      for (Object[] o : new Object[][] {{"--vault-token-file", tokenFile}, {"--vault-role-id", roleId},
          {"--vault-secret-id-file", secretIdFile}, {"--vault-ca-file", caFile}}) {
        if (o[1] != null) {
          throw new IllegalArgumentException(o[0] + " is only read with --vault-addr URL");
        }
      }
      return props;
    }
    URI uri;
    try {
      uri = new URI(address.trim());
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("--vault-addr '" + address + "' is not a URL (e.g. https://vault:8200)");
    }
    if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
      throw new IllegalArgumentException("--vault-addr '" + address + "' is not an http:// or https:// URL (e.g."
          + " https://vault:8200)");
    }
    if (roleId != null && tokenFile != null) {
      throw new IllegalArgumentException("--vault-token-file and --vault-role-id are two ways to log in: give one");
    }
    if ((roleId == null) != (secretIdFile == null)) {
      throw new IllegalArgumentException(roleId == null ? "--vault-secret-id-file needs --vault-role-id"
          : "--vault-role-id needs --vault-secret-id-file FILE (the AppRole secret id)");
    }
    if (roleId != null && roleId.isBlank()) {
      throw new IllegalArgumentException("--vault-role-id is empty");
    }
    readable("--vault-token-file", tokenFile);
    readable("--vault-secret-id-file", secretIdFile);
    readable("--vault-ca-file", caFile);
    if (caFile != null && !"https".equals(uri.getScheme())) {
      throw new IllegalArgumentException("--vault-ca-file is only used with an https:// --vault-addr");
    }
    if (tokenFile == null && roleId == null) {
      String env = System.getenv("VAULT_TOKEN");
      if (env == null || env.isBlank()) {
        throw new IllegalArgumentException("--vault-addr needs a token: pass --vault-token-file FILE, set"
            + " VAULT_TOKEN, or log in with --vault-role-id ID and --vault-secret-id-file FILE");
      }
    }
    // Checks the mount and the interval's bounds, with the same messages the store would give.
    new VaultSettings(uri, mount, pathPrefix, new VaultSettings.EnvironmentToken(), null, pollInterval);
    props.put(ServeFactory.VAULT_ADDR, uri.toString());
    props.put(ServeFactory.VAULT_MOUNT, mount);
    props.put(ServeFactory.VAULT_PATH_PREFIX, pathPrefix);
    props.put(ServeFactory.VAULT_POLL_MS, pollInterval.toMillis());
    if (tokenFile != null) {
      props.put(ServeFactory.VAULT_TOKEN_FILE, abs(tokenFile));
    }
    if (roleId != null) {
      props.put(ServeFactory.VAULT_ROLE_ID, roleId);
      props.put(ServeFactory.VAULT_SECRET_ID_FILE, abs(secretIdFile));
      props.put(ServeFactory.VAULT_APPROLE_MOUNT, approleMount);
    }
    if (caFile != null) {
      props.put(ServeFactory.VAULT_CA_FILE, abs(caFile));
    }
    return props;
  }

  private static void readable(String option, Path file) {
    if (file != null && !Files.isReadable(file)) {
      throw new IllegalArgumentException(option + " " + file.toAbsolutePath() + " is not a readable file");
    }
  }

  private static String abs(Path p) {
    return p.toAbsolutePath().normalize().toString();
  }
}
