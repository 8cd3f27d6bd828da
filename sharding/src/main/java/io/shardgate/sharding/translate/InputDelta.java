package io.shardgate.sharding.translate;

import io.shardgate.sharding.decode.DecodedResources;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.Resource;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceSnapshot;
import io.shardgate.sharding.model.VirtualService;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeSet;

/**
 * What differs between two decoded inputs: the keys whose resource, decode status or rejected metadata changed
 * (appeared, disappeared, or is no longer equal), and the namespaces in which RouteTable selections may have
 * changed. Found by walking the sorted inputs side by side, comparing by identity first (a source hands unchanged
 * documents over as the very same objects) and by value when identity differs. Pure; immutable.
 *
 * @param changed every key that differs
 * @param changedVirtualServices the VirtualServices among them that exist now (a Gateway may newly select them)
 * @param routeTableNamespaces namespaces of the RouteTables among them
 */
record InputDelta(Set<ResourceKey> changed, List<VirtualService> changedVirtualServices,
    Set<String> routeTableNamespaces) {

  /** The delta of keys a decoder already knows changed; {@code now} gives the current VirtualServices. */
  static InputDelta of(Set<ResourceKey> changed, DecodedResources now) {
    Set<String> namespaces = new TreeSet<>();
    List<VirtualService> vss = new ArrayList<>();
    Map<ResourceKey, VirtualService> byKey = new HashMap<>();
    boolean anyVirtualService = false;
    for (ResourceKey k : changed) {
      if (k.kind() == Kind.ROUTE_TABLE) {
        namespaces.add(k.namespace());
      }
      anyVirtualService |= k.kind() == Kind.VIRTUAL_SERVICE;
    }
    if (anyVirtualService) {
      for (VirtualService vs : now.snapshot().virtualServices()) {
        if (changed.contains(vs.key())) {
          vss.add(vs);
        }
      }
    }
    return new InputDelta(Collections.unmodifiableSet(new HashSet<>(changed)), List.copyOf(vss),
        Collections.unmodifiableSet(namespaces));
  }

  static InputDelta between(DecodedResources before, DecodedResources now) {
    Set<ResourceKey> changed = new HashSet<>();
    ResourceSnapshot a = before.snapshot();
    ResourceSnapshot b = now.snapshot();
    walk(a.gateways(), b.gateways(), changed);
    walk(a.virtualServices(), b.virtualServices(), changed);
    walk(a.routeTables(), b.routeTables(), changed);
    walk(a.upstreams(), b.upstreams(), changed);
    walk(a.upstreamGroups(), b.upstreamGroups(), changed);
    walk(before.statuses(), now.statuses(), changed);
    walk(before.rejectedMeta(), now.rejectedMeta(), changed);
    List<VirtualService> vss = new ArrayList<>();
    Set<String> namespaces = new TreeSet<>();
    for (ResourceKey k : changed) {
      if (k.kind() == Kind.ROUTE_TABLE) {
        namespaces.add(k.namespace());
      }
    }
    for (VirtualService vs : b.virtualServices()) {
      if (changed.contains(vs.key())) {
        vss.add(vs);
      }
    }
    return new InputDelta(Collections.unmodifiableSet(changed), List.copyOf(vss),
        Collections.unmodifiableSet(namespaces));
  }

  private static <T extends Resource> void walk(List<T> a, List<T> b, Set<ResourceKey> changed) {
    int i = 0;
    int j = 0;
    while (i < a.size() || j < b.size()) {
      if (j >= b.size()) {
        changed.add(a.get(i++).key());
      } else if (i >= a.size()) {
        changed.add(b.get(j++).key());
      } else {
        T x = a.get(i);
        T y = b.get(j);
        int c = x.key().compareTo(y.key());
        if (c < 0) {
          changed.add(x.key());
          i++;
        } else if (c > 0) {
          changed.add(y.key());
          j++;
        } else {
          if (x != y && !x.equals(y)) {
            changed.add(x.key());
          }
          i++;
          j++;
        }
      }
    }
  }

  private static <V> void walk(SortedMap<ResourceKey, V> a, SortedMap<ResourceKey, V> b, Set<ResourceKey> changed) {
    Iterator<Map.Entry<ResourceKey, V>> x = a.entrySet().iterator();
    Iterator<Map.Entry<ResourceKey, V>> y = b.entrySet().iterator();
    Map.Entry<ResourceKey, V> ex = x.hasNext() ? x.next() : null;
    Map.Entry<ResourceKey, V> ey = y.hasNext() ? y.next() : null;
    while (ex != null || ey != null) {
      int c = ex == null ? 1 : ey == null ? -1 : ex.getKey().compareTo(ey.getKey());
      if (c < 0) {
        changed.add(ex.getKey());
        ex = x.hasNext() ? x.next() : null;
      } else if (c > 0) {
        changed.add(ey.getKey());
        ey = y.hasNext() ? y.next() : null;
      } else {
        if (!Objects.equals(ex.getValue(), ey.getValue())) {
          changed.add(ex.getKey());
        }
        ex = x.hasNext() ? x.next() : null;
        ey = y.hasNext() ? y.next() : null;
      }
    }
  }
}
