package io.shardgate.controlplane.kube;

import static io.shardgate.controlplane.kube.StatusStack.BOUND;
import static io.shardgate.controlplane.kube.StatusStack.namespacedStatus;
import static io.shardgate.controlplane.kube.StatusStack.status;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.security.ServeSecurity;
import io.shardgate.controlplane.status.LeaderElection;
import io.shardgate.snapshot.ShardResources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/kubernetes.md's walkthrough, followed to the letter on a real kube-apiserver: its YAML blocks are applied in
 * the order the page gives them to a running {@code serve --kubernetes}, and what the page promises is checked: the
 * protected shard routes the team's delegated prefix to the Service's endpoints, the noisy shard does not have the
 * host, the statuses say Accepted with the right shard in the columns {@code kubectl get} shows, and the mistake the
 * page makes turns the RouteTable's status to Warning, naming the route.
 */
class KubernetesGuideTest {

  private static final String PROTECTED = "gloo-system~gateway-proxy-protected";
  private static final String NOISY = "gloo-system~gateway-proxy-noisy";
  private static final Pattern YAML_BLOCK = Pattern.compile("```yaml\\n(.*?)```", Pattern.DOTALL);
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension();

  @Test
  void theWalkthroughServesWhatItSaysAndShowsItsStatuses(@TempDir Path work) throws Exception {
    KubernetesClient client = KUBE.client();
    KubeCrdSchemaTest.install(client);
    List<String> blocks = walkthroughYamlBlocks();
    assertEquals(4, blocks.size(), "the walkthrough's YAML blocks: namespaces and Settings, Gateways, the team's "
        + "objects, the mistake");
    KubeObjects.apply(client, blocks.get(0));
    KubeObjects.apply(client, blocks.get(1));
    KubeObjects.apply(client, blocks.get(2));
    // A pod of the team's Deployment and what the EndpointSlice controller would write for it (no kubelet runs
    // here, so the Pod stays Pending; the API server refuses loopback addresses, so a documentation address stands
    // in). The discovered Upstream carries the Service's selector, which the Pod's labels must match.
    client.resource(new PodBuilder().withNewMetadata().withName("payments-7d4b9").withNamespace("payments")
        .addToLabels("app", "payments").endMetadata()
        .withNewSpec().addNewContainer().withName("payments").withImage("payments:1").endContainer().endSpec()
        .build()).create();
    client.resource(new EndpointSliceBuilder().withNewMetadata().withName("payments-abcde").withNamespace("payments")
        .addToLabels("kubernetes.io/service-name", "payments").endMetadata()
        .withAddressType("IPv4")
        .addNewPort().withName("http").withPort(8080).withProtocol("TCP").endPort()
        .addNewEndpoint().withAddresses("192.0.2.10").withNewConditions().withReady(true).endConditions()
        .withNewTargetRef().withKind("Pod").withNamespace("payments").withName("payments-7d4b9").endTargetRef()
        .endEndpoint()
        .build()).create();

    int[] ports = ExampleConfig.freePorts(2);
    LeaderElection.Options election = new LeaderElection.Options("gloo-system", "shardgate-guide", "guide-1",
        Duration.ofSeconds(15), Duration.ofSeconds(10), Duration.ofSeconds(1), true);
    ApplicationContext controlPlane = ServeCommand.startKubernetes(KUBE.kubeconfig(), work.resolve("state"),
        ports[0], ports[1], "127.0.0.1", ServeSecurity.defaults(), election);
    try {
      ServeCommand.awaitFirstTranslation(controlPlane);
      ShardPipeline pipeline = controlPlane.getBean(ShardPipeline.class);

      // Step 5: the protected shard routes the delegated prefix to the Service's ready endpoint; noisy lacks the host.
      KubeWaits.await(BOUND, "the protected shard to serve payments.example.com/payments/v1 from 192.0.2.10:8080",
          () -> describe(pipeline.latest()), () -> servesPayments(pipeline.latest()));
      assertFalse(domains(pipeline.latest().xds().get(NOISY)).contains("payments.example.com"),
          () -> describe(pipeline.latest()));

      // Step 6: the statuses, as kubectl get and -o yaml show them.
      for (String[] object : List.of(new String[] {"Gateway", "gloo-system", "gateway-proxy-protected"},
          new String[] {"Gateway", "gloo-system", "gateway-proxy-noisy"},
          new String[] {"VirtualService", "payments", "payments"},
          new String[] {"RouteTable", "payments", "payments-api"})) {
        KubeWaits.await(BOUND, object[0] + " " + object[1] + "/" + object[2] + " Accepted",
            () -> "" + status(client, object[0], object[1], object[2]),
            () -> "Accepted".equals(namespacedStatus(client, object[0], object[1], object[2], "gloo-system")
                .get("state")) && "Accepted".equals(status(client, object[0], object[1], object[2]).get("state")));
      }
      assertEquals(List.of("gateway-proxy-protected"),
          status(client, "VirtualService", "payments", "payments").get("proxies"));
      List<String> row = tableRow(client, "virtualservices", "payments", "payments");
      assertEquals("Accepted", row.get(1), row::toString);
      assertTrue(row.get(2).contains("gateway-proxy-protected") && !row.get(2).contains("noisy"), row::toString);

      // The mistake: a route outside the delegated prefix. The table warns, naming it; its other route serves on.
      KubeObjects.apply(client, blocks.get(3));
      KubeWaits.await(BOUND, "RouteTable payments/payments-api to warn about /refunds",
          () -> "" + status(client, "RouteTable", "payments", "payments-api"), () -> {
            Map<String, Object> s = namespacedStatus(client, "RouteTable", "payments", "payments-api", "gloo-system");
            return "Warning".equals(s.get("state")) && String.valueOf(s.get("reason")).contains("/refunds");
          });
      assertTrue(servesPayments(pipeline.latest()), () -> describe(pipeline.latest()));
    } finally {
      ServeCommand.stop(controlPlane);
    }
  }

  /** The YAML blocks of the walkthrough section, in page order. */
  private static List<String> walkthroughYamlBlocks() throws Exception {
    String page = Files.readString(ExampleConfig.repoRoot().resolve("docs/kubernetes.md"));
    int start = page.indexOf("## Walkthrough");
    int end = page.indexOf("\n## ", start + 1);
    assertTrue(start >= 0 && end > start, "docs/kubernetes.md has a Walkthrough section");
    List<String> out = new ArrayList<>();
    Matcher m = YAML_BLOCK.matcher(page.substring(start, end));
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  private static boolean servesPayments(Translation t) {
    if (t == null || t.xds().get(PROTECTED) == null) {
      return false;
    }
    ShardResources r = t.xds().get(PROTECTED);
    if (!domains(r).contains("payments.example.com")) {
      return false;
    }
    for (ClusterLoadAssignment cla : r.endpoints()) {
      for (LocalityLbEndpoints l : cla.getEndpointsList()) {
        if (l.getLbEndpointsList().stream().map(e -> e.getEndpoint().getAddress().getSocketAddress())
            .anyMatch(a -> a.getAddress().equals("192.0.2.10") && a.getPortValue() == 8080)) {
          return true;
        }
      }
    }
    return false;
  }

  private static List<String> domains(ShardResources r) {
    List<String> out = new ArrayList<>();
    if (r != null) {
      for (RouteConfiguration rc : r.routes()) {
        for (VirtualHost vh : rc.getVirtualHostsList()) {
          out.addAll(vh.getDomainsList());
        }
      }
    }
    return out;
  }

  private static String describe(Translation t) {
    if (t == null) {
      return "no translation yet";
    }
    StringBuilder b = new StringBuilder();
    t.xds().forEach((role, r) -> b.append(role).append(": domains ").append(domains(r)).append(", endpoints ")
        .append(r.endpoints().stream().map(c -> c.getClusterName() + "=" + c.getEndpointsList().stream()
            .mapToInt(LocalityLbEndpoints::getLbEndpointsCount).sum()).toList()).append("; "));
    t.gateway().statuses().values().forEach(s -> b.append(s.key()).append(' ').append(s.state()).append(' ')
        .append(s.reason()).append("; "));
    return b.toString();
  }

  /** The cells of the row {@code kubectl get} prints: the server's table with the CRD's printer columns. */
  private static List<String> tableRow(KubernetesClient client, String plural, String ns, String name)
      throws Exception {
    HttpRequest request = client.getHttpClient().newHttpRequestBuilder()
        .uri(KUBE.serverUrl() + "/apis/gateway.solo.io/v1/namespaces/" + ns + "/" + plural + "/" + name)
        .header("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").build();
    HttpResponse<String> response = client.getHttpClient().sendAsync(request, String.class)
        .get(BOUND.toSeconds(), TimeUnit.SECONDS);
    assertEquals(200, response.code(), response::body);
    JsonNode cells = JSON.readTree(response.body()).get("rows").get(0).get("cells");
    List<String> out = new ArrayList<>();
    cells.forEach(c -> out.add(c.asText()));
    System.out.println("kubectl get " + plural + " -n " + ns + ": " + out);
    return out;
  }
}
