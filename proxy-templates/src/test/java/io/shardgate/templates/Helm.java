package io.shardgate.templates;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The real helm binary the build installs, run on the chart in {@code helm/shardgate}, and the rendered manifests
 * as YAML trees. A missing helm fails the calling test rather than skipping it, like a missing Envoy does.
 *
 * <p>Every run gets its own helm home, cache, config and data folders under the caller's work folder, and no
 * KUBECONFIG: {@code helm template} never talks to a cluster, so {@code lookup} finds nothing.
 */
final class Helm {

  static final String INSTALL_COMMAND = "bash tools/install-kube-cli.sh helm 3.17.2";
  static final String RELEASE = "gw";
  static final String RELEASE_NAMESPACE = "shardgate";

  private Helm() {}

  /** Exit code, stdout, and stdout followed by stderr of one helm run. */
  record Run(int exitCode, String stdout, String output) {}

  /** A YAML tree with a path accessor: map keys and list indexes; null when any step is missing. */
  record Doc(Object tree) {
    Object at(Object... path) {
      Object node = tree;
      for (Object step : path) {
        if (step instanceof Integer i && node instanceof List<?> list) {
          node = i < list.size() ? list.get(i) : null;
        } else if (node instanceof Map<?, ?> map) {
          node = map.get(step);
        } else {
          return null;
        }
      }
      return node;
    }

    String kind() {
      return (String) at("kind");
    }

    String name() {
      return (String) at("metadata", "name");
    }
  }

  /** Every object of one {@code helm template} output, in its order. */
  record Manifests(List<Doc> docs, String text) {
    Doc one(String kind, String name) {
      List<Doc> found = all(kind, name);
      assertEquals(1, found.size(), () -> "expected exactly one " + kind + " " + name + ", found " + found.size());
      return found.get(0);
    }

    List<Doc> all(String kind, String name) {
      return docs.stream().filter(d -> kind.equals(d.kind()) && name.equals(d.name())).toList();
    }

    List<Doc> ofKind(String kind) {
      return docs.stream().filter(d -> kind.equals(d.kind())).toList();
    }

    /** The names of the objects of {@code kind} whose {@code app.kubernetes.io/component} label is {@code component}. */
    List<String> names(String kind, String component) {
      return docs.stream()
          .filter(d -> kind.equals(d.kind())
              && component.equals(d.at("metadata", "labels", "app.kubernetes.io/component")))
          .map(Doc::name)
          .toList();
    }

    /** The gateway proxies: name of each Deployment or DaemonSet labelled as one, sorted. */
    List<String> proxies() {
      List<String> names = new ArrayList<>(names("Deployment", "gateway-proxy"));
      names.addAll(names("DaemonSet", "gateway-proxy"));
      return names.stream().sorted().toList();
    }

    /** The Deployment or DaemonSet of a gateway proxy. */
    Doc proxyWorkload(String proxy) {
      List<Doc> found = new ArrayList<>(all("Deployment", proxy));
      found.addAll(all("DaemonSet", proxy));
      assertEquals(1, found.size(), () -> "expected one Deployment or DaemonSet " + proxy + ", found " + found.size());
      return found.get(0);
    }

    /** The text of {@code envoy.yaml} in {@code <proxy>-envoy-config}. */
    String bootstrap(String proxy) {
      Object text = one("ConfigMap", proxy + "-envoy-config").at("data", "envoy.yaml");
      assertTrue(text instanceof String, () -> proxy + "-envoy-config has no envoy.yaml");
      return (String) text;
    }
  }

  /** The first container of a workload's pod template. */
  static Doc container(Doc workload) {
    return new Doc(workload.at("spec", "template", "spec", "containers", 0));
  }

  static Object parse(String yaml) {
    return new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
  }

  /** {@code helm template gw helm/shardgate --namespace shardgate <extraArgs>}, which must succeed. */
  static Manifests template(Path work, String... extraArgs) {
    List<String> args = new ArrayList<>(List.of("template", RELEASE, chartDir().toString(),
        "--namespace", RELEASE_NAMESPACE));
    args.addAll(List.of(extraArgs));
    Run run = run(work, args.toArray(String[]::new));
    assertEquals(0, run.exitCode(), () -> "helm " + args + " failed:\n" + run.output());
    List<Doc> docs = new ArrayList<>();
    try {
      for (Object doc : new Yaml(new SafeConstructor(new LoaderOptions())).loadAll(run.stdout())) {
        if (doc != null) {
          docs.add(new Doc(doc));
        }
      }
    } catch (RuntimeException e) {
      fail("helm template output is not valid YAML: " + e.getMessage() + "\n" + run.stdout());
    }
    assertTrue(docs.size() > 0, "helm template rendered nothing");
    return new Manifests(docs, run.stdout());
  }

  /** Writes {@code text} to a new values file in {@code work}. */
  static Path values(Path work, String text) {
    try {
      Path file = Files.createTempFile(work, "values", ".yaml");
      Files.writeString(file, text);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Runs helm with its home, cache, config and data folders in {@code work}. */
  static Run run(Path work, String... args) {
    List<String> command = new ArrayList<>();
    command.add(binary().toString());
    command.addAll(List.of(args));
    Path home = work.resolve("helm-home");
    Path out;
    Path err;
    try {
      Files.createDirectories(work);
      out = Files.createTempFile(work, "helm", ".out");
      err = Files.createTempFile(work, "helm", ".err");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ProcessBuilder builder = new ProcessBuilder(command)
        .directory(work.toFile())
        .redirectOutput(out.toFile())
        .redirectError(err.toFile());
    Map<String, String> env = builder.environment();
    env.put("HOME", home.toString());
    env.put("HELM_CACHE_HOME", home.resolve("cache").toString());
    env.put("HELM_CONFIG_HOME", home.resolve("config").toString());
    env.put("HELM_DATA_HOME", home.resolve("data").toString());
    env.remove("KUBECONFIG");
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
    try {
      if (!process.waitFor(120, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        fail(command + " did not finish within 120 s");
      }
      String stdout = Golden.read(out);
      return new Run(process.exitValue(), stdout, stdout + Golden.read(err));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + command, e);
    } finally {
      process.destroyForcibly();
    }
  }

  /** The binary Surefire names in {@code shardgate.helm.bin}, or fails the calling test. */
  static Path binary() {
    String configured = System.getProperty("shardgate.helm.bin");
    Path bin = configured != null
        ? Path.of(configured)
        // Outside Maven (an IDE run in the module folder), look where the install script puts it.
        : Path.of("..", ".tools", "helm-3.17.2", "helm").toAbsolutePath().normalize();
    if (!Files.isExecutable(bin)) {
      fail("No helm binary at " + bin + ". These tests render the Helm chart with the real helm; install it from"
          + " the repository root with:\n  " + INSTALL_COMMAND);
    }
    return bin;
  }

  /** {@code helm/shardgate} of the repository, which Surefire names in {@code shardgate.repo.root}. */
  static Path chartDir() {
    String root = System.getProperty("shardgate.repo.root");
    Path dir = (root != null ? Path.of(root) : Path.of("..")).resolve("helm").resolve("shardgate")
        .toAbsolutePath().normalize();
    if (!Files.isRegularFile(dir.resolve("Chart.yaml"))) {
      fail("no Helm chart at " + dir + "; run the tests with Maven from the repository, or set"
          + " -Dshardgate.repo.root");
    }
    return dir;
  }
}
