package io.shardgate.controlplane.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.e2e.NetnsHttpGet;
import io.shardgate.controlplane.e2e.NetnsTestHost;
import io.shardgate.controlplane.e2e.RawHttp;
import io.shardgate.controlplane.security.AdminRemoteAccess;
import io.shardgate.controlplane.security.ServeSecurity;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code serve --admin-remote-access} on the real admin HTTP server (in-process, admin bound to 0.0.0.0 as the Helm
 * chart binds it), with requests from a real peer that is not on loopback: a client JVM inside a network namespace
 * ({@link NetnsTestHost}) that reaches this host over a veth pair, as a kubelet or Prometheus reaches a pod. Per level,
 * the paths it opens answer that peer, every other gets 403 with the one-line reason; from loopback everything answers.
 */
class AdminRemoteAccessTest {

  private static final List<String> HEALTH = List.of("/healthz", "/livez", "/ready", "/readyz", "/readyz?strict=true");
  private static final List<String> CONFIG = List.of("/api/status", "/api/shards");

  @TempDir static Path work;

  private static NetnsTestHost peer;

  @BeforeAll
  static void startPeer() throws Exception {
    // The backend it runs is not used: the namespace is what matters, its address the peer's.
    peer = NetnsTestHost.start("admin-peer", 8080, work);
  }

  @AfterAll
  static void stopPeer() {
    if (peer != null) {
      peer.close();
    }
  }

  @Test
  void byDefaultTheProbesAndMetricsAnswerThePodNetworkAndTheConfigDoesNot() throws Exception {
    try (Served served = Served.start("metrics-default", null)) {
      Map<String, String> remote = served.fromPeer(concat(HEALTH, List.of("/metrics"), CONFIG));
      for (String path : concat(HEALTH, List.of("/metrics"))) {
        assertTrue(remote.get(path).startsWith("200 "), () -> path + " from " + peer.address() + ": " + remote);
      }
      assertTrue(remote.get("/readyz").contains("gloo-system~gateway-proxy-protected: ready"), remote::toString);
      assertTrue(remote.get("/livez").equals("200 ok"), remote::toString);
      assertTrue(remote.get("/metrics").contains("# TYPE"), remote::toString);
      for (String path : CONFIG) {
        assertEquals("403 Forbidden: requests from outside this host may only GET /healthz /livez /metrics /ready"
            + " /readyz (--admin-remote-access metrics); read the rest from this host or through `kubectl"
            + " port-forward`, or widen it with --admin-remote-access all", remote.get(path),
            () -> path + " from " + peer.address());
      }
      served.everythingAnswersLoopback();
    }
  }

  @Test
  void healthOpensOnlyTheProbes() throws Exception {
    try (Served served = Served.start("health", AdminRemoteAccess.HEALTH)) {
      Map<String, String> remote = served.fromPeer(concat(HEALTH, List.of("/metrics"), CONFIG));
      for (String path : HEALTH) {
        assertTrue(remote.get(path).startsWith("200 "), () -> path + ": " + remote);
      }
      for (String path : concat(List.of("/metrics"), CONFIG)) {
        assertTrue(remote.get(path).startsWith("403 Forbidden: requests from outside this host may only GET /healthz"
            + " /livez /ready /readyz (--admin-remote-access health);"), () -> path + ": " + remote);
        assertTrue(remote.get(path).contains("kubectl port-forward"), remote::toString);
      }
      served.everythingAnswersLoopback();
    }
  }

  @Test
  void allOpensEverything() throws Exception {
    try (Served served = Served.start("all", AdminRemoteAccess.ALL)) {
      Map<String, String> remote = served.fromPeer(concat(HEALTH, List.of("/metrics"), CONFIG));
      remote.forEach((path, answer) -> assertTrue(answer.startsWith("200 "), () -> path + ": " + remote));
      assertTrue(remote.get("/api/status").contains("\"resources\""), remote::toString);
    }
  }

  @SafeVarargs
  private static List<String> concat(List<String>... lists) {
    return Arrays.stream(lists).flatMap(List::stream).toList();
  }

  /** A control plane serving the sharded example with its admin API on 0.0.0.0. */
  private record Served(ApplicationContext context, int adminPort) implements AutoCloseable {

    static Served start(String name, AdminRemoteAccess access) throws IOException {
      int[] ports = ExampleConfig.freePorts(6);
      ExampleConfig config = ExampleConfig.copyTo(work.resolve(name), ports);
      ServeSecurity security = access == null ? ServeSecurity.defaults()
          : ServeSecurity.defaults().withAdminRemoteAccess(access);
      ApplicationContext context = ServeCommand.start(config.dir(), work.resolve(name + "-state"), ports[4], ports[5],
          "0.0.0.0", security);
      ServeCommand.awaitFirstTranslation(context);
      return new Served(context, ports[5]);
    }

    /** Path to {@code "<status> <body on one line>"}, as the peer in the namespace got it. */
    Map<String, String> fromPeer(List<String> paths) throws IOException, InterruptedException {
      String base = "http://" + peer.hostAddress() + ":" + adminPort;
      String[] urls = paths.stream().map(p -> base + p).toArray(String[]::new);
      String output = peer.runJava(NetnsHttpGet.class, urls);
      Map<String, String> answers = new LinkedHashMap<>();
      for (String line : output.lines().filter(l -> l.startsWith(base)).toList()) {
        String rest = line.substring(base.length());
        int space = rest.indexOf(' ');
        answers.put(rest.substring(0, space), rest.substring(space + 1));
      }
      assertEquals(paths, List.copyOf(answers.keySet()), () -> "one answer per path; the client printed:\n" + output);
      return answers;
    }

    void everythingAnswersLoopback() throws IOException {
      for (String path : concat(HEALTH, List.of("/metrics"), CONFIG)) {
        RawHttp.Response r = RawHttp.get(adminPort, "127.0.0.1:" + adminPort, path);
        assertEquals(200, r.status(), () -> path + " from loopback: " + r);
      }
    }

    @Override
    public void close() {
      ServeCommand.stop(context);
    }
  }
}
