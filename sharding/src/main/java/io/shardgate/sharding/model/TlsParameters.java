package io.shardgate.sharding.model;

import java.util.List;

/**
 * Gloo's {@code sslConfig.parameters}: TLS versions, cipher suites and ECDH curves. Immutable value.
 *
 * @param minimumProtocolVersion Gloo's enum name ({@code TLS_AUTO}, {@code TLSv1_0} ... {@code TLSv1_3}), or null
 * @param maximumProtocolVersion likewise, or null
 * @param cipherSuites in preference order; empty for Envoy's defaults
 * @param ecdhCurves in preference order; empty for Envoy's defaults
 */
public record TlsParameters(String minimumProtocolVersion, String maximumProtocolVersion, List<String> cipherSuites,
    List<String> ecdhCurves) {

  public TlsParameters {
    cipherSuites = cipherSuites == null ? List.of() : List.copyOf(cipherSuites);
    ecdhCurves = ecdhCurves == null ? List.of() : List.copyOf(ecdhCurves);
  }
}
