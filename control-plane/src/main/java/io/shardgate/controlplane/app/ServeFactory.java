package io.shardgate.controlplane.app;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.grpc.BindableService;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Value;
import io.shardgate.controlplane.metrics.ShardgateMetrics;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.source.ConsulKvClient;
import io.shardgate.controlplane.source.ConsulKvSource;
import io.shardgate.controlplane.source.DirectorySource;
import io.shardgate.controlplane.source.KubernetesSource;
import io.shardgate.controlplane.state.LastGoodStore;
import io.shardgate.controlplane.status.EnvoyRejections;
import io.shardgate.controlplane.status.KubernetesStatusWriter;
import io.shardgate.controlplane.status.LeaderElection;
import io.shardgate.snapshot.ShardDiscoveryServer;
import io.shardgate.snapshot.ShardSnapshotCache;
import jakarta.inject.Named;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Wiring of the {@code serve} process: snapshot cache, ADS service (registered with Micronaut's gRPC server because
 * it is a {@link BindableService} bean), pipeline, the config source (the directory, or Kubernetes with
 * {@code --kubernetes}, with the status writer and the leader election that decides which replica writes), and the
 * metrics that observe all three.
 * Only this package knows Micronaut.
 */
@Factory
public class ServeFactory {

  /** The property that selects the Kubernetes source ({@code serve --kubernetes}). */
  public static final String KUBERNETES = "shardgate.kubernetes";

  /** The property that selects the Consul KV source ({@code serve --consul ADDR}): the agent's address. */
  public static final String CONSUL = "shardgate.consul.address";
  /** Prefix of the Consul source's other properties: root-key, token-file, ca-file, datacenter. */
  public static final String CONSUL_PREFIX = "shardgate.consul.";

  /** The validation webhook's port ({@code serve --webhook-port}); without it there is no webhook. */
  public static final String WEBHOOK_PORT = "shardgate.webhook.port";
  public static final String WEBHOOK_ADDRESS = "shardgate.webhook.address";
  public static final String WEBHOOK_CERT = "shardgate.webhook.cert";
  public static final String WEBHOOK_KEY = "shardgate.webhook.key";
  /** How often the webhook's certificate files are checked for changes (a Micronaut duration such as {@code 10s}). */
  public static final String WEBHOOK_RELOAD_INTERVAL = "shardgate.webhook.reload-interval";

  /** Closed with the context: that stops its scheduler thread (stage timers, paced responses). */
  @Singleton
  @Bean(preDestroy = "close")
  ShardSnapshotCache snapshotCache() {
    return new ShardSnapshotCache();
  }

  /** The one registry of the process; {@code GET /metrics} ({@link MetricsController}) renders it. */
  @Singleton
  @Bean(preDestroy = "close")
  PrometheusMeterRegistry meterRegistry() {
    return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  }

  @Singleton
  @Bean(preDestroy = "close")
  ShardgateMetrics metrics(PrometheusMeterRegistry registry, ShardSnapshotCache cache) {
    ShardgateMetrics metrics = new ShardgateMetrics(registry, cache);
    metrics.bindJvm();
    return metrics;
  }

  @Singleton
  ShardDiscoveryServer discoveryServer(ShardSnapshotCache cache, ShardgateMetrics metrics) {
    return new ShardDiscoveryServer(cache, List.of(), metrics);
  }

  @Singleton
  @Named("ads")
  BindableService aggregatedDiscoveryService(ShardDiscoveryServer server) {
    return server.aggregatedDiscoveryService();
  }

  /** Opened at start, so a state directory another process holds fails the start at once, with its holder. */
  @Singleton
  @Bean(preDestroy = "close")
  LastGoodStore lastGoodStore(@Value("${shardgate.state-dir}") String stateDir) {
    return LastGoodStore.open(Path.of(stateDir).toAbsolutePath().normalize());
  }

  @Singleton
  ShardPipeline pipeline(ShardSnapshotCache cache, LastGoodStore store, ShardgateMetrics metrics) {
    return new ShardPipeline(cache, store, metrics);
  }

  /**
   * The validation webhook, with {@code shardgate.webhook.port}: created with the context (not on first use), so its
   * port is open as soon as the xDS and admin ports are.
   */
  @Context
  @Bean(preDestroy = "close")
  @Requires(property = WEBHOOK_PORT)
  ValidationWebhook validationWebhook(ShardPipeline pipeline, ShardgateMetrics metrics,
      @Value("${" + WEBHOOK_PORT + "}") int port,
      @Value("${" + WEBHOOK_ADDRESS + ":127.0.0.1}") String address,
      @Value("${" + WEBHOOK_CERT + "}") String cert,
      @Value("${" + WEBHOOK_KEY + "}") String key,
      @Value("${" + WEBHOOK_RELOAD_INTERVAL + ":10s}") Duration reloadInterval) {
    return new ValidationWebhook(pipeline, address, port, Path.of(cert), Path.of(key), reloadInterval,
        metrics::admission);
  }

  /** The directory source, unless {@code shardgate.kubernetes} is true or a Consul address is set. */
  @Singleton
  @Bean(preDestroy = "close")
  @Requires(property = KUBERNETES, notEquals = "true")
  @Requires(missingProperty = CONSUL)
  DirectorySource directorySource(@Value("${shardgate.config-dir}") String configDir, ShardPipeline pipeline,
      ShardgateMetrics metrics) {
    Path root = Path.of(configDir).toAbsolutePath().normalize();
    DirectorySource source =
        new DirectorySource(root, contents -> pipeline.accept(ConfigInput.of(root.toString(), contents)));
    metrics.bindSource(source);
    return source;
  }

  /**
   * The Consul KV source, with {@code shardgate.consul.address}: the token from {@code shardgate.consul.token-file},
   * else {@code CONSUL_HTTP_TOKEN}.
   */
  @Singleton
  @Bean(preDestroy = "close")
  @Requires(property = CONSUL)
  ConsulKvSource consulKvSource(@Value("${" + CONSUL + "}") String address,
      @Value("${" + CONSUL_PREFIX + "root-key:" + ConsulKvSource.DEFAULT_ROOT_KEY + "}") String rootKey,
      @Value("${" + CONSUL_PREFIX + "token-file:}") String tokenFile,
      @Value("${" + CONSUL_PREFIX + "ca-file:}") String caFile,
      @Value("${" + CONSUL_PREFIX + "datacenter:}") String datacenter, ShardPipeline pipeline) {
    ConsulKvClient.Options options;
    try {
      options = ConsulKvClient.Options.resolve(address, tokenFile.isEmpty() ? null : Path.of(tokenFile),
          caFile.isEmpty() ? null : Path.of(caFile), datacenter.isEmpty() ? null : datacenter);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the Consul token file " + tokenFile, e);
    }
    return new ConsulKvSource(new ConsulKvClient(options), ConsulKvSource.Options.defaults(rootKey), pipeline);
  }

  /**
   * The API server's client: the kubeconfig at {@code shardgate.kubeconfig} when set, else fabric8's usual
   * resolution ({@code KUBECONFIG}, {@code ~/.kube/config}, then the in-cluster service account).
   */
  @Singleton
  @Bean(preDestroy = "close")
  @Requires(property = KUBERNETES, value = "true")
  KubernetesClient kubernetesClient(@Value("${shardgate.kubeconfig:}") String kubeconfig) {
    KubernetesClientBuilder builder = new KubernetesClientBuilder();
    if (!kubeconfig.isEmpty()) {
      try {
        builder.withConfig(Config.fromKubeconfig(Files.readString(Path.of(kubeconfig))));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the kubeconfig " + kubeconfig, e);
      }
    }
    return builder.build();
  }

  /** The Kubernetes source, when {@code shardgate.kubernetes} is true. */
  @Singleton
  @Bean(preDestroy = "close")
  @Requires(property = KUBERNETES, value = "true")
  KubernetesSource kubernetesSource(KubernetesClient client, ShardPipeline pipeline, ShardgateMetrics metrics) {
    KubernetesSource source = new KubernetesSource(client, pipeline);
    metrics.bindSource(source);
    return source;
  }

  /**
   * The status writer, woken after every pipeline pass; it writes only while this replica leads
   * ({@link #leaderElection}).
   */
  @Singleton
  @Bean(preDestroy = "close")
  @Requires(property = KUBERNETES, value = "true")
  KubernetesStatusWriter statusWriter(KubernetesClient client, ShardPipeline pipeline, ShardSnapshotCache cache) {
    KubernetesStatusWriter writer = new KubernetesStatusWriter(client, pipeline::latest,
        t -> EnvoyRejections.of(t, cache), KubernetesStatusWriter.DEFAULT_MIN_INTERVAL);
    pipeline.addPassListener(writer::wake);
    return writer;
  }

  /**
   * The Lease election that makes one replica the status writer; started with the source ({@link SourceStarter}).
   * Empty properties take {@link LeaderElection.Options#defaults()}.
   */
  @Singleton
  @Bean(preDestroy = "close")
  @Requires(property = KUBERNETES, value = "true")
  LeaderElection leaderElection(KubernetesClient client, KubernetesStatusWriter writer,
      @Value("${shardgate.leader-election.namespace:}") String namespace,
      @Value("${shardgate.leader-election.id:}") String id,
      @Value("${shardgate.leader-election.identity:}") String identity,
      @Value("${shardgate.leader-election.lease-ms:0}") long leaseMs,
      @Value("${shardgate.leader-election.renew-ms:0}") long renewMs,
      @Value("${shardgate.leader-election.retry-ms:0}") long retryMs) {
    LeaderElection.Options d = LeaderElection.Options.defaults();
    LeaderElection.Options options = new LeaderElection.Options(
        namespace.isEmpty() ? d.namespace() : namespace, id.isEmpty() ? d.name() : id,
        identity.isEmpty() ? d.identity() : identity,
        leaseMs > 0 ? Duration.ofMillis(leaseMs) : d.leaseDuration(),
        renewMs > 0 ? Duration.ofMillis(renewMs) : d.renewDeadline(),
        retryMs > 0 ? Duration.ofMillis(retryMs) : d.retryPeriod(), true);
    return new LeaderElection(client, options, writer::setActive);
  }
}
