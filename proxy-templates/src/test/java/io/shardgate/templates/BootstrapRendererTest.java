package io.shardgate.templates;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

class BootstrapRendererTest {

  @Nested
  class Renderer {

    @Test
    void everyCombinationOfOptionsRendersCompleteYaml() {
      for (XdsMode mode : XdsMode.values()) {
        for (String host : List.of("10.0.0.7", "::1", "xds.example")) {
          for (int statsPort : new int[] {0, 8081}) {
            for (String ca : new String[] {null, "/ca.pem"}) {
              for (boolean clientCert : new boolean[] {false, true}) {
                if (clientCert && ca == null) {
                  continue; // a client certificate needs TLS
                }
                BootstrapParams p = BootstrapParams.builder("gw").xdsMode(mode).xdsHost(host).statsPort(statsPort)
                    .statsAddress(host.contains(":") ? "::" : "0.0.0.0")
                    .xdsCaFile(ca).xdsClientCertificate(clientCert ? "/tls.crt" : null, clientCert ? "/tls.key" : null)
                    .build();
                String yaml = BootstrapRenderer.render(p);
                assertFalse(yaml.contains("${"), () -> "unfilled placeholder for " + p + ":\n" + yaml);
                assertFalse(yaml.contains("#@"), () -> "template directive left in output for " + p + ":\n" + yaml);
                assertStructure(p, parse(yaml));
              }
            }
          }
        }
      }
    }

    @Test
    void equalParamsGiveEqualTextAcrossThreads() throws Exception {
      BootstrapParams p = BootstrapParams.builder("gw").statsPort(8081).xdsCaFile("/ca.pem").build();
      String expected = BootstrapRenderer.render(p);
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<String>> results = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
          results.add(pool.submit(() -> BootstrapRenderer.render(p)));
        }
        for (Future<String> result : results) {
          assertEquals(expected, result.get());
        }
      } finally {
        pool.shutdownNow();
      }
    }

    @SuppressWarnings("unchecked")
    private void assertStructure(BootstrapParams p, Map<String, Object> doc) {
      Map<String, Object> node = (Map<String, Object>) doc.get("node");
      assertEquals(p.nodeId(), node.get("id"));
      assertEquals(p.nodeCluster(), node.get("cluster"));
      assertEquals(Map.of("role", p.role()), node.get("metadata"));

      Map<String, Object> dynamic = (Map<String, Object>) doc.get("dynamic_resources");
      Map<String, Object> ads = (Map<String, Object>) dynamic.get("ads_config");
      assertEquals(p.xdsMode() == XdsMode.DELTA ? "DELTA_GRPC" : "GRPC", ads.get("api_type"));
      assertEquals(true, ads.get("set_node_on_first_message_only"));
      assertEquals(Map.of("ads", Map.of(), "resource_api_version", "V3"), dynamic.get("lds_config"));
      assertEquals(Map.of("ads", Map.of(), "resource_api_version", "V3"), dynamic.get("cds_config"));

      Map<String, Object> statics = (Map<String, Object>) doc.get("static_resources");
      List<Map<String, Object>> clusters = (List<Map<String, Object>>) statics.get("clusters");
      Map<String, Object> xds = clusters.get(clusters.size() - 1);
      assertEquals("xds_cluster", xds.get("name"));
      boolean ip = !p.xdsHost().contains("example");
      assertEquals(ip ? "STATIC" : "STRICT_DNS", xds.get("type"));
      assertEquals(p.xdsTls(), xds.containsKey("transport_socket"));
      if (p.xdsTls()) {
        Map<String, Object> socket = (Map<String, Object>) xds.get("transport_socket");
        Map<String, Object> tls = (Map<String, Object>) socket.get("typed_config");
        assertEquals(ip ? null : p.xdsHost(), tls.get("sni"));
        Map<String, Object> common = (Map<String, Object>) tls.get("common_tls_context");
        assertEquals(p.xdsMutualTls() ? List.of(Map.of(
                "certificate_chain", Map.of("filename", p.xdsCertFile()),
                "private_key", Map.of("filename", p.xdsKeyFile())))
            : null, common.get("tls_certificates"));
      }

      List<Map<String, Object>> listeners = (List<Map<String, Object>>) statics.get("listeners");
      if (p.statsPort() > 0) {
        assertEquals("prometheus_listener", listeners.get(0).get("name"));
        Map<String, Object> statsSocket = (Map<String, Object>) ((Map<String, Object>) listeners.get(0).get("address"))
            .get("socket_address");
        assertEquals(p.statsAddress(), statsSocket.get("address"));
        assertEquals(p.statsPort(), statsSocket.get("port_value"));
        assertEquals(List.of("admin_port_cluster", "xds_cluster"), clusters.stream().map(c -> c.get("name")).toList());
      } else {
        assertNull(listeners);
        assertEquals(1, clusters.size());
      }
    }

    private Map<String, Object> parse(String yaml) {
      return new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
    }
  }

  @Nested
  class Templates {

    @Test
    void fillsPlaceholdersAndKeepsOnlySectionsThatAreOn() {
      Template t = Template.parse("t", """
          a: ${x}
          #@if on
          b: ${y}-${x}
            #@if off
          c: ${z}
            #@end
          #@end
          #@if off
          d: 1
          #@end
          """);
      Map<String, String> values = new HashMap<>(Map.of("x", "1", "y", "2"));
      values.put("z", null); // allowed: only used inside a section that is off
      assertEquals("a: 1\nb: 2-1\n", t.render(values, Map.of("on", true, "off", false)));
    }

    @Test
    void valuesAreInsertedLiterally() {
      Template t = Template.parse("t", "v: ${x}\n");
      assertEquals("v: $1 \\ ${y}\n", t.render(Map.of("x", "$1 \\ ${y}"), Map.of()));
    }

    @Test
    void rejectsAPlaceholderWithoutValue() {
      Template t = Template.parse("t", "a: ${x}\nb: ${y}\n");
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> t.render(Map.of("x", "1"), Map.of()));
      assertEquals("t: no placeholder value given for [y]", e.getMessage());
    }

    @Test
    void rejectsANullValueInEmittedText() {
      Template t = Template.parse("t", "a: 1\nb: ${y}\n");
      Map<String, String> values = new HashMap<>();
      values.put("y", null);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.render(values, Map.of()));
      assertEquals("t line 2: no value for ${y}", e.getMessage());
    }

    @Test
    void rejectsValuesAndSwitchesTheTemplateDoesNotUse() {
      Template t = Template.parse("t", "#@if s\na: ${x}\n#@end\n");
      IllegalArgumentException value = assertThrows(IllegalArgumentException.class,
          () -> t.render(Map.of("x", "1", "typo", "2"), Map.of("s", true)));
      assertEquals("t: unknown placeholder [typo], the template has [x]", value.getMessage());
      IllegalArgumentException section = assertThrows(IllegalArgumentException.class,
          () -> t.render(Map.of("x", "1"), Map.of("s", true, "typo", true)));
      assertEquals("t: unknown section [typo], the template has [s]", section.getMessage());
      IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
          () -> t.render(Map.of("x", "1"), Map.of()));
      assertEquals("t: no section value given for [s]", missing.getMessage());
    }

    @Test
    void rejectsMalformedTemplates() {
      assertEquals("t line 2: malformed placeholder at column 4: expected ${name}",
          assertThrows(IllegalArgumentException.class, () -> Template.parse("t", "ok\na: ${1x}\n")).getMessage());
      assertEquals("t line 1: malformed placeholder at column 1: expected ${name}",
          assertThrows(IllegalArgumentException.class, () -> Template.parse("t", "${x")).getMessage());
      assertEquals("t line 1: unknown directive \"#@else\": expected #@if <name> or #@end",
          assertThrows(IllegalArgumentException.class, () -> Template.parse("t", "#@else\n")).getMessage());
      assertEquals("t line 1: #@end without #@if",
          assertThrows(IllegalArgumentException.class, () -> Template.parse("t", "#@end\n")).getMessage());
      assertEquals("t: section s has no #@end",
          assertThrows(IllegalArgumentException.class, () -> Template.parse("t", "#@if s\na\n")).getMessage());
    }

    @Test
    void loadingAMissingResourceNamesIt() {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> Template.load(BootstrapRenderer.class, "no-such-template.yaml"));
      assertTrue(e.getMessage().contains("no-such-template.yaml"), e.getMessage());
    }
  }
}
