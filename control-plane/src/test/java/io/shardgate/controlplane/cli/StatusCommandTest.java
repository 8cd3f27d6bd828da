package io.shardgate.controlplane.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.e2e.ExampleConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code status} against a real, in-process control plane serving a copy of the example: it reads the live
 * statuses over the admin API, including a table that is rejected but keeps serving its last good routes.
 */
class StatusCommandTest {

  @TempDir Path tmp;
  private ApplicationContext server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void showsLiveStatusesAndExitsOneWhenSomethingIsRejected() throws Exception {
    ExampleConfig config = ExampleConfig.copyTo(tmp.resolve("config"));
    int[] ports = ExampleConfig.freePorts(2);
    server = ServeCommand.start(config.dir(), tmp.resolve("state"), ports[0], ports[1], "127.0.0.1");
    ServeCommand.awaitFirstTranslation(server);
    String admin = "--admin=http://127.0.0.1:" + ports[1];

    Result ok = run("status", admin);
    assertEquals(0, ok.exit(), ok.out() + ok.err());
    assertTrue(ok.out().contains("Accepted  RouteTable payments/payments-api  [gateway-proxy-protected: Accepted]"), ok.out());

    // A route with no action: the payments team's table is rejected; its last good routes keep serving.
    Path table = config.file("routetables/payments/payments-api.yaml");
    Files.writeString(table, Files.readString(table) + "  - matchers: [{prefix: /payments/broken}]\n");
    Result broken = null;
    for (int i = 0; i < 100; i++) {
      broken = run("status", admin);
      if (broken.exit() == 1) {
        break;
      }
      Thread.sleep(50);
    }
    assertEquals(1, broken.exit(), broken.out() + broken.err());
    assertTrue(broken.out().contains("Rejected  RouteTable payments/payments-api"), broken.out());
    assertTrue(broken.out().contains("route must specify an action"), broken.out());
    assertTrue(broken.out().contains("its last accepted 2 routes keep being served"), broken.out());
  }

  @Test
  void saysWhatToDoWhenNothingListens() {
    int port = ExampleConfig.freePorts(1)[0];
    Result r = run("status", "--admin=http://127.0.0.1:" + port);
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("Is 'shardgate serve' running?"), r.err());
  }

  private record Result(int exit, String out, String err) {}

  private static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit =
        new CommandLine(new ShardgateCli())
            .setOut(new PrintWriter(out))
            .setErr(new PrintWriter(err))
            .execute(args);
    return new Result(exit, out.toString(), err.toString());
  }
}
