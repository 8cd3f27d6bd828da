package io.shardgate.controlplane.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.e2e.RawHttp;
import io.shardgate.controlplane.security.ServeSecurity;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin API's Host check on the real HTTP server of {@code serve} (in-process, admin on 127.0.0.1, two extra
 * allowed names), over raw sockets so the test can send any Host header a browser could be made to send.
 */
class AdminHostCheckTest {

  @TempDir static Path work;

  private static ApplicationContext controlPlane;
  private static int adminPort;

  @BeforeAll
  static void start() throws IOException {
    int[] ports = ExampleConfig.freePorts(6);
    ExampleConfig config = ExampleConfig.copyTo(work.resolve("config"), ports);
    adminPort = ports[5];
    ServeSecurity security =
        new ServeSecurity("127.0.0.1", List.of("ops.example.com", "localhost:8888"), null, false, null);
    controlPlane = ServeCommand.start(config.dir(), work.resolve("state"), ports[4], adminPort, "127.0.0.1", security);
    ServeCommand.awaitFirstTranslation(controlPlane);
  }

  @AfterAll
  static void stop() {
    if (controlPlane != null) {
      controlPlane.close();
    }
  }

  @Test
  void aForeignHostGets403WithAOneLineBodyAndNoStatus() throws IOException {
    for (String path : List.of("/api/status", "/api/shards", "/metrics", "/healthz", "/no-such-page")) {
      RawHttp.Response r = RawHttp.get(adminPort, "evil.example", path);
      assertEquals(403, r.status(), () -> path + ": " + r);
      assertTrue(r.body().endsWith("\n") && r.body().indexOf('\n') == r.body().length() - 1,
          () -> path + ": expected one line, got " + r.body());
      assertTrue(r.body().contains("127.0.0.1, [::1], localhost, ops.example.com, localhost:8888"), r::toString);
      assertTrue(r.body().contains("--admin-allowed-hosts"), r::toString);
      assertFalse(r.body().contains("gloo-system"), () -> "no configuration may leak: " + r);
    }
    RawHttp.Response rebound = RawHttp.get(adminPort, "evil.example:" + adminPort, "/api/status");
    assertEquals(403, rebound.status(), rebound::toString);
  }

  @Test
  void loopbackNamesWithTheAdminPortOrNoneAreServed() throws IOException {
    for (String host : List.of("127.0.0.1:" + adminPort, "127.0.0.1", "localhost:" + adminPort, "[::1]:" + adminPort)) {
      RawHttp.Response r = RawHttp.get(adminPort, host, "/api/status");
      assertEquals(200, r.status(), () -> host + ": " + r);
      assertTrue(r.body().contains("\"resources\""), () -> host + ": " + r);
    }
    RawHttp.Response otherPort = RawHttp.get(adminPort, "127.0.0.1:1", "/healthz");
    assertEquals(403, otherPort.status(), otherPort::toString);
  }

  @Test
  void allowListedNamesAreServed() throws IOException {
    for (String host : List.of("ops.example.com", "ops.example.com:" + adminPort, "localhost:8888")) {
      RawHttp.Response r = RawHttp.get(adminPort, host, "/healthz");
      assertEquals(200, r.status(), () -> host + ": " + r);
    }
    RawHttp.Response wrongPort = RawHttp.get(adminPort, "ops.example.com:8888", "/healthz");
    assertEquals(403, wrongPort.status(), wrongPort::toString);
  }
}
