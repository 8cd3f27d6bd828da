package io.shardgate.controlplane.local;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * Hands out loopback ports below the kernel's ephemeral range ({@code /proc/sys/net/ipv4/ip_local_port_range}), where
 * no outgoing connection can take one between the check and the bind: upwards from a base, skipping every port that
 * cannot be bound on 127.0.0.1 right now. Fails, naming the range, when it reaches the ephemeral range.
 *
 * <p>Stateful (remembers what it handed out); not thread-safe. A port taken by someone else after the check makes
 * the server that wanted it fail to start, and {@link LocalGateways} then fails naming the port; a server already on a
 * port is never used silently because every port is checked free first and every answer is checked for its name.
 */
public final class LoopbackPorts {

  private final int base;
  private final int limit;
  private final Set<Integer> handedOut = new HashSet<>();
  private int next;

  public LoopbackPorts(int base) {
    this.limit = ephemeralLow();
    if (base < 1024 || base >= limit) {
      throw new IllegalArgumentException("base port " + base + " must be at least 1024 and below the ephemeral range,"
          + " which starts at " + limit + " here (/proc/sys/net/ipv4/ip_local_port_range)");
    }
    this.base = base;
    this.next = base;
  }

  /** The next port from the base that is free on 127.0.0.1. */
  public int next() {
    while (next < limit) {
      int candidate = next++;
      if (!handedOut.contains(candidate) && free(candidate)) {
        handedOut.add(candidate);
        return candidate;
      }
    }
    throw new IllegalStateException("no free loopback port left between " + base + " and " + limit
        + " (the start of the ephemeral range): choose another base port");
  }

  /** Whether 127.0.0.1:port can be bound now. */
  public static boolean free(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return true;
    } catch (IOException taken) {
      return false;
    }
  }

  /** The first port of the ephemeral range; 32768 (Linux's default) when it cannot be read. */
  public static int ephemeralLow() {
    try {
      // readAllLines, not readString: procfs reports size 0 and a sized read can stop after the first byte
      String range = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range"), StandardCharsets.US_ASCII)
          .get(0);
      return Integer.parseInt(range.trim().split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      return 32768;
    }
  }
}
