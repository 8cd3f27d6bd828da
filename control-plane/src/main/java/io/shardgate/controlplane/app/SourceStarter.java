package io.shardgate.controlplane.app;

import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.context.event.StartupEvent;
import io.shardgate.controlplane.source.DirectorySource;
import jakarta.inject.Singleton;

/** Starts reading the config source once the context is up, so the first snapshot is set before Envoys connect. */
@Singleton
public class SourceStarter implements ApplicationEventListener<StartupEvent> {

  private final DirectorySource source;

  public SourceStarter(DirectorySource source) {
    this.source = source;
  }

  @Override
  public void onApplicationEvent(StartupEvent event) {
    source.start();
  }
}
