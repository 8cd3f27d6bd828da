package io.shardgate.controlplane.source;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The few calls of Consul's HTTP API that Shardgate makes: a recursive (blocking) list under a KV prefix, a put and
 * a delete, and a (blocking) GET of any other read endpoint (the catalog and health APIs of service discovery). Uses
 * the JDK's {@link HttpClient}; the token goes in the {@code X-Consul-Token} header and is never part of a message,
 * a log line or {@link #toString()}.
 *
 * <p>A token from a file is read again when Consul answers 403 (the call is then retried once with the new token,
 * if it changed) and on {@link #reloadToken()}, so a rotated token file is picked up without a restart.
 *
 * <p>Stage: source edge (I/O). Thread-safe: the JDK client is, and the token is one volatile value.
 */
public final class ConsulKvClient {

  /** Consul's default HTTP address. */
  public static final String DEFAULT_ADDRESS = "http://127.0.0.1:8500";

  /** The environment variable Consul's own tools read the ACL token from. */
  public static final String TOKEN_ENV = "CONSUL_HTTP_TOKEN";

  private static final JsonFactory JSON = new JsonFactory();
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  /** Added to a blocking query's wait: Consul adds up to wait/16 of jitter, and the answer needs time to travel. */
  private static final Duration READ_SLACK = Duration.ofSeconds(10);

  /**
   * How to reach one Consul agent. {@link #toString()} leaves the token out.
   *
   * @param token the token read at start
   * @param tokenFile the file it was read from, read again after a 403; empty when it came from the environment
   */
  public record Options(URI address, Optional<String> token, Optional<Path> caFile, Optional<String> datacenter,
      Optional<Path> tokenFile) {

    public Options {
      Objects.requireNonNull(address, "address");
      token = token == null ? Optional.empty() : token.filter(t -> !t.isBlank());
      caFile = caFile == null ? Optional.empty() : caFile;
      datacenter = datacenter == null ? Optional.empty() : datacenter.filter(d -> !d.isBlank());
      tokenFile = tokenFile == null ? Optional.empty() : tokenFile;
      String scheme = address.getScheme();
      if (!"http".equals(scheme) && !"https".equals(scheme)) {
        throw new IllegalArgumentException("Consul address " + address + " must start with http:// or https://");
      }
    }

    /** Options whose token does not come from a file. */
    public Options(URI address, Optional<String> token, Optional<Path> caFile, Optional<String> datacenter) {
      this(address, token, caFile, datacenter, Optional.empty());
    }

    /** Plain HTTP, no token. */
    public static Options of(String address) {
      return new Options(URI.create(address), Optional.empty(), Optional.empty(), Optional.empty());
    }

    /**
     * Options from the command line's values: the token from {@code tokenFile} when given, else from
     * {@value #TOKEN_ENV}; an address without a scheme gets {@code http://}.
     */
    public static Options resolve(String address, Path tokenFile, Path caFile, String datacenter) throws IOException {
      String a = address.contains("://") ? address : "http://" + address;
      Optional<String> token = tokenFile != null
          ? Optional.of(readToken(tokenFile))
          : Optional.ofNullable(System.getenv(TOKEN_ENV));
      return new Options(URI.create(a.endsWith("/") ? a.substring(0, a.length() - 1) : a), token,
          Optional.ofNullable(caFile), Optional.ofNullable(datacenter), Optional.ofNullable(tokenFile));
    }

    @Override
    public String toString() {
      return address + (token.isPresent() ? " (with a token)" : "") + datacenter.map(d -> " dc " + d).orElse("");
    }
  }

  /** One KV entry as Consul lists it; {@code value} is null for a key without a value (a "folder"). */
  public record Entry(String key, long modifyIndex, byte[] value) {}

  /** One answer to a list: the entries and the {@code X-Consul-Index} header (0 when absent). */
  public record Listing(long index, List<Entry> entries) {

    public Listing {
      entries = List.copyOf(entries);
    }
  }

  /**
   * One answer to a {@link #get}: the HTTP status (200 or 404), the {@code X-Consul-Index} header (0 when absent)
   * and the body.
   */
  public record Response(int status, long index, byte[] body) {}

  /** An answer Consul gave that is not a success, or a call that did not reach it. */
  public static final class ConsulException extends IOException {

    private final int status;

    public ConsulException(String message, int status) {
      super(message);
      this.status = status;
    }

    /** The HTTP status, or 0 when Consul was not reached. */
    public int status() {
      return status;
    }
  }

  private final Options options;
  private final HttpClient http;
  private volatile Optional<String> token;
  private final AtomicLong tokenReloads = new AtomicLong();

  public ConsulKvClient(Options options) {
    this.options = Objects.requireNonNull(options, "options");
    this.token = options.token();
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT)
        .followRedirects(HttpClient.Redirect.NEVER);
    if (options.caFile().isPresent()) {
      b.sslContext(trusting(options.caFile().get()));
    }
    this.http = b.build();
  }

  public Options options() {
    return options;
  }

  /**
   * Reads the token file again (when the token came from one); says whether the token changed. Never logs it.
   */
  public boolean reloadToken() {
    if (options.tokenFile().isEmpty()) {
      return false;
    }
    try {
      Optional<String> next = Optional.of(readToken(options.tokenFile().get())).filter(t -> !t.isBlank());
      if (next.equals(token)) {
        return false;
      }
      token = next;
      tokenReloads.incrementAndGet();
      return true;
    } catch (IOException e) {
      return false; // keep the token read last; the call that needed a new one fails with Consul's answer
    }
  }

  /** How many times a changed token was read from the token file, for tests and logs. */
  public long tokenReloads() {
    return tokenReloads.get();
  }

  /**
   * A GET of a read endpoint, {@code apiPath} such as {@code /v1/health/service/web}, with {@code query} (already
   * encoded, without {@code ?}; may be empty). With {@code index > 0} it is a blocking query: Consul answers when its
   * index passes {@code index} or after about {@code wait}. 200 and 404 are answers; anything else is a
   * {@link ConsulException}.
   */
  public Response get(String apiPath, String query, long index, Duration wait)
      throws IOException, InterruptedException {
    StringBuilder q = new StringBuilder(query);
    if (index > 0) {
      q.append(q.length() == 0 ? "" : "&").append("index=").append(index).append("&wait=")
          .append(Math.max(1, wait.toMillis())).append("ms");
    }
    URI uri = options.address().resolve(apiPath + (q.length() == 0 ? "" : "?" + q));
    Duration timeout = index > 0 ? wait.plus(READ_SLACK) : READ_SLACK;
    HttpResponse<InputStream> response = send(() -> HttpRequest.newBuilder(uri).timeout(timeout).GET());
    long at = response.headers().firstValueAsLong("X-Consul-Index").orElse(0);
    try (InputStream body = response.body()) {
      if (response.statusCode() != 200 && response.statusCode() != 404) {
        throw failure("reading " + apiPath, response.statusCode(), body);
      }
      return new Response(response.statusCode(), at, body.readAllBytes());
    }
  }

  /**
   * Lists every key under {@code prefix} (recursively). With {@code index > 0} it is a blocking query: Consul answers
   * when the index passes {@code index} or after about {@code wait}.
   */
  public Listing list(String prefix, long index, Duration wait) throws IOException, InterruptedException {
    StringBuilder q = new StringBuilder("recurse=true");
    if (index > 0) {
      q.append("&index=").append(index).append("&wait=").append(Math.max(1, wait.toMillis())).append("ms");
    }
    Duration timeout = index > 0 ? wait.plus(READ_SLACK) : READ_SLACK;
    HttpResponse<InputStream> response = send(() -> request(prefix, q, timeout).GET());
    long at = response.headers().firstValueAsLong("X-Consul-Index").orElse(0);
    try (InputStream body = response.body()) {
      if (response.statusCode() == 404) {
        return new Listing(at, List.of()); // nothing under the prefix (yet)
      }
      if (response.statusCode() != 200) {
        throw failure("listing " + prefix, response.statusCode(), body);
      }
      return new Listing(at, entries(body));
    }
  }

  /** Writes {@code value} at {@code key}. */
  public void put(String key, byte[] value) throws IOException, InterruptedException {
    expectTrue("writing " + key, send(() -> request(key, new StringBuilder(), READ_SLACK)
        .PUT(HttpRequest.BodyPublishers.ofByteArray(value))));
  }

  /** Deletes {@code key} (only that key). */
  public void delete(String key) throws IOException, InterruptedException {
    expectTrue("deleting " + key, send(() -> request(key, new StringBuilder(), READ_SLACK).DELETE()));
  }

  private void expectTrue(String what, HttpResponse<InputStream> response) throws IOException {
    try (InputStream body = response.body()) {
      if (response.statusCode() != 200) {
        throw failure(what, response.statusCode(), body);
      }
      String text = new String(body.readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!"true".equals(text)) {
        throw new ConsulException("Consul at " + options.address() + " did not accept " + what + ": " + text, 200);
      }
    }
  }

  private HttpRequest.Builder request(String key, StringBuilder query, Duration timeout) {
    StringBuilder q = new StringBuilder(query);
    options.datacenter().ifPresent(dc -> q.append(q.length() == 0 ? "" : "&").append("dc=")
        .append(URLEncoder.encode(dc, StandardCharsets.UTF_8)));
    String path = "/v1/kv/" + encodePath(key) + (q.length() == 0 ? "" : "?" + q);
    return HttpRequest.newBuilder(options.address().resolve(path)).timeout(timeout);
  }

  /**
   * Sends the request {@code build} makes, with the current token; after a 403 with a token file, reads the file
   * again and, when the token changed, sends once more.
   */
  private HttpResponse<InputStream> send(Supplier<HttpRequest.Builder> build)
      throws IOException, InterruptedException {
    HttpResponse<InputStream> response = sendOnce(build.get());
    if (response.statusCode() == 403 && reloadToken()) {
      response.body().close();
      response = sendOnce(build.get());
    }
    return response;
  }

  private HttpResponse<InputStream> sendOnce(HttpRequest.Builder b) throws IOException, InterruptedException {
    token.ifPresent(t -> b.header("X-Consul-Token", t));
    try {
      return http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
    } catch (IOException e) {
      String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
      throw new ConsulException("Consul at " + options.address() + " cannot be reached: " + reason, 0);
    }
  }

  private static String readToken(Path tokenFile) throws IOException {
    return Files.readString(tokenFile, StandardCharsets.UTF_8).trim();
  }

  private ConsulException failure(String what, int status, InputStream body) throws IOException {
    String text = new String(body.readNBytes(500), StandardCharsets.UTF_8).trim();
    String hint = status == 403 ? " (the ACL token is missing or lacks the ACL rules this call needs: key_prefix"
        + " read/write for KV, service_prefix and node_prefix read for discovery)" : "";
    return new ConsulException("Consul at " + options.address() + " refused " + what + ": HTTP " + status
        + (text.isEmpty() ? "" : " " + text) + hint, status);
  }

  /** Each path segment percent-encoded, the slashes kept. */
  static String encodePath(String key) {
    StringBuilder sb = new StringBuilder();
    for (String segment : key.split("/", -1)) {
      if (sb.length() > 0 || key.startsWith("/")) {
        sb.append('/');
      }
      sb.append(URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20"));
    }
    return sb.toString();
  }

  private static List<Entry> entries(InputStream body) throws IOException {
    List<Entry> out = new ArrayList<>();
    try (JsonParser p = JSON.createParser(body)) {
      if (p.nextToken() != JsonToken.START_ARRAY) {
        throw new IOException("Consul's KV listing is not a JSON array");
      }
      while (p.nextToken() == JsonToken.START_OBJECT) {
        String key = null;
        long modifyIndex = 0;
        byte[] value = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String field = p.currentName();
          JsonToken t = p.nextToken();
          switch (field) {
            case "Key" -> key = p.getText();
            case "ModifyIndex" -> modifyIndex = p.getLongValue();
            case "Value" -> value = t == JsonToken.VALUE_NULL ? null : Base64.getDecoder().decode(p.getText());
            default -> p.skipChildren();
          }
        }
        if (key != null) {
          out.add(new Entry(key, modifyIndex, value));
        }
      }
    }
    return out;
  }

  private static SSLContext trusting(Path caFile) {
    try (InputStream in = Files.newInputStream(caFile)) {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      int i = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        store.setCertificateEntry("ca-" + i++, c);
      }
      if (i == 0) {
        throw new IllegalArgumentException("--consul-ca-file " + caFile + " holds no PEM certificate");
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(store);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot read the CA file " + caFile + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return "Consul " + options;
  }
}
