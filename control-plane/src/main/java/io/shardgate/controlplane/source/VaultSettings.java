package io.shardgate.controlplane.source;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How {@code serve} reaches Vault's KV v2 secrets engine ({@code serve --vault-addr}): the address, the mount, the path
 * prefix under which each Secret {@code <namespace>/<name>} lives, how to log in, the CA to verify Vault with, and how
 * often each referenced secret is read again.
 *
 * <p>Stage: source configuration. Immutable; thread-safe. {@link #toString()} shows no credential: a token never
 * lives here (only the file it is read from), and the AppRole secret id neither.
 *
 * @param address Vault's base URL, {@code http://host:8200} or {@code https://...}
 * @param mount the KV v2 mount, {@code secret} by default (Gloo's {@code pathPrefix})
 * @param pathPrefix the path under the mount before {@code <namespace>/<name>}; {@link #GLOO_PATH_PREFIX} by default
 * @param credentials how to get a token
 * @param caFile the PEM CA bundle that verifies Vault's certificate, or null for the JVM's trust store
 * @param pollInterval how often each referenced secret is read again, within {@link #MIN_POLL} and {@link #MAX_POLL}
 */
public record VaultSettings(URI address, String mount, String pathPrefix, Credentials credentials, Path caFile,
    Duration pollInterval) {

  /**
   * Where Gloo keeps a Secret in Vault, below the mount: {@code <rootKey>/<group>/<version>/<Kind>}, with Gloo's
   * default root key {@code gloo} (solo-kit's Vault resource client); secrets that {@code glooctl create secret
   * --use-vault} wrote are found unchanged.
   */
  public static final String GLOO_PATH_PREFIX = "gloo/gloo.solo.io/v1/Secret";
  public static final String DEFAULT_MOUNT = "secret";
  public static final Duration DEFAULT_POLL = Duration.ofSeconds(30);
  public static final Duration MIN_POLL = Duration.ofSeconds(1);
  public static final Duration MAX_POLL = Duration.ofMinutes(10);

  /** How the store logs in to Vault. */
  public sealed interface Credentials permits TokenFile, EnvironmentToken, AppRole {}

  /** A token read from a file (again whenever the file changes, as a Vault Agent sink rewrites it). */
  public record TokenFile(Path file) implements Credentials {}

  /** The token of the {@code VAULT_TOKEN} environment variable, read once at start. */
  public record EnvironmentToken() implements Credentials {}

  /**
   * AppRole login at {@code auth/<mount>/login} with a role id and the secret id read from a file (at every login).
   * The role id is not a secret in Vault's model (it is like a user name), but it is not logged either.
   */
  public record AppRole(String mount, String roleId, Path secretIdFile) implements Credentials {
    @Override
    public String toString() {
      return "AppRole[mount=" + mount + ", secretIdFile=" + secretIdFile + "]";
    }
  }

  public VaultSettings {
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(credentials, "credentials");
    mount = trimSlashes(mount == null ? DEFAULT_MOUNT : mount);
    pathPrefix = trimSlashes(pathPrefix == null ? GLOO_PATH_PREFIX : pathPrefix);
    pollInterval = pollInterval == null ? DEFAULT_POLL : pollInterval;
    if (mount.isEmpty()) {
      throw new IllegalArgumentException("--vault-mount must not be empty");
    }
    if (pollInterval.compareTo(MIN_POLL) < 0 || pollInterval.compareTo(MAX_POLL) > 0) {
      throw new IllegalArgumentException("--vault-poll-interval must be between 1s and 10m, not " + pollInterval);
    }
  }

  /** The path of Secret {@code namespace/name} below the mount: {@code <pathPrefix>/<namespace>/<name>}. */
  public String secretPath(String namespace, String name) {
    return (pathPrefix.isEmpty() ? "" : pathPrefix + "/") + namespace + "/" + name;
  }

  /** What messages name a secret's place by: {@code <mount>/data/<secretPath>}, the API path below {@code /v1/}. */
  public String dataPath(String namespace, String name) {
    return mount + "/data/" + secretPath(namespace, name);
  }

  private static String trimSlashes(String s) {
    String t = s.trim();
    while (t.startsWith("/")) {
      t = t.substring(1);
    }
    while (t.endsWith("/")) {
      t = t.substring(0, t.length() - 1);
    }
    return t;
  }
}
