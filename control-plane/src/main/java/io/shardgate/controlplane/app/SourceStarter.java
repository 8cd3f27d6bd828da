package io.shardgate.controlplane.app;

import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.context.event.StartupEvent;
import io.shardgate.controlplane.source.ConfigSource;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts reading the config source once the context is up, on a thread of its own: the first read, the loading of
 * the last good state and the first translation can take seconds on a large configuration, and the xDS and admin
 * ports must not wait for them. Envoys that connect meanwhile wait for the first snapshot of their shard (the
 * snapshot cache parks them), and {@code /ready} answers 503 until it is published.
 */
@Singleton
public class SourceStarter implements ApplicationEventListener<StartupEvent> {

  private static final Logger LOG = LoggerFactory.getLogger(SourceStarter.class);

  private final ConfigSource source;

  public SourceStarter(ConfigSource source) {
    this.source = source;
  }

  @Override
  public void onApplicationEvent(StartupEvent event) {
    Thread first = new Thread(() -> {
      try {
        source.start();
      } catch (RuntimeException e) {
        LOG.error("Cannot start reading the {}: {}", source.describe(), e.getMessage(), e);
      }
    }, "shardgate-first-read");
    first.setDaemon(true);
    first.start();
  }
}
