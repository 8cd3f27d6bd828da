package io.shardgate.templates;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class BootstrapParamsTest {

  @Test
  void forProxyUsesTheDocumentedDefaults() {
    BootstrapParams p = BootstrapParams.forProxy("gateway-proxy");
    assertEquals("gateway-proxy", p.proxyName());
    assertEquals("gloo-system", p.namespace());
    assertEquals("gateway-proxy.gloo-system", p.nodeId());
    assertEquals("gateway", p.nodeCluster());
    assertEquals("127.0.0.1", p.xdsHost());
    assertEquals(9977, p.xdsPort());
    assertEquals("127.0.0.1", p.adminAddress());
    assertEquals(19000, p.adminPort());
    assertEquals(0, p.statsPort());
    assertEquals("127.0.0.1", p.statsAddress());
    assertEquals(XdsMode.SOTW, p.xdsMode());
    assertNull(p.xdsCaFile());
    assertFalse(p.xdsTls());
    assertNull(p.xdsCertFile());
    assertNull(p.xdsKeyFile());
    assertFalse(p.xdsMutualTls());
    assertEquals("gloo-system~gateway-proxy", p.role());
  }

  @Test
  void defaultNodeIdFollowsProxyNameAndNamespaceUnlessSetExplicitly() {
    BootstrapParams moved = BootstrapParams.forProxy("gw").toBuilder().namespace("team-a").build();
    assertEquals("gw.team-a", moved.nodeId());
    assertEquals("team-a~gw", moved.role());

    BootstrapParams pinned = BootstrapParams.builder("gw").nodeId("gw-0.pods").build();
    assertEquals("gw-0.pods", pinned.toBuilder().namespace("team-a").build().nodeId());
    assertEquals("gw.gloo-system", pinned.toBuilder().nodeId(null).build().nodeId());
  }

  @Test
  void toBuilderRoundTripsEveryValue() {
    BootstrapParams p = BootstrapParams.builder("gw").namespace("ns").nodeId("id-1").nodeCluster("c")
        .xdsHost("xds.example").xdsPort(1).adminAddress("::1").adminPort(2).statsPort(3).statsAddress("0.0.0.0")
        .xdsMode(XdsMode.DELTA)
        .xdsCaFile("/ca.pem").xdsClientCertificate("/tls.crt", "/tls.key").build();
    assertEquals(p, p.toBuilder().build());
    assertTrue(p.xdsTls());
    assertTrue(p.xdsMutualTls());
  }

  static Stream<Arguments> rejected() {
    return Stream.of(
        bad("proxyName", "proxyName is missing", b -> BootstrapParams.builder(null)),
        bad("proxyName", "proxyName \"\" is not valid", b -> BootstrapParams.builder("")),
        bad("proxyName", "proxyName \"Gateway-Proxy\" is not valid: use lowercase",
            b -> BootstrapParams.builder("Gateway-Proxy")),
        bad("proxyName", "proxyName \"gw_1\"", b -> BootstrapParams.builder("gw_1")),
        bad("proxyName", "proxyName \"-gw\"", b -> BootstrapParams.builder("-gw")),
        bad("proxyName", "proxyName \"gw.\"", b -> BootstrapParams.builder("gw.")),
        bad("proxyName", "proxyName \"gw~x\"", b -> BootstrapParams.builder("gw~x")),
        bad("namespace", "namespace is missing", b -> b.namespace(null)),
        bad("namespace", "namespace \"Gloo\" is not valid", b -> b.namespace("Gloo")),
        bad("namespace", "namespace \"a b\" is not valid", b -> b.namespace("a b")),
        bad("nodeId", "nodeId is empty", b -> b.nodeId("")),
        bad("nodeId", "nodeId \"a b\" is not valid: no whitespace", b -> b.nodeId("a b")),
        bad("nodeId", "nodeId \"a\"b\"", b -> b.nodeId("a\"b")),
        bad("nodeId", "nodeId \"a\\b\"", b -> b.nodeId("a\\b")),
        bad("nodeId", "nodeId \"a\\u000ab\"", b -> b.nodeId("a\nb")),
        bad("nodeCluster", "nodeCluster \"x\ty\"".replace("\t", "\\u0009"), b -> b.nodeCluster("x\ty")),
        bad("nodeCluster", "nodeCluster is missing", b -> b.nodeCluster(null)),
        bad("xdsHost", "xdsHost is missing", b -> b.xdsHost(null)),
        bad("xdsHost", "xdsHost \"\" is not valid: expected a DNS name", b -> b.xdsHost("")),
        bad("xdsHost", "xdsHost \"xds host\"", b -> b.xdsHost("xds host")),
        bad("xdsHost", "xdsHost \"xds'\"", b -> b.xdsHost("xds'")),
        bad("xdsHost", "xdsHost \"10.0.0.300\"", b -> b.xdsHost("10.0.0.300")),
        bad("xdsHost", "xdsHost \"[::1]\"", b -> b.xdsHost("[::1]")),
        bad("xdsHost", "xdsHost \"1:2:3\"", b -> b.xdsHost("1:2:3")),
        bad("xdsHost", "xdsHost \"-xds.example\"", b -> b.xdsHost("-xds.example")),
        bad("xdsHost", "xdsHost \"xds:9977\"", b -> b.xdsHost("xds:9977")),
        bad("xdsPort", "xdsPort 0 is out of range: expected 1..65535", b -> b.xdsPort(0)),
        bad("xdsPort", "xdsPort 65536 is out of range", b -> b.xdsPort(65536)),
        bad("adminAddress", "adminAddress is missing", b -> b.adminAddress(null)),
        bad("adminAddress", "adminAddress \"localhost\" is not valid: Envoy binds its admin interface to an IP address",
            b -> b.adminAddress("localhost")),
        bad("adminPort", "adminPort -1 is out of range", b -> b.adminPort(-1)),
        bad("adminPort", "adminPort 70000 is out of range", b -> b.adminPort(70000)),
        bad("statsPort", "statsPort -1 is out of range: expected 1..65535, or 0 for no stats listener",
            b -> b.statsPort(-1)),
        bad("statsPort", "statsPort 65536 is out of range", b -> b.statsPort(65536)),
        bad("statsPort", "statsPort 19000 is the same as adminPort", b -> b.statsPort(19000)),
        bad("statsAddress", "statsAddress is missing", b -> b.statsAddress(null)),
        bad("statsAddress", "statsAddress \"gw.local\" is not valid: Envoy binds its stats listener to an IP address",
            b -> b.statsAddress("gw.local")),
        bad("xdsMode", "xdsMode is missing: expected one of SOTW, DELTA", b -> b.xdsMode(null)),
        bad("xdsCaFile", "xdsCaFile is empty", b -> b.xdsCaFile("")),
        bad("xdsCaFile", "xdsCaFile \"my ca.pem\" is not valid", b -> b.xdsCaFile("my ca.pem")),
        bad("xdsCertFile", "xdsCertFile is empty", b -> b.xdsCaFile("/ca.pem").xdsClientCertificate("", "/k")),
        bad("xdsKeyFile", "xdsKeyFile \"my.key\"\"",
            b -> b.xdsCaFile("/ca.pem").xdsClientCertificate("/c", "my.key\"")),
        bad("xdsCertFile", "xdsCertFile is set without xdsKeyFile: a client certificate needs both",
            b -> b.xdsCaFile("/ca.pem").xdsClientCertificate("/tls.crt", null)),
        bad("xdsKeyFile", "xdsKeyFile is set without xdsCertFile",
            b -> b.xdsCaFile("/ca.pem").xdsClientCertificate(null, "/tls.key")),
        bad("xdsCertFile", "xdsCertFile is set without xdsCaFile: a client certificate is only sent over TLS",
            b -> b.xdsClientCertificate("/tls.crt", "/tls.key")),
        bad("xdsDnsResolverAddress", "xdsDnsResolverAddress \"consul.local\" is not valid: Envoy sends DNS queries to"
            + " an IP address", b -> b.xdsHost("gloo-xds.service.consul").xdsDnsResolver("consul.local", 8600)),
        bad("xdsDnsResolverPort", "xdsDnsResolverPort 0 is out of range",
            b -> b.xdsHost("gloo-xds.service.consul").xdsDnsResolver("127.0.0.1", 0)),
        bad("xdsDnsResolverAddress", "xdsDnsResolverAddress is set but xdsHost \"127.0.0.1\" is an IP address",
            b -> b.xdsDnsResolver("127.0.0.1", 8600)),
        bad("xdsDnsResolverPort", "xdsDnsResolverPort 8600 is set without xdsDnsResolverAddress",
            b -> b.xdsHost("gloo-xds.service.consul").xdsDnsResolver(null, 8600)));
  }

  private static Arguments bad(String param, String messageStart, UnaryOperator<BootstrapParams.Builder> change) {
    return Arguments.of(param, messageStart, change);
  }

  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("rejected")
  void rejectsWithAMessageNamingTheParameter(String param, String messageStart,
      UnaryOperator<BootstrapParams.Builder> change) {
    BootstrapParams.Builder builder = change.apply(BootstrapParams.builder("gateway-proxy"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);
    assertTrue(e.getMessage().startsWith(param + " "),
        () -> "message does not start with " + param + ": " + e.getMessage());
    assertTrue(e.getMessage().startsWith(messageStart), () -> "expected a message starting with\n  " + messageStart
        + "\nbut got\n  " + e.getMessage());
  }

  static Stream<Arguments> accepted() {
    return Stream.of(
        ok("one-character name", b -> BootstrapParams.builder("a")),
        ok("dotted name", b -> BootstrapParams.builder("gw.v2").namespace("gloo.system")),
        ok("xdsHost short name", b -> b.xdsHost("localhost")),
        ok("xdsHost fully qualified with trailing dot", b -> b.xdsHost("shardgate.gloo-system.svc.cluster.local.")),
        ok("xdsHost IPv6 loopback", b -> b.xdsHost("::1")),
        ok("xdsHost IPv6 full", b -> b.xdsHost("2001:db8:0:0:0:0:0:1")),
        ok("xdsHost IPv4-mapped IPv6", b -> b.xdsHost("::ffff:10.0.0.1")),
        ok("xdsHost IPv6 trailing gap", b -> b.xdsHost("fe80::")),
        ok("adminAddress wildcard IPv4", b -> b.adminAddress("0.0.0.0")),
        ok("adminAddress wildcard IPv6", b -> b.adminAddress("::")),
        ok("lowest ports", b -> b.xdsPort(1).adminPort(1).statsPort(2)),
        ok("highest ports", b -> b.xdsPort(65535).adminPort(65534).statsPort(65535)),
        ok("node id with pod-style punctuation", b -> b.nodeId("gw-5d8f9c-x2z.gloo-system:sidecar~0/1@a+b")),
        ok("absolute CA path", b -> b.xdsCaFile("/etc/shardgate/xds-ca/ca.crt")),
        ok("client certificate", b -> b.xdsCaFile("ca.crt").xdsClientCertificate("tls.crt", "tls.key")));
  }

  private static Arguments ok(String what, UnaryOperator<BootstrapParams.Builder> change) {
    return Arguments.of(what, change);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("accepted")
  void accepts(String what, UnaryOperator<BootstrapParams.Builder> change) {
    assertDoesNotThrow(() -> change.apply(BootstrapParams.builder("gateway-proxy")).build());
  }
}
