package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.shardgate.controlplane.cli.ShardgateCli;
import io.shardgate.controlplane.consul.ConsulAgent;
import io.shardgate.controlplane.kube.ServerProcess;
import io.shardgate.templates.TestPki;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * {@code serve --consul-register} and {@code bootstrap --xds-consul} together, with nothing faked: a real Consul
 * 1.16.1 agent with its DNS interface on a loopback port, {@code serve} as a <b>child JVM</b> (so its shutdown is a
 * real SIGTERM, with its shutdown hooks) serving xDS over TLS, and a <b>real Envoy</b> whose bootstrap names no
 * address for the control plane, only the Consul service: it resolves {@code gloo-xds.service.consul} through the
 * agent's DNS, which answers only while the instance's check (the admin API's {@code /ready}) passes, and verifies
 * the control plane's certificate against that name (also its SNI).
 *
 * <p>In order: the instance appears passing with the xDS address and port; the Envoy's bootstrap passes
 * {@code --mode validate}, the Envoy connects through Consul's DNS and routes a request (200); a restarted agent
 * (a {@code -dev} agent comes back empty) gets the service registered again; SIGTERM deregisters it. The check and
 * the re-registration run every second here (Micronaut reads the child's system properties); bounds are liveness only.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsulRegistrationE2ETest {

  private static final Duration LIVENESS = Duration.ofSeconds(60);
  private static final String SERVICE = "gloo-xds";
  private static final String PAYMENTS_HOST = "payments.example.com";

  @RegisterExtension static final ConsulAgent CONSUL = ConsulAgent.withDns();

  @TempDir static Path work;

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static ExampleConfig config;
  private static HttpServer paymentsBackend;
  private static ServerProcess serve;
  private static Path serveLog;
  private static int xdsPort;
  private static int serveAdminPort;
  private static EnvoyProcess envoy;
  private static Path caFile;
  private static long serveStarted;

  @RegisterExtension
  static final TestWatcher LOGS_ON_FAILURE = new TestWatcher() {
    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
      System.out.println("---- serve log ----\n" + (serve == null ? "(not started)" : serve.logTail(80)));
      E2eSupport.printEnvoyLogs(context.getDisplayName(), envoy);
    }
  };

  @BeforeAll
  static void startServe() throws Exception {
    EnvoyProcess.binary();
    int[] ports = ExampleConfig.freePorts(7);
    config = ExampleConfig.copyTo(work.resolve("config"), ports);
    xdsPort = ports[4];
    serveAdminPort = ports[5];
    paymentsBackend = E2eSupport.echoBackend(config.paymentsPort(), "payments-backend");
    // xDS over TLS, the certificate naming the Consul name Envoys dial (and send as SNI), not an address.
    Path pki = Files.createDirectories(work.resolve("pki"));
    TestPki ca = TestPki.create("consul-e2e-ca");
    caFile = ca.writeCertificate(pki.resolve("ca.crt"));
    TestPki.Issued server = ca.leaf("shardgate").sans("DNS:" + SERVICE + ".service.consul").writeTo(pki, "xds");
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx384m", "-XX:TieredStopAtLevel=1",
        "-Dshardgate.consul.register.check-interval-ms=1000", "-Dshardgate.consul.register.recheck-ms=1000",
        "-cp", System.getProperty("java.class.path"), ShardgateCli.class.getName(),
        "serve", "--config-dir", config.dir().toString(), "--state-dir", work.resolve("state").toString(),
        "--xds-port", Integer.toString(xdsPort), "--admin-port", Integer.toString(serveAdminPort),
        "--xds-tls-cert", server.certificateFile().toString(), "--xds-tls-key", server.keyFile().toString(),
        "--consul-agent", CONSUL.address(), "--consul-register"));
    serveLog = work.resolve("serve.log");
    serveStarted = System.nanoTime();
    serve = ServerProcess.start("serve", command, serveLog);
  }

  /** Prints a measured time (not asserted: a loaded machine would make a bound flaky). */
  private static void printSince(String what, long startNanos) {
    System.out.printf("[consul-registration] %s: %d ms%n", what, (System.nanoTime() - startNanos) / 1_000_000);
  }

  @AfterAll
  static void stopEverything() {
    if (envoy != null) {
      envoy.close();
    }
    if (serve != null) {
      serve.stop();
    }
    if (paymentsBackend != null) {
      paymentsBackend.stop(0);
    }
  }

  @Test
  @Order(1)
  void theReadyInstanceIsPassingInConsulWithTheXdsAddressAndPort() throws Exception {
    Map<?, ?> service = awaitPassing("the first registration");
    printSince("serve's JVM start to a passing gloo-xds instance (1 s check interval)", serveStarted);
    assertEquals("127.0.0.1", service.get("Address"), service::toString);
    assertEquals(xdsPort, service.get("Port"), service::toString);
    assertEquals(SERVICE + "-127.0.0.1-" + xdsPort, service.get("ID"), service::toString);
    assertEquals(List.of("shardgate", "xds", "grpc"), service.get("Tags"), service::toString);
    assertTrue(((Map<?, ?>) service.get("Meta")).containsKey("shardgate_version"), service::toString);
    Map<?, ?> checks = (Map<?, ?>) yaml(get("/v1/agent/checks").body());
    Map<?, ?> check = (Map<?, ?>) checks.get(service.get("ID") + ":ready");
    assertTrue(check != null, checks::toString);
    assertEquals("http", check.get("Type"), check::toString);
    assertEquals("passing", check.get("Status"), check::toString);
    assertTrue(String.valueOf(check.get("Output")).startsWith("HTTP GET http://127.0.0.1:" + serveAdminPort
        + "/ready: 200 OK"), check::toString);
  }

  @Test
  @Order(2)
  void anEnvoyFindsTheControlPlaneThroughConsulsDnsAndServesARoute() throws Exception {
    Path run = Files.createDirectories(work.resolve("run"));
    int envoyAdminPort = ExampleConfig.freePorts(1)[0];
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = E2eSupport.cli(out, err, "bootstrap", "--proxy", "gateway-proxy-protected", "--xds-consul", SERVICE,
        "--consul-dns", "127.0.0.1:" + CONSUL.dnsPort(), "--xds-port", Integer.toString(xdsPort),
        "--admin-port", Integer.toString(envoyAdminPort), "--xds-tls-ca", caFile.toString());
    assertEquals(0, exit, err::toString);
    assertTrue(out.toString().contains("address: \"gloo-xds.service.consul\""), out::toString);
    assertTrue(out.toString().contains("sni: \"gloo-xds.service.consul\""), out::toString);
    Path bootstrap = Files.writeString(run.resolve("envoy.yaml"), out.toString(), StandardCharsets.UTF_8);

    Process validate = new ProcessBuilder(EnvoyProcess.binary().toString(), "--mode", "validate", "-c",
        bootstrap.toString(), "--disable-hot-restart").redirectErrorStream(true).start();
    String validateOutput = new String(validate.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(validate.waitFor(60, TimeUnit.SECONDS), "envoy --mode validate did not end");
    assertEquals(0, validate.exitValue(), validateOutput);

    long envoyStarted = System.nanoTime();
    envoy = EnvoyProcess.start("gateway-proxy-protected", bootstrap, run.resolve("envoy.log"), envoyAdminPort);
    envoy.awaitReady(LIVENESS);
    E2eSupport.awaitStatus(envoy, config.protectedPort(), PAYMENTS_HOST, "/payments/v1/charges", 200, LIVENESS);
    printSince("Envoy start to a 200 through the control plane found by Consul DNS (TLS)", envoyStarted);
    RawHttp.Response r = RawHttp.get(config.protectedPort(), PAYMENTS_HOST, "/payments/v1/charges");
    assertTrue(r.body().contains("payments-backend"), r::toString);
  }

  @Test
  @Order(3)
  void aRestartedAgentThatLostTheServiceGetsItRegisteredAgain() throws Exception {
    long restarted = System.nanoTime();
    CONSUL.restart(true); // a -dev agent keeps nothing: the registration is gone
    awaitPassing("the registration after the agent's restart");
    printSince("agent restart to a passing instance again (1 s recheck)", restarted);
    awaitLog("registered again (the agent did not hold it)");
  }

  @Test
  @Order(4)
  void aCleanShutdownDeregistersTheService() throws Exception {
    awaitPassing("the registration before the shutdown");
    long stopped = System.nanoTime();
    serve.stop(); // SIGTERM: the shutdown hook deregisters before the gRPC server stops
    printSince("SIGTERM to serve's exit, deregistration included", stopped);
    String services = get("/v1/agent/services").body();
    assertTrue(!services.contains(SERVICE), "still registered after a clean shutdown: " + services);
    String passing = get("/v1/health/service/" + SERVICE + "?passing").body().strip();
    assertEquals("[]", passing);
    assertTrue(Files.readString(serveLog).contains("deregistered service " + SERVICE), serve.logTail(40));
  }

  /** Waits until exactly one passing instance of the service is listed; returns its Service object. */
  private static Map<?, ?> awaitPassing(String what) throws Exception {
    String last = "no answer";
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    while (System.nanoTime() - deadline < 0) {
      if (!serve.isAlive()) {
        fail("serve ended (" + serve.exitDescription() + ") while waiting for " + what + ":\n" + serve.logTail(60));
      }
      try {
        HttpResponse<String> r = get("/v1/health/service/" + SERVICE + "?passing");
        last = r.statusCode() + " " + r.body();
        if (r.statusCode() == 200) {
          List<?> entries = (List<?>) yaml(r.body());
          if (entries.size() == 1) {
            return (Map<?, ?>) ((Map<?, ?>) entries.get(0)).get("Service");
          }
        }
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(200);
    }
    throw new AssertionError("no passing instance of " + SERVICE + " within " + LIVENESS + " for " + what
        + "; last answer: " + last + "\nserve log:\n" + serve.logTail(60));
  }

  private static void awaitLog(String text) throws Exception {
    Predicate<String> seen = log -> log.contains(text);
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    while (!seen.test(Files.readString(serveLog))) {
      if (System.nanoTime() - deadline > 0) {
        fail("serve never logged '" + text + "' within " + LIVENESS + ":\n" + serve.logTail(60));
      }
      Thread.sleep(200);
    }
  }

  /** Consul's JSON, read as the YAML it also is. */
  private static Object yaml(String json) {
    return new Yaml(new SafeConstructor(new LoaderOptions())).load(json);
  }

  private static HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(URI.create(CONSUL.address() + path)).timeout(Duration.ofSeconds(10))
        .build(), HttpResponse.BodyHandlers.ofString());
  }
}
