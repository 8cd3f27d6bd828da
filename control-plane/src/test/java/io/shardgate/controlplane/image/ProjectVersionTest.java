package io.shardgate.controlplane.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.e2e.ExampleConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.xpath.XPathFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.yaml.snakeyaml.Yaml;

/**
 * One version for everything the project ships: every pom (the parent's version and each module's parent
 * reference), which is the image's tag, and the Helm chart's {@code appVersion}, which the chart's image tag
 * follows.
 */
public class ProjectVersionTest {

  private static final List<String> MODULES =
      List.of("sharding", "snapshot-cache", "proxy-templates", "control-plane", "load-tests");

  @Test
  void everyPomHasTheParentsVersion() throws Exception {
    String version = rootPomVersion();
    assertTrue(version.matches("\\d+\\.\\d+\\.\\d+"), "a release version, the image's tag: " + version);
    List<String> wrong = new ArrayList<>();
    for (String module : MODULES) {
      Document pom = pom(ExampleConfig.repoRoot().resolve(module).resolve("pom.xml"));
      String parent = xpath(pom, "/project/parent/version");
      String own = xpath(pom, "/project/version");
      if (!parent.equals(version) || !(own.isEmpty() || own.equals(version))) {
        wrong.add(module + ": parent " + parent + ", own '" + own + "'");
      }
    }
    assertEquals(List.of(), wrong, "modules whose version is not " + version);
  }

  @Test
  void chartAppVersionIsTheProjectVersion() throws Exception {
    Path chart = ExampleConfig.repoRoot().resolve("helm/shardgate/Chart.yaml");
    Map<String, Object> yaml = new Yaml().load(Files.readString(chart));
    assertEquals(rootPomVersion(), String.valueOf(yaml.get("appVersion")),
        chart + ": appVersion is the image tag the chart deploys, the project version");
  }

  /** The version in the root pom.xml. */
  public static String rootPomVersion() throws Exception {
    return xpath(pom(ExampleConfig.repoRoot().resolve("pom.xml")), "/project/version");
  }

  private static Document pom(Path file) throws Exception {
    if (!Files.isRegularFile(file)) {
      throw new IOException(file + " does not exist");
    }
    return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file.toFile());
  }

  private static String xpath(Document doc, String expression) throws Exception {
    return XPathFactory.newInstance().newXPath().evaluate(expression, doc).trim();
  }
}
