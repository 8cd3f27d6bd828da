package io.shardgate.controlplane.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.shardgate.controlplane.image.OciImage.Entry;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The OCI image tarball {@code package} builds (control-plane/target/shardgate-image.tar, Jib's buildTar), opened
 * and read file by file: its layout and digests are consistent, its config runs Shardgate's main class as
 * 65532:65532 with the pom's version and git's commit in the labels and no build time anywhere, and its layers hold
 * the jlinked runtime and the application, owned by root, not world-writable, with no secrets or build paths.
 */
class ImageTarballIT {

  private static OciImage image;
  /** The image's file system after every layer: path to its last entry. */
  private static Map<String, Entry> files;

  @BeforeAll
  static void read() throws IOException {
    image = OciImage.read(BuiltArtifacts.imageTarball());
    files = new LinkedHashMap<>();
    for (String digest : image.layerDigests()) {
      for (Entry e : image.layer(digest)) {
        files.put(e.path().endsWith("/") ? e.path().substring(0, e.path().length() - 1) : e.path(), e);
      }
    }
  }

  @Test
  void layoutIndexManifestAndBlobsAgree() throws IOException {
    assertEquals(1, image.index().get("manifests").size(), image.index().toString());
    JsonNode entry = image.index().at("/manifests/0");
    assertEquals("application/vnd.oci.image.manifest.v1+json", entry.get("mediaType").asText());
    assertEquals("shardgate/control-plane:" + BuiltArtifacts.projectVersion(),
        entry.at("/annotations/org.opencontainers.image.ref.name").asText(), "the image name and tag");
    assertEquals("application/vnd.oci.image.config.v1+json", image.manifest().at("/config/mediaType").asText());
    for (Map.Entry<String, byte[]> blob : image.blobs().entrySet()) {
      assertEquals(blob.getKey(), OciImage.sha256(blob.getValue()), "a blob's name is its digest");
    }
    JsonNode diffIds = image.config().at("/rootfs/diff_ids");
    List<String> layers = image.layerDigests();
    assertEquals(layers.size(), diffIds.size(), "one diff_id per layer");
    for (int i = 0; i < layers.size(); i++) {
      JsonNode layer = image.manifest().get("layers").get(i);
      assertEquals("application/vnd.oci.image.layer.v1.tar+gzip", layer.get("mediaType").asText());
      assertEquals(layer.get("size").asLong(), image.blob(layers.get(i)).length, "layer " + i + "'s size");
      assertEquals(diffIds.get(i).asText(), OciImage.sha256(image.uncompressedLayer(layers.get(i))),
          "layer " + i + "'s diff_id is the digest of its uncompressed tar");
    }
  }

  @Test
  void configRunsShardgateAsNonRootWithVersionAndCommitLabelsAndNoBuildTime() throws Exception {
    JsonNode config = image.config().get("config");
    assertEquals("65532:65532", config.get("User").asText());
    assertEquals(List.of("/opt/java/bin/java", "-XX:-UsePerfData", "-cp", "@/app/jib-classpath-file",
        "io.shardgate.controlplane.cli.ShardgateCli"), strings(config.get("Entrypoint")),
        "the JVM and the main class; the chart passes only args");
    assertTrue(config.path("Cmd").isMissingNode() || config.get("Cmd").isNull() || config.get("Cmd").isEmpty(),
        "no default args: " + config.get("Cmd"));
    assertEquals("/tmp", config.get("WorkingDir").asText(), "the one writable place of a read-only root");
    assertEquals(List.of("JAVA_HOME=/opt/java", "PATH=/opt/java/bin", "LANG=C.UTF-8"), strings(config.get("Env")));

    JsonNode labels = config.get("Labels");
    assertEquals(BuiltArtifacts.projectVersion(), labels.get("org.opencontainers.image.version").asText());
    assertEquals(BuiltArtifacts.gitHead(), labels.get("org.opencontainers.image.revision").asText(),
        "the commit git rev-parse HEAD gives");
    assertEquals("Apache-2.0", labels.get("org.opencontainers.image.licenses").asText());
    assertEquals("Shardgate control plane", labels.get("org.opencontainers.image.title").asText());
    // No source label: the project has no public repository address to name yet, and a made-up one would mislead.
    assertFalse(labels.has("org.opencontainers.image.source"), labels.toString());

    assertEquals("1970-01-01T00:00:00Z", image.config().get("created").asText(), "no build time");
    image.config().get("history").forEach(h ->
        assertEquals("1970-01-01T00:00:00Z", h.get("created").asText(), "no build time in the history: " + h));

    // The jar's own version resource agrees with the labels.
    Properties version = new Properties();
    version.load(new StringReader(text("app/resources/io/shardgate/controlplane/cli/version.properties")));
    assertEquals(BuiltArtifacts.projectVersion(), version.getProperty("version"));
    assertEquals(BuiltArtifacts.gitHead(), version.getProperty("commit"));
  }

  @Test
  void layersHoldTheRuntimeAndTheAppOwnedByRootNotWorldWritableAtFixedTimes() {
    Entry java = files.get("opt/java/bin/java");
    assertTrue(java != null && java.isRegularFile() && (java.mode() & 0111) == 0111, "the runtime's bin/java: " + java);
    Entry loader = files.get("lib64/ld-linux-x86-64.so.2");
    assertTrue(loader != null && loader.isRegularFile() && (loader.mode() & 0111) == 0111, "the dynamic loader");
    for (String path : List.of("opt/java/lib/modules", "opt/java/lib/server/libjvm.so",
        "lib/x86_64-linux-gnu/libc.so.6", "usr/lib/x86_64-linux-gnu/libstdc++.so.6",
        "app/classes/io/shardgate/controlplane/cli/ShardgateCli.class", "app/jib-classpath-file",
        "app/libs/shardgate-sharding-" + BuiltArtifacts.projectVersion() + ".jar",
        "usr/share/doc/shardgate-image-base/packages.txt")) {
      assertTrue(files.containsKey(path) && files.get(path).isRegularFile(), path + " is in the image");
    }
    assertTrue(files.keySet().stream().anyMatch(p -> p.matches("app/libs/picocli-[0-9.]+\\.jar")), "picocli's jar");
    assertTrue(files.get("tmp").isDirectory(), "an empty /tmp to mount a volume on");
    assertTrue(text("etc/passwd").contains("\nnonroot:x:65532:65532:"), text("etc/passwd"));
    assertTrue(text("etc/group").contains("\nnonroot:x:65532:"), text("etc/group"));
    // Every classpath entry exists in the image.
    for (String element : text("app/jib-classpath-file").trim().split(":")) {
      assertTrue(files.containsKey(element.substring(1)), "classpath entry " + element + " is in the image");
    }

    List<String> bad = new ArrayList<>();
    for (Entry e : files.values()) {
      if (!(e.uid() == 0 || e.uid() == 65532) || !(e.gid() == 0 || e.gid() == 65532)) {
        bad.add(e.path() + " owned by " + e.uid() + ":" + e.gid());
      }
      if ((e.mode() & 0002) != 0 && !e.isSymlink()) {
        bad.add(e.path() + " is world-writable (" + Integer.toOctalString(e.mode()) + ")");
      }
      if (e.mtime() > 1) {
        bad.add(e.path() + " has a build time (mtime " + e.mtime() + ")");
      }
    }
    assertEquals(List.of(), bad);
  }

  @Test
  void noSecretsOrBuildPaths() throws IOException {
    // Key and credential files by name (the JDK's lib/security/cacerts holds public CA certificates only)
    Pattern secretNames = Pattern.compile("(?i)(^|.*/)(\\.git|\\.m2|\\.kube|\\.ssh|\\.docker|\\.gnupg)(/.*)?"
        + "|.*\\.(pem|key|crt|p12|pfx|jks|keystore)|(^|.*/)(id_rsa|id_ecdsa|id_ed25519|\\.npmrc|\\.netrc|settings\\.xml"
        + "|kubeconfig|\\.?credentials(\\.json)?|\\.env)");
    List<String> bad = new ArrayList<>();
    files.keySet().stream().filter(p -> secretNames.matcher(p).matches()).forEach(p -> bad.add("file " + p));

    // Where this build ran: none of it may leak into the image's text (configs, resources, our own jars, labels).
    List<String> buildPaths = List.of(BuiltArtifacts.repoRoot().toString(), System.getProperty("user.home") + "/",
        "/.m2/", "/.cache/shardgate");
    Map<String, String> texts = new LinkedHashMap<>();
    texts.put("the image config", image.config().toString());
    for (Entry e : files.values()) {
      String p = e.path();
      if (!e.isRegularFile()) {
        continue;
      }
      if (p.startsWith("etc/") || p.startsWith("usr/share/doc/") || p.startsWith("app/resources/")
          || p.startsWith("app/jib-") || p.startsWith("opt/java/conf/") || p.equals("opt/java/release")) {
        texts.put(p, new String(e.content(), StandardCharsets.UTF_8));
      } else if (p.startsWith("app/libs/shardgate-") || p.startsWith("app/classes/")) {
        texts.putAll(p.endsWith(".jar") ? jarTexts(p, e.content()) : Map.of(p, new String(e.content(),
            StandardCharsets.ISO_8859_1)));
      }
    }
    texts.forEach((where, text) -> buildPaths.stream().filter(text::contains)
        .forEach(path -> bad.add(where + " contains the build path " + path)));
    assertTrue(texts.size() > 100, "scanned " + new TreeSet<>(texts.keySet()));
    assertEquals(List.of(), bad);
  }

  private static Map<String, String> jarTexts(String jar, byte[] content) throws IOException {
    Map<String, String> texts = new LinkedHashMap<>();
    try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(content))) {
      for (ZipEntry z = zip.getNextEntry(); z != null; z = zip.getNextEntry()) {
        texts.put(jar + "!" + z.getName(), new String(zip.readAllBytes(), StandardCharsets.ISO_8859_1));
      }
    }
    return texts;
  }

  private static String text(String path) {
    Entry e = files.get(path);
    assertTrue(e != null && e.isRegularFile(), path + " is in the image");
    return new String(e.content(), StandardCharsets.UTF_8);
  }

  private static List<String> strings(JsonNode array) {
    List<String> list = new ArrayList<>();
    array.forEach(n -> list.add(n.asText()));
    return list;
  }
}
