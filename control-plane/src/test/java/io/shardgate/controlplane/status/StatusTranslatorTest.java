package io.shardgate.controlplane.status;

import static io.shardgate.controlplane.status.TeamFixtures.doc;
import static io.shardgate.controlplane.status.TeamFixtures.vs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import org.junit.jupiter.api.Test;

/**
 * The pure status renderer on real translations of documents read as the Kubernetes source reads them (origins
 * {@code Kind ns/name@rv}): Gloo's shape, who reports, per-proxy sub-statuses, NACKs, what gets no status, and the
 * bound on a reason.
 */
class StatusTranslatorTest {

  private static final String PROXY = "gateway-proxy-a";
  private static final String SUB = "*v1.Proxy.gateway-proxy-a_gloo-system";
  private static final ResourceKey GOOD = new ResourceKey(Kind.VIRTUAL_SERVICE, "team", "good");
  private static final ResourceKey WARNED = new ResourceKey(Kind.VIRTUAL_SERVICE, "team", "warned");
  private static final ResourceKey BROKEN = new ResourceKey(Kind.VIRTUAL_SERVICE, "team", "broken");

  private final StatusTranslator translator = new StatusTranslator();

  @Test
  void rendersGloosNamespacedShapeForAcceptedWarningAndRejected() {
    Translation t = translate();
    SortedMap<ResourceKey, StatusTranslator.ObjectStatus> out = translator.render(t, List.of());

    Map<String, Object> good = out.get(GOOD).status();
    assertEquals("Accepted", good.get("state"));
    assertEquals(List.of(PROXY), good.get("proxies"));
    Map<String, Object> ns = namespaced(good);
    assertEquals("Accepted", ns.get("state"));
    assertEquals("gateway", ns.get("reportedBy"));
    assertNull(ns.get("reason"), "no reason when there is nothing to say");
    Map<String, Object> sub = sub(ns);
    assertEquals(List.of(SUB), List.copyOf(sub.keySet()));
    assertEquals(Map.of("state", "Accepted", "reportedBy", "gloo"), sub.get(SUB));
    assertEquals("7", out.get(GOOD).resourceVersion());

    Map<String, Object> warned = namespaced(out.get(WARNED).status());
    assertEquals("Warning", warned.get("state"));
    assertTrue(String.valueOf(warned.get("reason")).startsWith("warning: "), warned::toString);
    assertTrue(String.valueOf(warned.get("reason")).contains("retries"), warned::toString);

    Map<String, Object> broken = namespaced(out.get(BROKEN).status());
    assertEquals("Rejected", broken.get("state"));
    assertEquals("Rejected", out.get(BROKEN).status().get("state"));
    assertFalse(String.valueOf(broken.get("reason")).isEmpty());

    Map<String, Object> upstream = namespaced(out.get(new ResourceKey(Kind.UPSTREAM, "team", "echo")).status());
    assertEquals("gloo", upstream.get("reportedBy"));
    Map<String, Object> gateway =
        namespaced(out.get(new ResourceKey(Kind.GATEWAY, "gloo-system", "gw-a")).status());
    assertEquals("gateway", gateway.get("reportedBy"));
    assertEquals(out, translator.render(translate(), List.of()), "a function of its input only");
  }

  @Test
  void documentsWithoutAnApiObjectGetNoStatus() {
    Translation t = translate();
    SortedMap<ResourceKey, StatusTranslator.ObjectStatus> out = translator.render(t, List.of());
    ResourceKey discovered = new ResourceKey(Kind.UPSTREAM, "gloo-system", "team-echo-80");
    ResourceKey fromFile = new ResourceKey(Kind.VIRTUAL_SERVICE, "team", "from-file");
    assertTrue(t.gateway().statuses().containsKey(discovered), "translated, so it has a status in the pipeline");
    assertTrue(t.gateway().statuses().containsKey(fromFile));
    assertFalse(out.containsKey(discovered), "a Service's discovered Upstream has no object to write to");
    assertFalse(out.containsKey(fromFile), "a file has no object to write to");
    assertTrue(out.keySet().stream().noneMatch(k -> k.kind() == Kind.PROXY));
  }

  @Test
  void aCurrentNackRejectsTheResourceThatProducedItAndItsProxy() {
    Translation t = translate();
    EnvoyRejections.Rejection nack = new EnvoyRejections.Rejection("gloo-system~" + PROXY,
        "type.googleapis.com/envoy.config.route.v3.RouteConfiguration", "v1", "v1", true, "envoy-1",
        "bad regex", "2026-01-01T00:00:00Z", List.of(GOOD));
    Map<String, Object> good = translator.render(t, List.of(nack)).get(GOOD).status();
    assertEquals("Rejected", good.get("state"));
    Map<String, Object> ns = namespaced(good);
    assertEquals("Rejected", ns.get("state"));
    assertTrue(String.valueOf(ns.get("reason")).contains("Envoy envoy-1 (shard gloo-system~gateway-proxy-a) rejected"
        + " RouteConfiguration version v1: bad regex"), ns::toString);
    @SuppressWarnings("unchecked")
    Map<String, Object> proxy = (Map<String, Object>) sub(ns).get(SUB);
    assertEquals("Rejected", proxy.get("state"));

    EnvoyRejections.Rejection old = new EnvoyRejections.Rejection(nack.role(), nack.typeUrl(), "v1", "v2", false,
        "envoy-1", "bad regex", nack.at(), List.of(GOOD));
    assertEquals("Accepted", translator.render(t, List.of(old)).get(GOOD).status().get("state"),
        "a NACK of a version no longer served is history");
  }

  @Test
  void aReasonOfHundredsOfMessagesIsSummarizedAndCappedInBytes() {
    List<String> errors = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      errors.add("domain shared.example.com is also claimed by VirtualService team-" + i + "/claimant-" + i);
    }
    String reason = StatusTranslator.reason(errors, List.of("one warning"));
    assertTrue(reason.startsWith(errors.get(0) + "; " + errors.get(1)), reason);
    assertTrue(reason.endsWith("; ... and 296 more (GET /api/status lists them all)"), reason);
    assertTrue(reason.getBytes(StandardCharsets.UTF_8).length <= StatusTranslator.MAX_REASON_BYTES);
    System.out.printf("300 messages (%d bytes joined) -> a reason of %d bytes%n",
        String.join("; ", errors).length(), reason.length());

    String huge = String.join("", Collections.nCopies(10_000, "é"));
    String cut = StatusTranslator.reason(List.of(huge), List.of());
    assertTrue(cut.getBytes(StandardCharsets.UTF_8).length <= StatusTranslator.MAX_REASON_BYTES, cut);
    assertTrue(cut.endsWith(" ... (GET /api/status lists them all)"), cut);
    assertTrue(cut.startsWith("éé"), "whole characters are kept");

    assertEquals("a; b; warning: c; d", StatusTranslator.reason(List.of("a", "b"), List.of("c", "d")),
        "a short reason is the one ResourceStatus joins");
  }

  // ---- fixtures ----

  private static Translation translate() {
    List<SourceDocument> docs = List.of(
        doc("Gateway gloo-system/gw-a@3", TeamFixtures.GATEWAY),
        doc("Upstream team/echo@4", TeamFixtures.UPSTREAM),
        // As the Kubernetes source turns a Service port into an Upstream: no object of its own.
        doc("Service team/echo@5", """
            apiVersion: gloo.solo.io/v1
            kind: Upstream
            metadata: {name: team-echo-80, namespace: gloo-system, labels: {discovered_by: kubernetesplugin}}
            spec:
              static:
                hosts: [{addr: 127.0.0.1, port: 9001}]
            """),
        doc("VirtualService team/good@7", vs("good", "good.example.com", "")),
        doc("VirtualService team/warned@8", vs("warned", "warned.example.com", """
                options:
                  retries: {retryOn: 5xx}
            """)),
        doc("VirtualService team/broken@9", """
            apiVersion: gateway.solo.io/v1
            kind: VirtualService
            metadata: {name: broken, namespace: team, labels: {shard: a}}
            spec:
              virtualHost:
                domains: [broken.example.com]
                routes:
                - matchers: [{prefix: /b, exact: /b}]
                  directResponseAction: {status: 200}
            """),
        doc("virtualservices/from-file.yaml", vs("from-file", "file.example.com", "")));
    return Translation.of(new ConfigInput("test", docs, List.of()));
  }



  @SuppressWarnings("unchecked")
  private static Map<String, Object> namespaced(Map<String, Object> status) {
    return (Map<String, Object>) ((Map<String, Object>) status.get("statuses")).get("gloo-system");
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> sub(Map<String, Object> namespaced) {
    return (Map<String, Object>) namespaced.get("subresourceStatuses");
  }
}
