package io.shardgate.controlplane.security;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The security settings of {@code serve} (docs/security.md): where xDS listens, its TLS, the role identity rule, and
 * the extra Host names the admin API answers and what it answers peers that are not on loopback. Immutable value; the constructor rejects combinations that would not do
 * what they say, naming the command-line options.
 *
 * <p>{@link #properties()} turns it into the application properties that the server's wiring reads
 * ({@link #XDS_TLS_CERT} and the others), so the same settings can also come from {@code application.yml}.
 *
 * @param xdsAddress the address the gRPC xDS server binds to ({@code --xds-address}); default loopback
 * @param adminAllowedHosts Host names the admin API answers besides its defaults ({@code --admin-allowed-hosts})
 * @param xdsTls the xDS server's TLS files, or {@code null} for plaintext xDS
 * @param requireRoleIdentity whether each Envoy is served only the role its client certificate names
 *     ({@code --xds-require-role-identity}); needs mutual TLS
 * @param trustDomain the SPIFFE trust domain client identities must be in, or {@code null} for any the client CA
 *     signs ({@code --xds-trust-domain}); only with {@code requireRoleIdentity}
 */
public record ServeSecurity(
    String xdsAddress,
    List<String> adminAllowedHosts,
    XdsTlsFiles xdsTls,
    boolean requireRoleIdentity,
    String trustDomain,
    AdminRemoteAccess adminRemoteAccess) {

  public static final String DEFAULT_XDS_ADDRESS = "127.0.0.1";

  /** Micronaut gRPC's own bind address property. */
  public static final String XDS_ADDRESS = "grpc.server.host";
  public static final String ADMIN_ALLOWED_HOSTS = "shardgate.admin.allowed-hosts";
  /** {@link AdminRemoteAccess#value()} of the level; read by the admin API's access filter. */
  public static final String ADMIN_REMOTE_ACCESS = "shardgate.admin.remote-access";
  public static final String XDS_TLS_CERT = "shardgate.xds.tls.cert";
  public static final String XDS_TLS_KEY = "shardgate.xds.tls.key";
  public static final String XDS_TLS_CLIENT_CA = "shardgate.xds.tls.client-ca";
  /** How often the TLS files are checked for changes (a Micronaut duration such as {@code 10s}). */
  public static final String XDS_TLS_RELOAD_INTERVAL = "shardgate.xds.tls.reload-interval";
  public static final String XDS_REQUIRE_ROLE_IDENTITY = "shardgate.xds.require-role-identity";
  public static final String XDS_TRUST_DOMAIN = "shardgate.xds.trust-domain";

  /** SPIFFE trust domain names: lower-case letters, digits, '.', '-' and '_'. */
  private static final Pattern TRUST_DOMAIN = Pattern.compile("[a-z0-9._-]+");

  public ServeSecurity {
    if (xdsAddress == null || xdsAddress.isBlank()) {
      throw new IllegalArgumentException("--xds-address is empty: give the address the xDS server binds to, e.g."
          + " 127.0.0.1 (this host only) or 0.0.0.0 (every interface)");
    }
    adminAllowedHosts = List.copyOf(adminAllowedHosts);
    if (adminRemoteAccess == null) {
      adminRemoteAccess = AdminRemoteAccess.METRICS;
    }
    AdminHostPolicy.requireHostNames(adminAllowedHosts);
    if (requireRoleIdentity && (xdsTls == null || !xdsTls.mutual())) {
      throw new IllegalArgumentException("--xds-require-role-identity needs mutual TLS, so that every Envoy presents a"
          + " certificate: also pass --xds-tls-cert FILE --xds-tls-key FILE --xds-tls-client-ca FILE");
    }
    if (trustDomain != null) {
      if (!requireRoleIdentity) {
        throw new IllegalArgumentException("--xds-trust-domain only applies with --xds-require-role-identity");
      }
      if (!TRUST_DOMAIN.matcher(trustDomain).matches()) {
        throw new IllegalArgumentException("--xds-trust-domain \"" + AdminHostPolicy.printable(trustDomain)
            + "\" is not a SPIFFE trust domain: use lower-case letters, digits, '.', '-' and '_' (like cluster.local)");
      }
    }
  }

  /** The settings with the default {@link AdminRemoteAccess#METRICS} for peers that are not on loopback. */
  public ServeSecurity(String xdsAddress, List<String> adminAllowedHosts, XdsTlsFiles xdsTls,
      boolean requireRoleIdentity, String trustDomain) {
    this(xdsAddress, adminAllowedHosts, xdsTls, requireRoleIdentity, trustDomain, AdminRemoteAccess.METRICS);
  }

  /** Plaintext xDS on loopback, no extra admin Host names: what {@code serve} does without security options. */
  public static ServeSecurity defaults() {
    return new ServeSecurity(DEFAULT_XDS_ADDRESS, List.of(), null, false, null);
  }

  /** These settings with another {@code adminRemoteAccess}. */
  public ServeSecurity withAdminRemoteAccess(AdminRemoteAccess access) {
    return new ServeSecurity(xdsAddress, adminAllowedHosts, xdsTls, requireRoleIdentity, trustDomain, access);
  }

  /** These settings as application properties; absent settings are left out, so defaults apply. */
  public Map<String, Object> properties() {
    Map<String, Object> props = new LinkedHashMap<>();
    props.put(XDS_ADDRESS, xdsAddress);
    if (!adminAllowedHosts.isEmpty()) {
      props.put(ADMIN_ALLOWED_HOSTS, String.join(",", adminAllowedHosts));
    }
    if (xdsTls != null) {
      props.put(XDS_TLS_CERT, xdsTls.certFile().toAbsolutePath().normalize().toString());
      props.put(XDS_TLS_KEY, xdsTls.keyFile().toAbsolutePath().normalize().toString());
      if (xdsTls.mutual()) {
        props.put(XDS_TLS_CLIENT_CA, xdsTls.clientCaFile().toAbsolutePath().normalize().toString());
      }
    }
    props.put(ADMIN_REMOTE_ACCESS, adminRemoteAccess.value());
    props.put(XDS_REQUIRE_ROLE_IDENTITY, requireRoleIdentity);
    if (trustDomain != null) {
      props.put(XDS_TRUST_DOMAIN, trustDomain);
    }
    return props;
  }
}
