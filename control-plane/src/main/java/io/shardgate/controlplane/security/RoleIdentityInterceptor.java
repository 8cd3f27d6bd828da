package io.shardgate.controlplane.security;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.shardgate.snapshot.NodeRoles;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The role identity rule ({@code --xds-require-role-identity}; xDS serving edge): every xDS request a client sends
 * must ask for a role its client certificate names ({@link RoleIdentity}), so one shard's Envoy cannot read another
 * shard's listeners, routes and clusters. Each inbound {@link DiscoveryRequest} and {@link DeltaDiscoveryRequest} is
 * checked before the discovery service sees it. Envoy sends its node (with the role) only on a stream's first request,
 * so later requests without a node keep the stream's role, and a later node naming another role is checked again.
 *
 * <p>Refused, with {@code PERMISSION_DENIED} and one WARN per (identity, role) with the peer address: a role the
 * certificate does not name, a request without any role (so the misconfigured-node fallback is refused too), a call
 * without a client certificate, and any message that is not an xDS request. To the discovery service a refused
 * stream looks cancelled by the client, so its per-stream state is released as usual.
 *
 * <p>Thread-safe; one instance serves every call.
 */
public final class RoleIdentityInterceptor implements ServerInterceptor {

  private static final Logger LOG = LoggerFactory.getLogger(RoleIdentityInterceptor.class);

  private final String trustDomain;
  private final LogOnce logged = new LogOnce(10_000);

  /** @param trustDomain the SPIFFE trust domain identities must be in, or {@code null} for any */
  public RoleIdentityInterceptor(String trustDomain) {
    this.trustDomain = trustDomain;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    SocketAddress peer = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    RoleIdentity identity = peerIdentity(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    if (identity == null) {
      if (logged.first("no-certificate|" + peer)) {
        LOG.warn("xDS: refused a call from {} without a client certificate (--xds-require-role-identity)", peer);
      }
      call.close(Status.PERMISSION_DENIED.withDescription("Shardgate requires a client certificate that names the"
          + " role (--xds-require-role-identity); connect with mutual TLS"), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    GuardedCall<ReqT, RespT> guarded = new GuardedCall<>(call);
    return new CheckingListener<>(next.startCall(guarded, headers), guarded, identity, peer);
  }

  private static RoleIdentity peerIdentity(SSLSession session) {
    if (session == null) {
      return null;
    }
    try {
      Certificate[] chain = session.getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof X509Certificate leaf ? RoleIdentity.of(leaf) : null;
    } catch (SSLPeerUnverifiedException noCertificate) {
      return null;
    }
  }

  /** Checks each request, and refuses the stream at the first one that asks for a role the identity does not name. */
  private final class CheckingListener<ReqT, RespT>
      extends ForwardingServerCallListener.SimpleForwardingServerCallListener<ReqT> {
    private final GuardedCall<ReqT, RespT> call;
    private final RoleIdentity identity;
    private final SocketAddress peer;
    // gRPC delivers a call's listener events one at a time, so these need no lock.
    private String streamRole;
    private boolean refused;

    CheckingListener(ServerCall.Listener<ReqT> delegate, GuardedCall<ReqT, RespT> call, RoleIdentity identity,
        SocketAddress peer) {
      super(delegate);
      this.call = call;
      this.identity = identity;
      this.peer = peer;
    }

    @Override
    public void onMessage(ReqT message) {
      if (refused) {
        return;
      }
      Node node;
      if (message instanceof DiscoveryRequest request) {
        node = request.hasNode() ? request.getNode() : null;
      } else if (message instanceof DeltaDiscoveryRequest request) {
        node = request.hasNode() ? request.getNode() : null;
      } else {
        refuse(null, "only xDS discovery requests are served");
        return;
      }
      String role = node != null ? NodeRoles.groupOf(node) : streamRole;
      if (role == null || role.equals(NodeRoles.MISCONFIGURED_NODE_GROUP)) {
        refuse(NodeRoles.MISCONFIGURED_NODE_GROUP, "the request names no role (node.metadata.role); "
            + RoleIdentity.expectedFor("", trustDomain));
        return;
      }
      if (!role.equals(streamRole)) {
        if (!identity.permits(role, trustDomain)) {
          refuse(role, "the client certificate (" + identity.describe() + ") does not name role "
              + AdminHostPolicy.printable(role) + ": " + RoleIdentity.expectedFor(role, trustDomain));
          return;
        }
        streamRole = role;
      }
      super.onMessage(message);
    }

    private void refuse(String role, String reason) {
      refused = true;
      String shownRole = role == null ? "(not an xDS request)"
          : role.equals(NodeRoles.MISCONFIGURED_NODE_GROUP) ? "(none)" : AdminHostPolicy.printable(role);
      if (logged.first(identity.describe() + "|" + shownRole)) {
        LOG.warn("xDS: refused role {} to {}: {} (--xds-require-role-identity; further refusals of this identity and"
            + " role are not logged)", shownRole, peer, reason);
      }
      call.refuse(Status.PERMISSION_DENIED.withDescription(reason));
      // The service never sees the refused request; to it the stream ends as if the client had cancelled it.
      super.onCancel();
    }

    @Override
    public void onHalfClose() {
      if (!refused) {
        super.onHalfClose();
      }
    }

    @Override
    public void onCancel() {
      if (!refused) {
        super.onCancel();
      }
    }

    @Override
    public void onComplete() {
      if (!refused) {
        super.onComplete();
      }
    }

    @Override
    public void onReady() {
      if (!refused) {
        super.onReady();
      }
    }
  }

  /**
   * The call as the discovery service sees it: once refused, what the service still sends (a response its watch
   * produced on another thread, its own close) is dropped instead of reaching a closed call.
   */
  private static final class GuardedCall<ReqT, RespT>
      extends ForwardingServerCall.SimpleForwardingServerCall<ReqT, RespT> {
    private boolean closed;

    GuardedCall(ServerCall<ReqT, RespT> delegate) {
      super(delegate);
    }

    synchronized void refuse(Status status) {
      if (!closed) {
        closed = true;
        super.close(status, new Metadata());
      }
    }

    @Override
    public synchronized void sendMessage(RespT message) {
      if (!closed) {
        super.sendMessage(message);
      }
    }

    @Override
    public synchronized void close(Status status, Metadata trailers) {
      if (!closed) {
        closed = true;
        super.close(status, trailers);
      }
    }
  }
}
