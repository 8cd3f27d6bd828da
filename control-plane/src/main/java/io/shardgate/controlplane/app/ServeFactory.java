package io.shardgate.controlplane.app;

import io.grpc.BindableService;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.source.DirectorySource;
import io.shardgate.controlplane.state.LastGoodStore;
import io.shardgate.snapshot.ShardDiscoveryServer;
import io.shardgate.snapshot.ShardSnapshotCache;
import jakarta.inject.Named;
import jakarta.inject.Singleton;
import java.nio.file.Path;

/**
 * Wiring of the {@code serve} process: snapshot cache, ADS service (registered with Micronaut's gRPC server because
 * it is a {@link BindableService} bean), pipeline and the directory source. Only this package knows Micronaut.
 */
@Factory
public class ServeFactory {

  @Singleton
  ShardSnapshotCache snapshotCache() {
    return new ShardSnapshotCache();
  }

  @Singleton
  ShardDiscoveryServer discoveryServer(ShardSnapshotCache cache) {
    return new ShardDiscoveryServer(cache);
  }

  @Singleton
  @Named("ads")
  BindableService aggregatedDiscoveryService(ShardDiscoveryServer server) {
    return server.aggregatedDiscoveryService();
  }

  @Singleton
  ShardPipeline pipeline(ShardSnapshotCache cache, @Value("${shardgate.state-dir}") String stateDir) {
    return new ShardPipeline(cache, new LastGoodStore(Path.of(stateDir).toAbsolutePath().normalize()));
  }

  @Singleton
  @Bean(preDestroy = "close")
  DirectorySource directorySource(@Value("${shardgate.config-dir}") String configDir, ShardPipeline pipeline) {
    Path root = Path.of(configDir).toAbsolutePath().normalize();
    return new DirectorySource(root, contents -> pipeline.accept(ConfigInput.of(root.toString(), contents)));
  }
}
