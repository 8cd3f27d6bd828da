package io.shardgate.controlplane.kube;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.app.ServeFactory;
import io.shardgate.controlplane.app.ValidationWebhook;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.security.ServeSecurity;
import io.shardgate.templates.TestPki;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The validation webhook against a real kube-apiserver: {@code serve --kubernetes} with the webhook on a free loopback
 * port and a certificate from a test CA, a ValidatingWebhookConfiguration pointing the API server at it
 * ({@code failurePolicy: Fail}), and the real {@code kubectl} applying VirtualServices: a delegation cycle and a domain
 * conflict are refused with the resource and field named in kubectl's output, a valid one is admitted, a server dry
 * run of a bad one is refused too (and a valid dry run stores nothing), an admitted change counts against the next
 * request at once and leaves the webhook's view once the source shows it, and deleting a RouteTable a VirtualService
 * delegates to is admitted with kubectl printing the warning. (No kubelet: nothing here needs a pod.)
 */
class KubernetesWebhookTest {

  private static final Duration BOUND = Duration.ofSeconds(90);
  private static final String WEBHOOK_NAME = ChartWebhookConfiguration.WEBHOOK_NAME;

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension();

  @TempDir Path work;

  private static final String CONFIG = """
      apiVersion: gateway.solo.io/v1
      kind: Gateway
      metadata: {name: gateway-proxy-protected, namespace: gloo-system}
      spec:
        bindAddress: 127.0.0.1
        bindPort: 8080
        proxyNames: [gateway-proxy-protected]
        httpGateway: {virtualServiceSelector: {shard: protected}}
      ---
      apiVersion: gloo.solo.io/v1
      kind: Upstream
      metadata: {name: payments, namespace: payments}
      spec: {static: {hosts: [{addr: 127.0.0.1, port: 9101}]}}
      ---
      apiVersion: gateway.solo.io/v1
      kind: RouteTable
      metadata: {name: payments-api, namespace: payments}
      spec:
        routes:
        - matchers: [{prefix: /payments/v1}]
          routeAction: {single: {upstream: {name: payments, namespace: payments}}}
      ---
      apiVersion: gateway.solo.io/v1
      kind: VirtualService
      metadata: {name: payments, namespace: payments, labels: {shard: protected}}
      spec:
        virtualHost:
          domains: [payments.example.com]
          routes:
          - matchers: [{prefix: /payments}]
            delegateAction: {ref: {name: payments-api, namespace: payments}}
      """;

  /** Two RouteTables that delegate to each other: harmless while no VirtualService reaches them. */
  private static final String CYCLING_TABLES = """
      apiVersion: gateway.solo.io/v1
      kind: RouteTable
      metadata: {name: cyc-a, namespace: team}
      spec:
        routes:
        - matchers: [{prefix: /loop}]
          delegateAction: {ref: {name: cyc-b, namespace: team}}
      ---
      apiVersion: gateway.solo.io/v1
      kind: RouteTable
      metadata: {name: cyc-b, namespace: team}
      spec:
        routes:
        - matchers: [{prefix: /loop/b}]
          delegateAction: {ref: {name: cyc-a, namespace: team}}
      """;

  private static final String CYCLE_VS = """
      apiVersion: gateway.solo.io/v1
      kind: VirtualService
      metadata: {name: loop, namespace: team, labels: {shard: protected}}
      spec:
        virtualHost:
          domains: [loop.example.com]
          routes:
          - matchers: [{prefix: /loop}]
            delegateAction: {ref: {name: cyc-a, namespace: team}}
      """;

  private static String virtualService(String name, String domain) {
    return """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: %s, namespace: team, labels: {shard: protected}}
        spec:
          virtualHost:
            domains: [%s]
            routes:
            - matchers: [{prefix: /}]
              routeAction: {single: {upstream: {name: payments, namespace: payments}}}
        """.formatted(name, domain);
  }


  /** What one kubectl run printed (stdout and stderr together, as a terminal shows them) and its exit code. */
  record Kubectl(int exit, String output) {}

  private Kubectl kubectl(String... args) throws IOException, InterruptedException {
    Path kubectl = ExampleConfig.repoRoot().resolve(".tools/kubectl-1.34.5/kubectl");
    List<String> command = new ArrayList<>(List.of(kubectl.toString(), "--kubeconfig", KUBE.kubeconfig().toString(),
        "--request-timeout=60s"));
    command.addAll(List.of(args));
    Path log = Files.createTempFile(work, "kubectl", ".log");
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("kubectl " + String.join(" ", args) + " did not finish in 120 s: "
          + Files.readString(log));
    }
    return new Kubectl(p.exitValue(), Files.readString(log, UTF_8));
  }

  private Kubectl apply(String yaml, String... more) throws IOException, InterruptedException {
    Path file = Files.createTempFile(work, "object", ".yaml");
    Files.writeString(file, yaml, UTF_8);
    List<String> args = new ArrayList<>(List.of("apply", "-f", file.toString()));
    args.addAll(List.of(more));
    return kubectl(args.toArray(String[]::new));
  }

  @Test
  void kubectlApplyIsRefusedForACycleAndAConflictAndAdmitsAValidVirtualService() throws Exception {
    KubernetesClient client = KUBE.client();
    KubeCrdSchemaTest.install(client);
    KubeObjects.namespaces(client, "gloo-system", "payments", "team");
    KubeObjects.apply(client, CONFIG);

    TestPki ca = TestPki.create("shardgate-webhook-ca");
    TestPki.Issued leaf = ca.leaf("shardgate-webhook").sans("IP:127.0.0.1").writeTo(work, "webhook");
    int[] ports = ExampleConfig.freePorts(3);
    Map<String, Object> properties = new LinkedHashMap<>();
    properties.put(ServeFactory.KUBERNETES, "true");
    properties.put("shardgate.kubeconfig", KUBE.kubeconfig().toString());
    properties.put(ServeFactory.WEBHOOK_PORT, ports[2]);
    properties.put(ServeFactory.WEBHOOK_ADDRESS, "127.0.0.1");
    properties.put(ServeFactory.WEBHOOK_CERT, leaf.certificateFile().toString());
    properties.put(ServeFactory.WEBHOOK_KEY, leaf.keyFile().toString());
    String webhookConfiguration = ChartWebhookConfiguration.forLocalWebhook(work, ports[2],
        Files.readString(ca.writeCertificate(work.resolve("ca.crt")), UTF_8));
    ApplicationContext controlPlane = ServeCommand.start(properties, work.resolve("state"), ports[0], ports[1],
        "127.0.0.1", ServeSecurity.defaults());
    try {
      ServeCommand.awaitFirstTranslation(controlPlane);
      ValidationWebhook webhook = controlPlane.getBean(ValidationWebhook.class);
      assertEquals(ports[2], webhook.port());
      KubeWaits.await(BOUND, "the webhook's view to have read the source", () -> "not ready",
          () -> webhook.validator().ready());
      KubeObjects.apply(client, webhookConfiguration);

      // The API server starts calling a new webhook within a few seconds: until then a dry run passes unchecked.
      AtomicReference<Kubectl> probe = new AtomicReference<>();
      KubeWaits.await(BOUND, "the API server to call the webhook", () -> String.valueOf(probe.get()), () -> {
        try {
          probe.set(apply(virtualService("probe", "payments.example.com"), "--dry-run=server"));
          return probe.get().exit() != 0 && probe.get().output().contains(WEBHOOK_NAME);
        } catch (IOException | InterruptedException e) {
          throw new IllegalStateException(e);
        }
      });
      // The tables alone reach no shard: admitted, with the warnings kubectl prints.
      Kubectl cyclingTables = apply(CYCLING_TABLES);
      assertEquals(0, cyclingTables.exit(), cyclingTables::output);
      assertTrue(cyclingTables.output().contains("Warning: RouteTable team/cyc-a: no served VirtualService delegates"
          + " to this RouteTable"), cyclingTables::output);

      Kubectl cycle = apply(CYCLE_VS);
      System.out.println("kubectl apply (cycle): " + cycle.output());
      assertNotEquals(0, cycle.exit(), cycle::output);
      assertTrue(cycle.output().contains("admission webhook \"" + WEBHOOK_NAME + "\" denied the request: RouteTable"
          + " team/cyc-a: delegation cycle detected: [VirtualService team/loop] -> [RouteTable team/cyc-a] ->"
          + " [RouteTable team/cyc-b] -> [RouteTable team/cyc-a]; closed by the delegateAction of RouteTable"
          + " team/cyc-b spec.routes[0]"), cycle::output);
      assertNull(client.genericKubernetesResources("gateway.solo.io/v1", "VirtualService").inNamespace("team")
          .withName("loop").get(), "a refused object is not stored");

      Kubectl conflict = apply(virtualService("payments-copy", "payments.example.com"));
      System.out.println("kubectl apply (conflict): " + conflict.output());
      assertNotEquals(0, conflict.exit(), conflict::output);
      assertTrue(conflict.output().contains("denied the request: VirtualService team/payments-copy:"
          + " spec.virtualHost.domains: domain conflict: the domain 'payments.example.com' is also claimed by"
          + " VirtualService payments/payments"), conflict::output);

      Kubectl dryConflict = apply(virtualService("payments-copy", "payments.example.com"), "--dry-run=server");
      assertNotEquals(0, dryConflict.exit(), dryConflict::output);
      assertTrue(dryConflict.output().contains("denied the request: VirtualService team/payments-copy:"
          + " spec.virtualHost.domains: domain conflict"), dryConflict::output);

      Kubectl dryValid = apply(virtualService("orders-dry", "orders-dry.example.com"), "--dry-run=server");
      assertEquals(0, dryValid.exit(), dryValid::output);
      assertTrue(dryValid.output().contains("created (server dry run)"), dryValid::output);
      assertNull(client.genericKubernetesResources("gateway.solo.io/v1", "VirtualService").inNamespace("team")
          .withName("orders-dry").get());

      Kubectl valid = apply(virtualService("orders", "orders.example.com"));
      assertEquals(0, valid.exit(), valid::output);
      assertTrue(valid.output().contains("virtualservice.gateway.solo.io/orders created"), valid::output);
      assertNotNull(client.genericKubernetesResources("gateway.solo.io/v1", "VirtualService").inNamespace("team")
          .withName("orders").get());
      // Admitted changes validate against each other before the source shows them: the same domain again is refused.
      Kubectl second = apply(virtualService("orders-again", "orders.example.com"));
      assertNotEquals(0, second.exit(), second::output);
      assertTrue(second.output().contains("also claimed by VirtualService team/orders"), second::output);
      // Once the source's watch brings the admitted VirtualService, the view is the source's again.
      KubeWaits.await(BOUND, "the webhook's view to converge to the source's", () -> "pending changes: "
          + webhook.validator().pendingChanges(), () -> webhook.validator().pendingChanges() == 0);

      Kubectl delete = kubectl("delete", "routetable", "-n", "payments", "payments-api");
      System.out.println("kubectl delete (delegated table): " + delete.output());
      assertEquals(0, delete.exit(), delete::output);
      assertTrue(delete.output().contains("Warning: VirtualService payments/payments: "), delete::output);

      String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
          + ports[1] + "/metrics")).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString())
          .body();
      assertTrue(metrics.contains("shardgate_webhook_admission_seconds_count{kind=\"VirtualService\","
          + "result=\"refused\"}"), () -> metrics.lines().filter(l -> l.contains("webhook")).toList().toString());
      assertTrue(metrics.contains("shardgate_webhook_admission_seconds_count{kind=\"VirtualService\","
          + "result=\"admitted\"}"), metrics);
    } finally {
      KubeObjects.delete(client, webhookConfiguration);
      ServeCommand.stop(controlPlane);
    }
  }
}
