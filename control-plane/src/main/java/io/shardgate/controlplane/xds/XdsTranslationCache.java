package io.shardgate.controlplane.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.shardgate.sharding.ir.ProxyListener;
import io.shardgate.sharding.ir.ProxyVirtualHost;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.ir.UpstreamCluster;
import io.shardgate.sharding.model.SameObjects;
import io.shardgate.snapshot.ShardResources;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * xDS translation of one shard that reuses what its unchanged parts produced the time before: a virtual host that
 * is the same object as last time (gateway translation hands unchanged ones over as such) keeps its Envoy virtual
 * host, an unchanged cluster its Envoy cluster, and a listener whose virtual hosts are all the same keeps its route
 * configuration object, so the snapshot cache finds nothing new to hash or send. The result equals
 * {@link XdsTranslator#translate} from scratch.
 *
 * <p>Stage: xDS translation. Stateful (its memos, which keep only what the last call used); not thread-safe: use one
 * per shard, from one thread.
 */
public final class XdsTranslationCache {

  private record Host(VirtualHost proto, boolean faults, boolean cors) {}

  private record Routes(List<VirtualHost> hosts, RouteConfiguration proto) {}

  private record ListenerKey(ProxyListener listener, boolean faults, boolean cors) {}

  private IdentityHashMap<ProxyVirtualHost, Host> hosts = new IdentityHashMap<>();
  private Map<UpstreamCluster, Cluster> clusters = new HashMap<>();
  private Map<String, Routes> routes = new HashMap<>();
  private Map<ListenerKey, Listener> listeners = new HashMap<>();

  public ShardResources translate(ShardConfig shard) {
    IdentityHashMap<ProxyVirtualHost, Host> nextHosts = new IdentityHashMap<>();
    Map<String, Routes> nextRoutes = new HashMap<>();
    Map<ListenerKey, Listener> nextListeners = new HashMap<>();
    List<Listener> ls = new ArrayList<>();
    List<RouteConfiguration> rcs = new ArrayList<>();
    Map<String, Object> listenerNames = new HashMap<>();
    for (ProxyListener l : shard.proxy().listeners()) {
      if (l.isSsl() && l.filterChains().isEmpty()) {
        continue; // gateway translation leaves these out; a TLS listener without a chain could only be plaintext
      }
      unique(listenerNames, "listener", l.name(), l.gateway());
      List<VirtualHost> protos = new ArrayList<>(l.virtualHosts().size());
      boolean faults = false;
      boolean cors = false;
      Map<String, Object> hostNames = new HashMap<>();
      for (ProxyVirtualHost vh : l.virtualHosts()) {
        unique(hostNames, "virtual host of " + l.name(), XdsNames.virtualHost(vh.name()), vh.virtualService());
        Host h = hosts.get(vh);
        if (h == null) {
          h = new Host(XdsTranslator.virtualHost(vh), RouteOptionsTranslator.needsFaultFilter(vh),
              RouteOptionsTranslator.needsCorsFilter(vh));
        }
        nextHosts.put(vh, h);
        protos.add(h.proto());
        faults |= h.faults();
        cors |= h.cors();
      }
      Routes before = routes.get(l.name());
      Routes rc = before != null && SameObjects.inOrder(before.hosts(), protos)
          ? before
          : new Routes(protos, XdsTranslator.routeConfiguration(l.name(), protos));
      nextRoutes.put(l.name(), rc);
      rcs.add(rc.proto());
      // A listener depends on its name, address, port, filter chains and the filters its routes need, not on its
      // routes.
      ProxyListener shape =
          new ProxyListener(l.name(), l.bindAddress(), l.bindPort(), List.of(), l.gateway(), l.filterChains());
      ListenerKey key = new ListenerKey(shape, faults, cors);
      Listener listener = listeners.get(key);
      if (listener == null) {
        listener = XdsTranslator.listener(l, RouteOptionsTranslator.httpFilters(faults, cors));
      }
      nextListeners.put(key, listener);
      ls.add(listener);
    }
    Map<UpstreamCluster, Cluster> nextClusters = new HashMap<>();
    List<Cluster> cs = new ArrayList<>(shard.clusters().size());
    Map<String, Object> clusterNames = new HashMap<>();
    for (UpstreamCluster u : shard.clusters()) {
      unique(clusterNames, "cluster", XdsNames.cluster(u.upstream()), "Upstream " + u.upstream());
      Cluster c = clusters.get(u);
      if (c == null) {
        c = XdsTranslator.cluster(u);
      }
      nextClusters.put(u, c);
      cs.add(c);
    }
    hosts = nextHosts;
    routes = nextRoutes;
    listeners = nextListeners;
    clusters = nextClusters;
    return new ShardResources(cs, List.of(), ls, rcs, List.of());
  }

  /** Records that {@code source} becomes Envoy {@code what} {@code envoyName}; a second source of it is a bug. */
  private static void unique(Map<String, Object> seen, String what, String envoyName, Object source) {
    Object earlier = seen.putIfAbsent(envoyName, source);
    if (earlier != null) {
      throw new EnvoyNameCollisionException(what, envoyName, earlier, source);
    }
  }
}
