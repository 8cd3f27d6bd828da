package io.shardgate.controlplane.cli;

import io.shardgate.controlplane.security.AdminRemoteAccess;
import io.shardgate.controlplane.security.ServeSecurity;
import io.shardgate.controlplane.security.XdsTlsFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The security options of {@code serve} (docs/security.md), as a picocli mixin; {@link #toSecurity()} checks them. */
final class ServeSecurityOptions {

  @Option(names = "--xds-address", paramLabel = "ADDR", defaultValue = ServeSecurity.DEFAULT_XDS_ADDRESS,
      description = "Address the gRPC xDS server binds to (default: ${DEFAULT-VALUE}, this host only; 0.0.0.0,"
          + " :: or a pod IP to serve Envoys elsewhere).")
  String xdsAddress;

  @Option(names = "--admin-allowed-hosts", paramLabel = "HOST", split = ",",
      description = "More Host names the admin API answers, e.g. shardgate.example.com or localhost:8888 (default:"
          + " its bind address, and localhost when on loopback; any IP address when bound to 0.0.0.0 or ::).")
  List<String> adminAllowedHosts = new ArrayList<>();

  @Option(names = AdminRemoteAccess.OPTION, paramLabel = "LEVEL", defaultValue = "metrics",
      description = "What the admin API answers requests from outside this host (not from loopback): health (GET"
          + " /healthz /livez /ready /readyz, for the kubelet's probes), metrics (those and /metrics, for Prometheus;"
          + " default: ${DEFAULT-VALUE}) or all. Anything else gets 403; read it through `kubectl port-forward`."
          + " Loopback peers get everything.")
  String adminRemoteAccess;

  @Option(names = XdsTlsFiles.CERT_OPTION, paramLabel = "FILE",
      description = "PEM certificate chain of the xDS server; with --xds-tls-key, xDS is served over TLS only.")
  Path xdsTlsCert;

  @Option(names = XdsTlsFiles.KEY_OPTION, paramLabel = "FILE",
      description = "PEM private key of --xds-tls-cert (PKCS#8, PKCS#1 RSA or SEC1 EC, unencrypted).")
  Path xdsTlsKey;

  @Option(names = XdsTlsFiles.CLIENT_CA_OPTION, paramLabel = "FILE",
      description = "PEM CA bundle: every xDS client must present a certificate it signs (mutual TLS).")
  Path xdsTlsClientCa;

  @Option(names = "--xds-require-role-identity",
      description = "Serve each Envoy only the role its client certificate names: the URI SAN spiffe://<trust-domain>"
          + "/ns/<writeNamespace>/sa/<proxyName> or the DNS SAN <proxyName>.<writeNamespace> (needs"
          + " --xds-tls-client-ca).")
  boolean requireRoleIdentity;

  @Option(names = "--xds-trust-domain", paramLabel = "DOMAIN",
      description = "With --xds-require-role-identity: accept SPIFFE IDs of this trust domain only (default: any"
          + " that the client CA signs).")
  String trustDomain;

  /**
   * The checked settings.
   *
   * @throws IllegalArgumentException naming the options that do not fit together
   */
  ServeSecurity toSecurity() {
    XdsTlsFiles tls = null;
    if (xdsTlsCert != null || xdsTlsKey != null) {
      if (xdsTlsCert == null || xdsTlsKey == null) {
        throw new IllegalArgumentException("xDS TLS needs both --xds-tls-cert FILE and --xds-tls-key FILE; only "
            + (xdsTlsCert == null ? "--xds-tls-key" : "--xds-tls-cert") + " was given");
      }
      tls = new XdsTlsFiles(xdsTlsCert, xdsTlsKey, xdsTlsClientCa);
    } else if (xdsTlsClientCa != null) {
      throw new IllegalArgumentException("--xds-tls-client-ca needs TLS: also pass --xds-tls-cert FILE and"
          + " --xds-tls-key FILE, the xDS server's own certificate and key");
    }
    return new ServeSecurity(xdsAddress, adminAllowedHosts, tls, requireRoleIdentity, trustDomain,
        AdminRemoteAccess.parse(adminRemoteAccess));
  }
}
