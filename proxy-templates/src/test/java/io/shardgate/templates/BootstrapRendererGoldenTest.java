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

/**
 * One golden case per {@code render/<case>.params.yaml}: the rendered bootstrap must equal
 * {@code <case>.bootstrap.yaml} byte for byte. {@code -Dgolden.update=true} rewrites the expected files and
 * deletes those whose params file is gone.
 */
class BootstrapRendererGoldenTest {

  @TestFactory
  Stream<DynamicTest> rendersEachCaseAsExpected() {
    List<Path> inputs = RenderCases.paramsFiles();
    assertFalse(inputs.isEmpty(), "no *" + RenderCases.PARAMS + " cases in " + RenderCases.dir());
    Stream<DynamicTest> cases = inputs.stream().map(input -> DynamicTest.dynamicTest(RenderCases.caseName(input),
        input.toUri(), () -> Golden.check(RenderCases.bootstrapFileOf(input),
            BootstrapRenderer.render(RenderCases.load(input)))));
    return Stream.concat(cases, Stream.of(DynamicTest.dynamicTest("no expected file without params",
        this::noOrphanedExpectedFiles)));
  }

  private void noOrphanedExpectedFiles() {
    List<Path> orphans = RenderCases.bootstrapFiles().stream()
        .filter(f -> !Files.exists(RenderCases.paramsFileOf(f)))
        .toList();
    if (orphans.isEmpty()) {
      return;
    }
    if (!Golden.updating()) {
      fail("expected files without a params file: " + orphans + "\nDelete them with:\n  " + Golden.UPDATE_COMMAND);
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
