package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.shardgate.controlplane.cli.ShardgateCli;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
}
