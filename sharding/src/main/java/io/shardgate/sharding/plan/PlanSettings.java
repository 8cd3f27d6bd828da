package io.shardgate.sharding.plan;

import io.shardgate.sharding.model.Settings;

/**
 * What the shard plan needs to know beyond the resources: the {@code spec.shardgate} block of Settings and how a
 * shard's address is found when Settings does not name it. Immutable value.
 *
 * @param allUpstreamsPerShard every shard gets every Upstream's cluster (Gloo's behaviour) instead of only the ones
 *     its routes reach
 * @param edge the edge shard's settings
 * @param addressDefault where a shard without an entry in {@code edge.shardAddresses} is reached
 */
public record PlanSettings(boolean allUpstreamsPerShard, Settings.Edge edge, AddressDefault addressDefault) {

  /** How the edge reaches a shard that {@code shardAddresses} does not name. */
  public enum AddressDefault {
    /** It does not: the shard's domains are not routed by the edge, and Settings gets a warning (directory mode). */
    NONE,
    /**
     * The shard's gateway-proxy Service, as Gloo's Helm chart names it: {@code <proxyName>.<writeNamespace>
     * .svc.cluster.local:80} (Kubernetes mode).
     */
    KUBERNETES_SERVICE
  }

  public PlanSettings {
    edge = edge == null ? Settings.Edge.DEFAULT : edge;
    addressDefault = addressDefault == null ? AddressDefault.NONE : addressDefault;
  }

  /** The plan settings of {@code settings} for a directory source (no default shard addresses). */
  public static PlanSettings of(Settings settings) {
    return of(settings, AddressDefault.NONE);
  }

  public static PlanSettings of(Settings settings, AddressDefault addressDefault) {
    Settings.Shardgate sg = settings.shardgate();
    return new PlanSettings(sg.allUpstreamsPerShard(), sg.edge(), addressDefault);
  }

  /** Where the edge sends a shard's plain HTTP, or null when it cannot know. */
  Settings.HostPort httpAddress(String proxyName, String writeNamespace) {
    Settings.HostPort configured = edge.shardAddresses().get(proxyName);
    if (configured != null || addressDefault == AddressDefault.NONE) {
      return configured;
    }
    return new Settings.HostPort(proxyName + "." + writeNamespace + ".svc.cluster.local", 80);
  }
}
