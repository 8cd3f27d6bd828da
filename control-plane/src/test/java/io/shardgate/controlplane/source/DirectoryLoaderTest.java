package io.shardgate.controlplane.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.shardgate.controlplane.secret.TestSecrets;
import io.shardgate.controlplane.source.SourceProblem.Severity;
import io.shardgate.sharding.decode.SourceDocument;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryLoaderTest {

  private final DirectoryLoader loader = new DirectoryLoader();

  @TempDir Path root;

  @Test
  void glooLayoutFlatFormIsNormalisedToKubernetesForm() throws IOException {
    write("virtualservices/gloo-system/default.yaml", """
        metadata:
          labels: {shard: a}
        virtualHost:
          domains: ['*']
          routes:
          - matchers:
            - prefix: /
        namespacedStatuses: {}
        """);

    DirectoryContents contents = loader.load(root);

    assertEquals(List.of(), contents.problems());
    SourceDocument doc = single(contents);
    assertEquals("virtualservices/gloo-system/default.yaml", doc.origin());
    Map<String, Object> c = doc.content();
    assertEquals(List.of("apiVersion", "kind", "metadata", "spec", "namespacedStatuses"), List.copyOf(c.keySet()));
    assertEquals("gateway.solo.io/v1", c.get("apiVersion"));
    assertEquals("VirtualService", c.get("kind"));
    assertEquals(Map.of("labels", Map.of("shard", "a"), "name", "default", "namespace", "gloo-system"),
        c.get("metadata"));
    Map<?, ?> spec = (Map<?, ?>) c.get("spec");
    assertEquals(List.of("virtualHost"), List.copyOf(spec.keySet()));
    assertEquals(2, doc.fieldLines().get("metadata.labels"));
    assertEquals(3, doc.fieldLines().get("spec.virtualHost"));
    assertEquals(7, doc.fieldLines().get("spec.virtualHost.routes[0].matchers[0].prefix"));
    assertEquals(8, doc.fieldLines().get("namespacedStatuses"));
    assertFalse(doc.fieldLines().containsKey("virtualHost"));
  }

  @Test
  void glooLayoutGivesEveryFolderItsKindAndApiVersion() throws IOException {
    Map<String, List<String>> expected = Map.of(
        "gateways", List.of("Gateway", "gateway.solo.io/v1"),
        "virtualservices", List.of("VirtualService", "gateway.solo.io/v1"),
        "routetables", List.of("RouteTable", "gateway.solo.io/v1"),
        "upstreams", List.of("Upstream", "gloo.solo.io/v1"),
        "upstreamgroups", List.of("UpstreamGroup", "gloo.solo.io/v1"),
        "settings", List.of("Settings", "gloo.solo.io/v1"),
        "proxies", List.of("Proxy", "gloo.solo.io/v1"));
    for (String plural : expected.keySet()) {
      write(plural + "/ns1/r.yaml", "metadata: {name: r}\nsomeField: 1\n");
    }
    // The secrets folder's files are Secrets, never documents (DirectorySecretsTest).
    write("secrets/ns1/r.yaml", "metadata: {name: r}\nsomeField: 1\n");

    DirectoryContents contents = loader.load(root);

    assertEquals(7, contents.documents().size());
    assertEquals(List.of(), contents.documentsOf("secrets/ns1/r.yaml"));
    for (Map.Entry<String, List<String>> e : expected.entrySet()) {
      SourceDocument doc = contents.documentsOf(e.getKey() + "/ns1/r.yaml").get(0);
      assertEquals(e.getValue().get(0), doc.content().get("kind"), e.getKey());
      assertEquals(e.getValue().get(1), doc.content().get("apiVersion"), e.getKey());
    }
  }

  @Test
  void glooLayoutKubernetesFormKeepsItsFieldsAndGetsDefaults() throws IOException {
    write("upstreams/team-a/echo.yml", """
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        spec:
          static:
            hosts: [{addr: 127.0.0.1, port: 9000}]
        """);

    DirectoryContents contents = loader.load(root);

    assertEquals(List.of(), contents.problems());
    SourceDocument doc = single(contents);
    assertEquals(Map.of("name", "echo", "namespace", "team-a"), doc.content().get("metadata"));
    assertEquals(4, doc.fieldLines().get("spec.static"));
    assertEquals(Map.of("static", Map.of("hosts", List.of(Map.of("addr", "127.0.0.1", "port", 9000L)))),
        doc.content().get("spec"));
  }

  @Test
  void glooLayoutExplicitKindAndNamespaceWinWithAWarning() throws IOException {
    write("upstreams/team-a/x.yaml", """
        apiVersion: gateway.solo.io/v1
        kind: RouteTable
        metadata: {name: x, namespace: team-b}
        spec: {}
        """);

    DirectoryContents contents = loader.load(root);

    SourceDocument doc = single(contents);
    assertEquals("RouteTable", doc.content().get("kind"));
    assertEquals("team-b", ((Map<?, ?>) doc.content().get("metadata")).get("namespace"));
    assertEquals(2, contents.problems().size());
    SourceProblem kind = contents.problems().get(0);
    assertEquals(Severity.WARNING, kind.severity());
    assertEquals(2, kind.line());
    assertTrue(kind.message().contains("Upstream"), kind.message());
    assertEquals(Severity.WARNING, contents.problems().get(1).severity());
  }

  @Test
  void plainMultiDocumentFilesAnywhereArePassedThrough() throws IOException {
    write("all.yaml", """
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata: {name: gw, namespace: gloo-system}
        spec: {bindPort: 8080}
        ---
        replicas: 3
        ---
        apiVersion: example.com/v9
        kind: Whatever
        """);
    write("teams/a/deep/routes.yml", "apiVersion: gateway.solo.io/v1\nkind: RouteTable\nmetadata: {name: routes}\nspec: {}\n");
    // Two levels only: not Gloo's layout, so the document is taken as written.
    write("virtualservices/loose.yaml", "kind: VirtualService\nmetadata: {name: loose}\n");

    DirectoryContents contents = loader.load(root);

    assertEquals(List.of("Gateway", "Whatever", "RouteTable", "VirtualService"),
        contents.documents().stream().map(d -> d.content().get("kind")).toList());
    assertEquals(List.of("all.yaml", "all.yaml", "teams/a/deep/routes.yml", "virtualservices/loose.yaml"),
        contents.documents().stream().map(SourceDocument::origin).toList());
    assertEquals(List.of("apiVersion", "kind", "metadata", "spec"),
        List.copyOf(contents.documents().get(0).content().keySet()));
    assertEquals(1, contents.problems().size());
    SourceProblem skipped = contents.problems().get(0);
    assertEquals("all.yaml", skipped.file());
    assertEquals(6, skipped.line());
    assertEquals(Severity.WARNING, skipped.severity());
    assertTrue(skipped.message().contains("no 'kind'"), skipped.message());
  }

  @Test
  void hiddenAndNonYamlFilesAreSkipped() throws IOException {
    write(".hidden.yaml", "kind: A\n");
    write(".git/config.yaml", "kind: B\n");
    write("sub/.swap.yaml", "kind: C\n");
    write("README.md", "kind: D\n");
    write("notes.yaml.bak", "kind: E\n");
    write("real.YAML", "kind: F\n");

    DirectoryContents contents = loader.load(root);

    assertEquals(List.of("real.YAML"), List.copyOf(contents.fileHashes().keySet()));
    assertEquals("F", single(contents).content().get("kind"));
  }

  @Test
  void orderIsByPathFolderByFolderThenDocumentWhateverTheCreationOrder() throws IOException {
    List<String> files = new ArrayList<>(List.of("a.yaml", "a/b.yaml", "a-b/c.yaml", "b.yml", "a/a/z.yaml",
        "upstreams/ns/u.yaml", "Z.yaml"));
    Collections.shuffle(files, new Random(7));
    for (String f : files) {
      write(f, "kind: K\nmetadata: {name: '" + f + "'}\n---\nkind: K2\n");
    }

    DirectoryContents first = loader.load(root);
    DirectoryContents second = loader.load(root);

    List<String> expected = List.of("Z.yaml", "a/a/z.yaml", "a/b.yaml", "a-b/c.yaml", "a.yaml", "b.yml",
        "upstreams/ns/u.yaml");
    assertEquals(expected, List.copyOf(first.fileHashes().keySet()));
    List<String> origins = first.documents().stream().map(SourceDocument::origin).distinct().toList();
    assertEquals(expected, origins);
    assertEquals("K2", first.documents().get(1).content().get("kind"));
    assertEquals(first.contentHash(), second.contentHash());
    assertEquals(first, second);
  }

  @Test
  void aTypoInAGlooIdentityIsAFileErrorAndTheFileKeepsItsLastGoodDocuments() throws IOException {
    String good = """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: shop, namespace: shop}
        spec: {virtualHost: {domains: [shop.example.com]}}
        ---
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata: {name: cart, namespace: shop}
        spec: {static: {hosts: [{addr: 10.0.0.1, port: 80}]}}
        """;
    write("shop.yaml", good);
    DirectoryContents before = loader.load(root);
    assertEquals(List.of(), before.problems());
    assertEquals(2, before.documents().size());

    for (String[] typo : new String[][] {
        {"kind: VirtualService", "kind: VirtualServce", "did you mean gateway.solo.io/v1 VirtualService?", "2"},
        {"kind: Upstream", "kind: upstreams", "did you mean gloo.solo.io/v1 Upstream?", "7"},
        {"apiVersion: gloo.solo.io/v1", "apiVersion: glo.solo.io/v1", "did you mean gloo.solo.io/v1?", "6"},
        {"name: shop,", "name: Shop,", "metadata.name 'Shop' must be a DNS-1123 subdomain", "3"},
        {"namespace: shop}\nspec: {virtualHost", "namespace: ''}\nspec: {virtualHost",
            "metadata.namespace must not be empty", "3"}}) {
      write("shop.yaml", good.replace(typo[0], typo[1]));
      DirectoryContents after = loader.load(root, before);
      assertEquals(before.documents(), after.documents(), typo[1] + ": the file keeps serving its last good documents");
      assertEquals(1, after.problems().size(), after.problems().toString());
      SourceProblem p = after.problems().get(0);
      assertEquals(Severity.ERROR, p.severity());
      assertEquals("shop.yaml", p.file());
      assertEquals(Integer.parseInt(typo[3]), p.line(), p.toString());
      assertTrue(p.message().contains(typo[2]), p.message());
      assertTrue(p.message().endsWith("still serving the 2 documents it held when it last parsed"), p.message());
    }
  }

  @Test
  void aSaveCutShortInsideANameKeepsTheFilesLastDocumentsButARealRenameGoesThrough() throws IOException {
    String good = """
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata: {name: cart, namespace: shop}
        spec: {static: {hosts: [{addr: 10.0.0.1, port: 80}]}}
        """;
    write("shop.yaml", good);
    DirectoryContents before = loader.load(root);

    write("shop.yaml", "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata:\n  namespace: shop\n  name: ca\n");
    DirectoryContents cut = loader.load(root, before);

    assertEquals(before.documents(), cut.documents(), "the cut file keeps serving Upstream shop/cart");
    assertEquals(1, cut.problems().size(), cut.problems().toString());
    SourceProblem p = cut.problems().get(0);
    assertEquals(Severity.ERROR, p.severity());
    assertEquals(5, p.line(), p.toString());
    assertTrue(p.message().startsWith("this document is now Upstream shop/ca, which is rejected ("), p.message());
    assertTrue(p.message().contains("and Upstream shop/cart is gone"), p.message());
    assertTrue(p.message().endsWith("still serving the 1 document it held when it last parsed"), p.message());

    write("shop.yaml", good.replace("name: cart", "name: basket"));
    DirectoryContents renamed = loader.load(root, before);
    assertEquals(List.of(), renamed.problems());
    assertEquals("basket", ((Map<?, ?>) renamed.documents().get(0).content().get("metadata")).get("name"));
  }

  @Test
  void kindsOfOtherApisAndUnreadGlooKindsAreNotFileErrors() throws IOException {
    write("other.yaml", """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: creds, namespace: shop}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: istio-vs}
        ---
        apiVersion: gateway.solo.io/v1
        kind: RouteOption
        metadata: {name: shared}
        ---
        apiVersion: enterprise.gloo.solo.io/v1
        kind: AuthConfig
        metadata: {name: sso}
        """);
    DirectoryContents contents = loader.load(root);
    assertEquals(List.of(), contents.problems());
    assertEquals(4, contents.documents().size());
  }

  @Test
  void brokenFileKeepsItsPreviousDocumentsAndReportsAnErrorWithItsLine() throws IOException {
    write("upstreams/ns/echo.yaml", "metadata: {name: echo}\nstatic: {hosts: [{addr: a, port: 1}]}\n");
    write("other.yaml", "kind: Gateway\nmetadata: {name: gw}\n");
    DirectoryContents good = loader.load(root);
    SourceDocument echo = good.documentsOf("upstreams/ns/echo.yaml").get(0);

    write("upstreams/ns/echo.yaml", "metadata: {name: echo}\nstatic:\n  hosts:\n  - addr: b\n   port: 2\n");
    DirectoryContents broken = loader.load(root, good);

    assertEquals(List.of(good.documentsOf("other.yaml").get(0), echo), broken.documents());
    assertEquals(1, broken.problems().size());
    SourceProblem p = broken.problems().get(0);
    assertEquals(Severity.ERROR, p.severity());
    assertEquals("upstreams/ns/echo.yaml", p.file());
    assertEquals(5, p.line());
    assertTrue(p.column() > 0);
    assertTrue(p.toString().startsWith("upstreams/ns/echo.yaml:5:" + p.column() + ": "), p.toString());
    assertTrue(p.message().contains("still serving the 1 document"), p.message());
    assertTrue(broken.hasErrors());
    assertNotEquals(good.contentHash(), broken.contentHash());

    // Broken again in the next read: still the last good version, not nothing.
    DirectoryContents stillBroken = loader.load(root, broken);
    assertEquals(broken.documents(), stillBroken.documents());
    assertEquals(broken.contentHash(), stillBroken.contentHash());

    write("upstreams/ns/echo.yaml", "metadata: {name: echo}\nstatic: {hosts: [{addr: c, port: 3}]}\n");
    DirectoryContents fixed = loader.load(root, stillBroken);
    assertEquals(List.of(), fixed.problems());
    assertTrue(fixed.documentsOf("upstreams/ns/echo.yaml").get(0).content().toString().contains("addr=c"));
  }

  @Test
  void newBrokenFileContributesNothing() throws IOException {
    write("good.yaml", "kind: A\n");
    DirectoryContents before = loader.load(root);
    write("new.yaml", "kind: B\nspec: [unclosed\n");

    DirectoryContents after = loader.load(root, before);

    assertEquals(before.documents(), after.documents());
    assertEquals(1, after.problems().size());
    assertEquals("new.yaml", after.problems().get(0).file());
    assertTrue(after.problems().get(0).message().contains("contributes nothing"));
    assertTrue(after.fileHashes().containsKey("new.yaml"));
  }

  @Test
  void deletedFileIsGone() throws IOException {
    write("a.yaml", "kind: A\n");
    write("b.yaml", "kind: B\n");
    DirectoryContents before = loader.load(root);
    Files.delete(root.resolve("a.yaml"));

    DirectoryContents after = loader.load(root, before);

    assertEquals(List.of("B"), after.documents().stream().map(d -> d.content().get("kind")).toList());
    assertEquals(List.of("b.yaml"), List.copyOf(after.fileHashes().keySet()));
  }

  @Test
  void unchangedFileIsNotParsedAgain() throws IOException {
    write("a.yaml", "kind: A\n");
    write("b.yaml", "kind: B\n");
    DirectoryContents before = loader.load(root);
    write("b.yaml", "kind: B2\n");

    DirectoryContents after = loader.load(root, before);

    assertSame(before.documentsOf("a.yaml").get(0), after.documentsOf("a.yaml").get(0));
    assertEquals("B2", after.documentsOf("b.yaml").get(0).content().get("kind"));
    assertEquals(before.fileHashes().get("a.yaml"), after.fileHashes().get("a.yaml"));
    assertNotEquals(before.fileHashes().get("b.yaml"), after.fileHashes().get("b.yaml"));
  }

  @Test
  void oversizedFileIsAnErrorAndKeepsItsPreviousDocuments() throws IOException {
    write("big.yaml", "kind: A\n");
    DirectoryContents before = loader.load(root);
    write("big.yaml", "kind: A\n#" + "x".repeat((int) DirectoryLoader.MAX_FILE_BYTES) + "\n");

    DirectoryContents after = loader.load(root, before);

    assertEquals(before.documents(), after.documents());
    SourceProblem p = after.problems().get(0);
    assertEquals(Severity.ERROR, p.severity());
    assertTrue(p.message().contains("split it"), p.message());
  }

  @Test
  void symbolicLinksAreFollowedButLoopsAreNot() throws IOException {
    // A Kubernetes ConfigMap volume: visible links into a hidden, atomically swapped folder.
    write("..2024_01_01/vs.yaml", "kind: VirtualService\nmetadata: {name: vs}\n");
    Files.createSymbolicLink(root.resolve("..data"), Path.of("..2024_01_01"));
    Files.createSymbolicLink(root.resolve("vs.yaml"), Path.of("..data/vs.yaml"));
    Files.createDirectories(root.resolve("loop"));
    Files.createSymbolicLink(root.resolve("loop/back"), root);
    Files.createSymbolicLink(root.resolve("dangling.yaml"), Path.of("missing.yaml"));

    DirectoryContents contents = loader.load(root);

    assertEquals("VirtualService", single(contents).content().get("kind"));
    assertEquals("vs.yaml", single(contents).origin());
    List<String> skipped = contents.problems().stream().map(SourceProblem::file).toList();
    assertEquals(List.of("dangling.yaml", "loop/back"), skipped);
    assertTrue(contents.problems().stream().allMatch(p -> p.severity() == Severity.WARNING));
  }

  @Test
  void missingRootIsAClearError() throws IOException {
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> loader.load(root.resolve("nope")));
    assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
    assertTrue(missing.getMessage().contains("--config-dir"), missing.getMessage());

    Path file = write("file.yaml", "kind: A\n");
    IllegalArgumentException notDir = assertThrows(IllegalArgumentException.class, () -> loader.load(file));
    assertTrue(notDir.getMessage().contains("not a directory"), notDir.getMessage());
  }

  @Test
  void emptyDirectoryIsEmptyContents() {
    DirectoryContents contents = loader.load(root);

    assertEquals(DirectoryContents.EMPTY.contentHash(), contents.contentHash());
  }

  @Test
  void pathsCompareFolderByFolder() {
    assertTrue(DirectoryLoader.comparePaths("a/z.yaml", "a-b/a.yaml") < 0);
    assertTrue(DirectoryLoader.comparePaths("a/z.yaml", "a.yaml") < 0);
    assertTrue(DirectoryLoader.comparePaths("a/b/c.yaml", "a/b.yaml") < 0);
    assertEquals(0, DirectoryLoader.comparePaths("x/y.yaml", "x/y.yaml"));
    // The same order as comparing the split segments, over random paths of characters around '/'.
    Random random = new Random(7);
    String alphabet = "/.-_0aZ~";
    for (int i = 0; i < 20_000; i++) {
      String a = randomPath(random, alphabet);
      String b = randomPath(random, alphabet);
      assertEquals(Integer.signum(segmentOrder(a, b)), Integer.signum(DirectoryLoader.comparePaths(a, b)), a + " " + b);
    }
  }

  private static String randomPath(Random random, String alphabet) {
    StringBuilder sb = new StringBuilder();
    for (int n = random.nextInt(6); n > 0; n--) {
      sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  private static int segmentOrder(String a, String b) {
    String[] x = a.split("/", -1);
    String[] y = b.split("/", -1);
    for (int i = 0; i < Math.min(x.length, y.length); i++) {
      int c = x[i].compareTo(y[i]);
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(x.length, y.length);
  }

  /**
   * A secret file that does not parse because of a PEM line (one dedented line of a block scalar, as an editor
   * leaves it): the problem names the file and line, says what is wrong, and holds no five characters in a row of
   * the key; the same for a Secret document outside the secrets folder. An ordinary file's error still says what is
   * wrong and where.
   */
  @Test
  void aSyntaxErrorInASecretFileNamesTheLineAndNeverQuotesThePem(@TempDir Path pki) throws IOException {
    String key = new TestSecrets("loader-ca", pki).leaf("web.example.com").key();
    String[] lines = key.strip().split("\n");
    StringBuilder glooKey = new StringBuilder();
    StringBuilder kubeKey = new StringBuilder();
    for (int i = 0; i < lines.length; i++) {
      // The third line lost its indentation.
      glooKey.append(i == 2 ? "" : "    ").append(lines[i]).append('\n');
      kubeKey.append(i == 2 ? "" : "    ").append(lines[i]).append('\n');
    }
    write("secrets/shop/web.yaml", "metadata: {name: web}\ntls:\n  privateKey: |\n" + glooKey);
    write("certs.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: web, namespace: shop}\n"
        + "type: kubernetes.io/tls\nstringData:\n  tls.key: |\n" + kubeKey);
    write("upstreams/shop/echo.yaml", "static:\n  hosts:\n  - addr: echo\n   port: 8080\n");

    DirectoryContents contents = loader.load(root);

    Map<String, SourceProblem> byFile = new TreeMap<>();
    contents.problems().forEach(p -> byFile.put(p.file(), p));
    assertEquals(List.of("certs.yaml", "secrets/shop/web.yaml", "upstreams/shop/echo.yaml"),
        List.copyOf(byFile.keySet()), contents.problems().toString());
    // The parser notices two lines on; it says where the broken line (the simple key) started.
    assertEquals(8, byFile.get("secrets/shop/web.yaml").line(), byFile.toString());
    assertEquals(11, byFile.get("certs.yaml").line(), byFile.toString());
    for (String f : List.of("secrets/shop/web.yaml", "certs.yaml")) {
      SourceProblem p = byFile.get(f);
      assertEquals(Severity.ERROR, p.severity());
      assertTrue(p.column() > 0, p.toString());
      assertTrue(p.message().startsWith("could not find expected ':' (while scanning a simple key started at line "
          + (p.line() - 2) + "); a key is missing its ':'"), p.toString());
      String body = TestSecrets.pemBody(key);
      for (int i = 0; i + 5 <= body.length(); i++) {
        assertFalse(p.toString().contains(body.substring(i, i + 5)), "quotes the key: " + p);
      }
      assertFalse(p.toString().contains("PRIVATE KEY"), p.toString());
    }
    SourceProblem ordinary = byFile.get("upstreams/shop/echo.yaml");
    assertEquals("upstreams/shop/echo.yaml:4:4: expected <block end>, but found '<block mapping start>' (while"
        + " parsing a block mapping started at line 2); this line is indented differently from its siblings; the file"
        + " contributes nothing until it is fixed", ordinary.toString());
    assertTrue(contents.secretState().secrets().isEmpty(), "nothing of a broken secret file is read");
  }

  private static SourceDocument single(DirectoryContents contents) {
    assertEquals(1, contents.documents().size(), contents.documents().toString());
    return contents.documents().get(0);
  }

  private Path write(String rel, String text) throws IOException {
    Path file = root.resolve(rel);
    Files.createDirectories(file.getParent());
    Files.writeString(file, text, StandardCharsets.UTF_8);
    return file;
  }

  /**
   * Reading only the paths an edit names gives exactly what reading the whole tree gives: after every step of a
   * seeded sequence of edits (files written, rewritten, broken, deleted; folders created and removed), an update
   * from the previous contents equals a full load from the same previous contents. Unchanged files keep their very
   * same document objects, so later stages know them unchanged.
   */
  @Test
  void readingTheChangedPathsEqualsReadingTheWholeTree() throws IOException {
    Random random = new Random(42);
    DirectoryContents contents = loader.load(root, null);
    List<String> files = new ArrayList<>();
    for (int step = 0; step < 300; step++) {
      List<String> changed = new ArrayList<>();
      int op = random.nextInt(6);
      String folder = "ns-" + random.nextInt(4);
      if (op <= 1 || files.isEmpty()) {
        String file = folder + "/f" + random.nextInt(12) + ".yaml";
        write(file, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: f" + step + "}\n---\nkind: Thing\nn: " + step
            + "\n");
        if (!files.contains(file)) {
          files.add(file);
        }
        changed.add(file);
      } else if (op == 2) {
        String file = files.get(random.nextInt(files.size()));
        write(file, "kind: [broken\n");
        changed.add(file);
      } else if (op == 3) {
        String file = files.remove(random.nextInt(files.size()));
        Files.deleteIfExists(root.resolve(file));
        changed.add(file);
      } else if (op == 4) {
        // A whole folder goes away at once: one event for the folder.
        Path dir = root.resolve(folder);
        if (Files.isDirectory(dir)) {
          try (var walk = Files.walk(dir)) {
            walk.sorted(Collections.reverseOrder()).forEach(pth -> pth.toFile().delete());
          }
          files.removeIf(f -> f.startsWith(folder + "/"));
        }
        changed.add(folder);
      } else {
        // An edit that changes nothing: same bytes written again.
        String file = files.get(random.nextInt(files.size()));
        Files.write(root.resolve(file), Files.readAllBytes(root.resolve(file)));
        changed.add(file);
      }
      DirectoryContents full = loader.load(root, contents);
      DirectoryContents partial = loader.update(root, contents, changed);
      assertEquals(full.fileHashes(), partial.fileHashes(), "step " + step);
      assertEquals(full.problems(), partial.problems(), "step " + step);
      assertEquals(full.documents(), partial.documents(), "step " + step);
      for (SourceDocument d : partial.documents()) {
        if (!changed.contains(d.origin()) && !changed.stream().anyMatch(c -> d.origin().startsWith(c + "/"))) {
          assertTrue(contents.documents().stream().anyMatch(prev -> prev == d),
              "step " + step + ": an unchanged file's document is the same object: " + d.origin());
        }
      }
      contents = partial;
    }
  }

  @Test
  void aRescanDoesNotReadFilesWhoseSizeTimeAndIdentityAreUnchanged() throws IOException {
    write("a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n");
    write("b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n");
    DirectoryContents first = loader.load(root, null);
    assertEquals(2, first.fileStats().size());
    DirectoryContents again = loader.load(root, first);
    assertTrue(again.sameAs(first), "nothing changed, and no document was made again");
  }
}
