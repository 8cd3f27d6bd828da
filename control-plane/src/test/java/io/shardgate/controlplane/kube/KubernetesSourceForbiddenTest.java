package io.shardgate.controlplane.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.source.KubernetesSource;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * The Kubernetes source on a real kube-apiserver, as a user RBAC grants nothing: each kind is logged at ERROR as
 * forbidden, naming the verbs and the resource to grant, nothing is delivered, and once a ClusterRole grants list and
 * watch the informers' retries list every kind and the first delivery follows without a restart.
 */
class KubernetesSourceForbiddenTest {

  private static final Duration BOUND = Duration.ofSeconds(60); // the informers retry with back-off

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension();

  @Test
  void forbiddenAccessIsNamedAndRetriedUntilGranted() throws Exception {
    KubeCrdSchemaTest.install(KUBE.client());
    Logger logger = (Logger) LoggerFactory.getLogger(KubernetesSource.class);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    logger.addAppender(logs);
    List<ConfigInput> inputs = new CopyOnWriteArrayList<>();
    try (KubernetesClient restricted = new KubernetesClientBuilder()
            .withConfig(Config.fromKubeconfig(KUBE.restrictedKubeconfig().toFile())).build();
        KubernetesSource source = new KubernetesSource(restricted, inputs::add)) {
      source.start();
      // Settings are read first: they say which namespaces the other kinds are read in.
      KubeWaits.await(BOUND, "an ERROR saying Settings are forbidden", () -> KubeWaits.errors(logs).toString(),
          () -> KubeWaits.errors(logs).stream()
          .anyMatch(m -> m.startsWith("Kubernetes: cannot list Settings (settings.gloo.solo.io,")
              && m.contains("forbidden (grant list and watch on settings.gloo.solo.io)")));
      assertEquals(List.of(), inputs, "nothing is delivered before every kind has been listed");

      KUBE.client().rbac().clusterRoles().resource(new ClusterRoleBuilder()
          .withNewMetadata().withName("shardgate-reader").endMetadata()
          .addNewRule().withApiGroups("gateway.solo.io", "gloo.solo.io").withResources("*")
          .withVerbs("get", "list", "watch").endRule()
          .build()).create();
      KUBE.client().rbac().clusterRoleBindings().resource(new ClusterRoleBindingBuilder()
          .withNewMetadata().withName("shardgate-reader").endMetadata()
          .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("ClusterRole")
          .withName("shardgate-reader").endRoleRef()
          .addNewSubject().withApiGroup("rbac.authorization.k8s.io").withKind("User")
          .withName(KubeApiServerExtension.RESTRICTED_USER).endSubject()
          .build()).create();
      KubeWaits.await(BOUND, "an ERROR saying Services are forbidden", () -> KubeWaits.errors(logs).toString(),
          () -> KubeWaits.errors(logs).stream()
          .anyMatch(m -> m.startsWith("Kubernetes: cannot list Service (services, all namespaces)")
              && m.contains("forbidden (grant list and watch on services)")));
      KubeWaits.await(BOUND, "an ERROR saying TLS Secrets are forbidden", () -> KubeWaits.errors(logs).toString(),
          () -> KubeWaits.errors(logs).stream()
          .anyMatch(m -> m.startsWith("Kubernetes: cannot list Secret (secrets, all namespaces, "
              + "type=kubernetes.io/tls)") && m.contains("forbidden (grant list and watch on secrets)")));
      assertEquals(List.of(), inputs, "nothing is delivered before every kind has been listed");
      KUBE.client().rbac().clusterRoles().withName("shardgate-reader").edit(role -> {
        role.getRules().add(new PolicyRuleBuilder().withApiGroups("").withResources("services", "pods", "secrets")
            .withVerbs("list", "watch").build());
        role.getRules().add(new PolicyRuleBuilder().withApiGroups("discovery.k8s.io").withResources("endpointslices")
            .withVerbs("list", "watch").build());
        return role;
      });
      KubeWaits.await(BOUND, "the first delivery once access is granted", () -> KubeWaits.errors(logs).toString(),
          () -> !inputs.isEmpty());
      assertEquals(List.of("Service default/kubernetes@"), inputs.get(0).documents().stream()
          .map(d -> d.origin().substring(0, d.origin().indexOf('@') + 1)).toList());
    } finally {
      logger.detachAppender(logs);
    }
  }

}
