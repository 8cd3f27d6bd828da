package io.shardgate.controlplane.app;

import io.grpc.ServerBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.micronaut.context.annotation.Value;
import io.micronaut.context.event.BeanCreatedEvent;
import io.micronaut.context.event.BeanCreatedEventListener;
import io.micronaut.context.exceptions.ConfigurationException;
import io.shardgate.controlplane.security.RoleIdentityInterceptor;
import io.shardgate.controlplane.security.ServeSecurity;
import io.shardgate.controlplane.security.XdsTlsCredentials;
import io.shardgate.controlplane.security.XdsTlsFiles;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Secures Micronaut's gRPC server before it starts (docs/security.md): with {@link ServeSecurity#XDS_TLS_CERT} and
 * {@link ServeSecurity#XDS_TLS_KEY} the xDS port speaks TLS only, with {@link ServeSecurity#XDS_TLS_CLIENT_CA} every
 * client must present a certificate that CA signs, and with {@link ServeSecurity#XDS_REQUIRE_ROLE_IDENTITY} the
 * {@link RoleIdentityInterceptor} checks every request against it. Micronaut's own {@code grpc.server.ssl.*} options
 * cannot ask for client certificates, so this customizes the Netty builder instead.
 *
 * <p>The TLS files are checked for changes every {@link ServeSecurity#XDS_TLS_RELOAD_INTERVAL}; see
 * {@link XdsTlsCredentials}. Stateful (the credentials and their watcher, stopped with the context); thread-safe.
 */
@Singleton
public class XdsServerSecurity implements BeanCreatedEventListener<ServerBuilder<?>> {

  private static final Logger LOG = LoggerFactory.getLogger(XdsServerSecurity.class);

  private final XdsTlsFiles files;
  private final boolean requireRoleIdentity;
  private final String trustDomain;
  private final Duration reloadInterval;
  private volatile XdsTlsCredentials credentials;

  public XdsServerSecurity(
      @Value("${" + ServeSecurity.XDS_TLS_CERT + ":}") String cert,
      @Value("${" + ServeSecurity.XDS_TLS_KEY + ":}") String key,
      @Value("${" + ServeSecurity.XDS_TLS_CLIENT_CA + ":}") String clientCa,
      @Value("${" + ServeSecurity.XDS_REQUIRE_ROLE_IDENTITY + ":false}") boolean requireRoleIdentity,
      @Value("${" + ServeSecurity.XDS_TRUST_DOMAIN + ":}") String trustDomain,
      @Value("${" + ServeSecurity.XDS_TLS_RELOAD_INTERVAL + ":10s}") Duration reloadInterval) {
    if (cert.isBlank() != key.isBlank()) {
      throw new ConfigurationException("xDS TLS needs both " + ServeSecurity.XDS_TLS_CERT + " and "
          + ServeSecurity.XDS_TLS_KEY + " (--xds-tls-cert and --xds-tls-key)");
    }
    this.files = cert.isBlank() ? null
        : new XdsTlsFiles(Path.of(cert), Path.of(key), clientCa.isBlank() ? null : Path.of(clientCa));
    if (requireRoleIdentity && (files == null || !files.mutual())) {
      throw new ConfigurationException(ServeSecurity.XDS_REQUIRE_ROLE_IDENTITY + " (--xds-require-role-identity)"
          + " needs mutual TLS: set the xDS certificate, key and client CA");
    }
    this.requireRoleIdentity = requireRoleIdentity;
    this.trustDomain = trustDomain.isBlank() ? null : trustDomain;
    this.reloadInterval = reloadInterval;
  }

  @Override
  public ServerBuilder<?> onCreated(BeanCreatedEvent<ServerBuilder<?>> event) {
    ServerBuilder<?> builder = event.getBean();
    if (files == null) {
      return builder;
    }
    if (!(builder instanceof NettyServerBuilder netty)) {
      throw new ConfigurationException("xDS TLS needs grpc-netty's server builder, but the gRPC server is built with "
          + builder.getClass().getName());
    }
    XdsTlsCredentials loaded = XdsTlsCredentials.load(files);
    netty.sslContext(loaded.serverSslContext());
    if (requireRoleIdentity) {
      netty.intercept(new RoleIdentityInterceptor(trustDomain));
    }
    loaded.watch(reloadInterval);
    credentials = loaded;
    LOG.info("xDS: TLS with the certificate in {}{}{}", files.certFile(),
        files.mutual() ? ", client certificates required (CA " + files.clientCaFile() + ")" : "",
        requireRoleIdentity ? ", each Envoy served only the role its certificate names" : "");
    return builder;
  }

  /** The credentials in use, or null without TLS. */
  public XdsTlsCredentials credentials() {
    return credentials;
  }

  @PreDestroy
  void close() {
    XdsTlsCredentials loaded = credentials;
    if (loaded != null) {
      loaded.close();
    }
  }
}
