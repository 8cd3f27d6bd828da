package io.shardgate.controlplane.xds;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.grpc_credential.v3.FileBasedMetadataConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.shardgate.sharding.ir.ProxyFilterChain;
import io.shardgate.sharding.model.IpLiterals;
import io.shardgate.sharding.model.SslConfig;
import io.shardgate.sharding.model.TlsSecretSource;
import java.util.List;

/**
 * Envoy TLS contexts from Shardgate's TLS settings: where the certificate and the CA come from (a {@code secretRef}
 * served by Shardgate over SDS on the ADS stream, files on the Envoy host, or an external SDS server), subject
 * alternative names, TLS parameters and ALPN. Certificates are never inlined: a {@code secretRef} becomes the SDS
 * names {@link XdsNames#certificateSecret} and {@link XdsNames#validationSecret}.
 *
 * <p>Stage: xDS translation. Pure and thread-safe.
 */
final class TlsContexts {

  /** Gloo's downstream ALPN default. */
  static final List<String> DEFAULT_DOWNSTREAM_ALPN = List.of("h2", "http/1.1");

  /** An {@code alpnProtocols} of only this value offers no ALPN at all (Gloo's escape hatch). */
  static final String ALPN_ALLOW_EMPTY = "allow_empty";

  private static final String FILE_BASED_METADATA = "envoy.grpc_credentials.file_based_metadata";

  private TlsContexts() {}

  /**
   * The DownstreamTlsContext of one filter chain of an SSL listener: Gloo's, except that a {@code secretRef}'s
   * certificate and CA come over SDS instead of inline. Client certificates are required and verified exactly when
   * the chain says so ({@link ProxyFilterChain#requiresClientCertificate}); otherwise no CA is sent, so Envoy does
   * not even ask for one.
   */
  static DownstreamTlsContext downstream(ProxyFilterChain chain) {
    SslConfig c = chain.sslConfig();
    boolean validate = chain.requiresClientCertificate();
    CommonTlsContext.Builder common =
        common(c.source(), true, validate, validate ? c.verifySubjectAltName() : List.of(), c.parameters());
    List<String> alpn = c.alpnProtocols().isEmpty() ? DEFAULT_DOWNSTREAM_ALPN
        : c.alpnProtocols().equals(List.of(ALPN_ALLOW_EMPTY)) ? List.of() : c.alpnProtocols();
    common.addAllAlpnProtocols(alpn);
    DownstreamTlsContext.Builder out = DownstreamTlsContext.newBuilder().setCommonTlsContext(common);
    if (validate) {
      out.setRequireClientCertificate(BoolValue.of(true));
    }
    if (Boolean.TRUE.equals(c.disableTlsSessionResumption())) {
      out.setDisableStatelessSessionResumption(true);
    }
    if (c.ocspStaplePolicy() != null) {
      out.setOcspStaplePolicy(DownstreamTlsContext.OcspStaplePolicy.valueOf(c.ocspStaplePolicy()));
    }
    return out.build();
  }

  /**
   * The common part of a TLS context for {@code source}: the certificate (and key) when {@code certificate}, the CA
   * that verifies the peer when {@code validation} (matching {@code subjectAltNames}, when there are any), and
   * {@code parameters}. Shared by downstream (listeners) and upstream (clusters) TLS.
   */
  static CommonTlsContext.Builder common(TlsSecretSource source, boolean certificate, boolean validation,
      List<String> subjectAltNames, io.shardgate.sharding.model.TlsParameters parameters) {
    CommonTlsContext.Builder b = CommonTlsContext.newBuilder();
    CertificateValidationContext sans = subjectAltNames(subjectAltNames);
    if (source instanceof TlsSecretSource.SecretRef r) {
      if (certificate) {
        b.addTlsCertificateSdsSecretConfigs(sds(XdsNames.certificateSecret(r.ref()), XdsTranslator.adsConfigSource()));
      }
      if (validation) {
        validation(b, sds(XdsNames.validationSecret(r.ref()), XdsTranslator.adsConfigSource()), sans);
      }
    } else if (source instanceof TlsSecretSource.Files f) {
      if (certificate && f.tlsCert() != null) {
        TlsCertificate.Builder cert = TlsCertificate.newBuilder()
            .setCertificateChain(file(f.tlsCert()))
            .setPrivateKey(file(f.tlsKey()));
        if (f.ocspStaple() != null) {
          cert.setOcspStaple(file(f.ocspStaple()));
        }
        b.addTlsCertificates(cert);
      }
      if (validation && f.rootCa() != null) {
        b.setValidationContext(sans == null ? CertificateValidationContext.newBuilder().setTrustedCa(file(f.rootCa()))
            : sans.toBuilder().setTrustedCa(file(f.rootCa())));
      }
    } else if (source instanceof TlsSecretSource.Sds s) {
      if (certificate && s.certificatesSecretName() != null) {
        b.addTlsCertificateSdsSecretConfigs(sds(s.certificatesSecretName(), external(s, s.certificatesSecretName())));
      }
      if (validation && s.validationContextName() != null) {
        validation(b, sds(s.validationContextName(), external(s, s.validationContextName())), sans);
      }
    }
    if (parameters != null) {
      b.setTlsParams(parameters(parameters));
    }
    return b;
  }

  private static void validation(CommonTlsContext.Builder b, SdsSecretConfig ca, CertificateValidationContext sans) {
    if (sans == null) {
      b.setValidationContextSdsSecretConfig(ca);
    } else {
      b.setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
          .setDefaultValidationContext(sans)
          .setValidationContextSdsSecretConfig(ca));
    }
  }

  /**
   * The peer's certificate must carry one of these names, or null when any will do. Gloo matches a name against
   * every SAN; Envoy's typed matcher needs the SAN's type, so it is told by the name's form: a URI (with
   * {@code ://}, as SPIFFE IDs), an e-mail address, an IP address, else a DNS name.
   */
  private static CertificateValidationContext subjectAltNames(List<String> names) {
    if (names.isEmpty()) {
      return null;
    }
    CertificateValidationContext.Builder v = CertificateValidationContext.newBuilder();
    for (String name : names) {
      SubjectAltNameMatcher.SanType type = name.contains("://") ? SubjectAltNameMatcher.SanType.URI
          : name.contains("@") ? SubjectAltNameMatcher.SanType.EMAIL
          : IpLiterals.isIp(name) ? SubjectAltNameMatcher.SanType.IP_ADDRESS
          : SubjectAltNameMatcher.SanType.DNS;
      v.addMatchTypedSubjectAltNames(SubjectAltNameMatcher.newBuilder()
          .setSanType(type)
          .setMatcher(StringMatcher.newBuilder().setExact(name)));
    }
    return v.build();
  }

  static TlsParameters parameters(io.shardgate.sharding.model.TlsParameters p) {
    TlsParameters.Builder b = TlsParameters.newBuilder()
        .addAllCipherSuites(p.cipherSuites())
        .addAllEcdhCurves(p.ecdhCurves());
    // Gloo's ProtocolVersion names are Envoy's TlsProtocol names.
    if (p.minimumProtocolVersion() != null) {
      b.setTlsMinimumProtocolVersion(TlsParameters.TlsProtocol.valueOf(p.minimumProtocolVersion()));
    }
    if (p.maximumProtocolVersion() != null) {
      b.setTlsMaximumProtocolVersion(TlsParameters.TlsProtocol.valueOf(p.maximumProtocolVersion()));
    }
    return b.build();
  }

  static SdsSecretConfig sds(String name, ConfigSource source) {
    return SdsSecretConfig.newBuilder().setName(name).setSdsConfig(source).build();
  }

  private static DataSource file(String path) {
    return DataSource.newBuilder().setFilename(path).build();
  }

  /**
   * The config source of an external SDS server, as Gloo builds it: with call credentials, a Google gRPC channel to
   * {@code targetUri} that sends the token file's content in a header; else Google gRPC to {@code targetUri} when no
   * cluster is named; else Envoy gRPC to the bootstrap cluster {@code clusterName}.
   */
  private static ConfigSource external(TlsSecretSource.Sds s, String statPrefix) {
    GrpcService.Builder grpc = GrpcService.newBuilder();
    if (s.callCredentials() != null) {
      FileBasedMetadataConfig.Builder metadata = FileBasedMetadataConfig.newBuilder()
          .setSecretData(file(s.callCredentials().tokenFileName()));
      if (s.callCredentials().header() != null) {
        metadata.setHeaderKey(s.callCredentials().header());
      }
      grpc.setGoogleGrpc(GrpcService.GoogleGrpc.newBuilder()
          .setTargetUri(s.targetUri())
          .setStatPrefix("sds")
          .setChannelCredentials(GrpcService.GoogleGrpc.ChannelCredentials.newBuilder()
              .setLocalCredentials(GrpcService.GoogleGrpc.GoogleLocalCredentials.getDefaultInstance()))
          .setCredentialsFactoryName(FILE_BASED_METADATA)
          .addCallCredentials(GrpcService.GoogleGrpc.CallCredentials.newBuilder()
              .setFromPlugin(GrpcService.GoogleGrpc.CallCredentials.MetadataCredentialsFromPlugin.newBuilder()
                  .setName(FILE_BASED_METADATA)
                  .setTypedConfig(Any.pack(metadata.build())))));
    } else if (s.clusterName() == null) {
      grpc.setGoogleGrpc(GrpcService.GoogleGrpc.newBuilder().setTargetUri(s.targetUri()).setStatPrefix(statPrefix));
    } else {
      grpc.setEnvoyGrpc(GrpcService.EnvoyGrpc.newBuilder().setClusterName(s.clusterName()));
    }
    return ConfigSource.newBuilder()
        .setResourceApiVersion(ApiVersion.V3)
        .setApiConfigSource(ApiConfigSource.newBuilder()
            .setApiType(ApiConfigSource.ApiType.GRPC)
            .setTransportApiVersion(ApiVersion.V3)
            .addGrpcServices(grpc))
        .build();
  }
}
