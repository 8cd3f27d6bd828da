package io.shardgate.controlplane.app;

import io.micronaut.context.annotation.Requires;
import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.core.order.Ordered;
import io.micronaut.runtime.server.event.ServerShutdownEvent;
import io.shardgate.controlplane.source.ConsulServiceRegistration;
import jakarta.inject.Singleton;

/**
 * Deregisters from Consul ({@code serve --consul-register}) when Micronaut stops its servers, before any other
 * listener: the HTTP server's shutdown event is what stops the gRPC server, so with the highest precedence the
 * service leaves the agent while the xDS port still answers, whichever of the JVM's shutdown hooks (Micronaut's, or
 * {@code serve}'s own, which deregisters first too) runs first.
 */
@Singleton
@Requires(property = ServeFactory.CONSUL_REGISTER, value = "true")
public class ConsulDeregistrationOnShutdown implements ApplicationEventListener<ServerShutdownEvent>, Ordered {

  private final ConsulServiceRegistration registration;

  public ConsulDeregistrationOnShutdown(ConsulServiceRegistration registration) {
    this.registration = registration;
  }

  @Override
  public void onApplicationEvent(ServerShutdownEvent event) {
    registration.close();
  }

  @Override
  public int getOrder() {
    return HIGHEST_PRECEDENCE;
  }
}
