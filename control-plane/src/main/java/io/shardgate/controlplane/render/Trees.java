package io.shardgate.controlplane.render;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.grpc_credential.v3.FileBasedMetadataConfig;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.report.ResourceStatus;
import java.lang.reflect.RecordComponent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * Turns Shardgate's values (IR records, statuses, Envoy protos) into plain trees and YAML text for people: the
 * {@code translate} command, {@code validate}, debug endpoints and golden files. Pure and thread-safe (a new
 * SnakeYAML instance per call; SnakeYAML instances are not thread-safe).
 *
 * <p>Output is deterministic: record components in declaration order, map keys sorted, protos printed with their
 * fields in descriptor order, nulls and empty collections left out.
 */
public final class Trees {

  private static final JsonFormat.Printer PROTO_PRINTER =
      JsonFormat.printer()
          .usingTypeRegistry(
              JsonFormat.TypeRegistry.newBuilder()
                  .add(HttpConnectionManager.getDescriptor())
                  .add(Router.getDescriptor())
                  .add(UpstreamTlsContext.getDescriptor())
                  .add(HttpProtocolOptions.getDescriptor())
                  .add(FileBasedMetadataConfig.getDescriptor())
                  // Route options: per-route filter configs, their listener filters, the retry priority.
                  .add(Cors.getDescriptor())
                  .add(CorsPolicy.getDescriptor())
                  .add(HTTPFault.getDescriptor())
                  .add(PreviousPrioritiesConfig.getDescriptor())
                  // The edge shard's TLS passthrough listener.
                  .add(TlsInspector.getDescriptor())
                  .add(TcpProxy.getDescriptor())
                  // SSL Gateways' listeners, and the call credentials of an external SDS server.
                  .add(DownstreamTlsContext.getDescriptor())
                  .add(FileBasedMetadataConfig.getDescriptor())
                  .build())
          .sortingMapKeys();

  private Trees() {}

  /** A plain tree for any record, collection, map, proto or scalar. */
  public static Object tree(Object value) {
    if (value == null) {
      return null;
    }
    if (value instanceof Message m) {
      return proto(m);
    }
    if (value instanceof ResourceKey || value instanceof ResourceRef || value instanceof Enum<?>) {
      return value.toString();
    }
    if (value instanceof Duration d) {
      return formatDuration(d);
    }
    if (value instanceof String || value instanceof Number || value instanceof Boolean) {
      return value;
    }
    if (value instanceof Map<?, ?> map) {
      Map<String, Object> out = new TreeMap<>();
      map.forEach(
          (k, v) -> {
            Object t = tree(v);
            if (!isEmpty(t)) {
              out.put(String.valueOf(k), t);
            }
          });
      return out;
    }
    if (value instanceof Collection<?> c) {
      List<Object> out = new ArrayList<>();
      for (Object o : c) {
        out.add(tree(o));
      }
      return out;
    }
    if (value.getClass().isRecord()) {
      Map<String, Object> out = new LinkedHashMap<>();
      for (RecordComponent rc : value.getClass().getRecordComponents()) {
        try {
          Object t = tree(rc.getAccessor().invoke(value));
          if (!isEmpty(t)) {
            out.put(rc.getName(), t);
          }
        } catch (ReflectiveOperationException e) {
          throw new IllegalStateException("cannot read " + rc, e);
        }
      }
      // Sealed variants render with their type so a reader can tell a redirect from a forward.
      if (value.getClass().getEnclosingClass() != null && value.getClass().getEnclosingClass().isSealed()) {
        Map<String, Object> typed = new LinkedHashMap<>();
        typed.put(lowerFirst(value.getClass().getSimpleName()), out);
        return typed;
      }
      return out;
    }
    return value.toString();
  }

  /**
   * A status as people read it: state, problems, and one sub-status per proxy that uses the resource (that proxy's
   * own state), so a resource that is fine in itself but feeds a proxy with problems says so.
   */
  public static Map<String, Object> status(ResourceStatus s, Map<String, String> proxyStates) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("state", stateName(s.state()));
    if (!s.origin().isEmpty()) {
      out.put("origin", s.origin());
    }
    if (!s.errors().isEmpty()) {
      out.put("errors", s.errors());
    }
    if (!s.warnings().isEmpty()) {
      out.put("warnings", s.warnings());
    }
    if (!s.proxies().isEmpty()) {
      Map<String, Object> proxies = new TreeMap<>();
      for (String p : s.proxies()) {
        proxies.put(p, proxyStates.getOrDefault(p, "Pending"));
      }
      out.put("proxies", proxies);
    }
    return out;
  }

  public static SortedMap<String, Object> statuses(Collection<ResourceStatus> statuses) {
    Map<String, String> proxyStates = new TreeMap<>();
    for (ResourceStatus s : statuses) {
      if (s.key().kind() == Kind.PROXY) {
        proxyStates.put(s.key().name(), stateName(s.state()));
      }
    }
    SortedMap<String, Object> out = new TreeMap<>();
    for (ResourceStatus s : statuses) {
      out.put(s.key().toString(), status(s, proxyStates));
    }
    return out;
  }

  /** {@code Accepted}, {@code Rejected}, ... as Gloo spells states. */
  public static String stateName(ResourceState state) {
    return state.name().charAt(0) + state.name().substring(1).toLowerCase();
  }

  /** A proto as a tree, through its canonical JSON mapping (Any values resolved, map keys sorted). */
  public static Object proto(Message m) {
    try {
      String json = PROTO_PRINTER.print(m);
      return new Yaml(new LoaderOptions()).load(json);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot print " + m.getDescriptorForType().getFullName(), e);
    }
  }

  public static String yaml(Object tree) {
    DumperOptions o = new DumperOptions();
    o.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    o.setIndent(2);
    o.setIndicatorIndent(0);
    o.setWidth(120);
    o.setSplitLines(false);
    return new Yaml(o).dump(tree);
  }

  static String formatDuration(Duration d) {
    if (d.getNano() == 0) {
      return d.getSeconds() + "s";
    }
    String nanos = String.format("%09d", d.getNano()).replaceAll("0+$", "");
    return d.getSeconds() + "." + nanos + "s";
  }

  private static boolean isEmpty(Object t) {
    return t == null || (t instanceof Collection<?> c && c.isEmpty()) || (t instanceof Map<?, ?> m && m.isEmpty());
  }

  private static String lowerFirst(String s) {
    return Character.toLowerCase(s.charAt(0)) + s.substring(1);
  }
}
