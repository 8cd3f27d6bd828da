package io.shardgate.controlplane.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.shardgate.sharding.ir.UpstreamCluster;
import io.shardgate.sharding.model.TlsSecretSource;
import io.shardgate.sharding.model.Upstream;
import io.shardgate.sharding.model.UpstreamSslConfig;

/**
 * xDS translation of an Upstream's {@code sslConfig}: the cluster's {@code UpstreamTlsContext} (its common part is
 * {@link TlsContexts#common}, shared with the listeners), and the transport sockets of static hosts whose SNI is their
 * own.
 *
 * <p>Certificates never appear inline: a {@code secretRef} becomes SDS references ({@link XdsNames#certificateSecret},
 * {@link XdsNames#validationSecret}) that the shard's SDS resources answer; {@code sslFiles} stay file names Envoy
 * reads; {@code sds} points Envoy at the external server.
 *
 * <p>Stage: xDS translation. Pure functions (no clock, no I/O, no fields); thread-safe.
 */
public final class UpstreamTlsTranslator {

  /** The endpoint metadata namespace Envoy matches a cluster's transport socket matches against. */
  static final String TRANSPORT_SOCKET_MATCH = "envoy.transport_socket_match";
  private UpstreamTlsTranslator() {}

  /** The {@code envoy.transport_sockets.tls} transport socket of a TLS cluster. */
  static TransportSocket upstreamTransportSocket(UpstreamCluster u) {
    return transportSocket(upstreamTlsContext(u));
  }

  private static TransportSocket transportSocket(UpstreamTlsContext tls) {
    return TransportSocket.newBuilder()
        .setName(XdsTranslator.TLS_TRANSPORT_SOCKET)
        .setTypedConfig(Any.pack(tls))
        .build();
  }

  /**
   * The name of the transport socket match of a static host that sends an SNI other than the cluster's
   * ({@code <sni>;<addr>:<port>}, as Gloo names it), or null when the host uses the cluster's socket.
   */
  static String hostSniMatch(UpstreamCluster u, Upstream.StaticHost h) {
    if (h.sniAddr() == null || h.sniAddr().equals(u.sni())) {
      return null;
    }
    return h.sniAddr() + ";" + h.addr() + ":" + h.port();
  }

  /** The metadata (and match) {@code {<name>: true}} that ties a host to its transport socket. */
  static Struct matchStruct(String name) {
    return Struct.newBuilder().putFields(name, Value.newBuilder().setBoolValue(true).build()).build();
  }

  /** The cluster's TLS context with the host's SNI, chosen for the host by its metadata. */
  static Cluster.TransportSocketMatch hostTransportSocket(UpstreamCluster u, Upstream.StaticHost h, String name) {
    return Cluster.TransportSocketMatch.newBuilder()
        .setName(name)
        .setMatch(matchStruct(name))
        .setTransportSocket(transportSocket(upstreamTlsContext(u).toBuilder().setSni(h.sniAddr()).build()))
        .build();
  }

  /**
   * The TLS context of a TLS cluster: its SNI, and from its {@code sslConfig} the client certificate (unless
   * {@code oneWayTls}), the root CA that verifies the backend (with its subject alternative names), the TLS
   * parameters, ALPN and renegotiation, built by the same {@link TlsContexts#common} as the listeners'. Without an
   * {@code sslConfig} only the SNI.
   */
  static UpstreamTlsContext upstreamTlsContext(UpstreamCluster u) {
    UpstreamTlsContext.Builder tls = UpstreamTlsContext.newBuilder();
    if (u.sni() != null) {
      tls.setSni(u.sni());
    }
    UpstreamSslConfig ssl = u.sslConfig();
    if (ssl == null) {
      return tls.build();
    }
    tls.setAllowRenegotiation(ssl.allowRenegotiation());
    boolean certificate;
    boolean validation;
    if (ssl.source() instanceof TlsSecretSource.SecretRef) {
      // Which parts the secret has, gateway translation worked out from its view.
      certificate = u.secret() != null && u.secret().certificate();
      validation = u.secret() != null && u.secret().validation();
    } else {
      // Files: the pair unless oneWayTls, the root CA when named. An external SDS server: what it is asked for, as
      // Gloo applies no oneWayTls there.
      certificate = ssl.source() instanceof TlsSecretSource.Sds || !ssl.oneWayTls();
      validation = true;
    }
    CommonTlsContext common = TlsContexts.common(ssl.source(), certificate, validation, ssl.verifySubjectAltName(),
        ssl.parameters()).addAllAlpnProtocols(ssl.alpnProtocols()).build();
    if (!common.equals(CommonTlsContext.getDefaultInstance())) {
      tls.setCommonTlsContext(common);
    }
    return tls.build();
  }
}
