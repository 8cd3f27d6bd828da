package io.shardgate.controlplane.security;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where the xDS server's TLS material lives: its certificate chain and private key ({@code --xds-tls-cert},
 * {@code --xds-tls-key}) and, for mutual TLS, the CA bundle that client certificates must chain to
 * ({@code --xds-tls-client-ca}). Immutable value.
 *
 * @param certFile PEM certificate chain, leaf first
 * @param keyFile PEM private key of the leaf (PKCS#8, or PKCS#1 RSA / SEC1 EC as cert-manager writes them)
 * @param clientCaFile PEM CA bundle for client certificates, or {@code null} for TLS without client certificates
 */
public record XdsTlsFiles(Path certFile, Path keyFile, Path clientCaFile) {

  public static final String CERT_OPTION = "--xds-tls-cert";
  public static final String KEY_OPTION = "--xds-tls-key";
  public static final String CLIENT_CA_OPTION = "--xds-tls-client-ca";

  public XdsTlsFiles {
    Objects.requireNonNull(certFile, "certFile");
    Objects.requireNonNull(keyFile, "keyFile");
  }

  /** Whether clients must present a certificate the client CA signs. */
  public boolean mutual() {
    return clientCaFile != null;
  }
}
