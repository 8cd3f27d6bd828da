package io.shardgate.controlplane.app;

import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.shardgate.controlplane.security.AdminHostPolicy;
import io.shardgate.controlplane.security.LogOnce;
import io.shardgate.controlplane.security.ServeSecurity;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Refuses admin API requests whose {@code Host} header the {@link AdminHostPolicy} does not allow (DNS rebinding),
 * before any controller runs: 403 with a one-line body that names the allowed hosts and the option that adds one.
 * Each refused Host is logged once (bounded). Thread-safe.
 */
@ServerFilter(ServerFilter.MATCH_ALL_PATTERN)
public class AdminHostFilter {

  private static final Logger LOG = LoggerFactory.getLogger(AdminHostFilter.class);

  private final AdminHostPolicy policy;
  private final LogOnce logged = new LogOnce(1_000);

  public AdminHostFilter(@Value("${micronaut.server.host:}") String bindAddress,
      @Value("${" + ServeSecurity.ADMIN_ALLOWED_HOSTS + ":}") String allowedHosts) {
    List<String> allowed = allowedHosts.isBlank() ? List.of() : Arrays.asList(allowedHosts.split(","));
    this.policy = AdminHostPolicy.of(bindAddress, allowed);
  }

  /** Null lets the request through; a response answers it at once. */
  @RequestFilter
  @Nullable
  public HttpResponse<String> checkHost(HttpRequest<?> request) {
    String host = request.getHeaders().get(HttpHeaders.HOST);
    AdminHostPolicy.Decision decision = policy.check(host, request.getServerAddress().getPort());
    if (decision.allowed()) {
      return null;
    }
    String shown = AdminHostPolicy.printable(host);
    if (logged.first(shown)) {
      LOG.warn("admin API: refused a request for Host \"{}\" from {} (DNS rebinding protection; if the name is"
          + " yours, add it with --admin-allowed-hosts; further requests for it are not logged)", shown,
          request.getRemoteAddress());
    }
    return HttpResponse.<String>status(HttpStatus.FORBIDDEN)
        .contentType(MediaType.TEXT_PLAIN_TYPE)
        .body(decision.reason() + "\n");
  }
}
