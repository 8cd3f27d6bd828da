package io.shardgate.controlplane.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.shardgate.controlplane.e2e.ExampleConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart installed for real with the real helm on the real kube-apiserver, as docs/deploy-kubernetes.md installs
 * it: {@code helm install} with the defaults creates the CRDs, RBAC, ServiceAccount, ConfigMaps, Services, the
 * control plane's StatefulSet, the gateway proxy's Deployment, Settings, the generated Gateways and the webhook
 * configuration with its Secret (every one checked through the API); {@code helm upgrade} to three shards and the
 * edge shard, then to a fourth shard, changes exactly those objects and keeps the webhook certificate; a team's
 * delegated routes apply with kubectl; {@code helm rollback} removes the fourth shard again. No kubelet runs here, so
 * no pod ever starts: the test checks the objects the chart makes, not running workloads.
 */
class ChartInstallWithoutKubeletTest {

  private static final String RELEASE = "shardgate";
  private static final String NS = "gloo-system";
  private static final Path VALUES = ExampleConfig.repoRoot().resolve("control-plane/src/test/resources/chart-values");

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension();

  @TempDir Path work;

  @Test
  void installUpgradeToThreeShardsAndEdgeAddAShardAndRollBack() throws Exception {
    KubernetesClient k = KUBE.client();
    String chart = KubeCli.chart().toString();

    // Install, as the guide does: the CRDs come with the chart.
    helm("install", RELEASE, chart, "--namespace", NS, "--create-namespace");
    String listed = kubectl("-n", NS, "get", "statefulset,deployment,service,configmap");
    assertTrue(listed.contains("statefulset.apps/shardgate") && listed.contains("deployment.apps/gateway-proxy")
        && listed.contains("configmap/gateway-proxy-envoy-config"), listed);
    String gloo = kubectl("-n", NS, "get", "settings,gateways");
    assertTrue(gloo.contains("settings.gloo.solo.io/default")
        && gloo.contains("gateway.gateway.solo.io/gateway-proxy-ssl"), gloo);
    List<String> crds = k.apiextensions().v1().customResourceDefinitions().list().getItems().stream()
        .map(c -> c.getMetadata().getName()).sorted().toList();
    assertEquals(List.of("gateways.gateway.solo.io", "proxies.gloo.solo.io", "routetables.gateway.solo.io",
        "settings.gloo.solo.io", "upstreamgroups.gloo.solo.io", "upstreams.gloo.solo.io",
        "virtualservices.gateway.solo.io"), crds);
    exists("ServiceAccount", () -> k.serviceAccounts().inNamespace(NS).withName("shardgate").get());
    exists("ClusterRole", () -> k.rbac().clusterRoles().withName("shardgate").get());
    exists("ClusterRoleBinding", () -> k.rbac().clusterRoleBindings().withName("shardgate").get());
    exists("Role", () -> k.rbac().roles().inNamespace(NS).withName("shardgate-leader-election").get());
    exists("RoleBinding", () -> k.rbac().roleBindings().inNamespace(NS).withName("shardgate-leader-election").get());
    Service controlPlane = k.services().inNamespace(NS).withName("shardgate").get();
    assertNotNull(controlPlane, "Service shardgate");
    assertEquals(Map.of("grpc-xds", 9977, "http-admin", 9091, "https-webhook", 8443), ports(controlPlane));
    StatefulSet statefulSet = k.apps().statefulSets().inNamespace(NS).withName("shardgate").get();
    assertNotNull(statefulSet, "StatefulSet shardgate");
    assertEquals(1, statefulSet.getSpec().getVolumeClaimTemplates().size(), "one PVC per replica for --state-dir");
    List<String> args = statefulSet.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs();
    assertTrue(args.contains("--kubernetes") && args.contains("--admin-remote-access"), args::toString);
    assertEquals("/readyz", statefulSet.getSpec().getTemplate().getSpec().getContainers().get(0).getReadinessProbe()
        .getHttpGet().getPath());
    assertEquals("/livez", statefulSet.getSpec().getTemplate().getSpec().getContainers().get(0).getLivenessProbe()
        .getHttpGet().getPath());
    assertEquals(List.of("gateway-proxy"), shards(k));
    assertEquals(List.of("gateway-proxy", "gateway-proxy-ssl"), gateways(k));
    GenericKubernetesResource settings = gloo(k, "gloo.solo.io/v1", "Settings").withName("default").get();
    assertNotNull(settings, "Settings gloo-system/default");
    Secret tls = k.secrets().inNamespace(NS).withName("shardgate-webhook-tls").get();
    assertNotNull(tls, "Secret shardgate-webhook-tls");
    assertEquals("kubernetes.io/tls", tls.getType());
    ValidatingWebhookConfiguration webhook = k.admissionRegistration().v1().validatingWebhookConfigurations()
        .withName("shardgate-validation").get();
    assertNotNull(webhook, "ValidatingWebhookConfiguration shardgate-validation");
    String caBundle = webhook.getWebhooks().get(0).getClientConfig().getCaBundle();
    assertTrue(new String(Base64.getDecoder().decode(caBundle), StandardCharsets.US_ASCII)
        .contains("BEGIN CERTIFICATE"), caBundle);

    // Three shards with replicas and the edge shard.
    helm("upgrade", RELEASE, chart, "--namespace", NS, "-f", values("three-shards-edge.yaml"));
    assertEquals(List.of("gateway-proxy-edge", "gateway-proxy-internal", "gateway-proxy-noisy",
        "gateway-proxy-protected"), shards(k));
    assertEquals(3, deployment(k, "gateway-proxy-protected").getSpec().getReplicas());
    assertEquals(2, deployment(k, "gateway-proxy-noisy").getSpec().getReplicas());
    assertEquals("LoadBalancer", k.services().inNamespace(NS).withName("gateway-proxy-edge").get().getSpec()
        .getType());
    assertEquals("ClusterIP", k.services().inNamespace(NS).withName("gateway-proxy-internal").get().getSpec()
        .getType());
    for (String shard : List.of("gateway-proxy-internal", "gateway-proxy-noisy", "gateway-proxy-protected",
        "gateway-proxy-edge")) {
      exists("ConfigMap " + shard + "-envoy-config",
          () -> k.configMaps().inNamespace(NS).withName(shard + "-envoy-config").get());
    }
    assertEquals(List.of("gateway-proxy-internal", "gateway-proxy-internal-ssl", "gateway-proxy-noisy",
        "gateway-proxy-noisy-ssl", "gateway-proxy-protected", "gateway-proxy-protected-ssl"), gateways(k));
    assertEquals(true, edgeSettings(k).get("enabled"), () -> "" + edgeSettings(k));
    assertEquals(tls.getData(), k.secrets().inNamespace(NS).withName("shardgate-webhook-tls").get().getData(),
        "the webhook certificate is kept across upgrades");
    assertEquals(caBundle, k.admissionRegistration().v1().validatingWebhookConfigurations()
        .withName("shardgate-validation").get().getWebhooks().get(0).getClientConfig().getCaBundle());

    // A fourth shard, and a team's host on it with delegated routes.
    helm("upgrade", RELEASE, chart, "--namespace", NS, "-f", values("three-shards-edge.yaml"),
        "-f", values("add-shard.yaml"), "--set", "controlPlane.replicas=2");
    assertTrue(shards(k).contains("gateway-proxy-payments"), () -> "" + shards(k));
    assertEquals(2, k.apps().statefulSets().inNamespace(NS).withName("shardgate").get().getSpec().getReplicas());
    assertTrue(String.valueOf(edgeSettings(k).get("shardAddresses")).contains("gateway-proxy-payments"),
        () -> "the edge learns the new shard's address: " + edgeSettings(k));
    assertTrue(gateways(k).contains("gateway-proxy-payments"), () -> "" + gateways(k));
    exists("Service gateway-proxy-payments", () -> k.services().inNamespace(NS).withName("gateway-proxy-payments")
        .get());
    kubectl("apply", "-f", values("team-payments.yaml"));
    exists("RouteTable payments/payments-api",
        () -> StatusStack.resources(k, "RouteTable").inNamespace("payments").withName("payments-api").get());
    String team = kubectl("get", "vs,rt", "-n", "payments");
    assertTrue(team.contains("virtualservice.gateway.solo.io/payments")
        && team.contains("routetable.gateway.solo.io/payments-api"), team);

    // An upgrade as the guide does it: the CRDs first (Helm never upgrades them), then every values file again.
    kubectl("apply", "-f", KubeCli.chart().resolve("crds").toString() + "/");
    helm("upgrade", RELEASE, chart, "--namespace", NS, "-f", values("three-shards-edge.yaml"),
        "-f", values("add-shard.yaml"), "--set", "controlPlane.replicas=2");
    assertTrue(shards(k).contains("gateway-proxy-payments"), () -> "" + shards(k));

    // Roll back to revision 2: the fourth shard's objects go, the rest stays.
    String history = helm("history", RELEASE, "--namespace", NS);
    assertEquals(4, history.lines().filter(l -> l.matches("^\\d+\\s.*")).count(), history);
    helm("rollback", RELEASE, "2", "--namespace", NS);
    assertEquals(1, k.apps().statefulSets().inNamespace(NS).withName("shardgate").get().getSpec().getReplicas());
    assertEquals(List.of("gateway-proxy-edge", "gateway-proxy-internal", "gateway-proxy-noisy",
        "gateway-proxy-protected"), shards(k));
    assertNull(k.services().inNamespace(NS).withName("gateway-proxy-payments").get());
    assertNull(k.configMaps().inNamespace(NS).withName("gateway-proxy-payments-envoy-config").get());
    assertTrue(!gateways(k).contains("gateway-proxy-payments"), () -> "" + gateways(k));
    String after = KubeCli.helm(work, KUBE.kubeconfig(), "history", RELEASE, "--namespace", NS).ok();
    assertEquals(5, after.lines().filter(l -> l.matches("^\\d+\\s.*")).count(), after);
    assertTrue(after.contains("Rollback to 2"), after);

    // The guide shows these very commands and values files.
    String guide = Files.readString(ExampleConfig.repoRoot().resolve("docs/deploy-kubernetes.md"))
        .replace("\\\n  ", "");
    List<String> missing = ran.stream().filter(c -> !guide.contains(c)).toList();
    assertEquals(List.of(), missing, "commands this test runs that docs/deploy-kubernetes.md does not show");
    for (String file : List.of("three-shards-edge.yaml", "add-shard.yaml", "team-payments.yaml")) {
      assertTrue(guide.contains(Files.readString(VALUES.resolve(file))), () -> "the guide shows " + file);
    }
  }

  /** The commands run, as the guide writes them (the chart as helm/shardgate, values files by name). */
  private final List<String> ran = new ArrayList<>();

  private String helm(String... args) {
    ran.add(shown("helm", args));
    return KubeCli.helm(work, KUBE.kubeconfig(), args).ok();
  }

  private String kubectl(String... args) {
    ran.add(shown("kubectl", args));
    return KubeCli.kubectl(work, KUBE.kubeconfig(), args).ok();
  }

  private static String shown(String tool, String... args) {
    return tool + " " + String.join(" ", args).replace(KubeCli.chart().toString(), "helm/shardgate")
        .replace(VALUES.toString() + "/", "");
  }

  private static String values(String file) {
    Path path = VALUES.resolve(file);
    assertTrue(Files.isRegularFile(path), path::toString);
    return path.toString();
  }

  private static void exists(String what, Supplier<? extends HasMetadata> get) {
    assertNotNull(get.get(), what + " in " + NS);
  }

  private static Map<String, Integer> ports(Service service) {
    return service.getSpec().getPorts().stream().collect(Collectors.toMap(ServicePort::getName,
        ServicePort::getPort));
  }

  private static Deployment deployment(KubernetesClient k, String name) {
    Deployment d = k.apps().deployments().inNamespace(NS).withName(name).get();
    assertNotNull(d, "Deployment " + name);
    return d;
  }

  /** The gateway-proxy Deployments (one per shard, the edge included). */
  private static List<String> shards(KubernetesClient k) {
    return k.apps().deployments().inNamespace(NS).list().getItems().stream().map(d -> d.getMetadata().getName())
        .filter(n -> n.startsWith("gateway-proxy")).sorted().toList();
  }

  private static List<String> gateways(KubernetesClient k) {
    return gloo(k, "gateway.solo.io/v1", "Gateway").list().getItems().stream().map(g -> g.getMetadata().getName())
        .collect(Collectors.toCollection(TreeSet::new)).stream().toList();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> edgeSettings(KubernetesClient k) {
    GenericKubernetesResource settings = gloo(k, "gloo.solo.io/v1", "Settings").withName("default").get();
    Map<String, Object> spec = (Map<String, Object>) settings.getAdditionalProperties().get("spec");
    Map<String, Object> shardgate = (Map<String, Object>) spec.getOrDefault("shardgate", Map.of());
    return (Map<String, Object>) shardgate.getOrDefault("edge", Map.of());
  }

  private static NonNamespaceOperation<GenericKubernetesResource, GenericKubernetesResourceList,
      Resource<GenericKubernetesResource>> gloo(KubernetesClient k,
      String apiVersion, String kind) {
    return k.genericKubernetesResources(apiVersion, kind).inNamespace(NS);
  }
}
