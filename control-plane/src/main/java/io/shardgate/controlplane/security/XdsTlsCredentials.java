package io.shardgate.controlplane.security;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TLS server's reloading credentials: the xDS server's (TLS edge) and the validation webhook's
 * ({@link #loadWebhook}, without client certificates). its certificate and key and, for mutual TLS, the client CA, loaded
 * from {@link XdsTlsFiles} and served through a key manager and trust manager that swap to new files without a
 * restart. {@link #watch} checks the files' contents every interval; changed files that load cleanly (key matching
 * its certificate) replace the old ones for every new TLS connection, and files that do not load are logged once and
 * ignored, so a half-finished rotation never takes xDS down. Established streams keep the credentials they were
 * opened with.
 *
 * <p>Thread-safe: the managers read immutable snapshots through volatile fields; reloads are serialized.
 */
public final class XdsTlsCredentials implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(XdsTlsCredentials.class);

  /** The raw contents of the files (the CA's empty without mutual TLS). */
  private record Contents(byte[] cert, byte[] key, byte[] clientCa) {
    /** A digest of the contents, so changes are seen whatever the files' timestamps (a symlink swap, a copy). */
    String fingerprint() {
      try {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        for (byte[] content : List.of(cert, key, clientCa)) {
          digest.update(ByteBuffer.allocate(Integer.BYTES).putInt(content.length).array());
          digest.update(content);
        }
        return HexFormat.of().formatHex(digest.digest());
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("the JDK has no SHA-256", e);
      }
    }
  }

  /** What one set of files held, and the fingerprint of their contents. */
  private record Material(String fingerprint, Identity identity, X509ExtendedTrustManager clientTrust,
      List<String> warnings) {}

  /** The server's certificate chain and key under a per-load alias. */
  private record Identity(String alias, PrivateKey key, X509Certificate[] chain) {}

  /** How messages name the server and its options. */
  private record Labels(String what, String certOption, String keyOption, String clientCaOption) {}

  private static final Labels XDS = new Labels("xDS TLS", XdsTlsFiles.CERT_OPTION, XdsTlsFiles.KEY_OPTION,
      XdsTlsFiles.CLIENT_CA_OPTION);

  /** The command-line options of the validation webhook's certificate and key. */
  public static final String WEBHOOK_CERT_OPTION = "--webhook-cert";
  public static final String WEBHOOK_KEY_OPTION = "--webhook-key";
  private static final Labels WEBHOOK = new Labels("webhook TLS", WEBHOOK_CERT_OPTION, WEBHOOK_KEY_OPTION, null);

  private final XdsTlsFiles files;
  private final Labels labels;
  private final SwappableKeyManager keyManager = new SwappableKeyManager();
  private final SwappableTrustManager trustManager = new SwappableTrustManager();
  private final LogOnce failedLoads = new LogOnce(100);
  private final AtomicLong generation = new AtomicLong();
  private volatile String fingerprint;
  private ScheduledExecutorService watcher;

  private XdsTlsCredentials(XdsTlsFiles files, Labels labels) {
    this.files = files;
    this.labels = labels;
  }

  /**
   * Loads the files once.
   *
   * @throws TlsMaterialException naming the option and file that is wrong
   */
  public static XdsTlsCredentials load(XdsTlsFiles files) {
    return load(files, XDS);
  }

  /**
   * The validation webhook's certificate and key ({@value #WEBHOOK_CERT_OPTION}, {@value #WEBHOOK_KEY_OPTION}),
   * loaded once; {@link #watch} reloads them as cert-manager rotates them.
   *
   * @throws TlsMaterialException naming the option and file that is wrong
   */
  public static XdsTlsCredentials loadWebhook(Path cert, Path key) {
    return load(new XdsTlsFiles(cert, key, null), WEBHOOK);
  }

  /** Checks the webhook's files without keeping anything, for the command line to fail fast with one clear line. */
  public static void checkWebhook(Path cert, Path key) {
    XdsTlsCredentials credentials = new XdsTlsCredentials(new XdsTlsFiles(cert, key, null), WEBHOOK);
    credentials.parse(credentials.readFiles());
  }

  private static XdsTlsCredentials load(XdsTlsFiles files, Labels labels) {
    XdsTlsCredentials credentials = new XdsTlsCredentials(files, labels);
    Material material = credentials.parse(credentials.readFiles());
    material.warnings().forEach(LOG::warn);
    credentials.install(material);
    return credentials;
  }

  /** Loads and checks the files without keeping anything, for the command line to fail fast with one clear line. */
  public static void check(XdsTlsFiles files) {
    XdsTlsCredentials credentials = new XdsTlsCredentials(files, XDS);
    credentials.parse(credentials.readFiles());
  }

  /**
   * A Netty server context for grpc-netty: HTTP/2 over TLS with these credentials, and with a client CA, client
   * certificates required ({@link ClientAuth#REQUIRE}). The JDK provider, so that the swappable managers are asked on
   * every handshake.
   */
  public SslContext serverSslContext() {
    SslContextBuilder builder = GrpcSslContexts.configure(SslContextBuilder.forServer(keyManager), SslProvider.JDK);
    if (files.mutual()) {
      builder.trustManager(trustManager).clientAuth(ClientAuth.REQUIRE);
    }
    try {
      return builder.build();
    } catch (SSLException e) {
      throw new TlsMaterialException(labels.what() + " cannot be set up with " + labels.certOption() + " "
          + files.certFile() + ": " + e.getClass().getSimpleName());
    }
  }

  /**
   * A JDK server context with these credentials (no client certificates), for a JDK {@code HttpsServer}: its key
   * manager is asked on every handshake, so a reload reaches the next connection.
   */
  public SSLContext jdkServerContext() {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(new KeyManager[] {keyManager}, null, null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new TlsMaterialException(labels.what() + " cannot be set up with " + labels.certOption() + " "
          + files.certFile() + ": " + e.getClass().getSimpleName());
    }
  }

  /** The certificate new TLS connections are served with now. */
  public X509Certificate servedCertificate() {
    return keyManager.current.chain()[0];
  }

  /**
   * Reads the files again; when their contents changed and they load cleanly, new connections use them.
   *
   * @return whether new credentials were installed
   */
  public synchronized boolean reloadIfChanged() {
    Contents contents;
    try {
      contents = readFiles();
    } catch (TlsMaterialException unreadable) {
      logFailedLoad(unreadable.getMessage(), unreadable.getMessage());
      return false;
    }
    String now = contents.fingerprint();
    if (now.equals(fingerprint)) {
      return false;
    }
    Material material;
    try {
      material = parse(contents);
    } catch (TlsMaterialException e) {
      logFailedLoad(now, e.getMessage());
      return false;
    }
    material.warnings().forEach(LOG::warn);
    install(material);
    X509Certificate leaf = material.identity().chain()[0];
    LOG.info("{}: loaded the changed files; new connections get the certificate of {} (serial {}, valid until"
        + " {}){}", labels.what(), leaf.getSubjectX500Principal().getName(), leaf.getSerialNumber().toString(16),
        leaf.getNotAfter().toInstant(), files.mutual() ? " and the client CA in " + files.clientCaFile() : "");
    return true;
  }

  /** Checks the files for changes every {@code interval} on a daemon thread, until {@link #close}. */
  public synchronized void watch(Duration interval) {
    if (watcher != null) {
      return;
    }
    watcher = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, labels == XDS ? "shardgate-xds-tls-reload" : "shardgate-webhook-tls-reload");
      t.setDaemon(true);
      return t;
    });
    long millis = Math.max(1, interval.toMillis());
    watcher.scheduleWithFixedDelay(() -> {
      try {
        reloadIfChanged();
      } catch (RuntimeException e) {
        LOG.warn("{}: checking {} for changes failed: {}", labels.what(), files.certFile(), e.toString());
      }
    }, millis, millis, TimeUnit.MILLISECONDS);
  }

  @Override
  public synchronized void close() {
    if (watcher != null) {
      watcher.shutdownNow();
      watcher = null;
    }
  }

  private void logFailedLoad(String key, String message) {
    if (failedLoads.first(key)) {
      LOG.warn("{}: the changed files are not used, new connections keep the previous certificate: {}",
          labels.what(), message);
    }
  }

  private void install(Material material) {
    if (material.clientTrust() != null) {
      trustManager.current = material.clientTrust();
    }
    keyManager.install(material.identity());
    fingerprint = material.fingerprint();
  }

  private Contents readFiles() {
    return new Contents(PemFiles.read(labels.certOption(), files.certFile()),
        PemFiles.read(labels.keyOption(), files.keyFile()),
        files.mutual() ? PemFiles.read(labels.clientCaOption(), files.clientCaFile()) : new byte[0]);
  }

  /** Parses and checks the contents of all files. */
  private Material parse(Contents contents) {
    List<X509Certificate> chain = PemFiles.certificates(labels.certOption(), files.certFile(), contents.cert());
    PrivateKey key = PemFiles.privateKey(labels.keyOption(), files.keyFile(), contents.key());
    PemFiles.requireKeyMatches(key, chain.get(0), labels.keyOption() + " " + files.keyFile(),
        labels.certOption() + " " + files.certFile());
    X509ExtendedTrustManager clientTrust = files.mutual()
        ? trustManagerOf(PemFiles.certificates(labels.clientCaOption(), files.clientCaFile(), contents.clientCa()))
        : null;
    Identity identity = new Identity((labels == XDS ? "xds-" : "webhook-") + generation.incrementAndGet(), key, chain.toArray(X509Certificate[]::new));
    return new Material(contents.fingerprint(), identity, clientTrust, validityWarnings(chain.get(0)));
  }

  private List<String> validityWarnings(X509Certificate leaf) {
    Instant now = Instant.now();
    if (leaf.getNotAfter().toInstant().isBefore(now)) {
      return List.of(labels.what() + ": the certificate in " + labels.certOption() + " " + files.certFile()
          + " expired at " + leaf.getNotAfter().toInstant() + "; " + (labels == XDS ? "Envoys" : "API servers")
          + " will refuse it");
    }
    if (leaf.getNotBefore().toInstant().isAfter(now)) {
      return List.of(labels.what() + ": the certificate in " + labels.certOption() + " " + files.certFile()
          + " is not valid before " + leaf.getNotBefore().toInstant() + "; " + (labels == XDS ? "Envoys" : "API"
          + " servers") + " will refuse it until then");
    }
    return List.of();
  }

  private X509ExtendedTrustManager trustManagerOf(List<X509Certificate> cas) {
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      for (int i = 0; i < cas.size(); i++) {
        store.setCertificateEntry("client-ca-" + i, cas.get(i));
      }
      TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(store);
      for (TrustManager tm : factory.getTrustManagers()) {
        if (tm instanceof X509ExtendedTrustManager x509) {
          return x509;
        }
      }
      throw new IllegalStateException("the JDK's trust manager factory gave no X509ExtendedTrustManager");
    } catch (GeneralSecurityException | IOException e) {
      throw new TlsMaterialException(XdsTlsFiles.CLIENT_CA_OPTION + " " + files.clientCaFile()
          + " cannot be used as a trust store: " + e.getClass().getSimpleName());
    }
  }

  /**
   * Serves the current identity. Its alias changes with every load; the previous identity stays reachable by its
   * alias, so a handshake that chose an alias just before a reload still finds a matching key and chain.
   */
  private static final class SwappableKeyManager extends X509ExtendedKeyManager {
    private volatile Identity current;
    private volatile Identity previous;

    void install(Identity next) {
      previous = current;
      current = next;
    }

    private Identity byAlias(String alias) {
      Identity now = current;
      if (now != null && now.alias().equals(alias)) {
        return now;
      }
      Identity before = previous;
      return before != null && before.alias().equals(alias) ? before : null;
    }

    private String aliasFor(String keyType) {
      Identity now = current;
      return now != null && now.key().getAlgorithm().equals(keyType) ? now.alias() : null;
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
      return aliasFor(keyType);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return aliasFor(keyType);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      String alias = aliasFor(keyType);
      return alias == null ? null : new String[] {alias};
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      Identity identity = byAlias(alias);
      return identity == null ? null : identity.chain().clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      Identity identity = byAlias(alias);
      return identity == null ? null : identity.key();
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return null; // a server only
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return null;
    }
  }

  /** Verifies client certificates against the current client CA bundle. */
  private static final class SwappableTrustManager extends X509ExtendedTrustManager {
    private volatile X509ExtendedTrustManager current;

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      current.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      current.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      current.checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      throw new CertificateException("the xDS server does not verify servers");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      throw new CertificateException("the xDS server does not verify servers");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("the xDS server does not verify servers");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return current.getAcceptedIssuers();
    }
  }
}
