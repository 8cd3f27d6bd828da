package io.shardgate.templates;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
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
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two shards' Envoys on one host: their bootstraps differ only where they must (node id, role, admin port), both
 * pass Envoy's validation, and both Envoys run at the same time, each reporting its own node.
 */
class SideBySideShardsTest {

  @TempDir
  Path work;

  @Test
  void twoShardsRunSideBySideFromBootstrapsThatDifferOnlyInNodeAndAdmin() throws Exception {
    int[] ports = freePorts(3);
    // Nothing listens on the xds port: the Envoys retry it in the background, which the test does not need.
    BootstrapParams publicGw = BootstrapParams.builder("public-gw").xdsPort(ports[0]).adminPort(ports[1]).build();
    BootstrapParams noisyGw = BootstrapParams.builder("noisy-gw").xdsPort(ports[0]).adminPort(ports[2]).build();
    String publicYaml = BootstrapRenderer.render(publicGw);
    String noisyYaml = BootstrapRenderer.render(noisyGw);

    assertDifferOnlyInNodeAndAdmin(publicGw, publicYaml, noisyGw, noisyYaml);

    Path publicFile = Files.writeString(work.resolve("public-gw.yaml"), publicYaml);
    Path noisyFile = Files.writeString(work.resolve("noisy-gw.yaml"), noisyYaml);
    for (Path file : List.of(publicFile, noisyFile)) {
      Envoy.Run run = Envoy.validate(file, work);
      assertEquals(0, run.exitCode(), () -> "envoy --mode validate rejected " + file + ":\n" + run.output());
    }

    // Hot restart shares memory between Envoys of one base id; shards on one host must not share it.
    List<String> flags = List.of("--disable-hot-restart", "--concurrency", "1", "-l", "warn");
    Process publicEnvoy = null;
    Process noisyEnvoy = null;
    try {
      publicEnvoy = Envoy.start(args(publicFile, flags), work, work.resolve("public-gw.log"));
      noisyEnvoy = Envoy.start(args(noisyFile, flags), work, work.resolve("noisy-gw.log"));
      String publicInfo = serverInfo(publicGw, publicEnvoy, work.resolve("public-gw.log"));
      String noisyInfo = serverInfo(noisyGw, noisyEnvoy, work.resolve("noisy-gw.log"));
      assertTrue(publicEnvoy.isAlive() && noisyEnvoy.isAlive(), "both Envoys must be running at the same time");
      assertReportsNode(publicGw, publicInfo);
      assertReportsNode(noisyGw, noisyInfo);
    } finally {
      if (publicEnvoy != null) {
        Envoy.stop(publicEnvoy);
      }
      if (noisyEnvoy != null) {
        Envoy.stop(noisyEnvoy);
      }
    }
  }

  private static void assertDifferOnlyInNodeAndAdmin(BootstrapParams a, String yamlA, BootstrapParams b, String yamlB) {
    List<String> linesA = yamlA.lines().toList();
    List<String> linesB = yamlB.lines().toList();
    assertEquals(linesA.size(), linesB.size(),
        () -> "the two bootstraps have different shapes:\n" + Golden.diff(yamlA, yamlB));
    Set<String> differing = new TreeSet<>();
    IntStream.range(0, linesA.size())
        .filter(i -> !linesA.get(i).equals(linesB.get(i)))
        .forEach(i -> differing.add(linesA.get(i).strip() + "  |  " + linesB.get(i).strip()));
    assertEquals(new TreeSet<>(Set.of(
            "id: \"" + a.nodeId() + "\"  |  id: \"" + b.nodeId() + "\"",
            "role: \"" + a.role() + "\"  |  role: \"" + b.role() + "\"",
            "port_value: " + a.adminPort() + "  |  port_value: " + b.adminPort())),
        differing, () -> "unexpected differences:\n" + Golden.diff(yamlA, yamlB));
  }

  private static List<String> args(Path config, List<String> flags) {
    List<String> args = new ArrayList<>(List.of("-c", config.toString()));
    args.addAll(flags);
    return args;
  }

  /** Polls the admin {@code /server_info} until it answers, failing with Envoy's log if it never does. */
  private static String serverInfo(BootstrapParams p, Process envoy, Path log) throws InterruptedException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    URI uri = URI.create("http://" + p.adminAddress() + ":" + p.adminPort() + "/server_info");
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      if (!envoy.isAlive()) {
        fail("Envoy of " + p.proxyName() + " exited with " + envoy.exitValue() + ":\n" + Golden.read(log));
      }
      try {
        HttpResponse<String> response = http.send(
            HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 200) {
          return response.body();
        }
      } catch (IOException notYet) {
        // the admin listener is not bound yet
      }
      Thread.sleep(100);
    }
    return fail("Envoy of " + p.proxyName() + " did not answer on " + uri + " within 30 s:\n" + Golden.read(log));
  }

  private static void assertReportsNode(BootstrapParams p, String serverInfo) {
    String compact = serverInfo.replaceAll("\\s+", "");
    assertTrue(compact.contains("\"id\":\"" + p.nodeId() + "\""), () -> "node id missing in:\n" + serverInfo);
    assertTrue(compact.contains("\"role\":\"" + p.role() + "\""), () -> "role missing in:\n" + serverInfo);
  }

  private static int[] freePorts(int count) throws IOException {
    // Held open together so that the ports are distinct; closed before Envoy binds them.
    ServerSocket[] sockets = new ServerSocket[count];
    try {
      int[] ports = new int[count];
      for (int i = 0; i < count; i++) {
        sockets[i] = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        ports[i] = sockets[i].getLocalPort();
      }
      return ports;
    } finally {
      for (ServerSocket socket : sockets) {
        if (socket != null) {
          socket.close();
        }
      }
    }
  }
}
