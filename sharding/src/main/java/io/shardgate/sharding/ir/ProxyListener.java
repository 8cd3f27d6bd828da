package io.shardgate.sharding.ir;

import io.shardgate.sharding.model.ResourceKey;
import java.util.List;

/**
 * One HTTP listener of a Proxy, built from one Gateway.
 *
 * @param name {@code listener-<bindAddress>-<bindPort>}, as Gloo names it
 * @param virtualHosts sorted by name
 * @param gateway the Gateway it was built from
 */
public record ProxyListener(
    String name, String bindAddress, int bindPort, List<ProxyVirtualHost> virtualHosts, ResourceKey gateway) {

  public ProxyListener {
    virtualHosts = List.copyOf(virtualHosts);
  }

  /** The TLS secrets this listener's filter chains reference over SDS, sorted. */
  public List<SecretUse> secretUses() {
    return List.of();
  }
}
