package io.shardgate.controlplane.kube;

import static io.shardgate.controlplane.kube.StatusStack.BOUND;
import static io.shardgate.controlplane.kube.StatusStack.namespacedStatus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.shardgate.controlplane.cli.ShardgateCli;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.status.LeaderElection;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The leader is a real {@code shardgate serve --kubernetes} child process, killed with SIGKILL: it cannot release
 * its Lease or finish a write. The other replica (a second stack in this JVM) takes over once the Lease expires and
 * writes the statuses the dead leader never wrote.
 */
class LeaderKilledTakeoverTest {

  private static final Duration LEASE = Duration.ofSeconds(6);
  private static final Duration RETRY = Duration.ofSeconds(1);
  /** Generous: the machine runs other builds; the measured figure is printed. */
  private static final Duration SLACK = Duration.ofSeconds(30);
  private static final String LEASE_NAME = "shardgate-kill-test";

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension();

  @Test
  void whenTheLeaderProcessIsKilledTheOtherReplicaTakesOverWithinTheLease(@TempDir Path work) throws Exception {
    KubernetesClient client = KUBE.client();
    KubeCrdSchemaTest.install(client);
    StatusStack.createTeam(client);
    StatusStack.create(client, StatusStack.vs("first", "first.example.com", ""));

    int[] ports = ExampleConfig.freePorts(2);
    Path out = work.resolve("serve.out");
    Process leader = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx384m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
        ShardgateCli.class.getName(), "serve", "--kubernetes", "--kubeconfig", KUBE.kubeconfig().toString(),
        "--state-dir", work.resolve("state").toString(), "--xds-port", String.valueOf(ports[0]),
        "--admin-port", String.valueOf(ports[1]), "--leader-election-namespace", "gloo-system",
        "--leader-election-id", LEASE_NAME, "--leader-election-identity", "killed-leader",
        "--leader-election-lease-duration", LEASE.toSeconds() + "s", "--leader-election-renew-deadline", "4s",
        "--leader-election-retry-period", RETRY.toSeconds() + "s")
        .redirectErrorStream(true).redirectOutput(out.toFile()).start();
    StatusStack survivor = null;
    try {
      KubeWaits.await(BOUND, "the serve child to hold the Lease and write the first status",
          () -> lastLines(out), () -> "killed-leader".equals(holder(client))
              && "Accepted".equals(namespacedStatus(client, "VirtualService", "team", "first", "gloo-system")
                  .get("state")));
      survivor = new StatusStack(KUBE.kubeconfig(), new LeaderElection.Options("gloo-system", LEASE_NAME,
          "survivor", LEASE, Duration.ofSeconds(4), RETRY, true), leading -> { });
      StatusStack s = survivor;
      KubeWaits.await(BOUND, "the survivor to translate and see the child as leader", s.election::describe,
          () -> s.pipeline.latest() != null && "killed-leader".equals(s.election.holder()));
      assertFalse(s.writer.isActive(), "a follower does not write");

      long killed = System.nanoTime();
      leader.destroyForcibly(); // SIGKILL: no shutdown hook runs, the Lease is not released
      assertTrue(leader.waitFor(30, TimeUnit.SECONDS), "the child exits on SIGKILL");
      assertEquals(137, leader.exitValue(), "killed by SIGKILL");
      KubeWaits.await(LEASE.plus(RETRY).plus(SLACK), "the survivor to take the Lease", s.election::describe,
          s.election::isLeader);
      double seconds = (s.becameLeaderNanos - killed) / 1e9;
      System.out.printf("leader election: the survivor led %.2f s after the leader process was killed (lease %s,"
          + " retry %s)%n", seconds, LEASE, RETRY);
      assertEquals("survivor", holder(client));
      assertTrue(seconds <= LEASE.plus(RETRY).plus(SLACK).toSeconds(), "took over within the lease and a retry");

      StatusStack.create(client, StatusStack.vs("second", "second.example.com", ""));
      KubeWaits.await(BOUND, "the new leader to write the second VirtualService's status", () -> "" + namespacedStatus(
          client, "VirtualService", "team", "second", "gloo-system"), () -> "Accepted".equals(namespacedStatus(
              client, "VirtualService", "team", "second", "gloo-system").get("state")));
      // The writer counts a write once its call returns, which can be after the API server shows it: wait.
      KubeWaits.await(BOUND, "the new leader's write counter", () -> "writes " + s.writer.writes(),
          () -> s.writer.writes() > 0);
    } finally {
      leader.destroyForcibly();
      if (survivor != null) {
        survivor.close();
      }
    }
  }

  private static String holder(KubernetesClient client) {
    Lease lease = client.leases().inNamespace("gloo-system").withName(LEASE_NAME).get();
    return lease == null || lease.getSpec() == null ? null : lease.getSpec().getHolderIdentity();
  }

  private static String lastLines(Path out) {
    try {
      List<String> lines = Files.readAllLines(out);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    } catch (IOException e) {
      return e.toString();
    }
  }
}
