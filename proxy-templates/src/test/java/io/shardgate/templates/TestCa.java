package io.shardgate.templates;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway CA certificate in PEM, made with the JDK's own keytool: Envoy's validate mode loads the CA file a
 * TLS bootstrap names, and generating one per run keeps expiring certificates out of the repository.
 */
final class TestCa {

  private TestCa() {}

  /** Writes a fresh self-signed CA certificate to {@code pemFile}, creating its folder. */
  static void writePem(Path pemFile) {
    try {
      Files.createDirectories(pemFile.toAbsolutePath().getParent());
      Path keystore = Files.createTempFile(pemFile.toAbsolutePath().getParent(), "ca", ".p12");
      Files.delete(keystore); // keytool refuses to open an empty file as a keystore
      try {
        keytool("-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
            "CN=shardgate-test-ca", "-ext", "bc:c", "-validity", "2", "-storetype", "PKCS12", "-keystore",
            keystore.toString(), "-storepass", "changeit");
        keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", keystore.toString(), "-storepass", "changeit",
            "-file", pemFile.toString());
      } finally {
        Files.deleteIfExists(keystore);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void keytool(String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      // keytool prints a few lines at most, well below a pipe buffer, so reading after exit cannot block it.
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        fail("keytool did not finish within 60 s: " + command);
      }
      String output = new String(process.getInputStream().readAllBytes());
      if (process.exitValue() != 0) {
        fail("keytool failed (exit " + process.exitValue() + "): " + command + "\n" + output);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running keytool", e);
    } finally {
      process.destroyForcibly();
    }
  }
}
