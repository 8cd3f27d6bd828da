package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.net.httpserver.HttpServer;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.cli.ShardgateCli;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;
import picocli.CommandLine;

/** What the end-to-end tests share: running the CLI in-process, Envoys from its bootstraps, echo backends. */
final class E2eSupport {

  private E2eSupport() {}

  /** Runs {@code shardgate args...} in-process, capturing what it prints; returns the exit code. */
  static int cli(StringWriter out, StringWriter err, String... args) {
    PrintWriter o = new PrintWriter(out, true);
    PrintWriter e = new PrintWriter(err, true);
    int exit = new CommandLine(new ShardgateCli())
        .setCaseInsensitiveEnumValuesAllowed(true)
        .setOut(o)
        .setErr(e)
        .execute(args);
    o.flush();
    e.flush();
    return exit;
  }

  /**
   * Starts a real Envoy for shard {@code proxy} from the project's own {@code bootstrap} command (plus
   * {@code extraArgs}), named {@code name}, with its bootstrap and log in {@code run}.
   */
  static EnvoyProcess startShardEnvoy(
      String name, String proxy, int xdsPort, int envoyAdminPort, Path run, String... extraArgs) throws IOException {
    List<String> args = new ArrayList<>(List.of("bootstrap", "--proxy", proxy, "--xds", "127.0.0.1:" + xdsPort,
        "--admin-port", String.valueOf(envoyAdminPort)));
    args.addAll(List.of(extraArgs));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = cli(out, err, args.toArray(String[]::new));
    assertEquals(0, exit, () -> "bootstrap --proxy " + proxy + " failed:\n" + err);
    assertTrue(out.toString().contains("~" + proxy), () -> "bootstrap without the role of " + proxy + ":\n" + out);
    Path bootstrap = Files.writeString(run.resolve(name + ".yaml"), out.toString(), StandardCharsets.UTF_8);
    return EnvoyProcess.start(name, bootstrap, run.resolve(name + ".log"), envoyAdminPort);
  }

  /** Prints the log tail of each Envoy that was started (nulls are skipped), after {@code what} failed. */
  static void printEnvoyLogs(String what, EnvoyProcess... envoys) {
    StringBuilder sb = new StringBuilder("---- Envoy logs after the failure of " + what + " ----\n");
    for (EnvoyProcess envoy : envoys) {
      if (envoy != null) {
        sb.append("== ").append(envoy.name).append(" (").append(envoy.log).append(")\n")
            .append(envoy.logTail()).append('\n');
      }
    }
    System.out.println(sb);
  }

  /** An HTTP server on 127.0.0.1:port answering every request 200 with its name and the request path. */
  static HttpServer echoBackend(int port, String name) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
    server.createContext("/", exchange -> {
      try (exchange) {
        byte[] body = (name + " path=" + exchange.getRequestURI().getPath() + "\n").getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream os = exchange.getResponseBody()) {
          os.write(body);
        }
      }
    });
    server.start();
    return server;
  }

  /** {@code GET path} on an Envoy's admin port; fails unless it answers 200. Returns the body. */
  static String admin(EnvoyProcess envoy, String path) throws IOException {
    RawHttp.Response r = RawHttp.get(envoy.adminPort, "127.0.0.1:" + envoy.adminPort, path);
    assertEquals(200, r.status(), () -> envoy.name + " admin " + path + ": " + r);
    return r.body();
  }

  /**
   * Polls {@code host path} on 127.0.0.1:{@code port}, where {@code envoy} listens, until it answers {@code status};
   * fails with the last answer after {@code liveness}.
   */
  static void awaitStatus(EnvoyProcess envoy, int port, String host, String path, int status, Duration liveness)
      throws InterruptedException {
    long deadline = System.nanoTime() + liveness.toNanos();
    String last = "no answer";
    while (System.nanoTime() - deadline < 0) {
      envoy.checkAlive();
      try {
        RawHttp.Response r = RawHttp.get(port, host, path);
        if (r.status() == status) {
          return;
        }
        last = r.toString();
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(20);
    }
    fail(host + path + " on " + envoy.name + " never answered " + status + " within " + liveness + "; last: " + last);
  }

  /** The tail of each Envoy's log (nulls skipped), for printing after a failure. */
  /** A watcher that prints the logs of the Envoys {@code envoys} gives when a test of the class fails. */
  static TestWatcher envoyLogsOnFailure(Supplier<EnvoyProcess[]> envoys) {
    return new TestWatcher() {
      @Override
      public void testFailed(ExtensionContext context, Throwable cause) {
        System.out.println(envoyLogs(context.getDisplayName(), envoys.get()));
      }
    };
  }

  static String envoyLogs(String after, EnvoyProcess... envoys) {
    StringBuilder sb = new StringBuilder("---- Envoy logs after the failure of " + after + " ----\n");
    for (EnvoyProcess envoy : envoys) {
      if (envoy != null) {
        sb.append("== ").append(envoy.name).append(" (").append(envoy.log).append(")\n").append(envoy.logTail())
            .append('\n');
      }
    }
    return sb.toString();
  }

  /**
   * Waits until {@code port} can be bound again (on all addresses when {@code host} is null): a stopped control
   * plane's Netty servers release their ports a moment after close() returns.
   */
  static void awaitPortFree(String host, int port, Duration liveness) throws InterruptedException {
    long deadline = System.nanoTime() + liveness.toNanos();
    IOException last = null;
    while (System.nanoTime() - deadline < 0) {
      try (ServerSocket socket = new ServerSocket()) {
        socket.setReuseAddress(true);
        socket.bind(host == null ? new InetSocketAddress(port) : new InetSocketAddress(host, port));
        return;
      } catch (IOException e) {
        last = e;
      }
      Thread.sleep(50);
    }
    fail("port " + port + " of the stopped control plane was not released within " + liveness + ": " + last);
  }

  /**
   * Stops what an end-to-end test started, each part null-safe: the Envoys first, so they do not spend the teardown
   * reconnecting to a control plane that is gone; then the control plane, its ADS streams ended first as a process
   * exit ends them; then the backends.
   */
  static void stopAll(List<EnvoyProcess> envoys, ApplicationContext controlPlane, HttpServer... backends) {
    for (EnvoyProcess envoy : envoys) {
      if (envoy != null) {
        envoy.close();
      }
    }
    if (controlPlane != null) {
      ServeCommand.stop(controlPlane);
    }
    for (HttpServer backend : backends) {
      if (backend != null) {
        backend.stop(0);
      }
    }
  }
}
