package io.shardgate.controlplane.kube;

import static io.shardgate.controlplane.kube.StatusStack.namespacedStatus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.shardgate.controlplane.status.KubernetesStatusWriter;
import io.shardgate.controlplane.status.LeaderElection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * The RBAC that docs/kubernetes.md lists, checked on a real kube-apiserver as a user that has exactly those grants:
 * with read access and the Lease but not {@code update} on the {@code /status} subresources, the writer logs the
 * forbidden write once per object, naming the verb and resource, and keeps going; once the ClusterRole grants it,
 * the statuses land without a restart. Without {@code patch} on the Lease the leader loses it at its first renewal
 * and competes again until the grant comes.
 */
class KubernetesStatusRbacTest {

  private static final Duration BOUND = Duration.ofSeconds(60);
  private static final List<String> GROUPS = List.of("gateway.solo.io", "gloo.solo.io");
  private static final List<String> KINDS =
      List.of("gateways", "virtualservices", "routetables", "upstreams", "upstreamgroups", "settings");

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension();

  @Test
  void aForbiddenStatusWriteIsNamedOnceAndLandsOnceGranted() throws Exception {
    KubernetesClient admin = KUBE.client();
    KubeCrdSchemaTest.install(admin);
    for (String ns : List.of("gloo-system", "team")) {
      admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
          .create();
    }
    StatusStack.create(admin, StatusStack.GATEWAY);
    StatusStack.create(admin, StatusStack.UPSTREAM);
    StatusStack.create(admin, StatusStack.vs("first", "first.example.com", ""));
    grant(admin, "shardgate-reader", new PolicyRuleBuilder().withApiGroups(GROUPS).withResources(KINDS)
        .withVerbs("get", "list", "watch").build(),
        new PolicyRuleBuilder().withApiGroups("").withResources("services", "pods", "secrets")
            .withVerbs("list", "watch").build(),
        new PolicyRuleBuilder().withApiGroups("discovery.k8s.io").withResources("endpointslices")
            .withVerbs("list", "watch").build());
    admin.rbac().roles().inNamespace("gloo-system").resource(new RoleBuilder()
        .withNewMetadata().withName("shardgate-leader-election").endMetadata()
        .addNewRule().withApiGroups("coordination.k8s.io").withResources("leases")
        .withVerbs("get", "create").endRule().build()).create();
    admin.rbac().roleBindings().inNamespace("gloo-system").resource(new RoleBindingBuilder()
        .withNewMetadata().withName("shardgate-leader-election").endMetadata()
        .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("Role")
        .withName("shardgate-leader-election").endRoleRef()
        .addNewSubject().withApiGroup("rbac.authorization.k8s.io").withKind("User")
        .withName(KubeApiServerExtension.RESTRICTED_USER).endSubject().build()).create();

    Logger logger = (Logger) LoggerFactory.getLogger(KubernetesStatusWriter.class);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    logger.addAppender(logs);
    LeaderElection.Options election = new LeaderElection.Options("gloo-system", "shardgate-rbac-test", "restricted-1",
        Duration.ofSeconds(6), Duration.ofSeconds(4), Duration.ofSeconds(1), true);
    try (StatusStack stack = new StatusStack(KUBE.restrictedKubeconfig(), election, b -> { })) {
      String forbidden = "Status writer: cannot update virtualservices.gateway.solo.io/status of VirtualService"
          + " team/first: 403";
      KubeWaits.await(BOUND, "an ERROR naming the forbidden status write", () -> KubeWaits.errors(logs).toString(),
          () -> KubeWaits.errors(logs).stream().anyMatch(m -> m.startsWith(forbidden)));

      // Creating the Lease needs create; renewing it needs patch, which is not granted yet: leadership is lost, and
      // once patch is granted the replica competes again and leads.
      KubeWaits.await(BOUND, "leadership lost (renewal forbidden)", stack.election::describe,
          () -> !stack.election.isLeader());
      assertFalse(stack.writer.isActive(), "a replica that lost the lease stops writing");
      admin.rbac().roles().inNamespace("gloo-system").withName("shardgate-leader-election").edit(r -> {
        r.getRules().get(0).getVerbs().add("patch");
        return r;
      });
      KubeWaits.await(BOUND, "leading again once patch is granted", stack.election::describe,
          () -> stack.election.isLeader() && stack.election.acquisitions() >= 2);
      // The writer retries (every RETRY); the error is not logged again for the same object.
      long failures = stack.writer.failures();
      KubeWaits.await(BOUND, "a few retries", () -> "failures " + stack.writer.failures(),
          () -> stack.writer.failures() >= failures + 6);
      assertEquals(1, KubeWaits.errors(logs).stream().filter(m -> m.startsWith(forbidden)).count(),
          () -> KubeWaits.errors(logs).toString());

      assertEquals(List.of(), KubeWaits.errors(logs).stream().filter(m -> m.contains("proxies")).toList(),
          "without persistProxySpec no access to Proxies is needed");

      grant(admin, "shardgate-status-writer", new PolicyRuleBuilder().withApiGroups(GROUPS)
          .withResources(KINDS.stream().map(k -> k + "/status").toList()).withVerbs("update").build());
      KubeWaits.await(BOUND, "the status once update on /status is granted", () -> "" + namespacedStatus(admin,
          "VirtualService", "team", "first", "gloo-system"), () -> "Accepted".equals(
              namespacedStatus(admin, "VirtualService", "team", "first", "gloo-system").get("state")));
    } finally {
      logger.detachAppender(logs);
    }
  }

  private static void grant(KubernetesClient admin, String name, PolicyRule... rules) {
    admin.rbac().clusterRoles().resource(new ClusterRoleBuilder().withNewMetadata().withName(name).endMetadata()
        .withRules(rules).build()).create();
    admin.rbac().clusterRoleBindings().resource(new ClusterRoleBindingBuilder()
        .withNewMetadata().withName(name).endMetadata()
        .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("ClusterRole").withName(name)
        .endRoleRef()
        .addNewSubject().withApiGroup("rbac.authorization.k8s.io").withKind("User")
        .withName(KubeApiServerExtension.RESTRICTED_USER).endSubject().build()).create();
  }
}
