package io.shardgate.controlplane.e2e;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManagerFactory;

/**
 * An HTTPS backend on 127.0.0.1 (JDK {@link HttpsServer}, a free port) for the upstream TLS test: it serves a
 * test-made certificate, requires a client certificate issued by a given CA (mutual TLS from Envoy to the backend),
 * answers every request 200 with its name and path, and records, per request, the SNI the client sent and the
 * subject of the client certificate. Stopped by {@link #close()}.
 */
final class HttpsBackend implements AutoCloseable {

  /** What one request came with: the SNI host name (or empty) and the client certificate's subject (or empty). */
  record Seen(String sni, String clientSubject, String path) {}

  final int port;
  private final HttpsServer server;
  private final List<Seen> seen = new CopyOnWriteArrayList<>();

  private HttpsBackend(HttpsServer server) {
    this.server = server;
    this.port = server.getAddress().getPort();
  }

  /**
   * Starts a backend named {@code name} on a free loopback port, presenting {@code serverCertificate} and requiring
   * client certificates that chain to {@code clientCa}.
   */
  static HttpsBackend start(String name, TlsTestPki.Material serverCertificate, X509Certificate clientCa)
      throws IOException {
    SSLContext context = context(serverCertificate, clientCa);
    HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(context) {
      @Override
      public void configure(HttpsParameters params) {
        SSLParameters p = context.getDefaultSSLParameters();
        p.setNeedClientAuth(true);
        params.setSSLParameters(p);
      }
    });
    HttpsBackend backend = new HttpsBackend(server);
    server.createContext("/", exchange -> {
      try (exchange) {
        SSLSession session = ((HttpsExchange) exchange).getSSLSession();
        backend.seen.add(new Seen(sni(session), clientSubject(session), exchange.getRequestURI().getPath()));
        byte[] body = (name + " path=" + exchange.getRequestURI().getPath() + "\n").getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream os = exchange.getResponseBody()) {
          os.write(body);
        }
      }
    });
    server.start();
    return backend;
  }

  /** Every request seen so far, in order. */
  List<Seen> seen() {
    return List.copyOf(seen);
  }

  @Override
  public void close() {
    server.stop(0);
  }

  private static SSLContext context(TlsTestPki.Material serverCertificate, X509Certificate clientCa)
      throws IOException {
    try {
      char[] password = "test".toCharArray();
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      keys.setKeyEntry("server", serverCertificate.key(), password,
          new X509Certificate[] {serverCertificate.certificate()});
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keys, password);
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("client-ca", clientCa);
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot set up the backend's TLS", e);
    }
  }

  private static String sni(SSLSession session) {
    if (session instanceof ExtendedSSLSession extended) {
      for (SNIServerName n : extended.getRequestedServerNames()) {
        if (n instanceof SNIHostName host) {
          return host.getAsciiName();
        }
      }
    }
    return "";
  }

  private static String clientSubject(SSLSession session) {
    try {
      return session.getPeerCertificates()[0] instanceof X509Certificate c
          ? c.getSubjectX500Principal().getName() : "";
    } catch (SSLPeerUnverifiedException none) {
      return "";
    }
  }
}
