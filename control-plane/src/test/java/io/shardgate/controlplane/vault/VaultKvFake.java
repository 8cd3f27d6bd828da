package io.shardgate.controlplane.vault;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.github.jopenlibs.vault.json.Json;
import io.github.jopenlibs.vault.json.JsonObject;
import io.github.jopenlibs.vault.json.JsonValue;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * A <b>fake</b> of Vault's HTTP API, for tests only (no Vault server builds on these machines): the JDK's HttpServer
 * (or HttpsServer) on a free loopback port, answering as Vault's documentation says for what the secret store uses:
 *
 * <ul>
 *   <li>KV v2 at one mount: {@code GET /v1/<mount>/data/<path>} gives {@code {"data": {"data": {...}, "metadata":
 *       {"version": N, "created_time", "deletion_time": "", "destroyed": false}}}}; a missing secret is 404 {@code
 *       {"errors": []}}, a soft-deleted latest version 404 with its metadata; {@code GET /v1/<mount>/metadata/<path>}
 *       gives {@code current_version} and {@code versions};
 *   <li>{@code X-Vault-Token} on every call but login: an unknown, revoked or expired token is 403 {@code {"errors":
 *       ["permission denied"]}};
 *   <li>{@code POST /v1/auth/approle/login} ({@code role_id}, {@code secret_id}) issues a token with a TTL;
 *       {@code GET /v1/auth/token/lookup-self}, {@code POST /v1/auth/token/renew-self} ({@code increment}, granted up
 *       to the token's max TTL).
 * </ul>
 *
 * <p>Thread-safe. Records every request's method and path (never a header value) for assertions.
 */
public final class VaultKvFake implements AutoCloseable {

  private static final String JSON = "application/json";

  private final HttpServer server;
  private final String mount;
  private final Map<String, List<Version>> secrets = new ConcurrentHashMap<>();
  private final Map<String, Token> tokens = new ConcurrentHashMap<>();
  private final Map<String, Integer> forced = new ConcurrentHashMap<>();
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private final AtomicInteger issued = new AtomicInteger();
  private volatile AppRole appRole;

  private record Version(Map<String, Object> data, Instant created, boolean deleted) {}

  /** A token's lease: it expires at {@code expiresAt} unless renewed, never beyond {@code maxExpiresAt}. */
  private static final class Token {
    volatile Instant expiresAt;
    final Instant maxExpiresAt;
    final long ttlSeconds;
    final boolean renewable;

    Token(long ttlSeconds, long maxTtlSeconds, boolean renewable) {
      Instant now = Instant.now();
      this.ttlSeconds = ttlSeconds;
      this.expiresAt = ttlSeconds == 0 ? Instant.MAX : now.plusSeconds(ttlSeconds);
      this.maxExpiresAt = maxTtlSeconds == 0 ? Instant.MAX : now.plusSeconds(maxTtlSeconds);
      this.renewable = renewable;
    }

    boolean valid() {
      return Instant.now().isBefore(expiresAt);
    }

    long remaining() {
      // Rounded up, as Vault reports a lease that has not run out yet.
      return expiresAt == Instant.MAX ? 0 : Math.max(0, (Duration.between(Instant.now(), expiresAt).toMillis() + 999)
          / 1000);
    }
  }

  private record AppRole(String roleId, String secretId, long ttlSeconds, long maxTtlSeconds) {}

  private VaultKvFake(HttpServer server, String mount) {
    this.server = server;
    this.mount = mount;
    server.createContext("/", this::handle);
    server.start();
  }

  /** A fake over plain HTTP with KV v2 at {@code mount}. */
  public static VaultKvFake http(String mount) {
    try {
      return new VaultKvFake(HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0), mount);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A fake over HTTPS, presenting {@code certificate} (issued for 127.0.0.1) with {@code key}. */
  public static VaultKvFake https(String mount, X509Certificate certificate, PrivateKey key) {
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry("vault", key, new char[0], new X509Certificate[] {certificate});
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(store, new char[0]);
      SSLContext ssl = SSLContext.getInstance("TLS");
      ssl.init(kmf.getKeyManagers(), null, null);
      HttpsServer server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      server.setHttpsConfigurator(new HttpsConfigurator(ssl));
      return new VaultKvFake(server, mount);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (Exception e) {
      throw new IllegalStateException("cannot set up the fake's TLS", e);
    }
  }

  /** {@code http://127.0.0.1:<port>} (or https). */
  public String address() {
    return (server instanceof HttpsServer ? "https" : "http") + "://127.0.0.1:" + server.getAddress().getPort();
  }

  /** A token that never expires (a root token, as {@code vault server -dev} prints). */
  public void addToken(String token) {
    tokens.put(token, new Token(0, 0, false));
  }

  /** A token with a TTL, renewable up to {@code maxTtlSeconds} (0: no max). */
  public void addToken(String token, long ttlSeconds, long maxTtlSeconds, boolean renewable) {
    tokens.put(token, new Token(ttlSeconds, maxTtlSeconds, renewable));
  }

  public void revoke(String token) {
    tokens.remove(token);
  }

  /** Enables AppRole: a login with these ids gets a renewable token of {@code ttlSeconds}, max {@code maxTtl}. */
  public void enableAppRole(String roleId, String secretId, long ttlSeconds, long maxTtlSeconds) {
    appRole = new AppRole(roleId, secretId, ttlSeconds, maxTtlSeconds);
  }

  /** The tokens issued by AppRole logins so far, in order (to check that none of them is logged). */
  public List<String> issuedTokens() {
    List<String> out = new ArrayList<>();
    for (int i = 1; i <= issued.get(); i++) {
      out.add(issuedToken(i));
    }
    return out;
  }

  private static String issuedToken(int n) {
    return "hvs.fake-approle-token-" + n + "-8d3f0c1e";
  }

  /** Writes a new version of {@code path} (below the mount, without {@code data/}); returns its number. */
  public int put(String path, Map<String, Object> data) {
    List<Version> versions = secrets.computeIfAbsent(path, p -> new CopyOnWriteArrayList<>());
    synchronized (versions) {
      versions.add(new Version(data, Instant.now(), false));
      return versions.size();
    }
  }

  /** Soft-deletes the latest version of {@code path}, as {@code vault kv delete} does. */
  public void delete(String path) {
    List<Version> versions = secrets.get(path);
    synchronized (versions) {
      Version last = versions.get(versions.size() - 1);
      versions.set(versions.size() - 1, new Version(last.data(), last.created(), true));
    }
  }

  /** Answers every request for {@code path} with {@code status} (e.g. 500) until {@link #clearForced}. */
  public void force(String path, int status) {
    forced.put(path, status);
  }

  public void clearForced() {
    forced.clear();
  }

  /** {@code METHOD /v1/...} of every request so far, in order; no header or body. */
  public List<String> requests() {
    return List.copyOf(requests);
  }

  public long count(String methodAndPath) {
    return requests.stream().filter(r -> r.equals(methodAndPath)).count();
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String method = ex.getRequestMethod();
      String path = ex.getRequestURI().getPath();
      requests.add(method + " " + path);
      String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      if (method.equals("POST") && path.equals("/v1/auth/approle/login")) {
        login(ex, body);
        return;
      }
      String tokenHeader = ex.getRequestHeaders().getFirst("X-Vault-Token");
      Token token = tokenHeader == null ? null : tokens.get(tokenHeader);
      if (token == null || !token.valid()) {
        send(ex, 403, "{\"errors\":[\"permission denied\"]}");
        return;
      }
      if (path.equals("/v1/auth/token/lookup-self") && method.equals("GET")) {
        send(ex, 200, envelope("{\"ttl\":" + token.remaining() + ",\"renewable\":" + token.renewable
            + ",\"policies\":[\"shardgate\"],\"creation_ttl\":" + token.ttlSeconds + "}", "null"));
        return;
      }
      if (path.equals("/v1/auth/token/renew-self") && method.equals("POST")) {
        renew(ex, tokenHeader, token, body);
        return;
      }
      String dataPrefix = "/v1/" + mount + "/data/";
      String metadataPrefix = "/v1/" + mount + "/metadata/";
      if (method.equals("GET") && (path.startsWith(dataPrefix) || path.startsWith(metadataPrefix))) {
        boolean data = path.startsWith(dataPrefix);
        String secretPath = path.substring((data ? dataPrefix : metadataPrefix).length());
        Integer status = forced.get(secretPath);
        if (status != null) {
          send(ex, status, "{\"errors\":[\"forced by the test\"]}");
          return;
        }
        List<Version> versions = secrets.get(secretPath);
        if (versions == null || versions.isEmpty()) {
          send(ex, 404, "{\"errors\":[]}");
          return;
        }
        if (data) {
          readData(ex, versions);
        } else {
          readMetadata(ex, versions);
        }
        return;
      }
      send(ex, 404, "{\"errors\":[]}");
    }
  }

  private void login(HttpExchange ex, String body) throws IOException {
    AppRole role = appRole;
    JsonObject request = Json.parse(body).asObject();
    if (role == null || !role.roleId().equals(request.getString("role_id", null))
        || !role.secretId().equals(request.getString("secret_id", null))) {
      send(ex, 400, "{\"errors\":[\"invalid role or secret ID\"]}");
      return;
    }
    String token = issuedToken(issued.incrementAndGet());
    tokens.put(token, new Token(role.ttlSeconds(), role.maxTtlSeconds(), true));
    send(ex, 200, envelope("null", "{\"client_token\":\"" + token + "\",\"accessor\":\"acc\",\"policies\":"
        + "[\"shardgate\"],\"token_policies\":[\"shardgate\"],\"metadata\":{\"role_name\":\"shardgate\"},"
        + "\"lease_duration\":" + role.ttlSeconds() + ",\"renewable\":true}"));
  }

  private void renew(HttpExchange ex, String tokenValue, Token token, String body) throws IOException {
    if (!token.renewable) {
      send(ex, 400, "{\"errors\":[\"lease is not renewable\"]}");
      return;
    }
    long increment = token.ttlSeconds;
    if (!body.isBlank()) {
      JsonValue inc = Json.parse(body).asObject().get("increment");
      if (inc != null && inc.isNumber() && inc.asLong() > 0) {
        increment = inc.asLong();
      }
    }
    Instant wanted = Instant.now().plusSeconds(increment);
    token.expiresAt = wanted.isAfter(token.maxExpiresAt) ? token.maxExpiresAt : wanted;
    send(ex, 200, envelope("null", "{\"client_token\":\"" + tokenValue + "\",\"accessor\":\"acc\",\"policies\":"
        + "[\"shardgate\"],\"metadata\":null,\"lease_duration\":" + token.remaining() + ",\"renewable\":true}"));
  }

  private static void readData(HttpExchange ex, List<Version> versions) throws IOException {
    int number;
    Version v;
    synchronized (versions) {
      number = versions.size();
      v = versions.get(number - 1);
    }
    String metadata = "{\"version\":" + number + ",\"created_time\":\"" + v.created() + "\",\"deletion_time\":\""
        + (v.deleted() ? v.created() : "") + "\",\"destroyed\":false,\"custom_metadata\":null}";
    if (v.deleted()) {
      send(ex, 404, "{\"data\":{\"data\":null,\"metadata\":" + metadata + "}}");
      return;
    }
    send(ex, 200, envelope("{\"data\":" + json(v.data()) + ",\"metadata\":" + metadata + "}", "null"));
  }

  private static void readMetadata(HttpExchange ex, List<Version> versions) throws IOException {
    StringBuilder all = new StringBuilder();
    int current;
    synchronized (versions) {
      current = versions.size();
      for (int i = 0; i < versions.size(); i++) {
        Version v = versions.get(i);
        all.append(i == 0 ? "" : ",").append('"').append(i + 1).append("\":{\"created_time\":\"").append(v.created())
            .append("\",\"deletion_time\":\"").append(v.deleted() ? v.created() : "").append("\",\"destroyed\":false}");
      }
    }
    send(ex, 200, envelope("{\"current_version\":" + current + ",\"oldest_version\":0,\"max_versions\":0,"
        + "\"versions\":{" + all + "}}", "null"));
  }

  /** Vault's response envelope around {@code data} and {@code auth} (JSON, or {@code null}). */
  private static String envelope(String data, String auth) {
    return "{\"request_id\":\"fake\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,\"data\":" + data
        + ",\"wrap_info\":null,\"warnings\":null,\"auth\":" + auth + "}";
  }

  private static String json(Object value) {
    if (value instanceof Map<?, ?> m) {
      StringBuilder sb = new StringBuilder("{");
      m.forEach((k, v) -> sb.append(sb.length() > 1 ? "," : "").append(Json.value(String.valueOf(k))).append(':')
          .append(json(v)));
      return sb.append('}').toString();
    }
    return value == null ? "null" : Json.value(String.valueOf(value)).toString();
  }

  private static void send(HttpExchange ex, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", JSON);
    ex.sendResponseHeaders(status, bytes.length);
    ex.getResponseBody().write(bytes);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
