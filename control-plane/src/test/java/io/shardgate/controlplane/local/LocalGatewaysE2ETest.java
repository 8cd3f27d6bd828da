package io.shardgate.controlplane.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.shardgate.controlplane.cli.ShardgateCli;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The launcher behind {@code shardgate demo} and the load-isolation experiment, with real Envoys, real
 * {@code serve} and echo backends as child processes: each API answers 200 from its own backend through its shard, the
 * other shard answers 404 for it, and close() ends every child by pid and removes the temporary folder. And
 * {@code demo --check} prints curl lines that answer as printed; and {@code demo} as a user runs it (its own JVM), on
 * SIGTERM (what Ctrl-C's SIGINT also triggers: the JVM's shutdown hooks), stops every child and removes its folder.
 */
class LocalGatewaysE2ETest {

  private static final List<LocalApi> APIS = List.of(
      new LocalApi("payments", "protected", "payments.example.com", "/payments/v1", null),
      new LocalApi("catalog", "noisy", "catalog.example.com", "/", null));

  private static Path envoy() throws Exception {
    try {
      return EnvoyBinary.find(null, false, System.err);
    } catch (IllegalStateException missing) {
      return fail(missing.getMessage());
    }
  }

  @Test
  void shardedLayoutServesEachApiFromItsOwnShardAndCloseStopsEverything() throws Exception {
    LocalGateways gateways = LocalGateways.start(new LocalGateways.Options(APIS, LocalLayout.SHARDED, envoy(), 1,
        21000, null, null), new PrintStream(System.out, true));
    Path workDir = gateways.workDir();
    List<ChildProcess> children;
    try {
      children = new ArrayList<>(gateways.envoys());
      children.addAll(gateways.backends());
      assertEquals(2, gateways.envoys().size());
      LocalHttp.Answer payments = LocalHttp.get(gateways.entryPort(APIS.get(0)), "payments.example.com",
          "/payments/v1/charges");
      assertEquals(200, payments.status(), payments.toString());
      assertTrue(payments.body().startsWith("payments-backend path=/payments/v1/charges"), payments.toString());
      LocalHttp.Answer catalog = LocalHttp.get(gateways.entryPort(APIS.get(1)), "catalog.example.com", "/items");
      assertTrue(catalog.status() == 200 && catalog.body().startsWith("catalog-backend "), catalog.toString());
      LocalHttp.Answer wrongShard = LocalHttp.get(gateways.shardPort("gateway-proxy-noisy"), "payments.example.com",
          "/payments/v1/charges");
      assertEquals(404, wrongShard.status(), "the noisy shard must not serve payments: " + wrongShard);
      for (int port : new int[] {gateways.xdsPort(), gateways.adminPort(), gateways.entryPort(APIS.get(0))}) {
        assertTrue(port >= 21000 && port < LoopbackPorts.ephemeralLow(), "port " + port + " outside the range");
      }
    } finally {
      gateways.close();
    }
    assertTrue(gateways.allStopped(), "a child outlived close(): " + gateways.placement());
    for (ChildProcess child : children) {
      assertFalse(ProcessHandle.of(child.pid()).map(ProcessHandle::isAlive).orElse(false), child.placement());
    }
    assertFalse(Files.exists(workDir), workDir + " was not removed");
  }

  @Test
  void demoCheckPrintsCurlLinesThatAnswerAsPrintedThroughTheEdge() throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new ShardgateCli()).setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true))
        .execute("demo", "--check", "--layout", "edge", "--envoy", envoy().toString(), "--base-port", "22000");
    assertEquals(0, exit, out + "\n" + err);
    String printed = out.toString();
    assertTrue(printed.contains("curl -H 'Host: payments.example.com' http://127.0.0.1:")
        && printed.contains("# 200 from payments-backend via gateway-proxy-protected through the edge"), printed);
    assertTrue(printed.contains("# 404: gateway-proxy-noisy does not serve payments (isolation)"), printed);
    assertTrue(printed.contains("Every line answered as printed"), printed);
  }

  @Test
  void demoStopsEveryChildAndRemovesItsFolderOnSigterm() throws Exception {
    Path run = Files.createTempDirectory("demo-e2e-");
    Path out = run.resolve("out.txt");
    Path err = run.resolve("err.txt");
    Process demo = new ProcessBuilder(ChildProcess.javaExecutable(), "-cp", System.getProperty("java.class.path"),
        ShardgateCli.class.getName(), "demo", "--envoy", envoy().toString(), "--base-port", "23000")
        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
      while (!Files.readString(out).contains("Press Ctrl-C")) {
        if (!demo.isAlive() || System.nanoTime() - deadline > 0) {
          fail("demo did not come up (alive: " + demo.isAlive() + "); stdout:\n" + Files.readString(out)
              + "\nstderr:\n" + Files.readString(err));
        }
        Thread.sleep(200);
      }
      String started = Files.readString(err);
      List<Long> pids = Pattern.compile("pid (\\d+)").matcher(started).results()
          .map(m -> Long.parseLong(m.group(1))).toList();
      Matcher dir = Pattern.compile("Started the sharded layout in (\\S+):").matcher(started);
      assertTrue(dir.find() && pids.size() == 5, "expected 2 Envoys, 2 backends and serve with pids:\n" + started);
      Path workDir = Path.of(dir.group(1));
      assertTrue(Files.isDirectory(workDir), workDir.toString());
      for (long pid : pids) {
        assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid " + pid + " not running");
      }
      demo.destroy(); // SIGTERM
      assertTrue(demo.waitFor(120, TimeUnit.SECONDS), "demo did not exit within 120 s of SIGTERM");
      for (long pid : pids) {
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false),
            "pid " + pid + " outlived the demo:\n" + started);
      }
      assertFalse(Files.exists(workDir), workDir + " was not removed");
      assertTrue(Files.readString(err).contains("demo: stopped every process it started"), Files.readString(err));
    } finally {
      demo.destroyForcibly();
      LocalGateways.deleteTree(run);
    }
  }
}
