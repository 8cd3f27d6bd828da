package io.shardgate.sharding.discovery;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The passing instances of one Consul service in each data center watched for it. Immutable value. The watcher
 * keeps the very same object while no data center's answer changed, so a consumer can tell by identity which
 * services changed.
 *
 * @param service the Consul service name
 * @param byDataCenter per data center watched, its passing instances, sorted; a data center where the service has
 *     none maps to an empty list
 */
public record ConsulServiceEndpoints(String service, SortedMap<String, List<ConsulInstance>> byDataCenter)
    implements DiscoveredEndpoints {

  public ConsulServiceEndpoints {
    Objects.requireNonNull(service, "service");
    SortedMap<String, List<ConsulInstance>> copy = new TreeMap<>();
    for (Map.Entry<String, List<ConsulInstance>> e : byDataCenter.entrySet()) {
      List<ConsulInstance> sorted = new ArrayList<>(e.getValue());
      Collections.sort(sorted);
      copy.put(e.getKey(), List.copyOf(sorted));
    }
    byDataCenter = Collections.unmodifiableSortedMap(copy);
  }

  /** The prefix of Consul service keys in {@link EndpointState}. */
  public static final String KEY_PREFIX = "consul:";

  /** {@code consul:<service>}, the key of {@link EndpointState}. */
  @Override
  public String key() {
    return key(service);
  }

  /** The key of a Consul service in {@link EndpointState}: {@code consul:<service>}. */
  public static String key(String service) {
    return KEY_PREFIX + service;
  }

  /** The instances in {@code dataCenters} (every data center watched when empty), in data center order. */
  public List<ConsulInstance> in(List<String> dataCenters) {
    List<ConsulInstance> out = new ArrayList<>();
    byDataCenter.forEach((dc, instances) -> {
      if (dataCenters.isEmpty() || dataCenters.contains(dc)) {
        out.addAll(instances);
      }
    });
    return out;
  }
}
