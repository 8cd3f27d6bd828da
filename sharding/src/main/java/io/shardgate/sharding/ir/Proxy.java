package io.shardgate.sharding.ir;

import java.util.List;

/**
 * The gateway-translation output for one shard: what one proxy name's Envoys serve. Intermediate representation
 * between gateway translation and xDS translation; immutable, and every list is in its final, deterministic order.
 *
 * @param name the proxy name (from Gateway {@code proxyNames})
 * @param namespace the write namespace; {@code namespace~name} is the role its Envoys present
 * @param listeners one per Gateway, sorted by name
 */
public record Proxy(String name, String namespace, List<ProxyListener> listeners) {

  public Proxy {
    listeners = List.copyOf(listeners);
  }

  /** The node role ({@code node.metadata.role}) of this proxy's Envoys. */
  public String role() {
    return namespace + "~" + name;
  }
}
