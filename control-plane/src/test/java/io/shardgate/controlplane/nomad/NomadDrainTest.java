package io.shardgate.controlplane.nomad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.shardgate.controlplane.xds.EnvoyValidation;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Nomad shard job's graceful drain, run for real: the wrapper script and the bootstrap of a rendered job (as
 * HashiCorp's HCL2 parser reads them from the file, the Consul template filled in as consul-template would) start a
 * real Envoy with bash as the docker task would, and the SIGTERM Nomad sends (the job's kill_signal) turns the stats
 * listener's {@code /ready}, which the Consul check probes, from 200 to 503 while Envoy keeps running through the
 * drain; then Envoy exits. Only Nomad and docker are missing: NOMAD_TASK_DIR is a temporary folder, and the
 * rendering uses free loopback ports and a 127.0.0.1 stats address (0.0.0.0 in a task, which a test must not bind).
 * The control plane's address is a closed port, so Envoy becomes ready only once its initial fetches time out (about
 * 30 s), hence the generous waits.
 */
class NomadDrainTest {

  private static final Duration READY_WITHIN = Duration.ofSeconds(120);
  private static final int SLEEP_SECONDS = 10;

  @TempDir
  Path work;

  @Test
  void sigtermMakesEnvoyFailReadinessThenStopsIt() throws Exception {
    int adminPort = freePort();
    int statsPort = freePort();
    Path values = Files.writeString(work.resolve("values.yaml"), """
        gatewayProxies:
          gateway-proxy:
            podTemplate:
              adminPort: %d
              gracefulShutdown: {enabled: true, sleepTimeSeconds: %d}
            stats: {port: %d, address: 127.0.0.1}
        """.formatted(adminPort, SLEEP_SECONDS, statsPort));
    SortedMap<String, String> files = NomadJobRenderer.render(ChartValues.load(List.of(values)), "test");
    Path job = Files.writeString(work.resolve("gateway-proxy.nomad.hcl"), files.get("gateway-proxy.nomad.hcl"));
    Map<String, String> templates = templates(HclCheck.check(List.of(job)).jobs().get(0));

    Path taskDir = Files.createDirectories(work.resolve("local"));
    Files.writeString(taskDir.resolve("envoy.yaml"), NomadJobRenderTest.fillConsulTemplate(
        templates.get(NomadJobRenderer.BOOTSTRAP_PATH), "127.0.0.1", freePort()), StandardCharsets.UTF_8);
    Path script = Files.writeString(taskDir.resolve("run-envoy.sh"), templates.get(NomadJobRenderer.WRAPPER_PATH));
    Path bin = Files.createDirectories(work.resolve("bin"));
    Files.createSymbolicLink(bin.resolve("envoy"), EnvoyValidation.envoyBinary());

    Path log = work.resolve("envoy.log");
    ProcessBuilder pb = new ProcessBuilder("bash", script.toString(), "gateway-proxy.test", "--log-level", "info")
        .directory(work.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("NOMAD_TASK_DIR", taskDir.toString());
    pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
    Process wrapper = pb.start();
    try {
      URI ready = URI.create("http://127.0.0.1:" + statsPort + "/ready");
      awaitStatus(ready, 200, READY_WITHIN, wrapper, log);
      wrapper.destroy(); // SIGTERM, as Nomad sends it
      awaitStatus(ready, 503, Duration.ofSeconds(SLEEP_SECONDS), wrapper, log);
      assertTrue(wrapper.isAlive(), "Envoy keeps running while it drains");
      assertTrue(wrapper.waitFor(SLEEP_SECONDS + 60, TimeUnit.SECONDS),
          "the wrapper stops Envoy after the drain; its log:\n" + Files.readString(log));
      assertEquals(0, wrapper.exitValue(), "Envoy exits cleanly; its log:\n" + Files.readString(log));
    } finally {
      wrapper.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      ProcessHandle.of(wrapper.pid()).ifPresent(ProcessHandle::destroyForcibly);
      wrapper.descendants().forEach(ProcessHandle::destroyForcibly);
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, String> templates(Map<String, Object> job) {
    Map<String, Object> group = ((List<Map<String, Object>>) job.get("groups")).get(0);
    Map<String, Object> task = ((List<Map<String, Object>>) group.get("tasks")).get(0);
    Map<String, String> out = new TreeMap<>();
    for (Map<String, Object> t : (List<Map<String, Object>>) task.get("templates")) {
      out.put((String) t.get("destination"), (String) t.get("data"));
    }
    return out;
  }

  private static void awaitStatus(URI uri, int status, Duration within, Process wrapper, Path log) throws Exception {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    long deadline = System.nanoTime() + within.toNanos();
    String last = "no answer yet";
    while (System.nanoTime() < deadline) {
      try {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == status) {
          return;
        }
        last = r.statusCode() + " " + r.body().strip();
      } catch (IOException e) {
        last = e.toString();
      }
      if (!wrapper.isAlive()) {
        fail("the wrapper exited (" + wrapper.exitValue() + ") before " + uri + " answered " + status + "; log:\n"
            + Files.readString(log));
      }
      Thread.sleep(100);
    }
    fail(uri + " did not answer " + status + " within " + within + "; last: " + last + "; log:\n"
        + Files.readString(log));
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
