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
import io.shardgate.controlplane.security.AdminRemoteAccess;
import io.shardgate.controlplane.security.LogOnce;
import io.shardgate.controlplane.security.ServeSecurity;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Admin API edge: refuses, before any controller runs, requests whose {@code Host} header the {@link AdminHostPolicy}
 * does not allow (DNS rebinding), and requests from a peer that is not on loopback for a path its
 * {@link AdminRemoteAccess} level does not open (the kubelet may probe and Prometheus scrape from the pod network; the
 * configuration in {@code /api/*} stays for loopback, i.e. {@code kubectl port-forward}). Either refusal is a 403 with
 * a one-line body that names the option to change. The peer is the TCP connection's own address, never a header.
 * Each refused Host and each refused peer address is logged once (bounded). Thread-safe.
 */
@ServerFilter(ServerFilter.MATCH_ALL_PATTERN)
public class AdminAccessFilter {

  private static final Logger LOG = LoggerFactory.getLogger(AdminAccessFilter.class);

  private final AdminHostPolicy policy;
  private final AdminRemoteAccess remoteAccess;
  private final LogOnce loggedHosts = new LogOnce(1_000);
  private final LogOnce loggedPeers = new LogOnce(1_000);

  public AdminAccessFilter(@Value("${micronaut.server.host:}") String bindAddress,
      @Value("${" + ServeSecurity.ADMIN_ALLOWED_HOSTS + ":}") String allowedHosts,
      @Value("${" + ServeSecurity.ADMIN_REMOTE_ACCESS + ":metrics}") String remoteAccess) {
    List<String> allowed = allowedHosts.isBlank() ? List.of() : Arrays.asList(allowedHosts.split(","));
    this.policy = AdminHostPolicy.of(bindAddress, allowed);
    this.remoteAccess = AdminRemoteAccess.parse(remoteAccess);
  }

  /** Null lets the request through; a response answers it at once. */
  @RequestFilter
  @Nullable
  public HttpResponse<String> checkAccess(HttpRequest<?> request) {
    String host = request.getHeaders().get(HttpHeaders.HOST);
    AdminHostPolicy.Decision byHost = policy.check(host, request.getServerAddress().getPort());
    if (!byHost.allowed()) {
      String shown = AdminHostPolicy.printable(host);
      if (loggedHosts.first(shown)) {
        LOG.warn("admin API: refused a request for Host \"{}\" from {} (DNS rebinding protection; if the name is"
            + " yours, add it with --admin-allowed-hosts; further requests for it are not logged)", shown,
            request.getRemoteAddress());
      }
      return forbidden(byHost);
    }
    InetSocketAddress peer = request.getRemoteAddress();
    AdminHostPolicy.Decision byPeer = remoteAccess.check(isLoopback(peer), request.getMethodName(),
        request.getPath());
    if (!byPeer.allowed()) {
      String shown = peer.getAddress() == null ? peer.getHostString() : peer.getAddress().getHostAddress();
      if (loggedPeers.first(shown)) {
        LOG.warn("admin API: refused {} {} from {} ({} {}; further refusals for this address are not logged)",
            request.getMethodName(), AdminHostPolicy.printable(request.getPath()), shown, AdminRemoteAccess.OPTION,
            remoteAccess.value());
      }
      return forbidden(byPeer);
    }
    return null;
  }

  private static boolean isLoopback(InetSocketAddress peer) {
    InetAddress address = peer == null ? null : peer.getAddress();
    return address != null && address.isLoopbackAddress();
  }

  private static HttpResponse<String> forbidden(AdminHostPolicy.Decision decision) {
    return HttpResponse.<String>status(HttpStatus.FORBIDDEN)
        .contentType(MediaType.TEXT_PLAIN_TYPE)
        .body(decision.reason() + "\n");
  }
}
