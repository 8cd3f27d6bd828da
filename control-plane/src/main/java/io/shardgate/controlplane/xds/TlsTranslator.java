package io.shardgate.controlplane.xds;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.grpc_credential.v3.FileBasedMetadataConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.shardgate.sharding.ir.SecretUse;
import io.shardgate.sharding.ir.UpstreamCluster;
import io.shardgate.sharding.model.TlsSecretSource;
import io.shardgate.sharding.model.UpstreamSslConfig;
import java.util.List;

/**
 * xDS translation of TLS settings: an Upstream's {@code sslConfig} to an Envoy {@code UpstreamTlsContext}, and the
 * pieces any TLS context is made of (TLS parameters, subject alternative name matchers, SDS references to Shardgate
 * over ADS or to an external SDS server), which the listeners' TLS contexts use too.
 *
 * <p>Certificates never appear inline: a {@code secretRef} becomes SDS references ({@link XdsNames#certificateSecret},
 * {@link XdsNames#validationSecret}) that the shard's SDS resources answer; {@code sslFiles} stay file names Envoy
 * reads; {@code sds} points Envoy at the external server.
 *
 * <p>Stage: xDS translation. Pure functions (no clock, no I/O, no fields); thread-safe.
 */
public final class TlsTranslator {

  /** Envoy's gRPC call credentials plugin that sends a token read from a file, as Gloo's {@code callCredentials}. */
  static final String FILE_BASED_METADATA = "envoy.grpc_credentials.file_based_metadata";
  /**
   * The SAN types a name in {@code verifySubjectAltName} is matched against: Gloo's untyped matcher matches any of
   * them, so Shardgate lists the name once per type.
   */
  private static final List<SubjectAltNameMatcher.SanType> SAN_TYPES = List.of(
      SubjectAltNameMatcher.SanType.DNS,
      SubjectAltNameMatcher.SanType.URI,
      SubjectAltNameMatcher.SanType.EMAIL,
      SubjectAltNameMatcher.SanType.IP_ADDRESS);

  private TlsTranslator() {}

  /** The {@code envoy.transport_sockets.tls} transport socket of a TLS cluster. */
  static TransportSocket upstreamTransportSocket(UpstreamCluster u) {
    return TransportSocket.newBuilder()
        .setName(XdsTranslator.TLS_TRANSPORT_SOCKET)
        .setTypedConfig(Any.pack(upstreamTlsContext(u)))
        .build();
  }

  /**
   * The TLS context of a TLS cluster: its SNI, and from its {@code sslConfig} the client certificate (unless
   * {@code oneWayTls}), the root CA that verifies the backend (with its subject alternative names), the TLS
   * parameters, ALPN and renegotiation. Without an {@code sslConfig} only the SNI.
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
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder();
    List<String> sans = ssl.verifySubjectAltName();
    if (ssl.source() instanceof TlsSecretSource.SecretRef) {
      SecretUse use = u.secret();
      if (use != null && use.certificate()) {
        common.addTlsCertificateSdsSecretConfigs(adsSecret(XdsNames.certificateSecret(use.secret())));
      }
      if (use != null && use.validation()) {
        validation(common, adsSecret(XdsNames.validationSecret(use.secret())), sans);
      }
    } else if (ssl.source() instanceof TlsSecretSource.Files f) {
      if (f.tlsCert() != null && f.tlsKey() != null && !ssl.oneWayTls()) {
        common.addTlsCertificates(
            TlsCertificate.newBuilder().setCertificateChain(file(f.tlsCert())).setPrivateKey(file(f.tlsKey())));
      }
      if (f.rootCa() != null) {
        common.setValidationContext(
            CertificateValidationContext.newBuilder()
                .setTrustedCa(file(f.rootCa()))
                .addAllMatchTypedSubjectAltNames(subjectAltNames(sans)));
      }
    } else if (ssl.source() instanceof TlsSecretSource.Sds sds) {
      // As in Gloo, oneWayTls does not apply to an external SDS server: its certificate is what it serves.
      if (sds.certificatesSecretName() != null) {
        common.addTlsCertificateSdsSecretConfigs(externalSdsSecret(sds.certificatesSecretName(), sds));
      }
      if (sds.validationContextName() != null) {
        validation(common, externalSdsSecret(sds.validationContextName(), sds), sans);
      }
    }
    if (ssl.parameters() != null) {
      common.setTlsParams(tlsParameters(ssl.parameters()));
    }
    common.addAllAlpnProtocols(ssl.alpnProtocols());
    CommonTlsContext built = common.build();
    if (!built.equals(CommonTlsContext.getDefaultInstance())) {
      tls.setCommonTlsContext(built);
    }
    return tls.build();
  }

  /**
   * A validation context served over SDS: as it is, or, when subject alternative names must match, combined with a
   * default context that carries the matchers (the SDS resource has only the CA).
   */
  static void validation(CommonTlsContext.Builder common, SdsSecretConfig ca, List<String> subjectAltNames) {
    if (subjectAltNames.isEmpty()) {
      common.setValidationContextSdsSecretConfig(ca);
      return;
    }
    common.setCombinedValidationContext(
        CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
            .setDefaultValidationContext(
                CertificateValidationContext.newBuilder()
                    .addAllMatchTypedSubjectAltNames(subjectAltNames(subjectAltNames)))
            .setValidationContextSdsSecretConfig(ca));
  }

  /** Each name, exact, once per SAN type (see {@link #SAN_TYPES}); in the order given. */
  static List<SubjectAltNameMatcher> subjectAltNames(List<String> names) {
    return names.stream()
        .flatMap(n -> SAN_TYPES.stream().map(t -> SubjectAltNameMatcher.newBuilder()
            .setSanType(t)
            .setMatcher(StringMatcher.newBuilder().setExact(n))
            .build()))
        .toList();
  }

  /** A secret Shardgate serves itself, over ADS. */
  static SdsSecretConfig adsSecret(String name) {
    return SdsSecretConfig.newBuilder().setName(name).setSdsConfig(XdsTranslator.adsConfigSource()).build();
  }

  /**
   * A secret of an external SDS server: Envoy gRPC to the bootstrap cluster {@code clusterName}, else Google gRPC to
   * {@code targetUri} (with the token file of {@code callCredentials}, when given), as Gloo builds it.
   */
  static SdsSecretConfig externalSdsSecret(String name, TlsSecretSource.Sds sds) {
    GrpcService.Builder grpc = GrpcService.newBuilder();
    if (sds.clusterName() != null && !sds.clusterName().isEmpty()) {
      grpc.setEnvoyGrpc(GrpcService.EnvoyGrpc.newBuilder().setClusterName(sds.clusterName()));
    } else {
      GrpcService.GoogleGrpc.Builder google =
          GrpcService.GoogleGrpc.newBuilder().setTargetUri(sds.targetUri()).setStatPrefix(name);
      TlsSecretSource.CallCredentials cc = sds.callCredentials();
      if (cc != null) {
        FileBasedMetadataConfig.Builder token =
            FileBasedMetadataConfig.newBuilder().setSecretData(file(cc.tokenFileName()));
        if (cc.header() != null) {
          token.setHeaderKey(cc.header());
        }
        google
            .setChannelCredentials(
                GrpcService.GoogleGrpc.ChannelCredentials.newBuilder()
                    .setLocalCredentials(GrpcService.GoogleGrpc.GoogleLocalCredentials.getDefaultInstance()))
            .setCredentialsFactoryName(FILE_BASED_METADATA)
            .addCallCredentials(
                GrpcService.GoogleGrpc.CallCredentials.newBuilder()
                    .setFromPlugin(
                        GrpcService.GoogleGrpc.CallCredentials.MetadataCredentialsFromPlugin.newBuilder()
                            .setName(FILE_BASED_METADATA)
                            .setTypedConfig(Any.pack(token.build()))));
      }
      grpc.setGoogleGrpc(google);
    }
    return SdsSecretConfig.newBuilder()
        .setName(name)
        .setSdsConfig(
            ConfigSource.newBuilder()
                .setResourceApiVersion(ApiVersion.V3)
                .setApiConfigSource(
                    ApiConfigSource.newBuilder()
                        .setApiType(ApiConfigSource.ApiType.GRPC)
                        .setTransportApiVersion(ApiVersion.V3)
                        .addGrpcServices(grpc)))
        .build();
  }

  /** Gloo's TLS versions (its enum names equal Envoy's), cipher suites and ECDH curves. */
  static TlsParameters tlsParameters(io.shardgate.sharding.model.TlsParameters p) {
    TlsParameters.Builder b = TlsParameters.newBuilder()
        .addAllCipherSuites(p.cipherSuites())
        .addAllEcdhCurves(p.ecdhCurves());
    if (p.minimumProtocolVersion() != null) {
      b.setTlsMinimumProtocolVersion(TlsParameters.TlsProtocol.valueOf(p.minimumProtocolVersion()));
    }
    if (p.maximumProtocolVersion() != null) {
      b.setTlsMaximumProtocolVersion(TlsParameters.TlsProtocol.valueOf(p.maximumProtocolVersion()));
    }
    return b.build();
  }

  private static DataSource file(String path) {
    return DataSource.newBuilder().setFilename(path).build();
  }
}
