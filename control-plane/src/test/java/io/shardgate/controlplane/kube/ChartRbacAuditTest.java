package io.shardgate.controlplane.kube;

import static io.shardgate.controlplane.kube.StatusStack.namespacedStatus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequest;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.security.ServeSecurity;
import io.shardgate.controlplane.status.LeaderElection;
import io.shardgate.templates.TestPki;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * The chart's RBAC grants exactly what the control plane uses, judged by the real kube-apiserver's audit log: the
 * ServiceAccount, ClusterRoles, Roles and bindings {@code helm template} renders (with
 * {@code settings.persistProxySpec=true}) are applied with its Settings and generated Gateways, the real control plane
 * ({@code serve --kubernetes}, in-process) runs with a token of that ServiceAccount (TokenRequest) and is driven
 * through every path that touches the API (every kind synced, discovery of Services, EndpointSlices and Pods, a TLS
 * Secret, Accepted and Rejected statuses on all six kinds, Proxy objects created, updated and deleted with
 * {@code persistProxySpec}, the Lease acquired, renewed and released). Then every request the audit log shows for
 * that user, as (API group, resource, subresource, verb, namespace), must be allowed by the rendered rules and none
 * may have been refused; and every verb the rules grant must have been used at least once.
 */
class ChartRbacAuditTest {

  /** The release namespace, as Gloo Edge is installed: the write namespace, where the Lease lives too. */
  private static final String NAMESPACE = "gloo-system";
  private static final Duration BOUND = Duration.ofSeconds(90);
  /** What is applied of the chart: its RBAC, and the Settings (persistProxySpec on) and generated Gateways. */
  private static final Set<String> APPLIED_KINDS =
      Set.of("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Settings", "Gateway");

  private static final Path AUDIT = auditFolder();
  /** The objects whose statuses are awaited: every kind, Accepted and Rejected. */
  private static final String[][] OBJECTS = {{"Settings", "gloo-system", "default"},
      {"Gateway", "gloo-system", "gw-a"}, {"Gateway", "gloo-system", "gw-b"}, {"VirtualService", "team", "good"},
      {"VirtualService", "team", "secure"}, {"VirtualService", "team", "broken"},
      {"RouteTable", "team", "echo-routes"}, {"Upstream", "team", "echo-static"},
      {"UpstreamGroup", "team", "echo-group"}};

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension(List.of(
      "--audit-policy-file=" + AUDIT.resolve("policy.yaml"), "--audit-log-path=" + AUDIT.resolve("audit.log"),
      "--audit-log-format=json", "--audit-log-mode=blocking"));

  @TempDir Path work;

  @AfterAll
  static void deleteAuditFolder() throws IOException {
    try (Stream<Path> files = Files.walk(AUDIT)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** One request of the audit log, or one rule's grant expanded to a single verb on a single resource. */
  record Access(String group, String resource, String verb, String namespace) implements Comparable<Access> {
    @Override
    public int compareTo(Access o) {
      return toString().compareTo(o.toString());
    }

    @Override
    public String toString() {
      return (group.isEmpty() ? "core" : group) + " " + resource + " " + verb + " in "
          + (namespace == null ? "all namespaces" : namespace);
    }
  }

  /** A rule as a binding applies it to the ServiceAccount: in one namespace, or cluster-wide (null). */
  record Grant(String namespace, Set<String> groups, Set<String> resources, Set<String> verbs,
      Set<String> resourceNames, String from) {

    boolean allows(Access a, String name) {
      return (namespace == null || namespace.equals(a.namespace()))
          && (groups.contains("*") || groups.contains(a.group()))
          && (resources.contains("*") || resources.contains(a.resource()))
          && (verbs.contains("*") || verbs.contains(a.verb()))
          && (resourceNames.isEmpty() || name != null && resourceNames.contains(name));
    }
  }

  @BeforeAll
  static void installCrds() throws Exception {
    KubeCrdSchemaTest.install(KUBE.client());
    KubeObjects.namespaces(KUBE.client(), NAMESPACE, "team");
  }

  @Test
  void readingAllNamespacesTheChartGrantsExactlyWhatTheControlPlaneUses() throws Exception {
    audit("shardgate", "--set", "settings.persistProxySpec=true");
  }

  @Test
  void withWatchNamespacesTheReadsAreGrantedByRolesInThoseNamespacesOnly() throws Exception {
    audit("scoped", "--set", "settings.persistProxySpec=true", "--set", "settings.watchNamespaces={team}");
  }

  /** Renders the chart as {@code release} with {@code helmArgs}, runs the control plane as its ServiceAccount. */
  private void audit(String release, String... helmArgs) throws Exception {
    KubernetesClient admin = KUBE.client();
    List<Map<String, Object>> rendered = KubeCli.documents(KubeCli.template(work, release, NAMESPACE, helmArgs));
    String serviceAccount = controlPlaneServiceAccount(rendered);
    String user = "system:serviceaccount:" + NAMESPACE + ":" + serviceAccount;
    for (Map<String, Object> doc : rendered) {
      if (APPLIED_KINDS.contains(doc.get("kind"))) {
        KubeObjects.apply(admin, new Yaml().dump(doc));
      }
    }
    List<Grant> grants = grants(rendered, serviceAccount);
    assertFalse(grants.isEmpty(), "the chart binds no role to ServiceAccount " + serviceAccount);
    Path kubeconfig = serviceAccountKubeconfig(admin, serviceAccount);

    // A Lease left by a replica that died an hour ago: this one takes it over rather than creating it, as a
    // replacement pod does (the create is covered too: the Lease is deleted and made again below).
    KubeObjects.apply(admin, """
        apiVersion: coordination.k8s.io/v1
        kind: Lease
        metadata: {name: %s, namespace: %s}
        spec:
          holderIdentity: replica-gone
          leaseDurationSeconds: 6
          acquireTime: "2026-01-01T00:00:00.000000Z"
          renewTime: "2026-01-01T00:00:00.000000Z"
        """.formatted(LeaderElection.Options.defaults().name(), NAMESPACE));
    // The statuses an earlier test's control plane wrote are cleared, so that this one writes them again.
    for (String[] o : OBJECTS) {
      if (StatusStack.resources(admin, o[0]).inNamespace(o[1]).withName(o[2]).get() != null) {
        StatusStack.resources(admin, o[0]).inNamespace(o[1]).withName(o[2]).editStatus(r -> {
          r.getAdditionalProperties().remove("status");
          return r;
        });
      }
    }
    int[] ports = ExampleConfig.freePorts(2);
    LeaderElection.Options election = new LeaderElection.Options(NAMESPACE, LeaderElection.Options.defaults().name(),
        release + "-1", Duration.ofSeconds(6), Duration.ofSeconds(4), Duration.ofSeconds(1), true);
    ApplicationContext controlPlane = ServeCommand.startKubernetes(kubeconfig, work.resolve("state"), ports[0],
        ports[1], "127.0.0.1", ServeSecurity.defaults(), election);
    try {
      ServeCommand.awaitFirstTranslation(controlPlane);
      driveEveryCallThatTouchesTheApi(admin, controlPlane, release);
    } finally {
      ServeCommand.stop(controlPlane);
    }
    // Closing released the Lease: one more update, as a replica stopping cleanly makes.
    KubeWaits.await(BOUND, "the Lease released", () -> "" + lease(admin), () -> {
      Lease l = lease(admin);
      return l != null && (l.getSpec().getHolderIdentity() == null || l.getSpec().getLeaseDurationSeconds() <= 1);
    });

    List<Map<String, Object>> events = auditEvents(user);
    assertFalse(events.isEmpty(), "the audit log has no request of " + user);
    Set<Access> used = new TreeSet<>();
    List<String> refused = new ArrayList<>();
    List<String> notGranted = new ArrayList<>();
    Set<String> nonResource = new TreeSet<>();
    for (Map<String, Object> event : events) {
      @SuppressWarnings("unchecked")
      Map<String, Object> ref = (Map<String, Object>) event.get("objectRef");
      if (ref == null) {
        // A non-resource URL (/api, /version): granted to every authenticated user by Kubernetes' own
        // system:discovery and system:public-info-viewer, not by the chart.
        nonResource.add(event.get("verb") + " " + event.get("requestURI"));
        continue;
      }
      Access a = access(ref, String.valueOf(event.get("verb")));
      used.add(a);
      String name = (String) ref.get("name");
      @SuppressWarnings("unchecked")
      Map<String, Object> status = (Map<String, Object>) event.get("responseStatus");
      Object code = status == null ? null : status.get("code");
      if (code instanceof Number n && n.intValue() == 403) {
        refused.add(a + (name == null ? "" : " (" + name + ")") + ": " + event.get("requestURI"));
      }
      if (grants.stream().noneMatch(g -> g.allows(a, name))) {
        notGranted.add(a + (name == null ? "" : " (" + name + ")"));
      }
    }
    Set<String> unused = new TreeSet<>();
    for (Grant g : grants) {
      for (String group : g.groups()) {
        for (String resource : g.resources()) {
          for (String verb : g.verbs()) {
            Access granted = new Access(group, resource, verb, g.namespace());
            boolean usedOnce = used.stream().anyMatch(a -> a.group().equals(group) && a.resource().equals(resource)
                && a.verb().equals(verb) && (g.namespace() == null || g.namespace().equals(a.namespace())));
            if (!usedOnce) {
              unused.add(granted + " (" + g.from() + ")");
            }
          }
        }
      }
    }
    String report = "used by " + user + ":\n  "
        + used.stream().map(Access::toString).collect(Collectors.joining("\n  "))
        + "\nnon-resource URLs: " + nonResource
        + "\ngranted:\n  " + grants.stream().map(Grant::toString).collect(Collectors.joining("\n  "));
    System.out.println("[rbac-audit] " + report);
    assertEquals(List.of(), refused, () -> "requests refused with 403\n" + report);
    assertEquals(List.of(), notGranted, () -> "used but not granted by the chart\n" + report);
    assertEquals(Set.of(), unused, () -> "granted by the chart but never used\n" + report);
  }

  /**
   * Every kind synced and every status written, discovery, a TLS Secret, Proxy objects created, updated and deleted,
   * and the Lease renewed a few times.
   */
  private void driveEveryCallThatTouchesTheApi(KubernetesClient admin, ApplicationContext controlPlane,
      String release) throws Exception {
    KubeObjects.apply(admin, """
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata: {name: gw-a, namespace: gloo-system}
        spec:
          bindAddress: "::"
          bindPort: 8080
          proxyNames: [gateway-proxy-a]
          httpGateway:
            virtualServiceSelector: {shard: a}
        ---
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata: {name: gw-a-ssl, namespace: gloo-system}
        spec:
          bindAddress: "::"
          bindPort: 8443
          ssl: true
          proxyNames: [gateway-proxy-a]
          httpGateway:
            virtualServiceSelector: {shard: a}
        ---
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata: {name: gw-b, namespace: gloo-system}
        spec:
          bindAddress: "::"
          bindPort: 8080
          proxyNames: [gateway-proxy-b]
          httpGateway:
            virtualServiceSelector: {shard: b}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: echo, namespace: team}
        spec:
          selector: {app: echo}
          ports: [{name: http, port: 8080}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: echo-1
          namespace: team
          labels: {kubernetes.io/service-name: echo}
        addressType: IPv4
        ports: [{name: http, port: 8080, protocol: TCP}]
        endpoints:
        - addresses: [10.1.0.7]
          conditions: {ready: true}
          targetRef: {kind: Pod, name: echo-0, namespace: team}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: echo-0, namespace: team, labels: {app: echo}}
        spec:
          containers: [{name: echo, image: example.com/echo:1}]
        ---
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata: {name: echo-static, namespace: team}
        spec:
          static:
            hosts: [{addr: 10.1.0.8, port: 8080}]
        ---
        apiVersion: gloo.solo.io/v1
        kind: UpstreamGroup
        metadata: {name: echo-group, namespace: team}
        spec:
          destinations:
          - weight: 1
            destination:
              upstream: {name: echo-static, namespace: team}
        ---
        apiVersion: gateway.solo.io/v1
        kind: RouteTable
        metadata: {name: echo-routes, namespace: team}
        spec:
          routes:
          - matchers: [{prefix: /api/v1}]
            routeAction:
              single:
                kube:
                  ref: {name: echo, namespace: team}
                  port: 8080
        ---
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: good, namespace: team, labels: {shard: a}}
        spec:
          virtualHost:
            domains: [good.example.com]
            routes:
            - matchers: [{prefix: /api}]
              delegateAction:
                ref: {name: echo-routes, namespace: team}
            - matchers: [{prefix: /}]
              routeAction:
                single:
                  upstream: {name: echo-static, namespace: team}
        ---
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: secure, namespace: team, labels: {shard: a}}
        spec:
          sslConfig:
            secretRef: {name: secure-tls, namespace: team}
          virtualHost:
            domains: [secure.example.com]
            routes:
            - matchers: [{prefix: /}]
              routeAction:
                upstreamGroup: {name: echo-group, namespace: team}
        ---
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: broken, namespace: team, labels: {shard: b}}
        spec:
          virtualHost:
            domains: [broken.example.com]
            routes:
            - matchers: [{prefix: /, exact: /x}]
              routeAction:
                single:
                  upstream: {name: echo-static, namespace: team}
        """);
    TestPki.Issued cert = TestPki.create("rbac-audit-ca").leaf("secure").sans("DNS:secure.example.com")
        .writeTo(work, "secure");
    admin.secrets().inNamespace("team").withName("secure-tls").delete();
    admin.secrets().inNamespace("team").resource(new SecretBuilder().withNewMetadata().withName("secure-tls")
        .endMetadata().withType("kubernetes.io/tls").withStringData(Map.of(
            "tls.crt", Files.readString(cert.certificateFile()), "tls.key", Files.readString(cert.keyFile())))
        .build()).create();

    // Statuses on every kind, Accepted and Rejected.
    for (String[] o : OBJECTS) {
      KubeWaits.await(BOUND, "a status on " + o[0] + " " + o[1] + "/" + o[2], () -> "" + namespacedStatus(admin,
          o[0], o[1], o[2], NAMESPACE), () -> namespacedStatus(admin, o[0], o[1], o[2], NAMESPACE).get("state")
          != null);
    }
    assertEquals("Rejected", namespacedStatus(admin, "VirtualService", "team", "broken", NAMESPACE).get("state"));

    // Proxy objects: created, updated when a shard's config changes, deleted when its shard goes.
    KubeWaits.await(BOUND, "both Proxy objects", () -> "" + proxyNames(admin),
        () -> proxyNames(admin).containsAll(List.of("gateway-proxy-a", "gateway-proxy-b")));
    String before = proxy(admin, "gateway-proxy-a").getMetadata().getResourceVersion();
    StatusStack.resources(admin, "VirtualService").inNamespace("team").withName("good").edit(vs -> {
      @SuppressWarnings("unchecked")
      Map<String, Object> host = (Map<String, Object>) ((Map<String, Object>) vs.getAdditionalProperties()
          .get("spec")).get("virtualHost");
      host.put("domains", List.of("good.example.com", release + ".good.example.com"));
      return vs;
    });
    KubeWaits.await(BOUND, "the Proxy of shard a updated", () -> "" + proxy(admin, "gateway-proxy-a"),
        () -> !before.equals(proxy(admin, "gateway-proxy-a").getMetadata().getResourceVersion()));
    StatusStack.resources(admin, "Gateway").inNamespace(NAMESPACE).withName("gw-b").delete();
    KubeWaits.await(BOUND, "the Proxy of shard b deleted", () -> "" + proxyNames(admin),
        () -> !proxyNames(admin).contains("gateway-proxy-b"));

    // The Lease: taken over from the dead replica, renewed a few times; deleted (by an operator), it is created.
    LeaderElection electionBean = controlPlane.getBean(LeaderElection.class);
    KubeWaits.await(BOUND, "leading", electionBean::describe, electionBean::isLeader);
    admin.leases().inNamespace(NAMESPACE).withName(LeaderElection.Options.defaults().name()).delete();
    KubeWaits.await(BOUND, "the Lease created again by the leader", () -> "" + lease(admin), () -> {
      Lease l = lease(admin);
      return l != null && (release + "-1").equals(l.getSpec().getHolderIdentity());
    });
    Set<String> renewals = new HashSet<>();
    KubeWaits.await(BOUND, "three renewals of the Lease", () -> "" + lease(admin), () -> {
      Lease l = lease(admin);
      if (l != null && l.getSpec().getRenewTime() != null) {
        renewals.add(String.valueOf(l.getSpec().getRenewTime()));
      }
      return renewals.size() >= 3;
    });
  }

  private static Lease lease(KubernetesClient admin) {
    return admin.leases().inNamespace(NAMESPACE).withName(LeaderElection.Options.defaults().name()).get();
  }

  private static GenericKubernetesResource proxy(KubernetesClient admin, String name) {
    return admin.genericKubernetesResources("gloo.solo.io/v1", "Proxy").inNamespace(NAMESPACE).withName(name).get();
  }

  private static List<String> proxyNames(KubernetesClient admin) {
    return admin.genericKubernetesResources("gloo.solo.io/v1", "Proxy").inNamespace(NAMESPACE).list().getItems()
        .stream().map(p -> p.getMetadata().getName()).sorted().toList();
  }

  private static Access access(Map<String, Object> ref, String verb) {
    String group = ref.get("apiGroup") == null ? "" : String.valueOf(ref.get("apiGroup"));
    String resource = String.valueOf(ref.get("resource"));
    Object sub = ref.get("subresource");
    return new Access(group, sub == null ? resource : resource + "/" + sub, verb, (String) ref.get("namespace"));
  }

  /** The ServiceAccount the control plane's pods run as: the workload whose container runs {@code serve}. */
  @SuppressWarnings("unchecked")
  private static String controlPlaneServiceAccount(List<Map<String, Object>> rendered) {
    List<String> found = new ArrayList<>();
    for (Map<String, Object> doc : rendered) {
      if (!Set.of("Deployment", "StatefulSet").contains(doc.get("kind"))) {
        continue;
      }
      Map<String, Object> pod = (Map<String, Object>) at(doc, "spec", "template", "spec");
      boolean serves = ((List<Map<String, Object>>) pod.getOrDefault("containers", List.of())).stream()
          .anyMatch(c -> String.valueOf(c.get("args")).contains("serve"));
      if (serves && pod.get("serviceAccountName") != null) {
        found.add(String.valueOf(pod.get("serviceAccountName")));
      }
    }
    assertEquals(1, found.size(), () -> "one control-plane workload with a serviceAccountName, found " + found);
    return found.get(0);
  }

  /** The rules the rendered bindings give {@code serviceAccount} of {@link #NAMESPACE}, scoped as bound. */
  @SuppressWarnings("unchecked")
  private static List<Grant> grants(List<Map<String, Object>> rendered, String serviceAccount) {
    List<Grant> out = new ArrayList<>();
    for (Map<String, Object> binding : rendered) {
      Object kind = binding.get("kind");
      if (!"ClusterRoleBinding".equals(kind) && !"RoleBinding".equals(kind)) {
        continue;
      }
      boolean bound = ((List<Map<String, Object>>) binding.getOrDefault("subjects", List.of())).stream()
          .anyMatch(s -> "ServiceAccount".equals(s.get("kind")) && serviceAccount.equals(s.get("name"))
              && NAMESPACE.equals(s.getOrDefault("namespace", at(binding, "metadata", "namespace"))));
      if (!bound) {
        continue;
      }
      String scope = "RoleBinding".equals(kind) ? String.valueOf(at(binding, "metadata", "namespace")) : null;
      Map<String, Object> roleRef = (Map<String, Object>) binding.get("roleRef");
      Map<String, Object> role = rendered.stream().filter(d -> roleRef.get("kind").equals(d.get("kind"))
          && roleRef.get("name").equals(at(d, "metadata", "name"))
          && ("ClusterRole".equals(d.get("kind")) || scope.equals(at(d, "metadata", "namespace"))))
          .findFirst().orElseThrow(() -> new AssertionError(kind + " " + at(binding, "metadata", "name")
              + " refers to " + roleRef + ", which the chart does not render"));
      for (Map<String, Object> rule : (List<Map<String, Object>>) role.getOrDefault("rules", List.of())) {
        out.add(new Grant(scope, set(rule.get("apiGroups")), set(rule.get("resources")), set(rule.get("verbs")),
            set(rule.get("resourceNames")), role.get("kind") + " " + at(role, "metadata", "name") + " via " + kind
                + " " + at(binding, "metadata", "name")));
      }
    }
    return out;
  }

  private static Set<String> set(Object list) {
    return list == null ? Set.of() : ((Collection<?>) list).stream().map(String::valueOf)
        .collect(Collectors.toCollection(TreeSet::new));
  }

  private static Object at(Map<String, Object> doc, String... path) {
    Object node = doc;
    for (String step : path) {
      node = node instanceof Map<?, ?> m ? m.get(step) : null;
    }
    return node;
  }

  /** The admin kubeconfig with a token of the ServiceAccount instead (TokenRequest, one hour). */
  @SuppressWarnings("unchecked")
  private Path serviceAccountKubeconfig(KubernetesClient admin, String serviceAccount) throws IOException {
    TokenRequest request = admin.serviceAccounts().inNamespace(NAMESPACE).withName(serviceAccount)
        .tokenRequest(new TokenRequestBuilder().withNewSpec().withExpirationSeconds(3600L).endSpec().build());
    String token = request.getStatus().getToken();
    Map<String, Object> config = new Yaml().load(Files.readString(KUBE.kubeconfig()));
    for (Map<String, Object> user : (List<Map<String, Object>>) config.get("users")) {
      ((Map<String, Object>) user.get("user")).put("token", token);
    }
    Path file = work.resolve("serviceaccount-kubeconfig");
    Files.writeString(file, new Yaml().dump(config));
    return file;
  }

  /** The audit events of {@code user}: one per request (its last stage logged). */
  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> auditEvents(String user) throws IOException {
    Map<String, Map<String, Object>> byId = new LinkedHashMap<>();
    for (String line : Files.readAllLines(AUDIT.resolve("audit.log"))) {
      if (line.isBlank()) {
        continue;
      }
      Map<String, Object> event = KUBE.client().getKubernetesSerialization().unmarshal(line, Map.class);
      Map<String, Object> who = (Map<String, Object>) event.get("user");
      if (who != null && user.equals(who.get("username"))) {
        byId.put(String.valueOf(event.get("auditID")), event);
      }
    }
    return List.copyOf(byId.values());
  }

  /** A folder for the audit policy and log, made before the API server starts. */
  private static Path auditFolder() {
    try {
      Path dir = Files.createTempDirectory("shardgate-audit-");
      // Metadata for every request; RequestReceived is left out, so a watch shows once it started streaming.
      Files.writeString(dir.resolve("policy.yaml"), """
          apiVersion: audit.k8s.io/v1
          kind: Policy
          omitStages: [RequestReceived]
          rules:
          - level: Metadata
          """);
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the audit folder", e);
    }
  }
}
