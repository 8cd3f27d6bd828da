package io.shardgate.templates;

import static io.shardgate.templates.Helm.RELEASE;
import static io.shardgate.templates.Helm.RELEASE_NAMESPACE;
import static io.shardgate.templates.Helm.container;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.templates.Helm.Doc;
import io.shardgate.templates.Helm.Manifests;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * The Helm chart in {@code helm/shardgate}, rendered by the real helm binary the build installs.
 *
 * <p>The chart spells out the gateway-proxy bootstrap with Helm templating, because Helm cannot call
 * {@link BootstrapRenderer}. This test keeps the two from drifting: every proxy's {@code envoy.yaml} in the
 * rendered chart must be the same YAML tree as {@link BootstrapRenderer#render} gives for the same parameters.
 * It also pins what the other parts of issue 10 rely on (the control plane's flags, ports and objects) and the
 * chart's own rules (value merging, names, checksums), where a golden diff alone would not say what broke.
 */
class HelmChartTest {

  private static final String FULLNAME = RELEASE + "-shardgate";
  private static final String XDS_HOST = FULLNAME + "." + RELEASE_NAMESPACE + ".svc.cluster.local";

  @TempDir
  Path work;

  @Test
  void lintPassesStrictlyWithDefaultAndEveryCasesValues() {
    Helm.Run plain = Helm.run(work, "lint", "--strict", Helm.chartDir().toString());
    assertEquals(0, plain.exitCode(), () -> "helm lint failed:\n" + plain.output());
    for (Path values : HelmCases.valuesFiles()) {
      Helm.Run run = Helm.run(work, "lint", "--strict", Helm.chartDir().toString(), "-f", values.toString());
      assertEquals(0, run.exitCode(), () -> "helm lint with " + values.getFileName() + " failed:\n" + run.output());
    }
  }

  @Test
  void defaultBootstrapIsTheRenderersOwn() {
    Manifests manifests = Helm.template(work);
    assertEquals(List.of("gateway-proxy"), manifests.proxies());
    BootstrapParams params = BootstrapParams.builder("gateway-proxy")
        // The write namespace defaults to the release namespace, where the chart puts Settings and Gateways.
        .namespace(RELEASE_NAMESPACE)
        .xdsHost(XDS_HOST)
        .xdsPort(9977)
        .adminPort(19000)
        .statsPort(8081)
        .statsAddress("0.0.0.0")
        .build();
    assertBootstrapIsRenderers(manifests, "gateway-proxy", params);
    assertEquals(1, manifests.proxyWorkload("gateway-proxy").at("spec", "replicas"));
  }

  @Test
  void customValuesReachEveryBootstrapAndWorkload() {
    Manifests manifests = Helm.template(work, "-f", Helm.values(work, CUSTOM_VALUES).toString());
    String xdsHost = FULLNAME + "." + RELEASE_NAMESPACE + ".svc.corp.example";
    assertEquals(List.of("catalog", "front-door", "payments"), manifests.proxies(),
        "one workload per enabled gatewayProxies entry plus the enabled edge proxy, and nothing else");
    Map<String, BootstrapParams> expected = new LinkedHashMap<>();
    BootstrapParams.Builder common = BootstrapParams.builder("x").namespace("team-gateways").xdsHost(xdsHost)
        .xdsPort(19977).adminAddress("::1").statsAddress("::");
    expected.put("payments", rebuild(common, "payments").adminPort(19001).statsPort(9090).build());
    // Stats off in the entry: no stats listener, whatever the defaults say.
    expected.put("catalog", rebuild(common, "catalog").adminPort(19000).statsPort(0).build());
    expected.put("front-door", rebuild(common, "front-door").adminPort(19002).statsPort(8081).build());
    expected.forEach((proxy, params) -> assertBootstrapIsRenderers(manifests, proxy, params));

    assertEquals(3, manifests.proxyWorkload("payments").at("spec", "replicas"));
    assertEquals(0, manifests.proxyWorkload("catalog").at("spec", "replicas"), "an explicit 0 wins over the default");
    assertEquals(2, manifests.proxyWorkload("front-door").at("spec", "replicas"));
    Doc payments = container(manifests.proxyWorkload("payments"));
    assertEquals(List.of(8080, 9443, 9090), containerPorts(payments));
    assertEquals("2", payments.at("resources", "limits", "cpu"));
    // The edge's ports come from its Settings, not from podTemplate.
    assertEquals(List.of(8088, 8448, 8081), containerPorts(container(manifests.proxyWorkload("front-door"))));
    assertNull(container(manifests.proxyWorkload("catalog")).at("readinessProbe"), "probes: false in the entry");
    assertNull(container(manifests.proxyWorkload("catalog")).at("lifecycle"),
        "gracefulShutdown.enabled: false in the entry wins over the default true");
  }

  @Test
  void controlPlanePassesTheContractsFlagsAndExposesItsPorts() {
    Manifests manifests = Helm.template(work);
    Doc service = manifests.one("Service", FULLNAME);
    assertEquals(Map.of("grpc-xds", 9977, "http-admin", 9091, "https-webhook", 8443), servicePorts(service));

    Doc statefulSet = manifests.one("StatefulSet", FULLNAME);
    Doc container = container(statefulSet);
    List<?> args = (List<?>) container.at("args");
    assertEquals("serve", args.get(0));
    assertTrue(args.contains("--kubernetes"), () -> "kubernetes is the default source: " + args);
    assertFalse(args.contains("--config-dir"), () -> args.toString());
    assertArg(args, "--state-dir", "/var/lib/shardgate");
    assertArg(args, "--xds-address", "$(POD_IP)");
    assertArg(args, "--xds-port", "9977");
    assertArg(args, "--admin-address", "0.0.0.0");
    assertArg(args, "--admin-port", "9091");
    assertArg(args, "--admin-remote-access", "metrics");
    assertArg(args, "--leader-election-namespace", "$(POD_NAMESPACE)");
    assertArg(args, "--webhook-port", "8443");
    assertArg(args, "--webhook-address", "0.0.0.0");
    assertArg(args, "--webhook-cert", "/etc/shardgate/webhook-tls/tls.crt");
    assertArg(args, "--webhook-key", "/etc/shardgate/webhook-tls/tls.key");
    assertEquals("shardgate/control-plane:0.1.0", container.at("image"));
    assertEquals(Map.of("path", "/readyz", "port", "http-admin"), container.at("readinessProbe", "httpGet"));
    assertEquals(Map.of("path", "/livez", "port", "http-admin"), container.at("livenessProbe", "httpGet"));
    assertTrue(env(container).get("JAVA_TOOL_OPTIONS").contains("-XX:MaxRAMPercentage=75"),
        () -> "the heap follows the memory limit: " + env(container));
    assertEquals("1Gi", container.at("resources", "limits", "memory"));
    assertEquals(Map.of("allowPrivilegeEscalation", false, "readOnlyRootFilesystem", true,
        "capabilities", Map.of("drop", List.of("ALL"))), container.at("securityContext"));
    Doc pod = new Doc(statefulSet.at("spec", "template", "spec"));
    assertEquals(65532, pod.at("securityContext", "runAsUser"));
    assertEquals(65532, pod.at("securityContext", "fsGroup"));
    assertEquals(true, pod.at("securityContext", "runAsNonRoot"));
    assertEquals("RuntimeDefault", pod.at("securityContext", "seccompProfile", "type"));
    assertEquals(FULLNAME, pod.at("serviceAccountName"));
    assertEquals("state", statefulSet.at("spec", "volumeClaimTemplates", 0, "metadata", "name"),
        "persistence on: the state directory is a claim per replica");
    assertNull(statefulSet.at("spec", "template", "metadata", "annotations"),
        "no config checksum: a replaced pod would lose nothing, but it must not be replaced on every change");
    manifests.one("ServiceAccount", FULLNAME);
    manifests.one("ValidatingWebhookConfiguration", FULLNAME + "-validation");
    manifests.one("Settings", "default");
  }

  @Test
  void persistenceOffIsADeploymentAndDirectoryModeMountsTheConfigFolder() {
    Manifests manifests = Helm.template(work, "--set", "controlPlane.persistence.enabled=false",
        "--set", "controlPlane.source=directory");
    assertTrue(manifests.all("StatefulSet", FULLNAME).isEmpty());
    Doc deployment = manifests.one("Deployment", FULLNAME);
    List<?> args = (List<?>) container(deployment).at("args");
    assertArg(args, "--config-dir", "/etc/shardgate/config");
    for (String absent : List.of("--kubernetes", "--leader-election-namespace", "--webhook-port")) {
      assertFalse(args.contains(absent), () -> absent + " in directory mode: " + args);
    }
    Doc pod = new Doc(deployment.at("spec", "template", "spec"));
    List<?> volumes = (List<?>) pod.at("volumes");
    assertTrue(volumes.contains(Map.of("name", "state", "emptyDir", Map.of())), volumes::toString);
    assertTrue(volumes.toString().contains(FULLNAME + "-generated"), volumes::toString);
    String generated = (String) manifests.one("ConfigMap", FULLNAME + "-generated")
        .at("data", "shardgate-generated.yaml");
    assertTrue(generated.contains("kind: Gateway") && generated.contains("kind: Settings"), generated);
    for (String kind : List.of("Gateway", "Settings", "ValidatingWebhookConfiguration", "ClusterRole")) {
      assertTrue(manifests.ofKind(kind).isEmpty(), () -> kind + " rendered in directory mode");
    }
  }

  @Test
  void podsCarryTheProxyIdAndRollWithTheirBootstrapOnly() {
    Manifests manifests = Helm.template(work);
    Doc deployment = manifests.proxyWorkload("gateway-proxy");
    assertEquals("gateway-proxy", deployment.at("spec", "template", "metadata", "labels", "gateway-proxy-id"));
    assertEquals("gateway-proxy", deployment.at("spec", "selector", "matchLabels", "gateway-proxy-id"));
    assertEquals("gateway-proxy-envoy-config",
        deployment.at("spec", "template", "spec", "volumes", 0, "configMap", "name"));
    String envoyYaml = manifests.bootstrap("gateway-proxy");
    // The block scalar adds the final newline to what the template rendered.
    assertEquals(sha256(envoyYaml.substring(0, envoyYaml.length() - 1)), checksum(deployment));
    assertEquals("gateway-proxy", manifests.one("Service", "gateway-proxy").at("spec", "selector", "gateway-proxy-id"));

    Object replicasOnly = checksum(Helm.template(work, "--set", "gatewayProxies.gateway-proxy.kind.deployment.replicas=4")
        .proxyWorkload("gateway-proxy"));
    assertEquals(checksum(deployment), replicasOnly, "a change outside the bootstrap must not roll the pods");
    Object newAdminPort = checksum(Helm.template(work, "--set", "gatewayProxyDefaults.podTemplate.adminPort=19100")
        .proxyWorkload("gateway-proxy"));
    assertNotEquals(checksum(deployment), newAdminPort, "a changed bootstrap must roll the pods");
  }

  @Test
  void generatedGatewaysNameTheirShardOnItsPorts() {
    Manifests manifests = Helm.template(work, "-f", HelmCases.dir().resolve("three-shards-with-replicas.values.yaml")
        .toString());
    List<String> names = manifests.ofKind("Gateway").stream().map(Doc::name).toList();
    assertEquals(List.of("catalog", "payments", "payments-ssl"), names,
        "catalog disables its HTTPS Gateway; internal disables generated Gateways altogether");
    Doc ssl = manifests.one("Gateway", "payments-ssl");
    assertEquals(List.of("payments"), ssl.at("spec", "proxyNames"));
    assertEquals(true, ssl.at("spec", "ssl"));
    assertEquals(8443, ssl.at("spec", "bindPort"));
    assertEquals("::", ssl.at("spec", "bindAddress"));
    assertEquals(Map.of("shard", "payments"), ssl.at("spec", "httpGateway", "virtualServiceSelector"));
    Doc http = manifests.one("Gateway", "catalog");
    assertEquals(false, http.at("spec", "ssl"));
    assertEquals(8080, http.at("spec", "bindPort"));
    assertEquals(RELEASE_NAMESPACE, http.at("metadata", "namespace"));

    Manifests ipv4 = Helm.template(work, "-f", HelmCases.dir().resolve("daemonset-shard.values.yaml").toString());
    assertEquals("0.0.0.0", ipv4.one("Gateway", "node-proxy").at("spec", "bindAddress"));
    Doc daemonSet = ipv4.one("DaemonSet", "node-proxy");
    assertEquals(true, daemonSet.at("spec", "template", "spec", "hostNetwork"));
    assertEquals(8080, container(daemonSet).at("ports", 0, "hostPort"));
  }

  @Test
  void edgeValueEnablesItsWorkloadServiceAndSetting() {
    Manifests off = Helm.template(work);
    assertNull(off.one("Settings", "default").at("spec", "shardgate"), "no edge block while the edge is off");

    Manifests on = Helm.template(work, "--set", "edge.enabled=true");
    assertEquals(List.of("gateway-proxy", "gateway-proxy-edge"), on.proxies());
    assertEquals("LoadBalancer", on.one("Service", "gateway-proxy-edge").at("spec", "type"));
    assertEquals(RELEASE_NAMESPACE + "~gateway-proxy-edge",
        new Doc(Helm.parse(on.bootstrap("gateway-proxy-edge"))).at("node", "metadata", "role"));
    Doc edge = new Doc(on.one("Settings", "default").at("spec", "shardgate", "edge"));
    assertEquals(true, edge.at("enabled"));
    assertEquals("gateway-proxy-edge", edge.at("proxyName"));
    String shardService = "gateway-proxy." + RELEASE_NAMESPACE + ".svc.cluster.local";
    assertEquals(Map.of("gateway-proxy", shardService + ":80"), edge.at("shardAddresses"));
    assertEquals(Map.of("gateway-proxy", shardService + ":443"), edge.at("shardTlsAddresses"));
    assertTrue(on.ofKind("Gateway").stream().noneMatch(g -> g.name().startsWith("gateway-proxy-edge")),
        "the edge's listeners come from Settings; a Gateway naming it would switch the edge off");
  }

  @Test
  void webhookCaBundleIsTheSecretsCa() {
    Manifests manifests = Helm.template(work);
    Doc secret = manifests.one("Secret", FULLNAME + "-webhook-tls");
    assertEquals("kubernetes.io/tls", secret.at("type"));
    Doc webhook = new Doc(manifests.one("ValidatingWebhookConfiguration", FULLNAME + "-validation")
        .at("webhooks", 0));
    assertEquals(secret.at("data", "ca.crt"), webhook.at("clientConfig", "caBundle"));
    String ca = new String(Base64.getDecoder().decode((String) secret.at("data", "ca.crt")), StandardCharsets.UTF_8);
    assertTrue(ca.startsWith("-----BEGIN CERTIFICATE-----"), ca);
    assertEquals(Map.of("name", FULLNAME, "namespace", RELEASE_NAMESPACE, "path", "/validation", "port", 8443),
        webhook.at("clientConfig", "service"));
    assertEquals("Ignore", webhook.at("failurePolicy"));
    assertEquals("None", webhook.at("sideEffects"));
    assertEquals(10, webhook.at("timeoutSeconds"));
    // With failurePolicy Fail, an upgrade could not write the chart's own Gateways while no control plane serves.
    assertEquals(List.of(Map.of("key", "shardgate.io/generated-by-chart", "operator", "DoesNotExist")),
        webhook.at("objectSelector", "matchExpressions"));
    assertEquals("true", manifests.one("Gateway", "gateway-proxy")
        .at("metadata", "labels", "shardgate.io/generated-by-chart"));

    Manifests certManager = Helm.template(work, "--set", "webhook.certManager.enabled=true");
    assertTrue(certManager.all("Secret", FULLNAME + "-webhook-tls").isEmpty(), "cert-manager writes the Secret");
    assertEquals(RELEASE_NAMESPACE + "/" + FULLNAME + "-webhook-tls",
        certManager.one("ValidatingWebhookConfiguration", FULLNAME + "-validation")
            .at("metadata", "annotations", "cert-manager.io/inject-ca-from"));
    certManager.one("Certificate", FULLNAME + "-webhook-tls");

    Helm.Run partial = Helm.run(work, "template", RELEASE, Helm.chartDir().toString(), "--set",
        "webhook.tls.cert=x");
    assertNotEquals(0, partial.exitCode(), partial::output);
    assertTrue(partial.output().contains("webhook.tls: set all of caBundle, cert and key"), partial::output);
  }

  @Test
  void invalidProxyNamesFailWithTheirNameAndASuggestion() {
    Helm.Run run = Helm.run(work, "template", RELEASE, Helm.chartDir().toString(), "-f",
        Helm.values(work, "gatewayProxies:\n  publicGw: {}\n").toString());
    assertNotEquals(0, run.exitCode(), () -> "helm template accepted a bad proxy name:\n" + run.output());
    assertTrue(run.output().contains("gatewayProxies.publicGw: gateway proxy name \"publicGw\" is not valid"),
        run::output);
    assertTrue(run.output().contains("\"public-gw\""), () -> "no kebab-case suggestion:\n" + run.output());

    Helm.Run clash = Helm.run(work, "template", RELEASE, Helm.chartDir().toString(), "--set", "edge.enabled=true",
        "--set", "edge.proxyName=gateway-proxy");
    assertNotEquals(0, clash.exitCode(), clash::output);
    assertTrue(clash.output().contains("edge.proxyName \"gateway-proxy\" is also a gatewayProxies entry"),
        clash::output);

    Helm.Run ports = Helm.run(work, "template", RELEASE, Helm.chartDir().toString(), "--set",
        "gatewayProxies.gateway-proxy.stats.port=8080");
    assertNotEquals(0, ports.exitCode(), ports::output);
    assertTrue(ports.output().contains("gatewayProxies.gateway-proxy: podTemplate.httpPort and stats.port are both"
        + " 8080"), ports::output);
  }

  // ---- values ----

  private static final String CUSTOM_VALUES = """
      settings:
        writeNamespace: team-gateways
      clusterDomain: corp.example
      controlPlane:
        xdsPort: 19977
      gatewayProxyDefaults:
        podTemplate:
          loopBackAddress: "::1"
        stats:
          address: "::"
      gatewayProxies:
        # Helm merges these entries into the chart's defaults: null removes the default proxy.
        gateway-proxy: null
        payments:
          kind:
            deployment:
              replicas: 3
          podTemplate:
            httpsPort: 9443
            adminPort: 19001
            resources:
              limits:
                cpu: "2"
          stats:
            port: 9090
        catalog:
          kind:
            deployment:
              replicas: 0
          podTemplate:
            probes: false
            gracefulShutdown:
              enabled: false
          stats:
            enabled: false
      edge:
        enabled: true
        proxyName: front-door
        bindPort: 8088
        tlsBindPort: 8448
        proxy:
          kind:
            deployment:
              replicas: 2
          podTemplate:
            adminPort: 19002
      """;

  private static BootstrapParams.Builder rebuild(BootstrapParams.Builder common, String proxy) {
    BootstrapParams base = common.build();
    return BootstrapParams.builder(proxy).namespace(base.namespace()).xdsHost(base.xdsHost())
        .xdsPort(base.xdsPort()).adminAddress(base.adminAddress()).statsAddress(base.statsAddress());
  }

  // ---- assertions on the rendered manifests ----

  private static void assertBootstrapIsRenderers(Manifests manifests, String proxy, BootstrapParams params) {
    Object chart = Helm.parse(manifests.bootstrap(proxy));
    Object renderer = Helm.parse(BootstrapRenderer.render(params));
    assertEquals(renderer, chart, () -> "helm/shardgate's bootstrap of " + proxy + " differs from BootstrapRenderer's"
        + " for " + params + ". Change helm/shardgate/templates/_helpers.tpl (shardgate.bootstrap) to match"
        + " gateway-proxy-bootstrap.yaml.\n--- renderer:\n" + new Yaml().dump(renderer)
        + "--- chart:\n" + new Yaml().dump(chart));
  }

  private static void assertArg(List<?> args, String flag, String value) {
    int at = args.indexOf(flag);
    assertTrue(at >= 0 && at + 1 < args.size(), () -> "no " + flag + " in " + args);
    assertEquals(value, args.get(at + 1), () -> flag + " in " + args);
  }

  private static List<Object> containerPorts(Doc container) {
    List<Object> ports = new ArrayList<>();
    for (Object port : (List<?>) container.at("ports")) {
      ports.add(((Map<?, ?>) port).get("containerPort"));
    }
    return ports;
  }

  private static Map<Object, Object> servicePorts(Doc service) {
    Map<Object, Object> ports = new LinkedHashMap<>();
    for (Object port : (List<?>) service.at("spec", "ports")) {
      ports.put(((Map<?, ?>) port).get("name"), ((Map<?, ?>) port).get("port"));
    }
    return ports;
  }

  private static Map<String, String> env(Doc container) {
    Map<String, String> env = new LinkedHashMap<>();
    for (Object e : (List<?>) container.at("env")) {
      Map<?, ?> var = (Map<?, ?>) e;
      env.put((String) var.get("name"), var.get("value") == null ? null : var.get("value").toString());
    }
    return env;
  }

  private static Object checksum(Doc workload) {
    return workload.at("spec", "template", "metadata", "annotations", "checksum/envoy-config");
  }

  private static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
