package io.shardgate.templates;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every golden bootstrap must pass {@code envoy --mode validate} of the real Envoy the build installs: the
 * golden test proves the text is stable, this proves Envoy accepts it.
 */
class BootstrapEnvoyValidateTest {

  @TempDir
  Path work;

  @TestFactory
  Stream<DynamicTest> envoyAcceptsEveryGoldenBootstrap() {
    Envoy.binary(); // fail here, not per case, when Envoy is missing
    List<Path> bootstraps = RenderCases.bootstrapFiles();
    assertFalse(bootstraps.isEmpty(), "no *" + RenderCases.BOOTSTRAP + " files in " + RenderCases.dir());
    return bootstraps.stream().map(bootstrap -> DynamicTest.dynamicTest(RenderCases.caseName(bootstrap),
        bootstrap.toUri(), () -> assertEnvoyAccepts(bootstrap)));
  }

  private void assertEnvoyAccepts(Path bootstrap) {
    Path caseDir = work.resolve(RenderCases.caseName(bootstrap));
    try {
      Files.createDirectories(caseDir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Path paramsFile = RenderCases.paramsFileOf(bootstrap);
    if (Files.exists(paramsFile)) {
      BootstrapParams params = RenderCases.load(paramsFile);
      if (params.xdsTls()) {
        // Golden cases name their TLS files relative to Envoy's working directory; give Envoy real ones there.
        TestPki ca = TestPki.create("shardgate-test-ca");
        ca.writeCertificate(caseDir.resolve(params.xdsCaFile()));
        if (params.xdsMutualTls()) {
          ca.leaf(params.proxyName()).sans("DNS:" + params.proxyName() + "." + params.namespace())
              .writeTo(caseDir.resolve(params.xdsCertFile()), caseDir.resolve(params.xdsKeyFile()));
        }
      }
    }
    Envoy.Run run = Envoy.validate(bootstrap, caseDir);
    assertEquals(0, run.exitCode(),
        () -> "envoy --mode validate rejected " + bootstrap + " (exit " + run.exitCode() + "):\n" + run.output());
  }
}
