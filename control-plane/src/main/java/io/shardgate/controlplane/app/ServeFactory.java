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
import io.micronaut.context.condition.Condition;
import io.micronaut.context.condition.ConditionContext;
import io.micronaut.core.value.PropertyResolver;
import io.micronaut.core.annotation.Nullable;
import io.shardgate.controlplane.metrics.ShardgateMetrics;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.source.ConsulCatalogWatcher;
import io.shardgate.controlplane.source.ConsulKvClient;
import io.shardgate.controlplane.source.ConsulKvSource;
import io.shardgate.controlplane.source.ConsulServiceRegistration;
import io.shardgate.controlplane.source.DirectorySource;
import io.shardgate.controlplane.source.KubernetesSource;
import io.shardgate.controlplane.source.VaultSecretStore;
import io.shardgate.controlplane.source.VaultSettings;
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
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wiring of the {@code serve} process: snapshot cache, ADS service (registered with Micronaut's gRPC server because
 * it is a {@link BindableService} bean), pipeline, the config source (the directory, or Kubernetes with
 * {@code --kubernetes}, with the status writer and the leader election that decides which replica writes), Consul
 * service discovery in front of the source when a Consul agent is known, the Vault secret store behind it with
 * {@code --vault-addr}, and the metrics that observe them.
 * Only this package knows Micronaut.
 */
@Factory
public class ServeFactory {

  private static final Logger LOG = LoggerFactory.getLogger(ServeFactory.class);

  /** The property that selects the Kubernetes source ({@code serve --kubernetes}). */
  public static final String KUBERNETES = "shardgate.kubernetes";

  /** The property that selects the Consul KV source ({@code serve --consul ADDR}): the agent's address. */
  public static final String CONSUL = "shardgate.consul.address";
  /** Prefix of the Consul source's other properties: root-key, token-file, ca-file, datacenter. */
  public static final String CONSUL_PREFIX = "shardgate.consul.";
  /**
   * The Consul agent for service discovery and registration ({@code serve --consul-agent ADDR}), beside another
   * source; with {@link #CONSUL}, that agent serves both. Token and CA come from the {@link #CONSUL_PREFIX} properties
   * either way.
   */
  public static final String CONSUL_AGENT = "shardgate.consul-agent.address";
  /** Whether every Consul service also becomes an Upstream ({@code serve --consul-discovery}). */
  public static final String CONSUL_DISCOVERY = "shardgate.consul.discovery";

  /** Set to true by {@code serve --consul-register}: the xDS endpoint is registered in the agent. */
  public static final String CONSUL_REGISTER = "shardgate.consul.register.enabled";
  /** Prefix of the registration's other properties (see {@link #consulServiceRegistration}). */
  public static final String CONSUL_REGISTER_PREFIX = "shardgate.consul.register.";

  /** The validation webhook's port ({@code serve --webhook-port}); without it there is no webhook. */
  public static final String WEBHOOK_PORT = "shardgate.webhook.port";
  public static final String WEBHOOK_ADDRESS = "shardgate.webhook.address";
  public static final String WEBHOOK_CERT = "shardgate.webhook.cert";
  public static final String WEBHOOK_KEY = "shardgate.webhook.key";
  /** How often the webhook's certificate files are checked for changes (a Micronaut duration such as {@code 10s}). */
  public static final String WEBHOOK_RELOAD_INTERVAL = "shardgate.webhook.reload-interval";

  /** Vault's address ({@code serve --vault-addr}); without it there is no Vault secret store. */
  public static final String VAULT_ADDR = "shardgate.vault.addr";
  public static final String VAULT_MOUNT = "shardgate.vault.mount";
  public static final String VAULT_PATH_PREFIX = "shardgate.vault.path-prefix";
  public static final String VAULT_POLL_MS = "shardgate.vault.poll-ms";
  public static final String VAULT_TOKEN_FILE = "shardgate.vault.token-file";
  public static final String VAULT_ROLE_ID = "shardgate.vault.role-id";
  public static final String VAULT_SECRET_ID_FILE = "shardgate.vault.secret-id-file";
  public static final String VAULT_APPROLE_MOUNT = "shardgate.vault.approle-mount";
  public static final String VAULT_CA_FILE = "shardgate.vault.ca-file";

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

  /**
   * The Vault secret store, with {@code shardgate.vault.addr}: every source's inputs pass through it
   * ({@link #sourceSink}). The token is never a property: a file, an AppRole login, or {@code VAULT_TOKEN}.
   */
  @Singleton
  @Bean(preDestroy = "close")
  @Requires(property = VAULT_ADDR)
  VaultSecretStore vaultSecretStore(@Value("${" + VAULT_ADDR + "}") String address,
      @Value("${" + VAULT_MOUNT + ":" + VaultSettings.DEFAULT_MOUNT + "}") String mount,
      @Value("${" + VAULT_PATH_PREFIX + ":" + VaultSettings.GLOO_PATH_PREFIX + "}") String pathPrefix,
      @Value("${" + VAULT_POLL_MS + ":30000}") long pollMs,
      @Value("${" + VAULT_TOKEN_FILE + ":}") String tokenFile,
      @Value("${" + VAULT_ROLE_ID + ":}") String roleId,
      @Value("${" + VAULT_SECRET_ID_FILE + ":}") String secretIdFile,
      @Value("${" + VAULT_APPROLE_MOUNT + ":approle}") String approleMount,
      @Value("${" + VAULT_CA_FILE + ":}") String caFile) {
    VaultSecretStore store = openVaultSecretStore(address, mount, pathPrefix, pollMs, tokenFile, roleId,
        secretIdFile, approleMount, caFile);
    LOG.info("TLS secrets referenced by the config are read from {} first, every {}", store.describe(),
        store.pollInterval());
    return store;
  }

  /**
   * The Vault secret store for the {@code shardgate.vault.*} properties (as {@code VaultOptions} gives them), for
   * the one-shot commands ({@code validate}, {@code translate}) that read Vault once as {@code serve} would.
   */
  public static VaultSecretStore openVaultSecretStore(Map<String, Object> properties) {
    Function<String, String> p = key -> properties.containsKey(key) ? String.valueOf(properties.get(key)) : "";
    return openVaultSecretStore(p.apply(VAULT_ADDR),
        p.apply(VAULT_MOUNT).isEmpty() ? VaultSettings.DEFAULT_MOUNT : p.apply(VAULT_MOUNT),
        p.apply(VAULT_PATH_PREFIX).isEmpty() ? VaultSettings.GLOO_PATH_PREFIX : p.apply(VAULT_PATH_PREFIX),
        p.apply(VAULT_POLL_MS).isEmpty() ? 30_000 : Long.parseLong(p.apply(VAULT_POLL_MS)),
        p.apply(VAULT_TOKEN_FILE), p.apply(VAULT_ROLE_ID), p.apply(VAULT_SECRET_ID_FILE),
        p.apply(VAULT_APPROLE_MOUNT).isEmpty() ? "approle" : p.apply(VAULT_APPROLE_MOUNT), p.apply(VAULT_CA_FILE));
  }

  private static VaultSecretStore openVaultSecretStore(String address, String mount, String pathPrefix, long pollMs,
      String tokenFile, String roleId, String secretIdFile, String approleMount, String caFile) {
    VaultSettings.Credentials credentials = !roleId.isEmpty()
        ? new VaultSettings.AppRole(approleMount, roleId, Path.of(secretIdFile))
        : !tokenFile.isEmpty() ? new VaultSettings.TokenFile(Path.of(tokenFile)) : new VaultSettings.EnvironmentToken();
    VaultSettings settings = new VaultSettings(URI.create(address), mount, pathPrefix, credentials,
        caFile.isEmpty() ? null : Path.of(caFile), Duration.ofMillis(pollMs));
    return new VaultSecretStore(settings, System.getenv("VAULT_TOKEN"));
  }

  /**
   * Consul service discovery, whenever an agent is known ({@code shardgate.consul.address} or
   * {@code shardgate.consul-agent.address}): every source's inputs pass through it ({@link #sourceSink}).
   */
  @Singleton
  @Bean(preDestroy = "close")
  @Requires(condition = ConsulAgentKnown.class)
  ConsulCatalogWatcher consulCatalogWatcher(@Value("${" + CONSUL + ":}") String sourceAddress,
      @Value("${" + CONSUL_AGENT + ":}") String agentAddress,
      @Value("${" + CONSUL_PREFIX + "token-file:}") String tokenFile,
      @Value("${" + CONSUL_PREFIX + "ca-file:}") String caFile,
      @Value("${" + CONSUL_DISCOVERY + ":false}") boolean discovery) {
    ConsulKvClient client = consulClient(sourceAddress.isEmpty() ? agentAddress : sourceAddress, tokenFile, caFile,
        "");
    ConsulCatalogWatcher watcher = new ConsulCatalogWatcher(client, ConsulCatalogWatcher.Options.defaults(discovery));
    LOG.info("consul Upstreams get their endpoints from {}", watcher.describe());
    return watcher;
  }

  /** Whether a Consul agent is configured, as the KV source or for discovery only. */
  public static final class ConsulAgentKnown implements Condition {
    @Override
    public boolean matches(ConditionContext context) {
      return context.getBeanContext() instanceof PropertyResolver p
          && (p.containsProperty(CONSUL) || p.containsProperty(CONSUL_AGENT));
    }
  }

  private static ConsulKvClient consulClient(String address, String tokenFile, String caFile, String datacenter) {
    try {
      return new ConsulKvClient(ConsulKvClient.Options.resolve(address,
          tokenFile.isEmpty() ? null : Path.of(tokenFile), caFile.isEmpty() ? null : Path.of(caFile),
          datacenter.isEmpty() ? null : datacenter));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the Consul token file " + tokenFile, e);
    }
  }

  /**
   * Where a source hands its inputs: the pipeline, through the Vault secret store when there is one, and through
   * Consul service discovery before that when there is an agent (source, discovery, Vault, pipeline).
   */
  static Consumer<ConfigInput> sourceSink(ShardPipeline pipeline, VaultSecretStore vault,
      ConsulCatalogWatcher consul) {
    Consumer<ConfigInput> sink = vault == null ? pipeline : vault.inFrontOf(pipeline);
    return consul == null ? sink : consul.inFrontOf(sink);
  }

  /** The directory source, unless {@code shardgate.kubernetes} is true or a Consul address is set. */
  @Singleton
  @Bean(preDestroy = "close")
  @Requires(property = KUBERNETES, notEquals = "true")
  @Requires(missingProperty = CONSUL)
  DirectorySource directorySource(@Value("${shardgate.config-dir}") String configDir, ShardPipeline pipeline,
      ShardgateMetrics metrics, @Nullable VaultSecretStore vault, @Nullable ConsulCatalogWatcher consul) {
    Path root = Path.of(configDir).toAbsolutePath().normalize();
    Consumer<ConfigInput> sink = sourceSink(pipeline, vault, consul);
    DirectorySource source =
        new DirectorySource(root, contents -> sink.accept(ConfigInput.of(root.toString(), contents)));
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
      @Value("${" + CONSUL_PREFIX + "datacenter:}") String datacenter, ShardPipeline pipeline,
      ShardgateMetrics metrics, @Nullable VaultSecretStore vault, @Nullable ConsulCatalogWatcher consul) {
    ConsulKvSource source = new ConsulKvSource(consulClient(address, tokenFile, caFile, datacenter),
        ConsulKvSource.Options.defaults(rootKey), sourceSink(pipeline, vault, consul));
    metrics.bindSource(source);
    return source;
  }

  /**
   * The registration of the xDS endpoint in the Consul agent, with {@code shardgate.consul.register.enabled}; the
   * agent is the KV source's ({@code shardgate.consul.address}) or {@code shardgate.consul.agent}, with the same
   * token and CA files. Started when the gRPC server is up ({@link ConsulRegistrationStarter}); deregistered before
   * the gRPC server stops ({@code ServeCommand}'s shutdown) and, at the latest, when the context closes.
   */
  @Singleton
  @Bean(preDestroy = "close")
  @Requires(property = CONSUL_REGISTER, value = "true")
  ConsulServiceRegistration consulServiceRegistration(
      @Value("${" + CONSUL + ":}") String kvAddress,
      @Value("${" + CONSUL_AGENT + ":}") String agentAddress,
      @Value("${" + CONSUL_PREFIX + "token-file:}") String tokenFile,
      @Value("${" + CONSUL_PREFIX + "ca-file:}") String caFile,
      @Value("${" + CONSUL_REGISTER_PREFIX + "service-name}") String serviceName,
      @Value("${" + CONSUL_REGISTER_PREFIX + "address}") String address,
      @Value("${grpc.server.port}") int xdsPort,
      @Value("${" + CONSUL_REGISTER_PREFIX + "check-url}") String checkUrl,
      @Value("${" + CONSUL_REGISTER_PREFIX + "check-interval-ms:10000}") long checkIntervalMs,
      @Value("${" + CONSUL_REGISTER_PREFIX + "deregister-after-ms:60000}") long deregisterAfterMs,
      @Value("${" + CONSUL_REGISTER_PREFIX + "recheck-ms:10000}") long recheckMs,
      @Value("${" + CONSUL_REGISTER_PREFIX + "version:unknown}") String version) {
    String agent = kvAddress.isEmpty() ? agentAddress : kvAddress;
    return new ConsulServiceRegistration(
        consulClient(agent.isEmpty() ? ConsulKvClient.DEFAULT_ADDRESS : agent, tokenFile, caFile, ""),
        new ConsulServiceRegistration.Settings(serviceName, address, xdsPort, checkUrl,
            Duration.ofMillis(checkIntervalMs), Duration.ofMillis(deregisterAfterMs), version,
            Duration.ofMillis(recheckMs)));
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
  KubernetesSource kubernetesSource(KubernetesClient client, ShardPipeline pipeline, ShardgateMetrics metrics,
      @Nullable VaultSecretStore vault, @Nullable ConsulCatalogWatcher consul) {
    KubernetesSource source = new KubernetesSource(client, sourceSink(pipeline, vault, consul));
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
