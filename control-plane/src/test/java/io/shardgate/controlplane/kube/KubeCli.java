package io.shardgate.controlplane.kube;

import static org.junit.jupiter.api.Assertions.fail;

import io.shardgate.controlplane.e2e.ExampleConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The real helm and kubectl binaries the build installs in {@code .tools/} ({@code tools/install-kube-cli.sh}), run
 * as a user runs them against the real API server: with {@code KUBECONFIG} set to the test's kubeconfig and helm's
 * home, cache, config and data folders in the test's own folder (never the user's). A missing binary fails the test
 * with the command that installs it; it never skips.
 *
 * <p>Stateless; each call is one process, its output in files (never a pipe a chatty tool could fill).
 */
final class KubeCli {

  static final String HELM_VERSION = "3.17.2";
  static final String KUBECTL_VERSION = "1.34.5";
  /** Generous: a helm install on a loaded 2-core machine creates dozens of objects. */
  private static final Duration BOUND = Duration.ofMinutes(3);

  /** Exit code, stdout and stderr of one run. */
  record Run(String command, int exit, String stdout, String stderr) {
    /** Fails with the command and its output unless it exited with 0; returns stdout. */
    String ok() {
      if (exit != 0) {
        fail(command + " exited with " + exit + ":\n" + stdout + stderr);
      }
      return stdout;
    }

    @Override
    public String toString() {
      return command + " -> " + exit + "\n" + stdout + stderr;
    }
  }

  private KubeCli() {}

  static Run helm(Path work, Path kubeconfig, String... args) {
    return run(work, kubeconfig, binary("helm", HELM_VERSION, "shardgate.helm.bin"), args);
  }

  static Run kubectl(Path work, Path kubeconfig, String... args) {
    return run(work, kubeconfig, binary("kubectl", KUBECTL_VERSION, "shardgate.kubectl.bin"), args);
  }

  /** {@code helm/shardgate} of the repository. */
  static Path chart() {
    return ExampleConfig.repoRoot().resolve("helm/shardgate");
  }

  /**
   * {@code helm template} of the chart as release {@code release} in {@code namespace} with extra helm arguments
   * ({@code -f FILE}, {@code --set k=v}); returns the rendered text (fails naming helm's output when it does not
   * render).
   */
  static String template(Path work, String release, String namespace, String... extraArgs) {
    List<String> args = new ArrayList<>(List.of("template", release, chart().toString(), "--namespace", namespace));
    args.addAll(List.of(extraArgs));
    return helm(work, null, args.toArray(String[]::new)).ok();
  }

  /** Every document of a multi-document YAML text, as maps (empty documents left out). */
  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> documents(String yaml) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Object doc : new Yaml(new SafeConstructor(new LoaderOptions())).loadAll(yaml)) {
      if (doc instanceof Map<?, ?> map) {
        out.add(new LinkedHashMap<>((Map<String, Object>) map));
      }
    }
    return out;
  }

  private static Path binary(String tool, String version, String property) {
    String configured = System.getProperty(property);
    Path bin = configured != null && !configured.isBlank() ? Path.of(configured)
        : ExampleConfig.repoRoot().resolve(".tools/" + tool + "-" + version + "/" + tool);
    if (!Files.isExecutable(bin)) {
      fail("No " + tool + " binary at " + bin + ". These tests run the real " + tool + " against the real API server;"
          + " install it from the repository root with:\n  bash tools/install-kube-cli.sh " + tool + " " + version);
    }
    return bin;
  }

  private static Run run(Path work, Path kubeconfig, Path binary, String... args) {
    List<String> command = new ArrayList<>();
    command.add(binary.toString());
    command.addAll(List.of(args));
    String shown = binary.getFileName() + " " + String.join(" ", args);
    try {
      Path home = Files.createDirectories(work.resolve("cli-home"));
      Path out = Files.createTempFile(work, "cli-", ".out");
      Path err = Files.createTempFile(work, "cli-", ".err");
      ProcessBuilder builder = new ProcessBuilder(command).directory(work.toFile())
          .redirectOutput(out.toFile()).redirectError(err.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
      Map<String, String> env = builder.environment();
      env.put("HOME", home.toString());
      env.put("HELM_CACHE_HOME", home.resolve("cache").toString());
      env.put("HELM_CONFIG_HOME", home.resolve("config").toString());
      env.put("HELM_DATA_HOME", home.resolve("data").toString());
      if (kubeconfig != null) {
        env.put("KUBECONFIG", kubeconfig.toString());
      } else {
        env.remove("KUBECONFIG");
      }
      Process process = builder.start();
      try {
        if (!process.waitFor(BOUND.toMillis(), TimeUnit.MILLISECONDS)) {
          process.destroyForcibly();
          fail(shown + " did not finish within " + BOUND + ":\n" + Files.readString(out) + Files.readString(err));
        }
      } finally {
        process.destroyForcibly();
      }
      return new Run(shown, process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new AssertionError("cannot run " + shown + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while running " + shown, e);
    }
  }
}
