package io.shardgate.controlplane.status;

import static io.shardgate.controlplane.status.TeamFixtures.doc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.sharding.decode.SourceDocument;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.zip.Inflater;
import org.junit.jupiter.api.Test;

/** The pure Proxy-object renderer: nothing without persistProxySpec, Gloo's compression with compressedProxySpec. */
class ProxyObjectTranslatorTest {

  private final ProxyObjectTranslator translator = new ProxyObjectTranslator();

  @Test
  void nothingUnlessSettingsPersistProxySpec() {
    assertTrue(translator.render(translate(null)).isEmpty());
    assertTrue(translator.render(translate("{persistProxySpec: false}")).isEmpty());
  }

  @Test
  void oneProxyPerShardWithTheTranslatedProxyAsItsSpec() {
    SortedMap<String, ProxyObjectTranslator.ProxyObject> out = translator.render(translate("{persistProxySpec: true}"));
    assertEquals(List.of("gateway-proxy-a"), List.copyOf(out.keySet()));
    ProxyObjectTranslator.ProxyObject p = out.get("gateway-proxy-a");
    assertEquals("gloo-system", p.namespace());
    assertEquals(Map.of(), p.annotations());
    assertEquals(List.of("listeners"), List.copyOf(p.spec().keySet()));
    assertTrue(String.valueOf(p.spec()).contains("a.example.com"), p.spec()::toString);
  }

  @Test
  void compressedAsGlooCompresses() throws Exception {
    Map<String, Object> plain =
        translator.render(translate("{persistProxySpec: true}")).get("gateway-proxy-a").spec();
    ProxyObjectTranslator.ProxyObject p =
        translator.render(translate("{persistProxySpec: true, compressedProxySpec: true}")).get("gateway-proxy-a");
    assertEquals(Map.of("gloo.solo.io/compress", "true"), p.annotations());
    assertEquals(List.of("compressedSpec"), List.copyOf(p.spec().keySet()));
    Inflater inflater = new Inflater();
    inflater.setInput(Base64.getDecoder().decode((String) p.spec().get("compressedSpec")));
    ByteArrayOutputStream json = new ByteArrayOutputStream();
    byte[] buf = new byte[4096];
    while (!inflater.finished()) {
      json.write(buf, 0, inflater.inflate(buf));
    }
    inflater.end();
    KubernetesSerialization serialization = new KubernetesSerialization();
    assertEquals(serialization.unmarshal(serialization.asJson(plain), Object.class),
        serialization.unmarshal(json.toString(StandardCharsets.UTF_8), Object.class));
    assertEquals(p, translator.render(translate("{persistProxySpec: true, compressedProxySpec: true}"))
        .get("gateway-proxy-a"), "deterministic");
  }

  private static Translation translate(String gatewaySettings) {
    List<SourceDocument> docs = new ArrayList<>(List.of(
        doc("Gateway gloo-system/gw-a@3", TeamFixtures.GATEWAY),
        doc("VirtualService team/a@4", """
            apiVersion: gateway.solo.io/v1
            kind: VirtualService
            metadata: {name: a, namespace: team, labels: {shard: a}}
            spec:
              virtualHost:
                domains: [a.example.com]
                routes:
                - matchers: [{prefix: /}]
                  directResponseAction: {status: 200, body: ok}
            """)));
    if (gatewaySettings != null) {
      docs.add(doc("Settings gloo-system/default@5", """
          apiVersion: gloo.solo.io/v1
          kind: Settings
          metadata: {name: default, namespace: gloo-system}
          spec:
            discoveryNamespace: gloo-system
            gateway: %s
          """.formatted(gatewaySettings)));
    }
    return Translation.of(new ConfigInput("test", docs, List.of()));
  }

}
