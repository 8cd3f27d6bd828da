package io.shardgate.controlplane.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The admin API's Host rule, case by case; AdminHostCheckTest drives the same rule through the real HTTP server. */
class AdminHostPolicyTest {

  private static final int PORT = 9091;

  static Stream<Arguments> cases() {
    List<String> none = List.of();
    List<String> extra = List.of("shardgate.example.com", "localhost:8888", "[2001:db8::5]:9999", "10.9.9.9");
    return Stream.of(
        // bound to loopback: the bind address and the loopback names, with the admin port or none
        c("127.0.0.1", none, "127.0.0.1:9091", true),
        c("127.0.0.1", none, "127.0.0.1", true),
        c("127.0.0.1", none, "localhost:9091", true),
        c("127.0.0.1", none, "LOCALHOST.:9091", true),
        c("127.0.0.1", none, "[::1]:9091", true),
        c("127.0.0.1", none, "[0:0:0:0:0:0:0:1]", true),
        c("127.0.0.1", none, "evil.example", false),
        c("127.0.0.1", none, "evil.example:9091", false),
        c("127.0.0.1", none, "localhost.evil.example:9091", false),
        c("127.0.0.1", none, "127.0.0.1:8080", false),
        c("127.0.0.1", none, "10.0.0.5:9091", false),
        c("127.0.0.1", none, "", false),
        c("127.0.0.1", none, null, false),
        c("127.0.0.1", none, "127.0.0.1:", true),
        c("127.0.0.1", none, "127.0.0.1:99999", false),
        c("127.0.0.1", none, "::1", false),
        c("127.0.0.1", none, "[::1", false),
        c("127.0.0.1", none, "a b", false),
        c("127.0.0.2", none, "127.0.0.2:9091", true),
        c("127.0.0.2", none, "localhost:9091", true),
        c("::1", none, "[::1]:9091", true),
        c("::1", none, "127.0.0.1:9091", true),
        c("localhost", none, "localhost:9091", true),
        // bound to one non-loopback address: that address only
        c("10.1.2.3", none, "10.1.2.3:9091", true),
        c("10.1.2.3", none, "127.0.0.1:9091", false),
        c("10.1.2.3", none, "localhost:9091", false),
        c("10.1.2.3", none, "10.1.2.4:9091", false),
        // bound to a wildcard: any IP literal (kubelet probes, Prometheus scrapes) and localhost, no other name
        c("0.0.0.0", none, "10.244.1.17:9091", true),
        c("0.0.0.0", none, "[fd00::17]:9091", true),
        c("0.0.0.0", none, "localhost:9091", true),
        c("0.0.0.0", none, "shardgate.gloo-system.svc:9091", false),
        c("0.0.0.0", none, "10.244.1.17:8080", false),
        c("::", none, "10.244.1.17", true),
        c("", none, "10.244.1.17", true),
        c("::", none, "evil.example", false),
        // the allow-list: names with the admin port or none, name:port entries for exactly that port too
        c("127.0.0.1", extra, "shardgate.example.com", true),
        c("127.0.0.1", extra, "Shardgate.Example.Com:9091", true),
        c("127.0.0.1", extra, "shardgate.example.com:8080", false),
        c("127.0.0.1", extra, "localhost:8888", true),
        c("127.0.0.1", extra, "localhost:8889", false),
        c("127.0.0.1", extra, "[2001:db8:0::5]:9999", true),
        c("127.0.0.1", extra, "10.9.9.9:9091", true),
        c("0.0.0.0", extra, "shardgate.example.com:9091", true),
        c("0.0.0.0", extra, "example.com", false));
  }

  private static Arguments c(String bind, List<String> allowed, String host, boolean expected) {
    return Arguments.of(bind, allowed, host, expected);
  }

  @ParameterizedTest(name = "bound to {0}, allowed {1}: Host {2} -> {3}")
  @MethodSource("cases")
  void decides(String bind, List<String> allowed, String host, boolean expected) {
    AdminHostPolicy.Decision decision = AdminHostPolicy.of(bind, allowed).check(host, PORT);
    assertEquals(expected, decision.allowed(), decision::reason);
  }

  @Test
  void theRefusalIsOneLineNamingTheAllowedHostsAndTheOption() {
    String reason = AdminHostPolicy.of("127.0.0.1", List.of("ops.example.com")).check("evil.example", PORT).reason();
    assertFalse(reason.contains("\n"), reason);
    assertTrue(reason.contains("127.0.0.1, [::1], localhost, ops.example.com (port 9091 or none)"), reason);
    assertTrue(reason.contains("--admin-allowed-hosts"), reason);
    assertFalse(reason.contains("evil.example"), () -> "the refused name is not echoed back: " + reason);

    String wildcard = AdminHostPolicy.of("0.0.0.0", List.of()).check("evil.example", PORT).reason();
    assertTrue(wildcard.contains("any IP address, localhost"), wildcard);
  }

  @Test
  void aBadAllowListEntryIsRefusedWithTheOptionName() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> AdminHostPolicy.of("127.0.0.1", List.of("http://ops.example.com/")));
    assertTrue(e.getMessage().startsWith("--admin-allowed-hosts entry \"http://ops.example.com/\" is not a host name"),
        e.getMessage());
  }

  @Test
  void printableKeepsLogLinesToOneShortLine() {
    assertEquals("a?b", AdminHostPolicy.printable("a\nb"));
    assertEquals(100, AdminHostPolicy.printable("x".repeat(500)).length());
    assertEquals("(none)", AdminHostPolicy.printable(null));
  }
}
