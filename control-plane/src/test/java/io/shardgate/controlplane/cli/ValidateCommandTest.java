package io.shardgate.controlplane.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.e2e.ExampleConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code validate} over a copy of the example with one mistake each: what used to pass silently (a document
 * skipped for a typo in its identity, a misspelled matcher that widened into a catch-all, a Settings value of the
 * wrong type) now exits 1 and names the file and line.
 */
class ValidateCommandTest {

  @TempDir Path tmp;

  @Test
  void theExampleValidates() throws IOException {
    ExampleConfig config = ExampleConfig.copyTo(tmp.resolve("config"));
    Result r = validate(config);
    assertEquals(0, r.exit(), r.out() + r.err());
  }

  @Test
  void aTypoInKindIsAFileErrorNotASkippedDocument() throws IOException {
    ExampleConfig config = ExampleConfig.copyTo(tmp.resolve("config"));
    config.replace("virtualservices/catalog/catalog.yaml", "kind: VirtualService", "kind: VirtualServce");
    Result r = validate(config);
    assertEquals(1, r.exit(), r.out());
    assertTrue(r.out().contains("virtualservices/catalog/catalog.yaml:2: ")
        && r.out().contains("did you mean gateway.solo.io/v1 VirtualService?"), r.out());
    assertTrue(r.out().contains("1 file errors"), r.out());
  }

  @Test
  void aTypoInApiVersionIsAFileError() throws IOException {
    ExampleConfig config = ExampleConfig.copyTo(tmp.resolve("config"));
    config.replace("virtualservices/catalog/catalog.yaml", "apiVersion: gateway.solo.io/v1",
        "apiVersion: gateway.solo.io/v1beta1");
    Result r = validate(config);
    assertEquals(1, r.exit(), r.out());
    assertTrue(r.out().contains("virtualservices/catalog/catalog.yaml:1: apiVersion 'gateway.solo.io/v1beta1' is not"
        + " a version of VirtualService"), r.out());
  }

  @Test
  void anInvalidNameIsAFileError() throws IOException {
    ExampleConfig config = ExampleConfig.copyTo(tmp.resolve("config"));
    config.replace("virtualservices/catalog/catalog.yaml", "metadata:\n  name: catalog\n",
        "metadata:\n  name: Catalog_Main\n");
    Result r = validate(config);
    assertEquals(1, r.exit(), r.out());
    assertTrue(r.out().contains("virtualservices/catalog/catalog.yaml:4: metadata.name 'Catalog_Main' must be a"
        + " DNS-1123 subdomain"), r.out());
  }

  @Test
  void aMisspelledMatcherRejectsTheVirtualServiceInsteadOfMatchingEverything() throws IOException {
    ExampleConfig config = ExampleConfig.copyTo(tmp.resolve("config"));
    config.replace("virtualservices/catalog/catalog.yaml", "- prefix: /", "- prefx: /typo");
    Result r = validate(config);
    assertEquals(1, r.exit(), r.out());
    assertTrue(r.out().contains("'prefx' is not a field of Matcher; did you mean 'prefix'?"), r.out());
    assertTrue(r.out().contains("virtualservices/catalog/catalog.yaml:14"), r.out());
  }

  @Test
  void aBoolWhereSettingsWantsAStringRejectsTheSettings() throws IOException {
    ExampleConfig config = ExampleConfig.copyTo(tmp.resolve("config"));
    config.replace("settings/gloo-system/default.yaml", "discoveryNamespace: gloo-system", "discoveryNamespace: true");
    Result r = validate(config);
    assertEquals(1, r.exit(), r.out());
    assertTrue(r.out().contains("spec.discoveryNamespace (settings/gloo-system/default.yaml:5): expected a string,"
        + " got a boolean"), r.out());
  }

  @Test
  void aSecretInTheWrongPlaceIsNeverPrinted() throws IOException {
    ExampleConfig config = ExampleConfig.copyTo(tmp.resolve("config"));
    String secret = "ghp_Zk3vQ9sL2mXw8RtY6uPa4NbC1dEf7GhJ0KlM";
    config.replace("settings/gloo-system/default.yaml", "readGatewaysFromAllNamespaces: false",
        "readGatewaysFromAllNamespaces: " + secret);
    Result r = validate(config);
    assertEquals(1, r.exit(), r.out());
    assertTrue(r.out().contains("expected true or false, got a string of 40 characters"), r.out());
    assertFalse((r.out() + r.err()).contains(secret), r.out());
    assertFalse((r.out() + r.err()).contains(secret.substring(0, 12)), r.out());
  }

  private record Result(int exit, String out, String err) {}

  private static Result validate(ExampleConfig config) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit =
        new CommandLine(new ShardgateCli())
            .setOut(new PrintWriter(out))
            .setErr(new PrintWriter(err))
            .execute("validate", "--config-dir", config.dir().toString());
    return new Result(exit, out.toString(), err.toString());
  }
}
