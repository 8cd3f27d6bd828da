package io.shardgate.sharding.model;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Gloo's {@code sslConfig} of a VirtualService: how Envoy terminates TLS for its domains (downstream TLS). Decoded
 * and checked; normalized so that configurations Gloo treats alike are equal (a value at its default is null).
 * Immutable value.
 *
 * @param source where the certificate, key and client CA come from (never null)
 * @param sniDomains the SNI names its filter chain matches, as written; empty means "the VirtualService's domains"
 *     (Shardgate's default; Gloo's is every SNI). In the Proxy IR ({@code ProxyVirtualHost.sslConfig}) they are the
 *     resolved server names instead: lower-cased, sorted, and empty meaning every SNI
 * @param verifySubjectAltName client certificates must carry one of these subject alternative names; empty for any
 * @param parameters TLS versions, cipher suites and curves, or null for Envoy's defaults
 * @param alpnProtocols ALPN protocols offered, as written; empty for Gloo's default {@code h2, http/1.1}
 * @param oneWayTls true: never ask for a client certificate, even when a root CA is there; null when unset
 * @param disableTlsSessionResumption true: no stateless session resumption (session tickets); null when unset
 * @param transportSocketConnectTimeout how long the TLS handshake may take, or null for Envoy's default
 * @param ocspStaplePolicy {@code STRICT_STAPLING} or {@code MUST_STAPLE}; null for the default
 *     {@code LENIENT_STAPLING}
 */
public record SslConfig(
    TlsSecretSource source,
    List<String> sniDomains,
    List<String> verifySubjectAltName,
    TlsParameters parameters,
    List<String> alpnProtocols,
    Boolean oneWayTls,
    Boolean disableTlsSessionResumption,
    Duration transportSocketConnectTimeout,
    String ocspStaplePolicy) {

  public SslConfig {
    Objects.requireNonNull(source, "source");
    sniDomains = sniDomains == null ? List.of() : List.copyOf(sniDomains);
    verifySubjectAltName = verifySubjectAltName == null ? List.of() : List.copyOf(verifySubjectAltName);
    alpnProtocols = alpnProtocols == null ? List.of() : List.copyOf(alpnProtocols);
  }

  /** The same configuration matching {@code names} by SNI. */
  public SslConfig withSniDomains(List<String> names) {
    return new SslConfig(source, names, verifySubjectAltName, parameters, alpnProtocols, oneWayTls,
        disableTlsSessionResumption, transportSocketConnectTimeout, ocspStaplePolicy);
  }

  /**
   * The same configuration with {@code oneWayTls} taken from {@code dflt} when it is unset (Settings
   * {@code gateway.virtualServiceOptions.oneWayTls}, as Gloo applies it).
   */
  public SslConfig withOneWayTlsDefault(Boolean dflt) {
    if (oneWayTls != null || dflt == null) {
      return this;
    }
    return new SslConfig(source, sniDomains, verifySubjectAltName, parameters, alpnProtocols, dflt,
        disableTlsSessionResumption, transportSocketConnectTimeout, ocspStaplePolicy);
  }

  /** The secret Shardgate serves over SDS for this configuration, or null when Envoy gets it elsewhere. */
  public ResourceRef secretRef() {
    return source instanceof TlsSecretSource.SecretRef r ? r.ref() : null;
  }
}
