package io.shardgate.templates;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

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
 * One golden case per {@code helm/<case>.values.yaml} (see {@link HelmCases}): the real helm's {@code helm
 * template} output (for cases other than the default, its objects that differ from the default case's) must equal
 * {@code <case>.manifests.yaml} byte for byte, so every change to what the chart renders shows up in review. {@code -Dgolden.update=true} rewrites the expected files and deletes those whose
 * values file is gone.
 */
class HelmTemplateGoldenTest {

  @TempDir
  Path work;

  @TestFactory
  Stream<DynamicTest> rendersEachCaseAsExpected() {
    Helm.binary(); // fail here, not per case, when helm is missing
    List<Path> inputs = HelmCases.valuesFiles();
    assertFalse(inputs.isEmpty(), "no *" + HelmCases.VALUES + " cases in " + HelmCases.dir());
    Stream<DynamicTest> cases = inputs.stream().map(input -> DynamicTest.dynamicTest(HelmCases.caseName(input),
        input.toUri(), () -> Golden.check(HelmCases.manifestsFileOf(input),
            HelmCases.expectedText(work.resolve(HelmCases.caseName(input)), input))));
    return Stream.concat(cases, Stream.of(DynamicTest.dynamicTest("no expected file without values",
        this::noOrphanedExpectedFiles)));
  }

  private void noOrphanedExpectedFiles() {
    List<Path> orphans = HelmCases.manifestFiles().stream()
        .filter(f -> !Files.exists(HelmCases.valuesFileOf(f)))
        .toList();
    if (orphans.isEmpty()) {
      return;
    }
    if (!Golden.updating()) {
      fail("expected files without a values file: " + orphans + "\nDelete them with:\n  " + Golden.UPDATE_COMMAND);
    }
    for (Path orphan : orphans) {
      try {
        Files.delete(orphan);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
