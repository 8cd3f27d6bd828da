package io.shardgate.controlplane.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.source.KubernetesSource;
import io.shardgate.controlplane.status.EnvoyRejections;
import io.shardgate.controlplane.status.KubernetesStatusWriter;
import io.shardgate.controlplane.status.LeaderElection;
import io.shardgate.controlplane.status.TeamFixtures;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One control plane's Kubernetes stack for the status tests, wired as ServeFactory wires it: its own client, the
 * Kubernetes source, the pipeline with its snapshot cache, the status writer woken after each pass and, when given
 * options, the Lease election that activates the writer. Closing it stops everything it started (the Lease is
 * released only if the options say so).
 */
final class StatusStack implements AutoCloseable {

  final KubernetesClient client;
  final ShardSnapshotCache cache = new ShardSnapshotCache();
  final ShardPipeline pipeline = new ShardPipeline(cache);
  final KubernetesSource source;
  final KubernetesStatusWriter writer;
  final LeaderElection election;
  volatile long becameLeaderNanos;

  /** A stack whose writer is active at once (no election). */
  static StatusStack active(Path kubeconfig) throws Exception {
    StatusStack s = new StatusStack(kubeconfig, null, b -> { });
    s.writer.setActive(true);
    return s;
  }

  StatusStack(Path kubeconfig, LeaderElection.Options election, Consumer<Boolean> alsoTell) throws Exception {
    client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(Files.readString(kubeconfig))).build();
    source = new KubernetesSource(client, pipeline);
    writer = new KubernetesStatusWriter(client, pipeline::latest, t -> EnvoyRejections.of(t, cache),
        KubernetesStatusWriter.DEFAULT_MIN_INTERVAL);
    pipeline.addPassListener(writer::wake);
    this.election = election == null ? null : new LeaderElection(client, election, leading -> {
      if (leading) {
        becameLeaderNanos = System.nanoTime();
      }
      writer.setActive(leading);
      alsoTell.accept(leading);
    });
    if (this.election != null) {
      this.election.start();
    }
    source.start();
  }

  @Override
  public void close() {
    if (election != null) {
      election.close();
    }
    writer.close();
    source.close();
    cache.close();
    client.close();
  }

  // ---- objects on the API server ----

  static MixedOperation<GenericKubernetesResource, GenericKubernetesResourceList,
      Resource<GenericKubernetesResource>> resources(KubernetesClient client, String kind) {
    KubernetesSource.Kind k = KubernetesSource.KINDS.stream().filter(x -> x.kind().equals(kind)).findFirst()
        .orElseThrow();
    return client.genericKubernetesResources(k.context());
  }

  static void create(KubernetesClient client, String yaml) {
    GenericKubernetesResource r = client.getKubernetesSerialization().unmarshal(yaml, GenericKubernetesResource.class);
    resources(client, r.getKind()).inNamespace(r.getMetadata().getNamespace()).resource(r).create();
  }

  /** The object's {@code status.statuses.<ns>} entry, or an empty map. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> namespacedStatus(KubernetesClient client, String kind, String ns, String name,
      String writeNamespace) {
    Map<String, Object> status = status(client, kind, ns, name);
    Object statuses = status.get("statuses");
    return statuses instanceof Map<?, ?> m && m.get(writeNamespace) instanceof Map<?, ?> e
        ? (Map<String, Object>) e : Map.of();
  }

  /** The object's whole {@code status}, as {@code kubectl get -o yaml} shows it, or an empty map. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> status(KubernetesClient client, String kind, String ns, String name) {
    GenericKubernetesResource r = resources(client, kind).inNamespace(ns).withName(name).get();
    return r != null && r.getAdditionalProperties().get("status") instanceof Map<?, ?> m
        ? (Map<String, Object>) m : Map.of();
  }

  /** The fixtures' namespaces (gloo-system, team) and the Gateway and Upstream of shard a. */
  static void createTeam(KubernetesClient client) {
    KubeObjects.namespaces(client, "gloo-system", "team");
    create(client, GATEWAY);
    create(client, UPSTREAM);
  }

  static String vs(String name, String domain, String extra) {
    return TeamFixtures.vs(name, domain, extra);
  }

  static final String GATEWAY = TeamFixtures.GATEWAY;

  static final String UPSTREAM = TeamFixtures.UPSTREAM;

  static final Duration BOUND = Duration.ofSeconds(45);
}
