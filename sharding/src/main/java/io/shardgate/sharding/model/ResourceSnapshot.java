package io.shardgate.sharding.model;

import java.util.Comparator;
import java.util.List;

/**
 * All input resources of one moment, each list sorted by namespace/name so that translation never depends on the
 * order a source delivered them in. Immutable; thread-safe.
 */
public record ResourceSnapshot(
    List<Gateway> gateways,
    List<VirtualService> virtualServices,
    List<RouteTable> routeTables,
    List<Upstream> upstreams,
    List<UpstreamGroup> upstreamGroups,
    Settings settings) {

  public static final ResourceSnapshot EMPTY =
      new ResourceSnapshot(List.of(), List.of(), List.of(), List.of(), List.of(), Settings.DEFAULTS);

  public ResourceSnapshot {
    gateways = sorted(gateways);
    virtualServices = sorted(virtualServices);
    routeTables = sorted(routeTables);
    upstreams = sorted(upstreams);
    upstreamGroups = sorted(upstreamGroups);
    settings = settings == null ? Settings.DEFAULTS : settings;
  }

  private static <T extends Resource> List<T> sorted(List<T> in) {
    // Sources that keep their resources sorted (the decoder does) hand over an unmodifiable sorted list: keep it as
    // it is, so an unchanged kind is the very same list from one snapshot to the next.
    ResourceKey previous = null;
    boolean sorted = true;
    for (T r : in) {
      ResourceKey k = r.key();
      if (previous != null && previous.compareTo(k) >= 0) {
        sorted = false;
        break;
      }
      previous = k;
    }
    if (sorted) {
      List<T> copy = List.copyOf(in);
      return copy;
    }
    return in.stream().sorted(Comparator.comparing(Resource::key)).toList();
  }
}
