package io.shardgate.controlplane.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.e2e.ExampleConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.yaml.snakeyaml.Yaml;

/**
 * Every object the chart renders is valid Kubernetes, judged by the real kube-apiserver's own schemas and
 * admission: {@code helm template} of each of the chart's golden values cases and of the guide's values, then
 * {@code kubectl apply --dry-run=server} (the real kubectl 1.34, strict field validation) succeeds for every document;
 * a manifest with one wrong field is refused, naming it.
 *
 * <p>The chart's CRDs are installed first. cert-manager's Issuer and Certificate and the Prometheus Operator's
 * ServiceMonitor and PodMonitor have no CRDs here: they get minimal ones that accept any spec, so their group,
 * version, kind and metadata are checked but not their spec.
 */
class ChartServerDryRunTest {

  private static final String RELEASE = "shardgate";
  private static final String NAMESPACE = "gloo-system";

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension();

  @TempDir static Path work;

  @BeforeAll
  static void installCrdsAndNamespaces() throws Exception {
    KubeApiServer.installCrds(KUBE.client(), KubeApiServer.chartCrds());
    Path foreign = Files.createDirectories(work.resolve("foreign-crds"));
    for (String[] crd : new String[][] {{"cert-manager.io", "Issuer", "issuers"},
        {"cert-manager.io", "Certificate", "certificates"},
        {"monitoring.coreos.com", "ServiceMonitor", "servicemonitors"},
        {"monitoring.coreos.com", "PodMonitor", "podmonitors"}}) {
      Files.writeString(foreign.resolve(crd[2] + "." + crd[0] + ".yaml"), permissiveCrd(crd[0], crd[1], crd[2]));
    }
    KubeApiServer.installCrds(KUBE.client(), foreign);
    KubeObjects.namespaces(KUBE.client(), NAMESPACE, "team");
  }

  /**
   * Each golden case of the chart ({@code proxy-templates/src/test/resources/helm/<case>.values.yaml}, rendered as
   * its golden test renders it: release {@code gw} in namespace {@code shardgate}, the fixed webhook TLS first), and
   * the values docs/deploy-kubernetes.md installs and upgrades with.
   */
  static Stream<Arguments> cases() throws IOException {
    Path golden = ExampleConfig.repoRoot().resolve("proxy-templates/src/test/resources/helm");
    Path guide = ExampleConfig.repoRoot().resolve("control-plane/src/test/resources/chart-values");
    List<Arguments> cases = new ArrayList<>();
    try (Stream<Path> files = Files.list(golden)) {
      for (Path values : files.filter(f -> f.getFileName().toString().endsWith(".values.yaml")).sorted().toList()) {
        String name = values.getFileName().toString().replace(".values.yaml", "");
        cases.add(Arguments.of("golden case " + name, "gw", "shardgate", List.of("-f",
            golden.resolve("fixed-webhook-tls.yaml").toString(), "-f", values.toString())));
      }
    }
    assertTrue(cases.size() >= 5, () -> "the chart's golden cases in " + golden + ": " + cases.size());
    cases.add(Arguments.of("guide: three shards and the edge shard", RELEASE, NAMESPACE,
        List.of("-f", guide.resolve("three-shards-edge.yaml").toString())));
    cases.add(Arguments.of("guide: one more shard", RELEASE, NAMESPACE,
        List.of("-f", guide.resolve("three-shards-edge.yaml").toString(),
            "-f", guide.resolve("add-shard.yaml").toString())));
    return cases.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void everyRenderedObjectPassesTheApiServersValidation(String name, String release, String namespace,
      List<String> helmArgs) throws Exception {
    String rendered = KubeCli.template(work, release, namespace, helmArgs.toArray(String[]::new));
    List<Map<String, Object>> objects = KubeCli.documents(rendered);
    int documents = objects.size();
    // The namespaces the objects go to, as an operator creates them before installing.
    KubeObjects.namespaces(KUBE.client(), objects.stream().map(o -> o.get("metadata"))
        .map(m -> m instanceof Map<?, ?> meta ? meta.get("namespace") : null).filter(Objects::nonNull)
        .map(String::valueOf).distinct().toArray(String[]::new));
    assertTrue(documents > 5, () -> name + ": only " + documents + " objects rendered");
    Path file = Files.writeString(Files.createTempFile(work, "rendered-", ".yaml"), rendered);
    KubeCli.Run run = KubeCli.kubectl(work, KUBE.kubeconfig(), "apply", "--dry-run=server", "-f", file.toString());
    assertEquals(0, run.exit(), () -> name + ": the API server refused the chart:\n" + run);
    long accepted = run.stdout().lines().filter(l -> l.endsWith("(server dry run)")).count();
    assertEquals(documents, accepted, () -> name + ": one '(server dry run)' line per object\n" + run);
  }

  @Test
  void aBrokenManifestIsRefusedNamingItsField() throws Exception {
    List<Map<String, Object>> docs = KubeCli.documents(KubeCli.template(work, RELEASE, NAMESPACE));
    List<String> broken = new ArrayList<>();
    for (Map<String, Object> doc : docs) {
      if ("StatefulSet".equals(doc.get("kind"))) {
        @SuppressWarnings("unchecked")
        Map<String, Object> spec = (Map<String, Object>) doc.get("spec");
        spec.put("replicas", "three");
      }
      broken.add(new Yaml().dump(doc));
    }
    Path file = Files.writeString(work.resolve("broken.yaml"), String.join("---\n", broken));
    KubeCli.Run run = KubeCli.kubectl(work, KUBE.kubeconfig(), "apply", "--dry-run=server", "-f", file.toString());
    assertNotEquals(0, run.exit(), run::toString);
    assertTrue(run.stderr().contains("StatefulSet") && run.stderr().contains("replicas"), run::toString);

    Path unknownField = Files.writeString(work.resolve("unknown-field.yaml"), """
        apiVersion: v1
        kind: Service
        metadata: {name: typo, namespace: gloo-system}
        spec:
          ports: [{port: 80}]
          selectr: {app: typo}
        """);
    KubeCli.Run strict = KubeCli.kubectl(work, KUBE.kubeconfig(), "apply", "--dry-run=server", "-f",
        unknownField.toString());
    assertNotEquals(0, strict.exit(), strict::toString);
    assertTrue(strict.stderr().contains("unknown field \"spec.selectr\""), strict::toString);
  }

  /** A CRD that serves the kind and stores any spec: enough for a dry run of objects of an operator not here. */
  private static String permissiveCrd(String group, String kind, String plural) {
    return """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: %s.%s
        spec:
          group: %s
          scope: Namespaced
          names: {kind: %s, plural: %s, singular: %s, listKind: %sList}
          versions:
          - name: v1
            served: true
            storage: true
            schema:
              openAPIV3Schema:
                type: object
                x-kubernetes-preserve-unknown-fields: true
        """.formatted(plural, group, group, kind, plural, kind.toLowerCase(Locale.ROOT), kind);
  }
}
