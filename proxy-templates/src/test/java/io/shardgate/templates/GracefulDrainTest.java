package io.shardgate.templates;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.shardgate.templates.Helm.Doc;
import io.shardgate.templates.Helm.Manifests;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart's gracefulShutdown drain, run for real: the preStop command a gateway-proxy pod gets, executed with
 * bash exactly as the kubelet would (the argv of {@code lifecycle.preStop.exec.command}), against a real Envoy
 * started from the chart's own bootstrap, turns the readiness the pod is probed on (the stats listener's
 * {@code /ready}) from 200 to 503 DRAINING, while Envoy keeps running to serve what is in flight.
 *
 * <p>The chart is rendered with free loopback ports and the stats listener on 127.0.0.1 (in a pod it is 0.0.0.0,
 * which a test must not bind) and a 1 s sleep; nothing else differs from what a pod runs. The xDS host does not
 * resolve here, so Envoy becomes ready only after its initial fetches time out (about 30 s), hence the generous
 * wait.
 */
class GracefulDrainTest {

  private static final Duration READY_WITHIN = Duration.ofSeconds(120);

  @TempDir
  Path work;

  @Test
  void preStopMakesEnvoyFailReadinessAndKeepsItRunning() throws Exception {
    int adminPort = freePort();
    int statsPort = freePort();
    int httpPort = freePort();
    int httpsPort = freePort();
    Manifests manifests = Helm.template(work, "-f", Helm.values(work, """
        webhook: {enabled: false}
        gatewayProxies:
          gateway-proxy:
            podTemplate:
              adminPort: %d
              httpPort: %d
              httpsPort: %d
              gracefulShutdown: {enabled: true, sleepTimeSeconds: 1}
            stats: {port: %d, address: 127.0.0.1}
        """.formatted(adminPort, httpPort, httpsPort, statsPort)).toString());
    Doc deployment = manifests.proxyWorkload("gateway-proxy");
    List<?> preStop = (List<?>) Helm.container(deployment).at("lifecycle", "preStop", "exec", "command");
    assertTrue(preStop != null && preStop.size() == 3 && "/bin/bash".equals(preStop.get(0)),
        () -> "expected a bash preStop command, got " + preStop);
    Object grace = deployment.at("spec", "template", "spec", "terminationGracePeriodSeconds");
    assertTrue(grace instanceof Integer g && g > 1, () -> "terminationGracePeriodSeconds " + grace
        + " must be above the preStop sleep");
    assertEquals("/ready", Helm.container(deployment).at("readinessProbe", "httpGet", "path"));

    Envoy.binary();
    Path bootstrap = work.resolve("envoy.yaml");
    Files.writeString(bootstrap, manifests.bootstrap("gateway-proxy"));
    Path log = work.resolve("envoy.log");
    Process envoy = Envoy.start(List.of("-c", bootstrap.toString(), "--disable-hot-restart", "-l", "info"), work, log);
    try {
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      URI ready = URI.create("http://127.0.0.1:" + statsPort + "/ready");
      String lastSeen = awaitReady(http, ready, envoy, log);
      assertTrue(lastSeen.startsWith("200"), lastSeen);

      List<String> command = new ArrayList<>();
      preStop.forEach(arg -> command.add(arg.toString()));
      Process hook = new ProcessBuilder(command).directory(work.toFile()).redirectErrorStream(true)
          .redirectOutput(work.resolve("prestop.log").toFile()).start();
      if (!hook.waitFor(60, TimeUnit.SECONDS)) {
        hook.destroyForcibly();
        fail("the preStop command did not finish within 60 s: " + command);
      }
      assertEquals(0, hook.exitValue(), () -> "the preStop command failed: " + command + "\n"
          + Golden.read(work.resolve("prestop.log")));

      HttpResponse<String> draining = http.send(HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(10))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(503, draining.statusCode(), () -> "readiness after the preStop: " + draining.body());
      assertTrue(draining.body().contains("DRAINING"), draining::body);
      assertTrue(envoy.isAlive(), () -> "Envoy must keep running through the drain:\n" + Golden.read(log));
    } finally {
      Envoy.stop(envoy);
    }
  }

  /** Polls {@code /ready} until it answers 200; returns the last status and body seen. */
  private static String awaitReady(HttpClient http, URI ready, Process envoy, Path log) throws InterruptedException {
    long deadline = System.nanoTime() + READY_WITHIN.toNanos();
    String lastSeen = "nothing yet";
    while (System.nanoTime() < deadline) {
      if (!envoy.isAlive()) {
        fail("Envoy exited with " + envoy.exitValue() + " before it was ready:\n" + Golden.read(log));
      }
      try {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(5))
            .build(), HttpResponse.BodyHandlers.ofString());
        lastSeen = response.statusCode() + " " + response.body().strip();
        if (response.statusCode() == 200) {
          return lastSeen;
        }
      } catch (IOException e) {
        lastSeen = e.toString();
      }
      Thread.sleep(250);
    }
    fail("the stats listener's /ready did not answer 200 within " + READY_WITHIN.toSeconds() + " s; last seen: "
        + lastSeen + "\n" + Golden.read(log));
    return lastSeen;
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
