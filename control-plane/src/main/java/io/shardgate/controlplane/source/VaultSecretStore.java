package io.shardgate.controlplane.source;

import io.github.jopenlibs.vault.SslConfig;
import io.github.jopenlibs.vault.Vault;
import io.github.jopenlibs.vault.VaultConfig;
import io.github.jopenlibs.vault.VaultException;
import io.github.jopenlibs.vault.json.Json;
import io.github.jopenlibs.vault.json.JsonObject;
import io.github.jopenlibs.vault.json.JsonValue;
import io.github.jopenlibs.vault.response.AuthResponse;
import io.github.jopenlibs.vault.response.LogicalResponse;
import io.github.jopenlibs.vault.response.LookupResponse;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.source.SourceProblem.Severity;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.secret.KubeSecret;
import io.shardgate.sharding.secret.SecretState;
import io.shardgate.sharding.secret.TlsSecretContent;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Vault's KV v2 secrets engine as a secret store in front of the pipeline, beside any config source: every input of
 * the source passes through {@link #inFrontOf}, which adds the Secrets its VirtualServices and Upstreams reference
 * ({@link SecretRefs}) as Vault holds them at {@code <mount>/data/<pathPrefix>/<namespace>/<name>}. A secret Vault
 * holds wins over the source's own Secret of that name; one Vault does not hold (404 before any version was read)
 * leaves the source's.
 *
 * <p>Content, in Vault's {@code data.data}: Gloo's Secret as solo-kit writes it ({@code tls: {certChain, privateKey,
 * rootCa, ocspStaple}}, the rest ignored), or flat keys {@code tls.crt}, {@code tls.key}, {@code ca.crt} (what {@code
 * vault kv put ... tls.crt=@cert.pem tls.key=@key.pem} writes). Either becomes a {@code kubernetes.io/tls}
 * {@link KubeSecret} whose origin is {@code vault:<mount>/data/<path>@v<version>}; the TLS secret catalog judges it
 * as any other (an invalid new version keeps the last valid one serving).
 *
 * <p>Rotation: every {@link VaultSettings#pollInterval()} each referenced secret is read again (the data path, whose
 * {@code metadata.version} says whether it changed; it needs only the {@code read} capability Gloo's own policy
 * grants, where the metadata path would need another). A new version is handed on with the very documents of the
 * source's last input, so the pipeline takes its secret-only path and pushes SDS alone. A read that fails (403, 404
 * after a version was read, 5xx, network) keeps the last version read and adds a {@link SourceProblem} naming the
 * secret, its Vault path and Vault's status, never the material; the problem goes away with the next good read.
 *
 * <p>Tokens: a token file is read again when its content changes; the {@code VAULT_TOKEN} token is read once; an
 * AppRole login is repeated when the token cannot be renewed. A token with a TTL is renewed ({@code renew-self}) at
 * two thirds of it. Nothing here logs a token, a secret id or secret material: messages carry paths, versions and
 * HTTP statuses only, never a driver exception's message (which may quote a response body).
 *
 * <p>Stage: source (secret store). Stateful; thread-safe: inputs and polls are serialized on one lock, so the
 * downstream consumer sees inputs in order. One daemon thread polls and renews.
 */
public final class VaultSecretStore implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(VaultSecretStore.class);
  private static final int TIMEOUT_SECONDS = 5;

  private final VaultSettings settings;
  private final String environmentToken;
  private final ScheduledExecutorService timer;
  private final Object lock = new Object();

  // Guarded by lock.
  private Consumer<ConfigInput> downstream;
  private ConfigInput lastSource;
  private final SortedMap<ResourceRef, Held> held = new TreeMap<>();
  private Vault vault;
  private String token;
  private long tokenRenewAtNanos = Long.MAX_VALUE;
  private long tokenLeaseSeconds;
  private String tokenFileContent;
  private String authProblem;
  private long reads;
  private long logins;
  private long renewals;
  private boolean closed;

  /**
   * What is known of one referenced secret.
   *
   * @param version the last version read, 0 when none
   * @param secret the content of that version as a Secret, or null when Vault holds none (or none was read yet)
   * @param problem why the last read failed, naming the secret and Vault's answer; null after a good read
   * @param unreachable whether it failed because Vault could not be reached or no token could be had (then the rest
   *     of a round waits for the next poll instead of failing the same way, one timeout each)
   */
  private record Held(long version, KubeSecret secret, String problem, boolean unreachable) {
    Held(long version, KubeSecret secret, String problem) {
      this(version, secret, problem, false);
    }
  }

  /** Vault answered 404 and no version was ever read: the source's own Secret serves, if it has one. */
  private static final Held NOT_IN_VAULT = new Held(0, null, null);

  /** Reads and renews as {@code settings} say; {@code environmentToken} is {@code VAULT_TOKEN}'s value (or null). */
  public VaultSecretStore(VaultSettings settings, String environmentToken) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.environmentToken = environmentToken;
    if (settings.credentials() instanceof VaultSettings.EnvironmentToken
        && (environmentToken == null || environmentToken.isBlank())) {
      throw new IllegalArgumentException("--vault-addr needs a token: pass --vault-token-file FILE, set VAULT_TOKEN,"
          + " or log in with --vault-role-id and --vault-secret-id-file");
    }
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "shardgate-vault-poll");
      t.setDaemon(true);
      return t;
    });
    long poll = settings.pollInterval().toMillis();
    timer.scheduleWithFixedDelay(this::pollSafely, poll, poll, TimeUnit.MILLISECONDS);
  }

  /** What a log line names this store by: the address, mount and prefix; never a credential. */
  public String describe() {
    return "Vault " + settings.address() + " (" + settings.mount() + "/data/" + settings.pathPrefix() + ")";
  }

  /** The consumer a source hands its inputs to: they reach {@code next} with Vault's secrets added. */
  public Consumer<ConfigInput> inFrontOf(Consumer<ConfigInput> next) {
    synchronized (lock) {
      this.downstream = Objects.requireNonNull(next, "next");
    }
    return this::accept;
  }

  /**
   * {@code input} with the secrets it references read once from Vault, as {@code serve}'s first translation gets it
   * (for the one-shot commands, {@code validate} and {@code translate}). Replaces the consumer {@link #inFrontOf} set.
   */
  public ConfigInput readOnce(ConfigInput input) {
    AtomicReference<ConfigInput> withSecrets = new AtomicReference<>();
    inFrontOf(withSecrets::set).accept(input);
    return withSecrets.get();
  }

  private void accept(ConfigInput input) {
    synchronized (lock) {
      lastSource = input;
      SortedSet<ResourceRef> refs = SecretRefs.of(input.documents());
      held.keySet().retainAll(refs);
      boolean reachable = true;
      for (ResourceRef ref : refs) {
        if (!held.containsKey(ref)) {
          // First sight: read now, so the first translation already serves what Vault holds. After one network
          // failure the rest wait for the next poll, so an unreachable Vault delays the source by one timeout.
          Held h = reachable ? read(ref, null) : skipped(ref, null);
          held.put(ref, h);
          reachable = !h.unreachable();
        }
      }
      emit();
    }
  }

  /** Polls every referenced secret; hands the last source input on again when anything changed. */
  public void pollNow() {
    synchronized (lock) {
      if (closed || lastSource == null) {
        return;
      }
      renewTokenIfDue();
      boolean changed = false;
      boolean reachable = true;
      for (Map.Entry<ResourceRef, Held> e : held.entrySet()) {
        Held before = e.getValue();
        Held after = reachable ? read(e.getKey(), before) : skipped(e.getKey(), before);
        reachable = reachable && !after.unreachable();
        if (after.secret() != before.secret() || !Objects.equals(after.problem(), before.problem())) {
          changed = true;
        }
        e.setValue(after);
      }
      if (changed) {
        emit();
      }
    }
  }

  private void pollSafely() {
    try {
      pollNow();
    } catch (RuntimeException e) {
      LOG.error("Polling {} failed; the next poll tries again ({})", describe(), e.getClass().getSimpleName());
    }
  }

  /** The source's last input with Vault's secrets over its own, and Vault's problems added. Under lock. */
  private void emit() {
    if (downstream == null || lastSource == null) {
      return;
    }
    SortedMap<String, KubeSecret> secrets = new TreeMap<>(lastSource.secrets().secrets());
    List<SourceProblem> problems = new ArrayList<>(lastSource.problems());
    if (authProblem != null) {
      problems.add(new SourceProblem("vault:" + settings.address(), 0, Severity.ERROR, authProblem));
    }
    held.forEach((ref, h) -> {
      if (h == NOT_IN_VAULT && lastSource.secrets().of(ref.namespace(), ref.name()) == null) {
        String path = settings.dataPath(ref.namespace(), ref.name());
        problems.add(new SourceProblem("vault:" + path, 0, Severity.ERROR, "secret " + ref.namespace() + "/"
            + ref.name() + ": not found in Vault at " + path + " (404) nor in the config source"));
      }
      if (h.secret() != null) {
        secrets.put(KubeSecret.key(ref.namespace(), ref.name()), h.secret());
      }
      if (h.problem() != null) {
        problems.add(new SourceProblem("vault:" + settings.dataPath(ref.namespace(), ref.name()), 0,
            h.secret() != null || lastSource.secrets().of(ref.namespace(), ref.name()) != null ? Severity.WARNING
                : Severity.ERROR, h.problem()));
      }
    });
    downstream.accept(new ConfigInput(lastSource.description(), lastSource.documents(), problems,
        lastSource.endpoints(), new SecretState(secrets)));
  }

  /** One read of {@code ref}'s latest version; {@code before} is what was held (null on first sight). Under lock. */
  private Held read(ResourceRef ref, Held before) {
    String path = settings.dataPath(ref.namespace(), ref.name());
    String name = "secret " + ref.namespace() + "/" + ref.name();
    Held last = before == null ? new Held(0, null, null) : before;
    if (!ensureToken()) {
      return new Held(last.version(), last.secret(), name + ": not read from Vault (" + path + "): " + authProblem
          + keeps(last), true);
    }
    LogicalResponse response;
    try {
      response = readWithRelogin(settings.mount() + "/" + settings.secretPath(ref.namespace(), ref.name()));
    } catch (VaultException e) {
      if (e.getHttpStatusCode() > 0) {
        // The driver throws on 5xx (and 412); its message quotes the body, so only the status is kept.
        return new Held(last.version(), last.secret(), name + ": Vault answered " + e.getHttpStatusCode() + " for "
            + path + keeps(last));
      }
      return unreachableFor(ref, last, cause(e));
    }
    reads++;
    int status = response.getRestResponse().getStatus();
    if (status == 404 && last.secret() == null) {
      return NOT_IN_VAULT; // the source's own Secret of that name serves, if any (emit says when there is none)
    }
    if (status != 200) {
      return new Held(last.version(), last.secret(), name + ": Vault answered " + status + vaultErrors(response)
          + " for " + path + keeps(last));
    }
    Long version = response.getDataMetadata().getVersion();
    long v = version == null ? 0 : version;
    if (last.secret() != null && v == last.version() && last.problem() == null) {
      return last;
    }
    KubeSecret secret;
    try {
      secret = kubeSecret(ref, response.getDataObject(), "vault:" + path + "@v" + v);
    } catch (IllegalArgumentException e) {
      return new Held(last.version(), last.secret(), name + ": version " + v + " at " + path + " " + e.getMessage()
          + keeps(last));
    }
    if (last.secret() != null && last.secret().equals(secret)) {
      secret = last.secret(); // the same content under a new version: the very object, nothing to push
    } else if (before != null) {
      LOG.info("Vault {}: version {} read ({})", name, v, path);
    }
    return new Held(v, secret, null);
  }

  /** A secret not tried in a round after Vault could not be reached, or no token could be had. */
  private Held skipped(ResourceRef ref, Held before) {
    Held last = before == null ? new Held(0, null, null) : before;
    if (authProblem != null) {
      return new Held(last.version(), last.secret(), "secret " + ref.namespace() + "/" + ref.name() + ": not read"
          + " from Vault (" + settings.dataPath(ref.namespace(), ref.name()) + "): " + authProblem + keeps(last), true);
    }
    return unreachableFor(ref, before, "not tried again this round");
  }

  private Held unreachableFor(ResourceRef ref, Held before, String cause) {
    Held last = before == null ? new Held(0, null, null) : before;
    return new Held(last.version(), last.secret(), "secret " + ref.namespace() + "/" + ref.name() + ": Vault "
        + settings.address() + " unreachable (" + cause + ") reading " + settings.dataPath(ref.namespace(),
        ref.name()) + keeps(last), true);
  }

  private static String keeps(Held last) {
    return last.secret() != null ? "; version " + last.version() + ", read before, keeps serving" : "";
  }

  /** A read that, with AppRole, logs in again once when Vault says the token is not (or no longer) good. */
  private LogicalResponse readWithRelogin(String path) throws VaultException {
    LogicalResponse r = vault.logical().read(path);
    if (r.getRestResponse().getStatus() == 403 && settings.credentials() instanceof VaultSettings.AppRole) {
      token = null;
      if (ensureToken()) {
        r = vault.logical().read(path);
      }
    }
    return r;
  }

  /**
   * Makes sure there is a token and a client using it: reads the token file (again when it changed), or logs in
   * with AppRole when there is no token. False, with {@link #authProblem} set, when there is none. Under lock.
   */
  private boolean ensureToken() {
    try {
      VaultSettings.Credentials credentials = settings.credentials();
      if (credentials instanceof VaultSettings.TokenFile f) {
        String content = Files.readString(f.file()).trim();
        if (token == null || !content.equals(tokenFileContent)) {
          useToken(content, true);
          tokenFileContent = content;
        }
      } else if (credentials instanceof VaultSettings.AppRole a) {
        if (token == null) {
          login(a);
        }
      } else if (token == null) {
        useToken(environmentToken.trim(), true);
      }
      if (token == null || token.isEmpty()) {
        authProblem = "no Vault token (the token file is empty)";
        return false;
      }
      authProblem = null;
      return true;
    } catch (IOException e) {
      authProblem = "cannot read " + credentialFile() + " (" + e.getClass().getSimpleName() + ")";
      return false;
    } catch (VaultException e) {
      token = null;
      authProblem = (settings.credentials() instanceof VaultSettings.AppRole ? "AppRole login failed: "
          : "token lookup failed: ") + cause(e);
      return false;
    }
  }

  private Path credentialFile() {
    VaultSettings.Credentials credentials = settings.credentials();
    if (credentials instanceof VaultSettings.TokenFile f) {
      return f.file();
    }
    return credentials instanceof VaultSettings.AppRole a ? a.secretIdFile() : Path.of("VAULT_TOKEN");
  }

  /** Logs in with AppRole; the token's lease decides when it is renewed. */
  private void login(VaultSettings.AppRole approle) throws IOException, VaultException {
    String secretId = Files.readString(approle.secretIdFile()).trim();
    AuthResponse auth = client(null).auth().loginByAppRole(approle.mount(), approle.roleId(), secretId);
    logins++;
    useToken(auth.getAuthClientToken(), false);
    schedule(auth.getAuthLeaseDuration(), auth.isAuthRenewable());
    LOG.info("Vault: logged in with AppRole at auth/{} (lease {} s{})", approle.mount(), auth.getAuthLeaseDuration(),
        auth.isAuthRenewable() ? ", renewable" : "");
  }

  /** Switches to {@code value}; for a given token (not a login's) asks Vault for its TTL to renew it in time. */
  private void useToken(String value, boolean lookUp) throws VaultException {
    Vault next = client(value);
    tokenRenewAtNanos = Long.MAX_VALUE;
    if (lookUp && !value.isEmpty()) {
      try {
        LookupResponse self = next.auth().lookupSelf();
        schedule(self.getTTL(), self.isRenewable());
      } catch (VaultException e) {
        if (e.getHttpStatusCode() <= 0) {
          throw e; // not reachable: try again at the next read
        }
        // A token without the lookup-self capability still reads secrets; it just is not renewed.
        LOG.info("Vault: token lookup-self answered {}; the token is used as it is, without renewal",
            e.getHttpStatusCode());
      }
    }
    token = value;
    vault = next;
  }

  private void schedule(long leaseSeconds, boolean renewable) {
    tokenLeaseSeconds = leaseSeconds;
    boolean relogin = settings.credentials() instanceof VaultSettings.AppRole;
    if (leaseSeconds > 0 && (renewable || relogin)) {
      long millis = Math.max(500, leaseSeconds * 1000 * 2 / 3);
      tokenRenewAtNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
      timer.schedule(this::renewSafely, millis, TimeUnit.MILLISECONDS);
    }
  }

  private void renewSafely() {
    try {
      synchronized (lock) {
        if (!closed) {
          renewTokenIfDue();
        }
      }
    } catch (RuntimeException e) {
      LOG.error("Renewing the Vault token failed; the next poll tries again ({})", e.getClass().getSimpleName());
    }
  }

  /**
   * Renews the token at two thirds of its TTL; with AppRole, logs in again when renewal fails or Vault grants less
   * than asked (the token's max TTL is near). Under lock.
   */
  private void renewTokenIfDue() {
    if (token == null || System.nanoTime() - tokenRenewAtNanos < 0) {
      return;
    }
    tokenRenewAtNanos = Long.MAX_VALUE;
    try {
      AuthResponse renewed = vault.auth().renewSelf(tokenLeaseSeconds);
      renewals++;
      long granted = renewed.getAuthLeaseDuration();
      LOG.info("Vault: token renewed (lease {} s)", granted);
      if (settings.credentials() instanceof VaultSettings.AppRole a && granted < tokenLeaseSeconds) {
        login(a);
      } else {
        schedule(granted, renewed.isAuthRenewable());
      }
    } catch (VaultException | IOException e) {
      LOG.warn("Vault: renewing the token failed ({}){}", e instanceof VaultException v ? cause(v)
          : e.getClass().getSimpleName(), settings.credentials() instanceof VaultSettings.AppRole
          ? "; logging in again" : "");
      if (settings.credentials() instanceof VaultSettings.AppRole) {
        token = null;
        ensureToken();
      }
    }
  }

  private Vault client(String withToken) throws VaultException {
    VaultConfig config = new VaultConfig()
        .address(settings.address().toString())
        .openTimeout(TIMEOUT_SECONDS)
        .readTimeout(TIMEOUT_SECONDS)
        .prefixPath(settings.mount())
        .engineVersion(2);
    if (withToken != null) {
      config.token(withToken);
    }
    SslConfig ssl = new SslConfig().verify(true);
    if (settings.caFile() != null) {
      ssl.pemFile(settings.caFile().toFile());
    }
    config.sslConfig(ssl.build());
    return Vault.create(config.build(), 2);
  }

  /** Vault's status line for a failed call, without the response body the driver's message quotes. */
  private static String cause(VaultException e) {
    if (e.getHttpStatusCode() > 0) {
      return "HTTP " + e.getHttpStatusCode();
    }
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t instanceof IOException && t.getMessage() != null ? t.getClass().getSimpleName() + ": " + t.getMessage()
        : t.getClass().getSimpleName();
  }

  /** Vault's {@code errors} (short phrases such as "permission denied"), or empty text. */
  private static String vaultErrors(LogicalResponse response) {
    try {
      JsonValue errors = Json.parse(new String(response.getRestResponse().getBody(),
          StandardCharsets.UTF_8)).asObject().get("errors");
      if (errors != null && errors.isArray() && !errors.asArray().isEmpty()) {
        String first = errors.asArray().get(0).isString() ? errors.asArray().get(0).asString() : "";
        return " (" + (first.length() > 80 ? first.substring(0, 80) + "..." : first) + ")";
      }
    } catch (RuntimeException ignored) {
      // not JSON: the status says enough
    }
    return "";
  }

  /**
   * The Secret of Vault's {@code data.data}: Gloo's {@code tls} object, or flat {@code tls.crt}/{@code tls.key}/
   * {@code ca.crt}. Throws {@link IllegalArgumentException} naming what is wrong, never a value.
   */
  static KubeSecret kubeSecret(ResourceRef ref, JsonObject data, String origin) {
    if (data == null) {
      throw new IllegalArgumentException("has no data");
    }
    SortedMap<String, byte[]> out = new TreeMap<>();
    JsonValue tls = data.get("tls");
    if (tls != null) {
      if (!tls.isObject()) {
        throw new IllegalArgumentException("has a tls entry that is not an object of certChain, privateKey, rootCa");
      }
      JsonObject fields = tls.asObject();
      put(out, KubeSecret.TLS_CERT, fields, "certChain", "cert_chain");
      put(out, KubeSecret.TLS_KEY, fields, "privateKey", "private_key");
      put(out, KubeSecret.CA_CERT, fields, "rootCa", "root_ca");
      String staple = text(fields, "ocspStaple", "ocsp_staple");
      if (staple != null) {
        try {
          out.put(TlsSecretContent.OCSP_STAPLE, Base64.getMimeDecoder().decode(staple));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("has a tls.ocspStaple that is not valid base64");
        }
      }
    } else {
      put(out, KubeSecret.TLS_CERT, data, KubeSecret.TLS_CERT, null);
      put(out, KubeSecret.TLS_KEY, data, KubeSecret.TLS_KEY, null);
      put(out, KubeSecret.CA_CERT, data, KubeSecret.CA_CERT, null);
      if (out.isEmpty()) {
        throw new IllegalArgumentException("holds neither Gloo's tls entry (certChain, privateKey, rootCa) nor"
            + " tls.crt, tls.key or ca.crt");
      }
    }
    return new KubeSecret(ref.namespace(), ref.name(), KubernetesSource.TLS_SECRET_TYPE, out, origin);
  }

  private static void put(SortedMap<String, byte[]> out, String key, JsonObject fields, String name, String alt) {
    String v = text(fields, name, alt);
    if (v != null) {
      out.put(key, v.getBytes(StandardCharsets.UTF_8));
    }
  }

  private static String text(JsonObject fields, String name, String alt) {
    JsonValue v = fields.get(name);
    if (v == null && alt != null) {
      v = fields.get(alt);
    }
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isString()) {
      throw new IllegalArgumentException("has a " + name + " that is not a string");
    }
    return v.asString();
  }

  /** Counters for tests and the log: reads of secrets, AppRole logins, token renewals. */
  public record Counts(long reads, long logins, long renewals) {}

  public Counts counts() {
    synchronized (lock) {
      return new Counts(reads, logins, renewals);
    }
  }

  /** The problem of the last read of {@code ref}, if it failed. */
  public Optional<String> problem(ResourceRef ref) {
    synchronized (lock) {
      Held h = held.get(ref);
      return h == null ? Optional.empty() : Optional.ofNullable(h.problem());
    }
  }

  /** The poll interval, for log lines. */
  public Duration pollInterval() {
    return settings.pollInterval();
  }

  @Override
  public void close() {
    synchronized (lock) {
      closed = true;
    }
    timer.shutdownNow();
  }
}
