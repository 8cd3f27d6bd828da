package io.shardgate.controlplane.kube;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.e2e.OrphanedServers;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A real Kubernetes API server: etcd and kube-apiserver (built by {@link KubeTestServers}) as processes on free
 * loopback ports, with their data, certificates, keys and logs in a temporary folder. Callers get a fabric8
 * {@link #client()} and a {@link #kubeconfig()} file (bearer token of a {@code system:masters} user, the server's own
 * CA), which serves any other client alike. Tests use it through {@link KubeApiServerExtension}; the Kubernetes
 * benchmark in load-tests starts it directly, so both run the very same servers the same way.
 *
 * <p>Both processes are stopped by their own pid (SIGTERM, then SIGKILL after a grace period) in {@link #close()},
 * or by a shutdown hook if the JVM ends first; the servers of a JVM that was killed outright are stopped by the next
 * one (see {@link #reapOrphans()}). A build or start that fails throws an AssertionError with the reason and the
 * server's log tail. There is no kube-controller-manager: namespaces are never finalized (deleting one leaves it
 * Terminating), and no controller writes EndpointSlices for Services.
 *
 * <p>Stateful; started and closed from one thread (the shutdown hook excepted, which only stops the processes and
 * deletes their folder).
 */
public final class KubeApiServer implements AutoCloseable {

  /** Generous: kube-apiserver reaches /readyz in about 3 s here, but CI machines run other builds beside it. */
  private static final Duration READY_BOUND = Duration.ofSeconds(120);
  private static final Duration ETCD_BOUND = Duration.ofSeconds(60);
  private static final Duration CRD_BOUND = Duration.ofSeconds(60);
  private static final Duration POLL = Duration.ofMillis(200);
  private static final int START_ATTEMPTS = 3;
  private static final int LOG_LINES = 60;
  private static final String PORT_TAKEN = "address already in use";
  private static final String WORK_PREFIX = "shardgate-kube-";
  /** In each work folder: the pid of the JVM that owns it, and a line "pid binary" per server it started. */
  private static final String TAG = "kube-api-server";
  private static final String OWNER_FILE = "owner.pid";
  private static final String PIDS_FILE = "servers.pids";

  private static boolean reaped;

  /** Every process started, in order (a server started again on other ports too), so that all are stopped. */
  private final List<ServerProcess> started = new ArrayList<>();
  private Path work;
  private final List<String> extraApiServerArgs;
  private ServerProcess etcd;
  private ServerProcess apiServer;
  private Function<int[], List<String>> apiServerCommand;
  private int apiServerPort;
  private int etcdPort;
  private Path servingCert;
  private String adminToken;
  private int restarts;
  private Thread shutdownHook;
  private KubernetesClient client;
  private Path kubeconfig;
  private Path restrictedKubeconfig;
  private String serverUrl;

  /** The fabric8 client for the running server, authenticated as a cluster admin. */
  public KubernetesClient client() {
    if (client == null) {
      throw new IllegalStateException("the API server is not running (tests: register KubeApiServerExtension on a"
          + " static field)");
    }
    return client;
  }

  /** A kubeconfig file for the running server (token of a system:masters user, the server's own CA). */
  public Path kubeconfig() {
    client();
    return kubeconfig;
  }

  /** The user of {@link #restrictedKubeconfig()}: in no group, so RBAC allows it nothing a test does not grant. */
  public static final String RESTRICTED_USER = "restricted";

  /** A kubeconfig file for {@link #RESTRICTED_USER}, for tests of what a control plane without access does. */
  public Path restrictedKubeconfig() {
    client();
    return restrictedKubeconfig;
  }

  /** {@code https://127.0.0.1:<port>}. */
  public String serverUrl() {
    client();
    return serverUrl;
  }

  /** The API server's log file, for a test that wants to show it. */
  public Path apiServerLog() {
    client();
    return apiServer.log;
  }

  private KubeApiServer(List<String> extraApiServerArgs) {
    this.extraApiServerArgs = List.copyOf(extraApiServerArgs);
  }

  /**
   * Builds (or finds) the binaries and starts etcd and the API server; {@code forWhat} names the caller in messages.
   * Fails with the reason and the servers' log tails when they do not come up, having stopped whatever started.
   */
  public static KubeApiServer start(String forWhat) throws Exception {
    return start(forWhat, List.of());
  }

  /**
   * {@link #start(String)} with extra kube-apiserver flags besides the ones always set, e.g.
   * {@code --watch-cache=false}, so that watches are served from etcd itself and an etcd compaction makes an
   * informer's next watch answer 410 Gone.
   */
  public static KubeApiServer start(String forWhat, List<String> extraApiServerArgs) throws Exception {
    Path etcdBin = KubeTestServers.binary("etcd");
    Path apiServerBin = KubeTestServers.binary("kube-apiserver");
    reapOrphans();
    KubeApiServer server = new KubeApiServer(extraApiServerArgs);
    server.work = Files.createTempDirectory(WORK_PREFIX);
    Files.writeString(server.work.resolve(OWNER_FILE), ProcessHandle.current().pid() + "\n");
    server.shutdownHook = new Thread(server::stopProcessesAndDelete, "kube-api-server-stop");
    Runtime.getRuntime().addShutdownHook(server.shutdownHook);
    try {
      server.start(etcdBin, apiServerBin);
    } catch (Throwable e) {
      String logs = server.logTails();
      server.stop();
      String reason = e instanceof AssertionError ? e.getMessage() : e.toString();
      throw new AssertionError("The real Kubernetes API server for " + forWhat + " did not start: " + reason + "\n"
          + logs, e);
    }
    return server;
  }

  /**
   * Creates the CRDs in {@code crdDir} (every {@code .yaml} file, in name order) and waits until the API server
   * serves each of them (Established); returns their names.
   */
  public static List<String> installCrds(KubernetesClient client, Path crdDir) throws IOException,
      InterruptedException {
    List<Path> files;
    try (Stream<Path> s = Files.list(crdDir)) {
      files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    List<String> names = new ArrayList<>();
    for (Path file : files) {
      try (InputStream in = Files.newInputStream(file)) {
        CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions().load(in).create();
        names.add(crd.getMetadata().getName());
      }
    }
    for (String name : names) {
      awaitEstablished(client, name);
    }
    return names;
  }

  /** The chart's CRDs ({@code helm/shardgate/crds}) of the repository. */
  public static Path chartCrds() {
    return ExampleConfig.repoRoot().resolve("helm/shardgate/crds");
  }

  private static void awaitEstablished(KubernetesClient client, String name) throws InterruptedException {
    long deadline = System.nanoTime() + CRD_BOUND.toNanos();
    CustomResourceDefinition last = null;
    while (System.nanoTime() - deadline < 0) {
      last = client.apiextensions().v1().customResourceDefinitions().withName(name).get();
      if (last != null && last.getStatus() != null && last.getStatus().getConditions() != null && last.getStatus()
          .getConditions().stream().anyMatch(c -> "Established".equals(c.getType()) && "True".equals(c.getStatus()))) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("CRD " + name + " not Established within " + CRD_BOUND + "; last status: "
        + (last == null ? "absent" : last.getStatus()));
  }

  /** Resident memory of kube-apiserver and etcd, for the caller's log. */
  public String residentMemory() {
    return apiServer == null || etcd == null ? "(stopped)"
        : "resident kube-apiserver " + apiServer.residentMib() + " MiB, etcd " + etcd.residentMib() + " MiB";
  }

  /** The last {@code lines} lines of the API server's log, for failure messages. */
  public String apiServerLogTail(int lines) {
    return apiServer == null ? "(not running)" : apiServer.logTail(lines);
  }

  /** Stops the API server, then etcd, by their pids, and deletes their folder. Idempotent. */
  @Override
  public void close() {
    stop();
  }

  private void start(Path etcdBin, Path apiServerBin) throws Exception {
    long began = System.nanoTime();
    Path etcdData = work.resolve("etcd-data");
    Started etcdStarted = startOnFreePorts("etcd", 3, ports -> {
      String clientUrl = "http://127.0.0.1:" + ports[0];
      String peerUrl = "http://127.0.0.1:" + ports[1];
      return List.of(etcdBin.toString(), "--name", "shardgate-test", "--data-dir", etcdData.toString(),
          "--listen-client-urls", clientUrl, "--advertise-client-urls", clientUrl,
          "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl,
          "--initial-cluster", "shardgate-test=" + peerUrl, "--initial-cluster-state", "new",
          "--listen-metrics-urls", "http://127.0.0.1:" + ports[2],
          // A throwaway store, often on a busy CI disk: waiting for fsync would only slow the tests down.
          "--unsafe-no-fsync", "--log-level", "warn");
    }, (process, ports) -> awaitEtcd(process, ports[0]));
    etcd = etcdStarted.process();
    int etcdPort = etcdStarted.ports()[0];
    long etcdMillis = millisSince(began);

    Path certDir = Files.createDirectories(work.resolve("cert-dir"));
    KeyPair saKeys = rsaKeyPair();
    Path saKey = writeOwnerOnly(work.resolve("sa.key"), pem("PRIVATE KEY", saKeys.getPrivate().getEncoded()));
    Path saPub = writeOwnerOnly(work.resolve("sa.pub"), pem("PUBLIC KEY", saKeys.getPublic().getEncoded()));
    String token = randomToken();
    String restrictedToken = randomToken();
    // A second user in no group: RBAC grants it nothing until a test binds a role to it.
    Path tokens = writeOwnerOnly(work.resolve("tokens.csv"), token + ",admin,admin-uid,system:masters\n"
        + restrictedToken + "," + RESTRICTED_USER + ",restricted-uid\n");
    long apiBegan = System.nanoTime();
    servingCert = certDir.resolve("apiserver.crt");
    Path servingCert = this.servingCert;
    adminToken = token;
    this.etcdPort = etcdPort;
    apiServerCommand = ports -> Stream.concat(Stream.of(apiServerBin.toString(),
        "--etcd-servers=http://127.0.0.1:" + etcdPort,
        "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + ports[0],
        "--cert-dir=" + certDir,
        "--service-account-key-file=" + saPub, "--service-account-signing-key-file=" + saKey,
        "--service-account-issuer=https://kubernetes.default.svc",
        "--token-auth-file=" + tokens, "--authorization-mode=RBAC",
        "--service-cluster-ip-range=10.96.0.0/16",
        // No controller manager makes ServiceAccount tokens here; with the plugin on, no Pod could be created.
        "--disable-admission-plugins=ServiceAccount",
        "--profiling=false"), extraApiServerArgs.stream()).toList();
    Started apiStarted = startOnFreePorts("kube-apiserver", 1, apiServerCommand,
        (process, ports) -> awaitReady(process, ports[0], servingCert, token));
    apiServerPort = apiStarted.ports()[0];
    apiServer = apiStarted.process();
    long readyMillis = millisSince(apiBegan);

    serverUrl = "https://127.0.0.1:" + apiStarted.ports()[0];
    kubeconfig = writeOwnerOnly(work.resolve("kubeconfig"), kubeconfigYaml(serverUrl, servingCert, token));
    restrictedKubeconfig = writeOwnerOnly(work.resolve("restricted-kubeconfig"),
        kubeconfigYaml(serverUrl, servingCert, restrictedToken));
    client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(kubeconfig.toFile())).build();
    System.out.println("[kube-api-server] " + serverUrl + ": etcd (pid " + etcd.pid() + ") healthy in " + etcdMillis
        + " ms, kube-apiserver (pid " + apiServer.pid() + ") /readyz in " + readyMillis + " ms; resident"
        + " kube-apiserver " + apiServer.residentMib() + " MiB, etcd " + etcd.residentMib() + " MiB; folder " + work);
  }

  /**
   * Stops the API server by its pid (SIGTERM, as a rolling restart does) and leaves etcd running; clients see the
   * server unreachable until {@link #startApiServer()}.
   */
  public void stopApiServer() {
    client();
    apiServer.stop();
  }

  /** Starts the API server again on the same port, etcd data and certificates, and waits for /readyz. */
  public void startApiServer() throws Exception {
    client();
    apiServer = startAgain(apiServerPort);
  }

  /**
   * An outage that the tests' clients do not see through: the API server they talk to is stopped, a second one on
   * another port serves the same etcd while {@code during} runs with a client of its own (changes made there are
   * made "during the gap" for every informer of the first), then it is stopped and the first starts again on its
   * port.
   */
  public void duringOutage(OutageAction during) throws Exception {
    stopApiServer();
    int[] other = ExampleConfig.freePorts(1);
    ServerProcess second = startAgain(other[0]);
    try (KubernetesClient secondClient = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(
        kubeconfigYaml("https://127.0.0.1:" + other[0], servingCert, adminToken))).build()) {
      during.run(secondClient);
    } finally {
      second.stop();
    }
    startApiServer();
  }

  /** What {@link #duringOutage} runs against the second API server. */
  public interface OutageAction {
    void run(KubernetesClient secondServer) throws Exception;
  }

  /**
   * Compacts etcd's history up to its current revision through etcd's HTTP gateway; a watch from an older
   * resourceVersion then answers 410 Gone (with {@code --watch-cache=false}, where watches go to etcd). Returns the
   * revision compacted to.
   */
  public long compactEtcd() throws IOException, InterruptedException {
    client();
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    String base = "http://127.0.0.1:" + etcdPort + "/v3/kv/";
    // A range read of a key that does not exist answers the current revision in its header.
    HttpResponse<String> range = http.send(HttpRequest.newBuilder(URI.create(base + "range"))
        .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString("{\"key\":\"AA==\"}")).build(),
        HttpResponse.BodyHandlers.ofString());
    Matcher m = Pattern.compile("\"revision\":\"(\\d+)\"").matcher(range.body());
    if (range.statusCode() != 200 || !m.find()) {
      throw new IOException("etcd range answered " + range.statusCode() + " " + range.body());
    }
    long revision = Long.parseLong(m.group(1));
    HttpResponse<String> compact = http.send(HttpRequest.newBuilder(URI.create(base + "compaction"))
        .timeout(Duration.ofSeconds(30))
        .POST(HttpRequest.BodyPublishers.ofString("{\"revision\":\"" + revision + "\",\"physical\":true}"))
        .build(), HttpResponse.BodyHandlers.ofString());
    if (compact.statusCode() != 200) {
      throw new IOException("etcd compaction answered " + compact.statusCode() + " " + compact.body());
    }
    return revision;
  }

  private ServerProcess startAgain(int port) throws Exception {
    List<String> argv = apiServerCommand.apply(new int[] {port});
    Path log = work.resolve("kube-apiserver.restart-" + ++restarts + ".log");
    ServerProcess process = ServerProcess.start("kube-apiserver", argv, log);
    synchronized (this) {
      started.add(process);
    }
    Files.writeString(work.resolve(PIDS_FILE), process.pid() + " " + Path.of(argv.get(0)).toRealPath() + "\n",
        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    awaitReady(process, port, servingCert, adminToken);
    return process;
  }

  private record Started(ServerProcess process, int[] ports) {
  }

  /** Waits for a started server to be up; fails (AssertionError) when it does not come up. */
  private interface Readiness {
    void await(ServerProcess process, int[] ports) throws Exception;
  }

  /**
   * Starts a server on {@code portCount} free loopback ports and waits for it. The ports are picked free, closed and
   * handed over, so another process can take one meanwhile: the server then exits with "address already in use"
   * and is started again on other ports.
   */
  private Started startOnFreePorts(String name, int portCount, Function<int[], List<String>> command,
      Readiness readiness) throws Exception {
    Path log = work.resolve(name + ".log");
    for (int attempt = 1; ; attempt++) {
      int[] ports = ExampleConfig.freePorts(portCount);
      List<String> argv = command.apply(ports);
      ServerProcess process = ServerProcess.start(name, argv, log);
      synchronized (this) {
        started.add(process);
      }
      Files.writeString(work.resolve(PIDS_FILE), process.pid() + " " + Path.of(argv.get(0)).toRealPath() + "\n",
          StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      try {
        readiness.await(process, ports);
        return new Started(process, ports);
      } catch (AssertionError e) {
        if (attempt < START_ATTEMPTS && !process.isAlive() && process.logContains(PORT_TAKEN)) {
          System.out.println("[kube-api-server] " + name + " lost one of its ports to another process; starting it"
              + " again on others");
          Files.move(log, work.resolve(name + ".attempt-" + attempt + ".log"));
          continue;
        }
        throw e;
      }
    }
  }

  private static void awaitEtcd(ServerProcess etcd, int clientPort) throws InterruptedException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    URI health = URI.create("http://127.0.0.1:" + clientPort + "/health");
    long deadline = System.nanoTime() + ETCD_BOUND.toNanos();
    String last = "no answer";
    while (System.nanoTime() - deadline < 0) {
      if (!etcd.isAlive()) {
        throw new AssertionError(etcd.exitDescription() + " before it was healthy");
      }
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(health).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200 && r.body().contains("\"health\":\"true\"")) {
          return;
        }
        last = r.statusCode() + " " + r.body();
      } catch (IOException notYet) {
        last = notYet.toString();
      }
      Thread.sleep(POLL.toMillis());
    }
    throw new AssertionError("etcd was not healthy on " + health + " within " + ETCD_BOUND + " (last: " + last + ")");
  }

  /**
   * Polls {@code /readyz?verbose} as the admin (during bootstrap the RBAC rules that let anyone read it do not exist
   * yet), trusting only the serving certificate's chain that the server wrote into its cert dir.
   */
  private static void awaitReady(ServerProcess apiServer, int port, Path servingCert, String token)
      throws InterruptedException {
    URI readyz = URI.create("https://127.0.0.1:" + port + "/readyz?verbose");
    long deadline = System.nanoTime() + READY_BOUND.toNanos();
    HttpClient http = null;
    String last = "no answer";
    while (System.nanoTime() - deadline < 0) {
      if (!apiServer.isAlive()) {
        throw new AssertionError(apiServer.exitDescription() + " before /readyz answered 200 (last: " + last + ")");
      }
      try {
        if (http == null) {
          if (!Files.exists(servingCert)) {
            last = "no serving certificate in the cert dir yet";
            Thread.sleep(POLL.toMillis());
            continue;
          }
          http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).sslContext(trusting(servingCert))
              .build();
        }
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(readyz).timeout(Duration.ofSeconds(10))
            .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          return;
        }
        last = r.statusCode() + " " + failingChecks(r.body());
      } catch (IOException | GeneralSecurityException notYet) {
        last = notYet.toString();
      }
      Thread.sleep(POLL.toMillis());
    }
    throw new AssertionError("kube-apiserver did not answer 200 on " + readyz + " within " + READY_BOUND + " (last: "
        + last + ")");
  }

  /** The {@code [-]} lines of a verbose /readyz answer: the checks still failing. */
  private static String failingChecks(String verbose) {
    List<String> failing = verbose.lines().filter(line -> line.startsWith("[-]")).toList();
    return failing.isEmpty() ? verbose.strip() : String.join("; ", failing);
  }

  /** An SSL context that trusts exactly the certificates of a PEM file (the server's self-signed chain). */
  private static SSLContext trusting(Path pemFile) throws IOException, GeneralSecurityException {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    int i = 0;
    for (Certificate cert : CertificateFactory.getInstance("X.509")
        .generateCertificates(new ByteArrayInputStream(Files.readAllBytes(pemFile)))) {
      trust.setCertificateEntry("cert-" + i++, cert);
    }
    if (i == 0) {
      throw new GeneralSecurityException("no certificate in " + pemFile + " yet");
    }
    TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, factory.getTrustManagers(), new SecureRandom());
    return context;
  }

  private static String kubeconfigYaml(String server, Path caFile, String token) {
    return """
        apiVersion: v1
        kind: Config
        clusters:
        - name: shardgate-test
          cluster:
            server: %s
            certificate-authority: %s
        users:
        - name: admin
          user:
            token: %s
        contexts:
        - name: shardgate-test
          context:
            cluster: shardgate-test
            user: admin
            namespace: default
        current-context: shardgate-test
        """.formatted(yamlQuoted(server), yamlQuoted(caFile.toString()), yamlQuoted(token));
  }

  private static String yamlQuoted(String value) {
    return "'" + value.replace("'", "''") + "'";
  }

  private static KeyPair rsaKeyPair() throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048);
    return generator.generateKeyPair();
  }

  /** PEM text: PKCS#8 for {@code PRIVATE KEY}, X.509 SubjectPublicKeyInfo for {@code PUBLIC KEY}. */
  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private static String randomToken() {
    byte[] bytes = new byte[32];
    new SecureRandom().nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  /** Keys, the token file and the kubeconfig are readable by their owner only. */
  private static Path writeOwnerOnly(Path file, String text) throws IOException {
    Files.writeString(file, text, StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    return file;
  }

  private String logTails() {
    StringBuilder sb = new StringBuilder();
    for (ServerProcess process : started) {
      sb.append("---- ").append(process.name).append(" (").append(process.log).append(") ")
          .append(process.isAlive() ? "running" : process.exitDescription()).append(" ----\n")
          .append(process.logTail(LOG_LINES)).append('\n');
    }
    return sb.toString();
  }

  private void stop() {
    if (client != null) {
      client.close();
      client = null;
    }
    stopProcessesAndDelete();
    if (shutdownHook != null) {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs (or ran) anyway
      }
      shutdownHook = null;
    }
    etcd = null;
    apiServer = null;
  }

  /** The API server first (it would spend its shutdown retrying a missing etcd), then etcd; then their folder. */
  private synchronized void stopProcessesAndDelete() {
    for (int i = started.size() - 1; i >= 0; i--) {
      started.get(i).stop();
    }
    started.clear();
    if (work != null) {
      deleteTree(work);
      work = null;
    }
  }

  /**
   * Stops the servers of test JVMs that were killed before their afterAll or shutdown hook could run (SIGKILL, a
   * fork timeout), and deletes their folders. Only folders whose owning JVM is gone are touched, so the servers of
   * another build running on this machine at the same time are left alone; a recorded pid is stopped only while it
   * still runs the recorded binary, so a reused pid is never hit.
   */
  private static synchronized void reapOrphans() {
    if (reaped) {
      return;
    }
    reaped = true;
    OrphanedServers.reap(TAG, WORK_PREFIX, OWNER_FILE, PIDS_FILE);
  }

  private static void deleteTree(Path root) {
    OrphanedServers.deleteTree(TAG, root);
  }

  private static long millisSince(long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000;
  }
}
