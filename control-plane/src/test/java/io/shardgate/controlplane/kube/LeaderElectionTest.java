package io.shardgate.controlplane.kube;

import static io.shardgate.controlplane.kube.StatusStack.BOUND;
import static io.shardgate.controlplane.kube.StatusStack.namespacedStatus;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.security.ServeSecurity;
import io.shardgate.controlplane.status.LeaderElection;
import io.shardgate.snapshot.ShardResources;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two control planes (each its own client, source, pipeline, snapshot cache, status writer and Lease election)
 * against one real kube-apiserver: both serve byte-identical snapshots with equal versions, only the leader writes
 * statuses, and when the leader dies without releasing the Lease the other takes over within the lease duration and
 * writes.
 */
class LeaderElectionTest {

  private static final Duration LEASE = Duration.ofSeconds(6);
  private static final Duration RENEW = Duration.ofSeconds(4);
  private static final Duration RETRY = Duration.ofSeconds(1);
  /** Generous: the machine runs other builds; the figure itself is printed. */
  private static final Duration SLACK = Duration.ofSeconds(30);
  private static final List<String> TYPES = List.of(Resources.V3.LISTENER_TYPE_URL, Resources.V3.ROUTE_TYPE_URL,
      Resources.V3.CLUSTER_TYPE_URL, Resources.V3.ENDPOINT_TYPE_URL, Resources.V3.SECRET_TYPE_URL);

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension();

  @BeforeAll
  static void installCrdsAndObjects() throws Exception {
    KubernetesClient client = KUBE.client();
    KubeCrdSchemaTest.install(client);
    StatusStack.createTeam(client);
    StatusStack.create(client, StatusStack.vs("first", "first.example.com", ""));
  }

  @Test
  void onlyTheLeaderWritesAndTheOtherTakesOverWhenItDies() throws Exception {
    KubernetesClient client = KUBE.client();
    // The leader "crashes": its close stops the renewals and does not release the Lease, as a killed process would.
    StatusStack a = new StatusStack(KUBE.kubeconfig(), options("replica-a", false), b -> { });
    StatusStack b = null;
    try {
      KubeWaits.await(BOUND, "replica-a to lead", a.election::describe, a.election::isLeader);
      b = new StatusStack(KUBE.kubeconfig(), options("replica-b", true), x -> { });
      StatusStack follower = b;
      KubeWaits.await(BOUND, "the first VirtualService's status", () -> "" + namespacedStatus(client,
          "VirtualService", "team", "first", "gloo-system"), () -> "Accepted".equals(state(client, "first")));
      KubeWaits.await(BOUND, "replica-b to see replica-a as the holder", follower.election::describe,
          () -> "replica-a".equals(follower.election.holder()));
      KubeWaits.await(BOUND, "both to translate", () -> "a " + a.pipeline.latest() + ", b " + follower.pipeline
          .latest(), () -> a.pipeline.latest() != null && follower.pipeline.latest() != null);

      // Every replica serves: the same bytes and the same versions on every shard and type.
      assertEquals(a.cache.groups(), b.cache.groups());
      assertFalse(a.cache.groups().isEmpty());
      for (String role : a.cache.groups()) {
        for (String type : TYPES) {
          assertEquals(a.cache.versionOf(role, type), b.cache.versionOf(role, type), role + " " + type);
        }
        assertArrayEquals(bytes(a.cache.resourcesOf(role)), bytes(b.cache.resourcesOf(role)), role);
      }

      // Only the leader writes: a new VirtualService is written by replica-a, never by replica-b.
      StatusStack.create(client, StatusStack.vs("second", "second.example.com", ""));
      KubeWaits.await(BOUND, "the second VirtualService's status", () -> "" + namespacedStatus(client,
          "VirtualService", "team", "second", "gloo-system"), () -> "Accepted".equals(state(client, "second")));
      KubeWaits.await(BOUND, "replica-b to translate the second VirtualService", () -> "" + follower.pipeline
          .latest().gateway().statuses().keySet(), () -> follower.pipeline.latest().gateway().statuses().keySet()
          .stream().anyMatch(k -> k.name().equals("second")));
      // The writer counts a write once its API call returned, which can be after this test's client sees it.
      KubeWaits.await(BOUND, "the leader's write counted", () -> "writes " + a.writer.writes(),
          () -> a.writer.writes() > 0);
      assertEquals(0, b.writer.writes(), "the follower never writes");
      assertFalse(b.writer.isActive());

      // The leader dies without releasing the Lease; replica-b takes over within the lease and writes.
      long died = System.nanoTime();
      a.close();
      KubeWaits.await(LEASE.plus(RETRY).plus(SLACK), "replica-b to lead", follower.election::describe,
          follower.election::isLeader);
      double takeoverSeconds = (follower.becameLeaderNanos - died) / 1e9;
      System.out.printf("leader election: replica-b took over %.2f s after replica-a died (lease %s, retry %s)%n",
          takeoverSeconds, LEASE, RETRY);
      StatusStack.create(client, StatusStack.vs("third", "third.example.com", ""));
      KubeWaits.await(BOUND, "the third VirtualService's status, by the new leader", () -> "" + namespacedStatus(
          client, "VirtualService", "team", "third", "gloo-system"), () -> "Accepted".equals(state(client, "third")));
      KubeWaits.await(BOUND, "the new leader's write counted", () -> "writes " + follower.writer.writes(),
          () -> follower.writer.writes() > 0);
    } finally {
      a.close();
      if (b != null) {
        b.close();
      }
    }
  }

  @Test
  void serveKubernetesElectsItselfWritesStatusesAndSaysSoInReady(@TempDir Path work) throws Exception {
    KubernetesClient client = KUBE.client();
    int[] ports = ExampleConfig.freePorts(2);
    LeaderElection.Options election = new LeaderElection.Options("gloo-system", "shardgate-serve-test", "serve-1",
        LEASE, RENEW, RETRY, true);
    ApplicationContext controlPlane = ServeCommand.startKubernetes(KUBE.kubeconfig(), work.resolve("state"),
        ports[0], ports[1], "127.0.0.1", ServeSecurity.defaults(), election);
    try {
      ServeCommand.awaitFirstTranslation(controlPlane);
      StatusStack.create(client, StatusStack.vs("served", "served.example.com", ""));
      KubeWaits.await(BOUND, "the status written by serve --kubernetes", () -> "" + namespacedStatus(client,
          "VirtualService", "team", "served", "gloo-system"), () -> "Accepted".equals(state(client, "served")));
      HttpClient http = HttpClient.newHttpClient();
      URI ready = URI.create("http://127.0.0.1:" + ports[1] + "/ready");
      AtomicReference<String> body = new AtomicReference<>("");
      KubeWaits.await(BOUND, "/ready to name the leader", body::get, () -> {
        try {
          body.set(http.send(HttpRequest.newBuilder(ready).build(), HttpResponse.BodyHandlers.ofString()).body());
        } catch (IOException e) {
          body.set(e.toString());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return body.get().contains("leader: yes, holder serve-1");
      });
      assertTrue(controlPlane.getBean(LeaderElection.class).isLeader());
    } finally {
      ServeCommand.stop(controlPlane);
    }
    // Closing released the Lease (fabric8 releases by shortening it to 1 s), so a successor need not wait out the
    // lease duration.
    KubeWaits.await(BOUND, "the Lease released", () -> "" + client.leases().inNamespace("gloo-system")
        .withName("shardgate-serve-test").get(), () -> {
          Lease lease = client.leases().inNamespace("gloo-system").withName("shardgate-serve-test").get();
          return lease != null && (lease.getSpec().getHolderIdentity() == null
              || lease.getSpec().getLeaseDurationSeconds() <= 1);
        });
  }

  private static LeaderElection.Options options(String identity, boolean release) {
    return new LeaderElection.Options("gloo-system", "shardgate-test", identity, LEASE, RENEW, RETRY, release);
  }

  private static String state(KubernetesClient client, String vs) {
    return String.valueOf(namespacedStatus(client, "VirtualService", "team", vs, "gloo-system").get("state"));
  }

  /** Every resource of a shard, serialized in order. */
  private static byte[] bytes(ShardResources r) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (List<? extends Message> list : List.of(r.clusters(), r.endpoints(), r.listeners(), r.routes(),
        r.secrets())) {
      for (Message m : list) {
        m.writeDelimitedTo(out);
      }
    }
    return out.toByteArray();
  }
}
