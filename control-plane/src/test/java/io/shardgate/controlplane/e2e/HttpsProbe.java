package io.shardgate.controlplane.e2e;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * An HTTPS client for the end-to-end tests: connects to 127.0.0.1:port, sends the SNI it is given (or none), and
 * reports the certificate the server presented, the HTTP/1.1 answer, or how the connection failed.
 *
 * <p>Two kinds: {@link #trusting} verifies the server like a browser would (chain to the given CA, and the
 * certificate's subject alternative names against the SNI), {@link #recordingAnything} accepts any certificate and
 * only records it, for asserting what a server presents to a client it should not serve. Either may present a
 * client certificate ({@link #withClientCertificate}).
 *
 * <p>Every connection gets a fresh {@link SSLContext}, so there is no TLS session resumption: each handshake is a
 * full one and shows the certificate the server has now, which is what a rotation test must see. Thread-safe: a probe
 * is immutable, and each connection has its own state.
 */
final class HttpsProbe {

  private static final int CONNECT_TIMEOUT_MS = 5_000;
  private static final int READ_TIMEOUT_MS = 10_000;

  /**
   * What one connection came to.
   *
   * @param presented the server's leaf certificate, null if the server presented none (closed before)
   * @param presentedAt {@link System#nanoTime()} when the client received it (during the handshake), 0 if never
   * @param response the HTTP answer, null if there was none
   * @param failure why there was no answer, null if there was one
   */
  record Outcome(X509Certificate presented, long presentedAt, RawHttp.Response response, IOException failure) {

    /** The presented certificate's subject ({@code CN=...}), or {@code (none)}. */
    String presentedSubject() {
      return presented == null ? "(none)" : presented.getSubjectX500Principal().getName();
    }

    String presentedFingerprint() {
      return presented == null ? "" : TlsTestPki.fingerprint(presented);
    }

    @Override
    public String toString() {
      return "presented " + presentedSubject() + (response != null ? ", answered " + response : ", failed: " + failure);
    }
  }

  private final X509ExtendedTrustManager verifier; // null: accept anything
  private final KeyManager[] clientKeys; // null: no client certificate

  private HttpsProbe(X509ExtendedTrustManager verifier, KeyManager[] clientKeys) {
    this.verifier = verifier;
    this.clientKeys = clientKeys;
  }

  /** A client that trusts only certificates issued by {@code ca} and checks their names against the SNI. */
  static HttpsProbe trusting(X509Certificate ca) {
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setCertificateEntry("ca", ca);
      TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(store);
      for (TrustManager tm : factory.getTrustManagers()) {
        if (tm instanceof X509ExtendedTrustManager x) {
          return new HttpsProbe(x, null);
        }
      }
      throw new IllegalStateException("the JDK has no X509ExtendedTrustManager");
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot build a trust store for " + ca.getSubjectX500Principal(), e);
    }
  }

  /** A client that accepts whatever certificate it is shown, and records it. */
  static HttpsProbe recordingAnything() {
    return new HttpsProbe(null, null);
  }

  /**
   * This client, presenting {@code client} (its certificate and key) whenever the server asks for one, even when
   * the server's list of acceptable CAs does not name its issuer (the JDK's own key manager would then send none),
   * so a test can show a server refusing a certificate of the wrong CA.
   */
  HttpsProbe withClientCertificate(TlsTestPki.Material client) {
    return new HttpsProbe(verifier, new KeyManager[] {new AlwaysPresenting(client)});
  }

  /**
   * {@code GET path} with Host {@code host} over a new TLS connection to 127.0.0.1:port sending SNI {@code sni}
   * (null: no SNI at all); never throws for a failed connection, the outcome says what happened.
   */
  Outcome attempt(int port, String sni, String host, String path) {
    try (Connection c = open(port, sni)) {
      RawHttp.Response r = c.get(host, path, true);
      return new Outcome(c.presented(), c.recorder.presentedAt, r, null);
    } catch (Connection.Failed failed) {
      return new Outcome(failed.presented, failed.presentedAt, null, failed.reason);
    }
  }

  /** As {@link #attempt}, but an answer is required: a failed connection throws, naming what was presented. */
  RawHttp.Response get(int port, String sni, String host, String path) throws IOException {
    Outcome o = attempt(port, sni, host, path);
    if (o.response() == null) {
      throw new IOException("https://" + host + path + " (SNI " + sni + ") on port " + port + ": " + o, o.failure());
    }
    return o.response();
  }

  /** Opens a TLS connection (handshake done) for several requests in a row (HTTP/1.1 keep-alive). */
  Connection open(int port, String sni) throws Connection.Failed {
    Recorder recorder = new Recorder(verifier);
    Socket plain = new Socket();
    try {
      plain.connect(new InetSocketAddress("127.0.0.1", port), CONNECT_TIMEOUT_MS);
      plain.setSoTimeout(READ_TIMEOUT_MS);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(clientKeys, new TrustManager[] {recorder}, null);
      SSLSocket socket = (SSLSocket) context.getSocketFactory()
          .createSocket(plain, sni == null ? "127.0.0.1" : sni, port, true);
      SSLParameters parameters = socket.getSSLParameters();
      parameters.setServerNames(sni == null ? List.of() : List.<SNIServerName>of(new SNIHostName(sni)));
      if (verifier != null && sni != null) {
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
      }
      socket.setSSLParameters(parameters);
      socket.startHandshake();
      return new Connection(socket, recorder);
    } catch (IOException e) {
      closeQuietly(plain);
      throw new Connection.Failed(recorder, e);
    } catch (GeneralSecurityException e) {
      closeQuietly(plain);
      throw new IllegalStateException("cannot set up TLS", e);
    }
  }

  /** One open TLS connection; requests on it go one after another. Not thread-safe. */
  static final class Connection implements AutoCloseable {

    /** A connection that got no answer, with the certificate the server presented before (or null). */
    static final class Failed extends IOException {
      final transient X509Certificate presented;
      final long presentedAt;
      final IOException reason;

      Failed(Recorder recorder, IOException reason) {
        super(reason.toString(), reason);
        this.presented = recorder.presented;
        this.presentedAt = recorder.presentedAt;
        this.reason = reason;
      }
    }

    private final SSLSocket socket;
    private final Recorder recorder;
    private final InputStream in;
    private int requests;

    private Connection(SSLSocket socket, Recorder recorder) throws IOException {
      this.socket = socket;
      this.recorder = recorder;
      this.in = new BufferedInputStream(socket.getInputStream());
    }

    /** The server's leaf certificate of this connection's handshake. */
    X509Certificate presented() {
      return recorder.presented;
    }

    /** How many requests this connection has carried. */
    int requests() {
      return requests;
    }

    /** {@code GET path} with Host {@code host} on this connection, keeping it open. */
    RawHttp.Response get(String host, String path) throws Failed {
      return get(host, path, false);
    }

    private RawHttp.Response get(String host, String path, boolean last) throws Failed {
      String head = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + (last ? "Connection: close\r\n" : "")
          + "Accept: */*\r\n\r\n";
      try {
        OutputStream out = socket.getOutputStream();
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        RawHttp.Response r = RawHttp.readResponse(in, true);
        requests++;
        return r;
      } catch (IOException e) {
        throw new Failed(recorder, e);
      }
    }

    @Override
    public void close() {
      closeQuietly(socket);
    }
  }

  /** A key manager with one client certificate, chosen for every server that asks. */
  private static final class AlwaysPresenting extends X509ExtendedKeyManager {
    private static final String ALIAS = "client";
    private final TlsTestPki.Material client;

    AlwaysPresenting(TlsTestPki.Material client) {
      this.client = client;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return ALIAS;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
      return ALIAS;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return new String[] {ALIAS};
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return new String[0];
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return new X509Certificate[] {client.certificate()};
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return client.key();
    }
  }

  /** Records the server's leaf certificate, then verifies the chain with {@code verifier} (if any). */
  private static final class Recorder extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager verifier;
    private volatile X509Certificate presented;
    private volatile long presentedAt;

    Recorder(X509ExtendedTrustManager verifier) {
      this.verifier = verifier;
    }

    private void record(X509Certificate[] chain) {
      presentedAt = System.nanoTime();
      presented = chain.length == 0 ? null : chain[0];
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      record(chain);
      if (verifier != null) {
        verifier.checkServerTrusted(chain, authType, socket);
      }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      record(chain);
      if (verifier != null) {
        verifier.checkServerTrusted(chain, authType, engine);
      }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      record(chain);
      if (verifier != null) {
        verifier.checkServerTrusted(chain, authType);
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      throw new CertificateException("a client does not judge clients");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      throw new CertificateException("a client does not judge clients");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("a client does not judge clients");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return verifier == null ? new X509Certificate[0] : verifier.getAcceptedIssuers();
    }
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing a broken connection can fail; it is closed either way
    }
  }
}
