package io.shardgate.sharding.discovery;

import java.util.List;
import java.util.Objects;

/**
 * One instance of a Consul service that passes its health checks, as Consul's health API lists it. Immutable value;
 * equal instances are equal records, so an unchanged answer gives equal lists.
 *
 * @param dataCenter the data center the instance is registered in
 * @param node the Consul node it runs on
 * @param serviceId the instance's service ID (unique on its node)
 * @param address the service address, else the node's address (as Gloo takes it)
 * @param port the service port
 * @param tags the instance's tags, as registered
 */
public record ConsulInstance(String dataCenter, String node, String serviceId, String address, int port,
    List<String> tags) implements Comparable<ConsulInstance> {

  public ConsulInstance {
    Objects.requireNonNull(dataCenter, "dataCenter");
    Objects.requireNonNull(node, "node");
    Objects.requireNonNull(serviceId, "serviceId");
    Objects.requireNonNull(address, "address");
    tags = List.copyOf(tags);
  }

  /** Data center, address, port, node, then service ID: the order Envoy is given, whatever order Consul used. */
  @Override
  public int compareTo(ConsulInstance o) {
    int c = dataCenter.compareTo(o.dataCenter);
    if (c == 0) {
      c = address.compareTo(o.address);
    }
    if (c == 0) {
      c = Integer.compare(port, o.port);
    }
    if (c == 0) {
      c = node.compareTo(o.node);
    }
    return c != 0 ? c : serviceId.compareTo(o.serviceId);
  }
}
