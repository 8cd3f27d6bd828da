package io.shardgate.controlplane.app;

import io.micronaut.context.annotation.Requires;
import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.grpc.server.GrpcEmbeddedServer;
import io.micronaut.runtime.server.event.ServerStartupEvent;
import io.shardgate.controlplane.source.ConsulServiceRegistration;
import jakarta.inject.Singleton;

/**
 * Starts the Consul registration ({@code serve --consul-register}) once the gRPC server has opened the xDS port, so
 * the agent never lists an address that refuses connections. The HTTP (admin) server's startup event comes first and
 * is ignored: it is what starts the gRPC server.
 */
@Singleton
@Requires(property = ServeFactory.CONSUL_REGISTER, value = "true")
public class ConsulRegistrationStarter implements ApplicationEventListener<ServerStartupEvent> {

  private final ConsulServiceRegistration registration;

  public ConsulRegistrationStarter(ConsulServiceRegistration registration) {
    this.registration = registration;
  }

  @Override
  public void onApplicationEvent(ServerStartupEvent event) {
    if (event.getSource() instanceof GrpcEmbeddedServer) {
      registration.start();
    }
  }
}
