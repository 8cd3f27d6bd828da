package io.shardgate.sharding.model;

import java.util.Objects;

/**
 * Where the certificate (and key, and root CA) of one TLS configuration comes from: Gloo's {@code secretRef},
 * {@code sslFiles} or {@code sds} oneof, shared by a VirtualService's {@code sslConfig} (downstream) and an Upstream's
 * {@code sslConfig} (upstream). Immutable values.
 */
public sealed interface TlsSecretSource {

  /**
   * {@code secretRef}: a TLS secret Shardgate reads (a Kubernetes {@code kubernetes.io/tls} Secret, one of Gloo's TLS
   * secrets, or a secret of the directory source) and serves to Envoy over SDS.
   */
  record SecretRef(ResourceRef ref) implements TlsSecretSource {
    public SecretRef {
      Objects.requireNonNull(ref, "ref");
    }
  }

  /**
   * {@code sslFiles}: paths on the Envoy host; Envoy reads them itself.
   *
   * @param tlsCert the certificate chain (PEM), or null
   * @param tlsKey the private key (PEM), or null
   * @param rootCa the CA that verifies the peer (PEM), or null
   * @param ocspStaple the OCSP response to staple (DER), or null
   */
  record Files(String tlsCert, String tlsKey, String rootCa, String ocspStaple) implements TlsSecretSource {}

  /**
   * {@code sds}: an SDS server other than Shardgate (for example an Istio or SPIFFE agent next to Envoy).
   *
   * @param targetUri the server's address for a Google gRPC channel, used when {@code clusterName} is null
   * @param clusterName a cluster of the Envoy bootstrap that reaches the server, or null
   * @param certificatesSecretName the SDS name of the certificate, or null
   * @param validationContextName the SDS name of the validation context, or null
   * @param callCredentials a token file sent with each call, or null
   */
  record Sds(String targetUri, String clusterName, String certificatesSecretName, String validationContextName,
      CallCredentials callCredentials) implements TlsSecretSource {}

  /** {@code sds.callCredentials.fileCredentialSource}: a token file and the header that carries it. */
  record CallCredentials(String tokenFileName, String header) {}
}
