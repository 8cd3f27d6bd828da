package io.shardgate.controlplane.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.sharding.decode.SourceDocument;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class YamlDocumentReaderTest {

  private final YamlDocumentReader reader = new YamlDocumentReader();

  @Test
  void multiDocumentFileYieldsEveryNonEmptyDocumentInOrder() throws Exception {
    String text = """
        # leading comment
        ---
        ---
        # only a comment
        ---
        apiVersion: v1
        kind: A
        ---
        ~
        ---
        kind: B
        """;

    List<SourceDocument> docs = reader.read("multi.yaml", text);

    assertEquals(2, docs.size());
    assertEquals("A", docs.get(0).content().get("kind"));
    assertEquals(6, docs.get(0).line());
    assertEquals("B", docs.get(1).content().get("kind"));
    assertEquals(11, docs.get(1).line());
    assertEquals("multi.yaml", docs.get(1).origin());
  }

  @Test
  void fileWithOnlyCommentsHasNoDocuments() throws Exception {
    assertEquals(List.of(), reader.read("c.yaml", "# nothing here\n\n"));
    assertEquals(List.of(), reader.read("e.yaml", ""));
  }

  @Test
  void fieldLinesAreKeyedByPath() throws Exception {
    String text = """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata:
          name: default
        spec:
          virtualHost:
            domains: ['*']
            routes:
            - matchers:
              - exact: /a
              - prefix: /
              routeAction:
                single: {upstream: {name: echo, namespace: gloo-system}}
        """;

    SourceDocument doc = reader.read("vs.yaml", text).get(0);

    Map<String, Integer> lines = doc.fieldLines();
    assertEquals(1, lines.get("apiVersion"));
    assertEquals(4, lines.get("metadata.name"));
    assertEquals(7, lines.get("spec.virtualHost.domains"));
    assertEquals(7, lines.get("spec.virtualHost.domains[0]"));
    assertEquals(9, lines.get("spec.virtualHost.routes[0]"));
    assertEquals(10, lines.get("spec.virtualHost.routes[0].matchers[0].exact"));
    assertEquals(11, lines.get("spec.virtualHost.routes[0].matchers[1]"));
    assertEquals(11, lines.get("spec.virtualHost.routes[0].matchers[1].prefix"));
    assertEquals(13, lines.get("spec.virtualHost.routes[0].routeAction.single.upstream.name"));
    assertEquals("vs.yaml:13", doc.locationOf("spec.virtualHost.routes[0].routeAction.single.upstream.name"));
    assertEquals(1, doc.line());
  }

  @Test
  void scalarsResolveByTheYaml12CoreSchema() throws Exception {
    String text = """
        t: true
        f: False
        on: on
        no: no
        dec: 42
        neg: -7
        hex: 0x1F
        oct: 0o17
        flt: 1.5
        exp: 1e3
        inf: -.inf
        nul: ~
        empty:
        date: 2024-01-01
        time: 1:30
        quoted: "123"
        tagged: !!str 5
        taggedInt: !!int "12"
        """;

    Map<String, Object> c = reader.read("t.yaml", text).get(0).content();

    assertEquals(true, c.get("t"));
    assertEquals(false, c.get("f"));
    assertEquals("on", c.get("on"));
    assertEquals("no", c.get("no"));
    assertEquals(42L, c.get("dec"));
    assertEquals(-7L, c.get("neg"));
    assertEquals(31L, c.get("hex"));
    assertEquals(15L, c.get("oct"));
    assertEquals(1.5, c.get("flt"));
    assertEquals(1000.0, c.get("exp"));
    assertEquals(Double.NEGATIVE_INFINITY, c.get("inf"));
    assertNull(c.get("nul"));
    assertTrue(c.containsKey("empty"));
    assertNull(c.get("empty"));
    assertEquals("2024-01-01", c.get("date"));
    assertEquals("1:30", c.get("time"));
    assertEquals("123", c.get("quoted"));
    assertEquals("5", c.get("tagged"));
    assertEquals(12L, c.get("taggedInt"));
  }

  @Test
  void integerBeyondLongKeepsItsText() throws Exception {
    Map<String, Object> c = reader.read("n.yaml", "big: 18446744073709551616\nmax: 9223372036854775807\n")
        .get(0).content();

    assertEquals("18446744073709551616", c.get("big"));
    assertEquals(Long.MAX_VALUE, c.get("max"));
  }

  @Test
  void syntaxErrorNamesFileLineAndColumn() {
    String text = """
        kind: Upstream
        spec:
          static:
            hosts:
            - addr: echo
             port: 8080
        """;

    SourceException e = assertThrows(SourceException.class, () -> reader.read("upstreams/bad.yaml", text));

    assertEquals("upstreams/bad.yaml", e.file());
    assertEquals(6, e.line());
    assertTrue(e.column() > 0, "column");
    assertTrue(e.getMessage().startsWith("upstreams/bad.yaml:6:" + e.column() + ": "), e.getMessage());
  }

  @Test
  void unclosedQuoteSaysWhereItStarted() {
    SourceException e = assertThrows(SourceException.class,
        () -> reader.read("q.yaml", "a: \"open\nb: 1\n"));

    assertTrue(e.getMessage().contains("started at line 1"), e.getMessage());
    assertTrue(e.getMessage().contains("never closed"), e.getMessage());
  }

  /** A PEM body line as a secret file holds it (made up for the test, like any such line). */
  private static final String PEM_LINE = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7xKq9Zr3Tn";

  private static final String SECRET_HEAD = """
      apiVersion: v1
      kind: Secret
      metadata: {name: web, namespace: shop}
      type: kubernetes.io/tls
      stringData:
      """;

  /**
   * Each way a PEM line can break a secret file: the error says what is wrong and where (file:line:column), and no
   * five characters of the line in a row, although several of SnakeYAML's own phrases end in the text they choke on
   * and its messages show the line under a caret.
   */
  @Test
  void aSyntaxErrorOnAPemLineNeverQuotesTheLine() {
    Map<String, String> broken = new LinkedHashMap<>();
    broken.put("  tls.key: " + PEM_LINE + ": x\n", "6:");
    broken.put("\t" + PEM_LINE + "\n", "6:");
    broken.put("  tls.crt: *" + PEM_LINE + "\n", "6:");
    broken.put("  tls.key: \"" + PEM_LINE.substring(0, 20) + "\\q" + PEM_LINE.substring(20) + "\"\n", "6:");
    broken.put("  tls.crt: |" + PEM_LINE + "\n", "6:");
    broken.put("  tls.crt: !!" + PEM_LINE + " x\n", "6:");
    broken.put("  tls.key: \"" + PEM_LINE + "\n", "7:");
    broken.put("  tls.key: -----BEGIN PRIVATE KEY-----\n" + PEM_LINE + "\n  tls.crt: x\n", "8:");
    List<String> reasons = new ArrayList<>();
    for (Map.Entry<String, String> b : broken.entrySet()) {
      SourceException e;
      try {
        reader.read("secrets/shop/web.yaml", SECRET_HEAD + b.getKey());
        reasons.add("parsed: " + b.getKey().length());
        continue;
      } catch (SourceException x) {
        e = x;
      }
      assertTrue(e.getMessage().startsWith("secrets/shop/web.yaml:" + b.getValue()), e.getMessage());
      assertTrue(e.column() > 0, e.getMessage());
      for (int i = 0; i + 5 <= PEM_LINE.length(); i++) {
        assertFalse(e.getMessage().contains(PEM_LINE.substring(i, i + 5)), "quotes the PEM line: " + e.getMessage());
      }
      reasons.add(e.reason());
    }
    assertEquals(List.of(
        "mapping values are not allowed here; check the indentation of this line, or quote a value that contains ': '",
        "found character '\\t(TAB)' that cannot start any token. (Do not use \\t(TAB) for indentation) (while"
            + " scanning for the next token)",
        "found undefined alias; define the anchor (&name) before using the alias (*name)",
        "found unknown escape character (while scanning a double-quoted scalar); in double quotes, write a backslash"
            + " as \\\\ or use single quotes",
        "expected chomping or indentation indicators, but found something else (while scanning a block scalar)",
        "Global tag is not allowed; remove the !!type tag; resources are plain YAML",
        "found unexpected end of stream (while scanning a quoted scalar started at line 6); a quote or bracket opened"
            + " above is never closed",
        "could not find expected ':' (while scanning a simple key started at line 7); a key is missing its ':', or a"
            + " multi-line value needs quoting or indenting"), reasons);
  }

  @Test
  void documentThatIsNotAMappingIsAnError() {
    SourceException list = assertThrows(SourceException.class,
        () -> reader.read("l.yaml", "kind: A\n---\n- a\n- b\n"));
    assertEquals(3, list.line());
    assertTrue(list.getMessage().startsWith("l.yaml:3:1: the document is a list"), list.getMessage());

    SourceException scalar = assertThrows(SourceException.class, () -> reader.read("s.yaml", "just text\n"));
    assertEquals(1, scalar.line());
    assertTrue(scalar.getMessage().contains("must be a mapping"), scalar.getMessage());
  }

  @Test
  void duplicateKeyIsAnErrorNamingBothLines() {
    SourceException e = assertThrows(SourceException.class,
        () -> reader.read("d.yaml", "metadata:\n  name: a\n  labels: {}\n  name: b\n"));

    assertEquals(4, e.line());
    assertTrue(e.reason().contains("duplicate key 'name' (first at line 2)"), e.getMessage());
  }

  @Test
  void mergeKeysAndAliasesWorkAndExplicitKeysWin() throws Exception {
    String text = """
        defaults: &defaults
          timeout: 1s
          retries: 2
        route:
          retries: 5
          <<: *defaults
        again: *defaults
        """;

    SourceDocument doc = reader.read("m.yaml", text).get(0);

    assertEquals(Map.of("timeout", "1s", "retries", 5L), doc.content().get("route"));
    assertEquals(Map.of("timeout", "1s", "retries", 2L), doc.content().get("again"));
    assertEquals(5, doc.fieldLines().get("route.retries"));
    assertEquals(2, doc.fieldLines().get("route.timeout"), "a merged field points where it is written");
  }

  @Test
  void aliasBombIsRejected() {
    StringBuilder text = new StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 10; i++) {
      String prev = "*a" + (i - 1);
      text.append("a").append(i).append(": &a").append(i).append(" [").append(prev).append(", ").append(prev)
          .append(", ").append(prev).append(", ").append(prev).append("]\n");
    }

    SourceException e = assertThrows(SourceException.class, () -> reader.read("bomb.yaml", text.toString()));

    assertTrue(e.reason().contains("aliases"), e.getMessage());
  }

  @Test
  void recursiveAliasIsRejected() {
    SourceException e = assertThrows(SourceException.class, () -> reader.read("r.yaml", "a: &x\n  b: *x\n"));

    assertTrue(e.reason().contains("recursive"), e.getMessage());
  }

  @Test
  void globalTagsAreRejected() {
    SourceException e = assertThrows(SourceException.class,
        () -> reader.read("g.yaml", "a: !!javax.script.ScriptEngineManager [x]\n"));

    assertEquals(1, e.line());
  }

  @Test
  void bytesThatAreNotUtf8NameTheirLine() {
    byte[] bytes = "kind: A\nname: caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1);

    SourceException e = assertThrows(SourceException.class, () -> reader.read("latin1.yaml", bytes));

    assertEquals(2, e.line());
    assertTrue(e.reason().contains("UTF-8"), e.getMessage());
  }

  @Test
  void utf8ByteOrderMarkIsAccepted() throws Exception {
    byte[] body = "kind: A\n".getBytes(StandardCharsets.UTF_8);
    byte[] bytes = new byte[body.length + 3];
    bytes[0] = (byte) 0xEF;
    bytes[1] = (byte) 0xBB;
    bytes[2] = (byte) 0xBF;
    System.arraycopy(body, 0, bytes, 3, body.length);

    assertEquals("A", reader.read("bom.yaml", bytes).get(0).content().get("kind"));
  }

  @Test
  void treesAreUnmodifiable() throws Exception {
    SourceDocument doc = reader.read("u.yaml", "spec:\n  list: [1]\n").get(0);

    assertThrows(UnsupportedOperationException.class, () -> doc.content().put("x", 1));
    @SuppressWarnings("unchecked")
    Map<String, Object> spec = (Map<String, Object>) doc.content().get("spec");
    assertThrows(UnsupportedOperationException.class, () -> ((List<?>) spec.get("list")).clear());
  }
}
