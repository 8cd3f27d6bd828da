package io.shardgate.sharding.model;

import java.util.List;

/**
 * Gloo's {@code UpstreamSslConfig} on an Upstream: how Envoy speaks TLS to the Upstream's hosts. Immutable value.
 *
 * <p>Gloo's meaning, which Shardgate keeps: a secret (or files) with a certificate and key makes Envoy present that
 * client certificate (mutual TLS to the backend) unless {@code oneWayTls}; a root CA makes Envoy verify the backend's
 * certificate against it (and, with {@code verifySubjectAltName}, its subject alternative names); a secret with only a
 * root CA verifies without presenting anything. With no source at all Envoy encrypts and verifies nothing.
 *
 * @param source {@code secretRef}, {@code sslFiles} or {@code sds}; null when none is set
 * @param sni the server name Envoy sends, or null
 * @param verifySubjectAltName names the backend's certificate must carry (any of them); needs a root CA
 * @param parameters TLS versions, cipher suites and curves, or null for Envoy's defaults
 * @param alpnProtocols the ALPN protocols Envoy offers, in order; empty for none (Gloo sets no default upstream)
 * @param allowRenegotiation whether the backend may renegotiate TLS
 * @param oneWayTls whether Envoy presents no client certificate even when the source has one (not with {@code sds},
 *     where Gloo ignores it)
 */
public record UpstreamSslConfig(
    TlsSecretSource source,
    String sni,
    List<String> verifySubjectAltName,
    TlsParameters parameters,
    List<String> alpnProtocols,
    boolean allowRenegotiation,
    boolean oneWayTls) {

  public UpstreamSslConfig {
    sni = sni == null || sni.isEmpty() ? null : sni;
    verifySubjectAltName = verifySubjectAltName == null ? List.of() : List.copyOf(verifySubjectAltName);
    alpnProtocols = alpnProtocols == null ? List.of() : List.copyOf(alpnProtocols);
  }

  /** Only a server name: TLS that presents and verifies nothing (what {@code useTls} or port 443 alone give). */
  public static UpstreamSslConfig sniOnly(String sni) {
    return new UpstreamSslConfig(null, sni, List.of(), null, List.of(), false, false);
  }

  /** The secret this configuration reads, when its source is a {@code secretRef}; else null. */
  public ResourceRef secretRef() {
    return source instanceof TlsSecretSource.SecretRef s ? s.ref() : null;
  }
}
