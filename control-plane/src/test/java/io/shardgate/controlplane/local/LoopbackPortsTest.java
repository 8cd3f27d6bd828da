package io.shardgate.controlplane.local;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

/** Ports are handed out free, below the ephemeral range, never twice; a port someone listens on is skipped. */
class LoopbackPortsTest {

  @Test
  void aPortSomeoneListensOnIsSkippedAndNoneIsHandedOutTwice() throws Exception {
    LoopbackPorts probe = new LoopbackPorts(27000);
    int first = probe.next();
    try (ServerSocket taken = new ServerSocket(first, 1, InetAddress.getLoopbackAddress())) {
      LoopbackPorts ports = new LoopbackPorts(first);
      int a = ports.next();
      int b = ports.next();
      assertNotEquals(first, a, "handed out a port another server listens on");
      assertNotEquals(a, b);
      assertTrue(a > first && b > a && b < LoopbackPorts.ephemeralLow(), a + " " + b);
    }
  }

  @Test
  void aBaseInTheEphemeralRangeIsRefusedNamingIt() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new LoopbackPorts(LoopbackPorts.ephemeralLow()));
    assertTrue(e.getMessage().contains("ephemeral range"), e.getMessage());
    assertTrue(LoopbackPorts.ephemeralLow() > 1024, "the range was not read: " + LoopbackPorts.ephemeralLow());
  }
}
