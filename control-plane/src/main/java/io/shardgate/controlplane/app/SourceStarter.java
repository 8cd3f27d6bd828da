package io.shardgate.controlplane.app;

import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.context.event.StartupEvent;
import io.micronaut.core.annotation.Nullable;
import io.shardgate.controlplane.source.ConfigSource;
import io.shardgate.controlplane.status.LeaderElection;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts reading the config source once the context is up, on a thread of its own: the first read, the loading of
 * the last good state and the first translation can take seconds on a large configuration, and the xDS and admin
 * ports must not wait for them. Envoys that connect meanwhile wait for the first snapshot of their shard (the
 * snapshot cache parks them), and {@code /ready} answers 503 until it is published. In Kubernetes mode it also starts
 * the leader election, which decides which replica writes statuses.
 */
@Singleton
public class SourceStarter implements ApplicationEventListener<StartupEvent> {

  private static final Logger LOG = LoggerFactory.getLogger(SourceStarter.class);

  private final ConfigSource source;
  private final LeaderElection election;

  public SourceStarter(ConfigSource source, @Nullable LeaderElection election) {
    this.source = source;
    this.election = election;
  }

  @Override
  public void onApplicationEvent(StartupEvent event) {
    Thread first = new Thread(() -> {
      try {
        if (election != null) {
          election.start(); // every replica serves; the election only decides who writes statuses
        }
        source.start();
      } catch (RuntimeException e) {
        LOG.error("Cannot start reading the {}: {}", source.describe(), e.getMessage(), e);
      }
    }, "shardgate-first-read");
    first.setDaemon(true);
    first.start();
  }
}
