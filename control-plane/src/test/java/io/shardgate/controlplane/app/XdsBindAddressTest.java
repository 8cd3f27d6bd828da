package io.shardgate.controlplane.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.micronaut.context.ApplicationContext;
import io.micronaut.grpc.server.GrpcEmbeddedServer;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.security.ServeSecurity;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where the gRPC xDS server listens, read from the sockets the real server bound (not by trying to reach other
 * addresses): 127.0.0.1 by default, the {@code --xds-address} otherwise (127.0.0.2, still loopback, so the test
 * opens nothing to the network).
 */
class XdsBindAddressTest {

  @TempDir Path work;

  private ApplicationContext controlPlane;

  @AfterEach
  void stop() {
    if (controlPlane != null) {
      controlPlane.close();
    }
  }

  @Test
  void xdsBindsOnlyLoopbackByDefault() throws IOException {
    int[] ports = ExampleConfig.freePorts(6);
    ExampleConfig config = ExampleConfig.copyTo(work.resolve("config"), ports);
    controlPlane = ServeCommand.start(config.dir(), work.resolve("state"), ports[4], ports[5], "127.0.0.1");
    ServeCommand.awaitFirstTranslation(controlPlane);
    assertEquals(List.of("127.0.0.1:" + ports[4]), boundSockets());
  }

  @Test
  void xdsAddressPicksTheAddress() throws IOException {
    int[] ports = ExampleConfig.freePorts(6);
    ExampleConfig config = ExampleConfig.copyTo(work.resolve("config"), ports);
    ServeSecurity security = new ServeSecurity("127.0.0.2", List.of(), null, false, null);
    controlPlane = ServeCommand.start(config.dir(), work.resolve("state"), ports[4], ports[5], "127.0.0.1", security);
    ServeCommand.awaitFirstTranslation(controlPlane);
    assertEquals(List.of("127.0.0.2:" + ports[4]), boundSockets());
  }

  private List<String> boundSockets() {
    List<? extends SocketAddress> sockets =
        controlPlane.getBean(GrpcEmbeddedServer.class).getServer().getListenSockets();
    assertFalse(sockets.isEmpty(), "the gRPC server listens nowhere");
    return sockets.stream()
        .map(s -> ((InetSocketAddress) s).getAddress().getHostAddress() + ":" + ((InetSocketAddress) s).getPort())
        .toList();
  }
}
