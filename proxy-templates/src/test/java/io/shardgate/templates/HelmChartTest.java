package io.shardgate.templates;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The Helm chart in {@code helm/shardgate}, rendered by the real helm binary the build installs.
 *
 * <p>The chart spells out the gateway-proxy bootstrap with Helm templating, because Helm cannot call
 * {@link BootstrapRenderer}. This test keeps the two from drifting: every proxy's {@code envoy.yaml} in the
 * rendered chart must be the same YAML tree as {@link BootstrapRenderer#render} gives for the same parameters.
 * A missing helm fails the tests rather than skipping them, like a missing Envoy does.
 */
class HelmChartTest {

  static final String INSTALL_COMMAND = "bash tools/install-kube-cli.sh helm 3.17.2";

  private static final String RELEASE = "gw";
  private static final String RELEASE_NAMESPACE = "shardgate";
  private static final List<String> DEFAULT_PROXIES = List.of("gateway-proxy-noisy", "gateway-proxy-protected");

  @TempDir
  Path work;

  @Test
  void lintPassesWithDefaultAndCustomValues() {
    Run plain = helm("lint", "--strict", chartDir().toString());
    assertEquals(0, plain.exitCode(), () -> "helm lint failed:\n" + plain.output());
    Run custom = helm("lint", "--strict", chartDir().toString(), "-f", writeValues(CUSTOM_VALUES).toString());
    assertEquals(0, custom.exitCode(), () -> "helm lint with custom values failed:\n" + custom.output());
  }

  @Test
  void defaultBootstrapsAreTheRenderersOwn() {
    Manifests manifests = template();
    String xdsHost = RELEASE + "-shardgate." + RELEASE_NAMESPACE + ".svc.cluster.local";
    assertEquals(new TreeSet<>(DEFAULT_PROXIES), new TreeSet<>(manifests.names("Deployment", "gateway-proxy")));
    for (String proxy : DEFAULT_PROXIES) {
      BootstrapParams params = BootstrapParams.builder(proxy)
          .namespace("gloo-system")
          .xdsHost(xdsHost)
          .xdsPort(9977)
          .adminPort(19000)
          .build();
      assertBootstrapIsRenderers(manifests, proxy, params);
      assertEquals("gloo-system~" + proxy, nodeRole(manifests, proxy));
      assertEquals(1, deployment(manifests, proxy).at("spec", "replicas"));
    }
  }

  @Test
  void customValuesReachEveryBootstrapAndDeployment() {
    Manifests manifests = template("-f", writeValues(CUSTOM_VALUES).toString());
    String xdsHost = RELEASE + "-shardgate." + RELEASE_NAMESPACE + ".svc.corp.example";
    Map<String, int[]> expected = new LinkedHashMap<>(); // proxy -> {replicas, adminPort}
    expected.put("payments", new int[] {3, 19001});
    expected.put("catalog", new int[] {0, 19000});
    expected.put("front-door", new int[] {2, 19002});
    assertEquals(new TreeSet<>(expected.keySet()), new TreeSet<>(manifests.names("Deployment", "gateway-proxy")),
        "one Deployment per gatewayProxies entry plus the enabled edge proxy, and nothing else");
    expected.forEach((proxy, replicasAndAdmin) -> {
      BootstrapParams params = BootstrapParams.builder(proxy)
          .namespace("team-gateways")
          .xdsHost(xdsHost)
          .xdsPort(19977)
          .adminPort(replicasAndAdmin[1])
          .build();
      assertBootstrapIsRenderers(manifests, proxy, params);
      assertEquals("team-gateways~" + proxy, nodeRole(manifests, proxy));
      assertEquals(replicasAndAdmin[0], deployment(manifests, proxy).at("spec", "replicas"));
    });
    List<?> controlPlaneArgs = (List<?>) container(manifests.one("Deployment", RELEASE + "-shardgate")).at("args");
    assertArg(controlPlaneArgs, "--xds-address", "::");
    Doc payments = deployment(manifests, "payments");
    assertEquals(8443, container(payments).at("ports", 0, "containerPort"));
    assertEquals("2", container(payments).at("resources", "limits", "cpu"));
  }

  @Test
  void controlPlaneServiceExposesXdsOnly() {
    Manifests manifests = template();
    Doc service = manifests.one("Service", RELEASE + "-shardgate");
    List<?> ports = (List<?>) service.at("spec", "ports");
    assertEquals(1, ports.size(), () -> "the control plane Service must expose xDS only, got " + ports);
    assertEquals(9977, service.at("spec", "ports", 0, "port"));
    assertEquals("grpc-xds", service.at("spec", "ports", 0, "name"));

    Doc deployment = manifests.one("Deployment", RELEASE + "-shardgate");
    Doc container = container(deployment);
    List<?> args = (List<?>) container.at("args");
    assertEquals("serve", args.get(0));
    assertArg(args, "--config-dir", "/etc/shardgate/config");
    assertArg(args, "--state-dir", "/var/lib/shardgate");
    assertArg(args, "--admin-address", "127.0.0.1");
    // xDS binds loopback by default, so the chart names the pod's address, which Kubernetes substitutes from env.
    assertArg(args, "--xds-address", "$(POD_IP)");
    assertEquals(Map.of("name", "POD_IP", "valueFrom", Map.of("fieldRef", Map.of("fieldPath", "status.podIP"))),
        ((List<?>) container.at("env")).get(0));
    assertEquals(List.of(9977), portsOf(container), "only the xDS port is a container port");
    assertEquals("shardgate/control-plane:0.1.0", container.at("image"));
  }

  @Test
  void podsCarryTheProxyIdAndRollWithTheirBootstrap() {
    Manifests manifests = template();
    for (String proxy : DEFAULT_PROXIES) {
      Doc deployment = deployment(manifests, proxy);
      assertEquals(proxy, deployment.at("spec", "template", "metadata", "labels", "gateway-proxy-id"));
      assertEquals(proxy, deployment.at("spec", "selector", "matchLabels", "gateway-proxy-id"));
      assertEquals(proxy + "-envoy-config",
          deployment.at("spec", "template", "spec", "volumes", 0, "configMap", "name"));
      String envoyYaml = (String) envoyConfig(manifests, proxy).at("data", "envoy.yaml");
      // The block scalar adds the final newline to what the template rendered.
      assertEquals(sha256(envoyYaml.substring(0, envoyYaml.length() - 1)),
          deployment.at("spec", "template", "metadata", "annotations", "checksum/envoy-config"));
      Doc service = manifests.one("Service", proxy);
      assertEquals(proxy, service.at("spec", "selector", "gateway-proxy-id"));
    }
    Object protectedSum = deployment(manifests, "gateway-proxy-protected")
        .at("spec", "template", "metadata", "annotations", "checksum/envoy-config");
    Object noisySum = deployment(manifests, "gateway-proxy-noisy")
        .at("spec", "template", "metadata", "annotations", "checksum/envoy-config");
    assertNotEquals(protectedSum, noisySum);
  }

  @Test
  void chartBootstrapPassesEnvoyValidation() throws IOException {
    Envoy.binary(); // fail first with the install command when Envoy is missing
    Manifests manifests = template();
    for (String proxy : DEFAULT_PROXIES) {
      Path file = work.resolve(proxy + ".yaml");
      Files.writeString(file, (String) envoyConfig(manifests, proxy).at("data", "envoy.yaml"));
      Envoy.Run run = Envoy.validate(file, work);
      assertEquals(0, run.exitCode(), () -> "envoy --mode validate rejected the chart's bootstrap of " + proxy
          + ":\n" + run.output());
    }
  }

  @Test
  void invalidProxyNameFailsWithItsName() {
    Path values = writeValues("gatewayProxies:\n  Gateway_Proxy: {}\n");
    Run run = helm("template", RELEASE, chartDir().toString(), "-f", values.toString());
    assertNotEquals(0, run.exitCode(), () -> "helm template accepted a bad proxy name:\n" + run.output());
    assertTrue(run.output().contains("\"Gateway_Proxy\" is not valid"), run::output);
  }

  // ---- values ----

  private static final String CUSTOM_VALUES = """
      writeNamespace: team-gateways
      clusterDomain: corp.example
      controlPlane:
        xdsPort: 19977
        xdsAddress: "::"
        state:
          persistentVolumeClaim: shardgate-state
      gatewayProxies:
        # Helm merges these entries into the chart's defaults: null removes a default proxy.
        gateway-proxy-protected: null
        gateway-proxy-noisy: null
        payments:
          replicas: 3
          httpPort: 8443
          adminPort: 19001
          resources:
            limits:
              cpu: "2"
        catalog:
          replicas: 0
      edge:
        enabled: true
        name: front-door
        replicas: 2
        adminPort: 19002
      """;

  private Path writeValues(String text) {
    try {
      Path file = Files.createTempFile(work, "values", ".yaml");
      Files.writeString(file, text);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ---- assertions on the rendered manifests ----

  private static void assertBootstrapIsRenderers(Manifests manifests, String proxy, BootstrapParams params) {
    String chartText = (String) envoyConfig(manifests, proxy).at("data", "envoy.yaml");
    assertNotNull(chartText, proxy + "-envoy-config has no envoy.yaml");
    Object chart = parse(chartText);
    Object renderer = parse(BootstrapRenderer.render(params));
    assertEquals(renderer, chart, () -> "helm/shardgate's bootstrap of " + proxy + " differs from BootstrapRenderer's"
        + " for " + params + ". Change helm/shardgate/templates/_helpers.tpl (shardgate.bootstrap) to match"
        + " gateway-proxy-bootstrap.yaml.\n--- renderer:\n" + new Yaml().dump(renderer)
        + "--- chart:\n" + new Yaml().dump(chart));
  }

  private static Object nodeRole(Manifests manifests, String proxy) {
    String text = (String) envoyConfig(manifests, proxy).at("data", "envoy.yaml");
    return new Doc(parse(text)).at("node", "metadata", "role");
  }

  private static void assertArg(List<?> args, String flag, String value) {
    int at = args.indexOf(flag);
    assertTrue(at >= 0 && at + 1 < args.size(), () -> "no " + flag + " in " + args);
    assertEquals(value, args.get(at + 1), () -> flag + " in " + args);
  }

  private static List<Object> portsOf(Doc container) {
    List<Object> ports = new ArrayList<>();
    for (Object port : (List<?>) container.at("ports")) {
      ports.add(((Map<?, ?>) port).get("containerPort"));
    }
    return ports;
  }

  private static Doc deployment(Manifests manifests, String proxy) {
    return manifests.one("Deployment", proxy);
  }

  private static Doc envoyConfig(Manifests manifests, String proxy) {
    return manifests.one("ConfigMap", proxy + "-envoy-config");
  }

  private static Doc container(Doc deployment) {
    return new Doc(deployment.at("spec", "template", "spec", "containers", 0));
  }

  private static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Object parse(String yaml) {
    return new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
  }

  // ---- rendering ----

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
  }

  /** Every object of one {@code helm template} output. */
  record Manifests(List<Doc> docs) {
    Doc one(String kind, String name) {
      List<Doc> found = docs.stream()
          .filter(d -> kind.equals(d.at("kind")) && name.equals(d.at("metadata", "name")))
          .toList();
      assertEquals(1, found.size(), () -> "expected exactly one " + kind + " " + name + ", found " + found.size());
      return found.get(0);
    }

    List<String> names(String kind, String component) {
      return docs.stream()
          .filter(d -> kind.equals(d.at("kind"))
              && component.equals(d.at("metadata", "labels", "app.kubernetes.io/component")))
          .map(d -> (String) d.at("metadata", "name"))
          .toList();
    }
  }

  private Manifests template(String... extraArgs) {
    List<String> args = new ArrayList<>(List.of("template", RELEASE, chartDir().toString(),
        "--namespace", RELEASE_NAMESPACE));
    args.addAll(List.of(extraArgs));
    Run run = helm(args.toArray(String[]::new));
    assertEquals(0, run.exitCode(), () -> "helm template failed:\n" + run.output());
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
    return new Manifests(docs);
  }

  /** Exit code, stdout, and stdout followed by stderr of one helm run. */
  record Run(int exitCode, String stdout, String output) {}

  /** Runs helm with its home, cache, config and data folders in this test's temporary folder. */
  private Run helm(String... args) {
    List<String> command = new ArrayList<>();
    command.add(helmBinary().toString());
    command.addAll(List.of(args));
    Path home = work.resolve("helm-home");
    Path out = work.resolve("helm.out");
    Path err = work.resolve("helm.err");
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
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        fail(command + " did not finish within 60 s");
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
  static Path helmBinary() {
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
