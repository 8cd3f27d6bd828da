package io.shardgate.templates;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.shardgate.templates.Helm.Doc;
import io.shardgate.templates.Helm.Manifests;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every bootstrap the chart renders in every golden case ({@link HelmCases}) passes {@code envoy --mode validate}
 * of the real Envoy the build installs, and names its shard: {@code node.metadata.role} is
 * {@code <writeNamespace>~<proxy name>}, the write namespace being the case's {@code settings.writeNamespace} or
 * else the release namespace.
 */
class HelmBootstrapEnvoyValidateTest {

  @TempDir
  Path work;

  @TestFactory
  Stream<DynamicNode> envoyAcceptsEveryBootstrapOfEveryCase() {
    Envoy.binary(); // fail here, not per case, when Envoy is missing
    List<Path> cases = HelmCases.valuesFiles();
    assertFalse(cases.isEmpty(), "no *" + HelmCases.VALUES + " cases in " + HelmCases.dir());
    return cases.stream().map(values -> {
      String name = HelmCases.caseName(values);
      Path caseDir = work.resolve(name);
      Manifests manifests = HelmCases.render(caseDir, values);
      List<String> proxies = manifests.proxies();
      assertFalse(proxies.isEmpty(), name + " renders no gateway proxy");
      String writeNamespace = writeNamespace(values);
      return DynamicContainer.dynamicContainer(name, values.toUri(), proxies.stream().map(proxy ->
          DynamicTest.dynamicTest(proxy, () -> assertValidAndNamed(caseDir, manifests, proxy, writeNamespace))));
    });
  }

  private static void assertValidAndNamed(Path caseDir, Manifests manifests, String proxy, String writeNamespace) {
    String bootstrap = manifests.bootstrap(proxy);
    assertEquals(writeNamespace + "~" + proxy, new Doc(Helm.parse(bootstrap)).at("node", "metadata", "role"),
        () -> "the role of " + proxy + "'s Envoys must name its shard");
    Path file = caseDir.resolve(proxy + ".envoy.yaml");
    try {
      Files.writeString(file, bootstrap);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Envoy.Run run = Envoy.validate(file, caseDir);
    assertEquals(0, run.exitCode(), () -> "envoy --mode validate rejected the chart's bootstrap of " + proxy
        + " (exit " + run.exitCode() + "):\n" + run.output());
  }

  private static String writeNamespace(Path valuesFile) {
    Object values = Helm.parse(Golden.read(valuesFile));
    Object configured = values instanceof Map<?, ?> ? new Doc(values).at("settings", "writeNamespace") : null;
    return configured != null ? configured.toString() : Helm.RELEASE_NAMESPACE;
  }
}
