package io.shardgate.controlplane.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.shardgate.controlplane.cli.ShardgateCli;
import io.shardgate.controlplane.e2e.ExampleConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/**
 * The command line the chart gives the control plane container is one the real {@code shardgate} CLI accepts: the
 * chart is rendered with the real helm for each of its golden cases, the control plane's {@code args} (with the
 * downward-API variables the kubelet would expand) are parsed by the same picocli model {@code shardgate} runs, and
 * every option the chart passes must be known and well-typed. HelmChartTest checks the chart's side of the contract
 * (objects, ports, mounts); this test catches a flag renamed or dropped in the code but still rendered by the chart.
 */
class ChartServeArgumentsTest {

  /** What the kubelet substitutes for {@code $(VAR)} from the pod's env (downward API). */
  private static final Map<String, String> POD_ENV =
      Map.of("POD_IP", "10.1.2.3", "POD_NAME", "shardgate-0", "POD_NAMESPACE", "gloo-system");
  private static final Pattern VAR = Pattern.compile("\\$\\(([A-Z_]+)\\)");

  @TempDir Path work;

  static Stream<Arguments> cases() {
    return Stream.of("default", "directory-mode", "persistence-off-watch-namespaces", "edge-shard",
        "three-shards-with-replicas").map(Arguments::of);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void theControlPlaneArgsParseWithTheRealCli(String chartCase) {
    Path values = ExampleConfig.repoRoot().resolve("proxy-templates/src/test/resources/helm");
    String rendered = KubeCli.template(work, "shardgate", "gloo-system",
        "-f", values.resolve("fixed-webhook-tls.yaml").toString(),
        "-f", values.resolve(chartCase + ".values.yaml").toString());

    List<String> args = controlPlaneArgs(rendered, chartCase);
    ParseResult parsed;
    try {
      parsed = new CommandLine(new ShardgateCli()).setCaseInsensitiveEnumValuesAllowed(true)
          .parseArgs(args.toArray(String[]::new));
    } catch (CommandLine.ParameterException e) {
      throw new AssertionError("the chart's control plane args are refused by shardgate: " + e.getMessage()
          + "\nargs: " + args, e);
    }
    ParseResult serve = parsed.subcommand();
    assertEquals("serve", serve == null ? null : serve.commandSpec().name(), "args: " + args);
    assertTrue(serve.unmatched().isEmpty(), "unmatched: " + serve.unmatched());
    // The chart makes the pod reachable on its own address and keeps /api/* off the pod network.
    assertEquals("10.1.2.3", serve.matchedOptionValue("--xds-address", ""), "args: " + args);
    assertEquals("metrics", String.valueOf(serve.matchedOptionValue("--admin-remote-access", (Object) null))
        .toLowerCase(), "args: " + args);
    boolean kubernetes = serve.hasMatchedOption("--kubernetes");
    assertEquals(!chartCase.equals("directory-mode"), kubernetes, "source mode of " + chartCase);
    if (kubernetes) {
      assertEquals(8443, (int) serve.matchedOptionValue("--webhook-port", 0), "args: " + args);
      assertEquals("gloo-system", serve.matchedOptionValue("--leader-election-namespace", ""), "args: " + args);
    } else {
      assertFalse(serve.hasMatchedOption("--webhook-port"), "no webhook without the Kubernetes source");
    }
  }

  /** The args of the one control-plane container in the rendered manifests, with $(VAR) expanded. */
  @SuppressWarnings("unchecked")
  private static List<String> controlPlaneArgs(String rendered, String chartCase) {
    List<List<String>> found = new ArrayList<>();
    for (Map<String, Object> doc : KubeCli.documents(rendered)) {
      String kind = String.valueOf(doc.get("kind"));
      if (!kind.equals("StatefulSet") && !kind.equals("Deployment")) {
        continue;
      }
      Map<String, Object> metadata = (Map<String, Object>) doc.get("metadata");
      Map<String, Object> labels = (Map<String, Object>) metadata.getOrDefault("labels", Map.of());
      if (!"control-plane".equals(labels.get("app.kubernetes.io/component"))) {
        continue;
      }
      Map<String, Object> spec = (Map<String, Object>) ((Map<String, Object>) ((Map<String, Object>)
          doc.get("spec")).get("template")).get("spec");
      for (Map<String, Object> container : (List<Map<String, Object>>) spec.get("containers")) {
        if ("control-plane".equals(container.get("name"))) {
          List<String> args = new ArrayList<>();
          for (Object arg : (List<Object>) container.get("args")) {
            args.add(expand(String.valueOf(arg)));
          }
          found.add(args);
        }
      }
    }
    if (found.size() != 1) {
      fail("expected one control-plane container in case " + chartCase + ", found " + found.size());
    }
    return found.get(0);
  }

  private static String expand(String arg) {
    Matcher m = VAR.matcher(arg);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String value = POD_ENV.get(m.group(1));
      if (value == null) {
        fail("the chart passes $(" + m.group(1) + ") but the test knows no value for it: " + arg);
      }
      m.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    return m.appendTail(out).toString();
  }
}
