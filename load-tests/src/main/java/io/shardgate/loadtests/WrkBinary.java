package io.shardgate.loadtests;

import io.shardgate.controlplane.local.EnvoyBinary;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Finds wrk, the noisy API's load generator: {@code shardgate.wrk.bin} or {@code SHARDGATE_WRK} when set, else what
 * {@code tools/install-wrk.sh --print-path} installs (from the apt sources into {@code ~/.cache/shardgate}, once).
 * Stateless.
 */
final class WrkBinary {

  static final String INSTALL_COMMAND = "bash tools/install-wrk.sh";

  private WrkBinary() {}

  static Path find() throws IOException {
    for (String configured : new String[] {System.getProperty("shardgate.wrk.bin"), System.getenv("SHARDGATE_WRK")}) {
      if (configured != null && !configured.isBlank()) {
        Path bin = Path.of(configured);
        if (!Files.isExecutable(bin)) {
          throw new IllegalStateException("no executable wrk at " + bin);
        }
        return bin;
      }
    }
    Path checkout = EnvoyBinary.checkout().orElseThrow(() -> new IllegalStateException(
        "cannot find the Shardgate checkout (tools/install-wrk.sh) to install wrk; pass --wrk PATH"));
    Process p = new ProcessBuilder("bash", "tools/install-wrk.sh", "--print-path").directory(checkout.toFile())
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    try {
      if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0 || out.isEmpty()) {
        p.destroyForcibly();
        throw new IllegalStateException(INSTALL_COMMAND + " failed (see its messages above); pass --wrk PATH to use"
            + " another wrk");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while installing wrk", e);
    }
    return Path.of(out.lines().reduce((first, last) -> last).orElseThrow());
  }
}
