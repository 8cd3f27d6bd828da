package io.shardgate.controlplane.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.sharding.decode.ResourceDecoder;
import io.shardgate.sharding.decode.SourceDocument;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A pass decodes only documents it has not seen, and decoding through the cache equals decoding afresh. */
class DecodeCacheTest {

  private static final String YAML = """
      apiVersion: gateway.solo.io/v1
      kind: VirtualService
      metadata: {name: a, namespace: default}
      spec: {virtualHost: {domains: [a.example.com], routes: [{directResponseAction: {status: 200}}]}}
      ---
      apiVersion: gateway.solo.io/v1
      kind: VirtualService
      metadata: {name: b, namespace: default}
      spec: {virtualHost: {domains: [b.example.com], routes: [{directResponseAction: {status: "bad"}}]}}
      """;

  @Test
  void unchangedDocumentsAreNotDecodedAgain() throws Exception {
    List<SourceDocument> docs = new YamlDocumentReader().read("vs.yaml", YAML);
    DecodeCache cache = new DecodeCache();

    var first = ResourceDecoder.decode(docs, cache);
    cache.endPass();
    List<SourceDocument> edited = new ArrayList<>(docs);
    edited.set(1, new YamlDocumentReader().read("vs.yaml", YAML.replace("\"bad\"", "201")).get(1));
    var second = ResourceDecoder.decode(edited, cache);
    cache.endPass();

    assertEquals(3, cache.misses(), "two documents, then only the edited one");
    assertEquals(1, cache.hits());
    assertEquals(ResourceDecoder.decode(docs), first);
    assertEquals(ResourceDecoder.decode(edited), second);
    assertSame(first.snapshot().virtualServices().get(0), second.snapshot().virtualServices().get(0));
  }
}
