package io.shardgate.sharding.decode;

import io.shardgate.sharding.model.IpLiterals;
import io.shardgate.sharding.model.Settings;
import java.util.Map;
import java.util.TreeMap;

/**
 * Decodes {@code spec.shardgate} of a Settings resource: Shardgate's own block (per-shard clusters, the edge shard).
 * Same rules as every other decoder (the {@link GlooApi} table has the block as message ShardgateSettings):
 * unknown fields, wrong types and invalid values are errors naming the field and its file:line. Pure; stateless.
 */
final class ShardgateSettingsDecoder {

  private ShardgateSettingsDecoder() {}

  /** The block under {@code key} of {@code spec}, or the defaults when it is absent. */
  static Settings.Shardgate decode(Fields spec, String key) {
    Fields sg = spec.obj(key);
    if (sg == null) {
      return Settings.Shardgate.DEFAULT;
    }
    boolean allUpstreams = Boolean.TRUE.equals(sg.bool("allUpstreamsPerShard"));
    Settings.Edge edge = Settings.Edge.DEFAULT;
    Fields e = sg.obj("edge");
    if (e != null) {
      edge = edge(e);
      e.finish();
    }
    sg.finish();
    return new Settings.Shardgate(allUpstreams, edge);
  }

  private static Settings.Edge edge(Fields e) {
    boolean enabled = Boolean.TRUE.equals(e.bool("enabled"));
    String proxyName = e.str("proxyName", Settings.Edge.DEFAULT_PROXY_NAME);
    if (proxyName.isEmpty() || proxyName.contains("~")) {
      e.problems().error(e.pathOf("proxyName"),
          "must be a non-empty proxy name without '~', got " + e.shown("proxyName", proxyName));
    }
    String bindAddress = e.str("bindAddress", Settings.Edge.DEFAULT_BIND_ADDRESS);
    if (!IpLiterals.isIp(bindAddress)) {
      e.problems().error(
          e.pathOf("bindAddress"),
          "must be an IP address such as '::' or '0.0.0.0', got " + e.shown("bindAddress", bindAddress));
    }
    Integer bindPort = e.intInRange("bindPort", 1, 65535);
    Integer tlsBindPort = e.intInRange("tlsBindPort", 1, 65535);
    int http = bindPort == null ? Settings.Edge.DEFAULT_BIND_PORT : bindPort;
    int tls = tlsBindPort == null ? Settings.Edge.DEFAULT_TLS_BIND_PORT : tlsBindPort;
    if (http == tls) {
      e.problems().error(
          e.pathOf("tlsBindPort"), "must differ from bindPort (" + http + "): the edge has one listener per port");
    }
    Map<String, Settings.HostPort> addresses = addresses(e, "shardAddresses");
    Map<String, Settings.HostPort> tlsAddresses = addresses(e, "shardTlsAddresses");
    String mode = e.enumName("tlsMode");
    return new Settings.Edge(enabled, proxyName, bindAddress, http, tls, addresses, tlsAddresses,
        mode == null ? Settings.Edge.TlsMode.PASSTHROUGH : Settings.Edge.TlsMode.of(mode));
  }

  /** A mapping of proxy name to {@code host:port}; an absent key is an empty map. */
  private static Map<String, Settings.HostPort> addresses(Fields e, String key) {
    Map<String, String> raw = e.strMap(key);
    Map<String, Settings.HostPort> out = new TreeMap<>();
    if (raw == null) {
      return out;
    }
    raw.forEach(
        (proxy, value) -> {
          String path = e.pathOf(key) + "." + proxy;
          String problem = null;
          Settings.HostPort hp = null;
          try {
            hp = parse(value.trim());
          } catch (IllegalArgumentException ex) {
            problem = ex.getMessage();
          }
          if (problem != null) {
            e.problems().error(path, "expected host:port such as 'gateway-proxy.gloo-system:80' or '[::1]:8080' ("
                + problem + "), got " + e.shown(key, value));
          } else {
            out.put(proxy, hp);
          }
        });
    return out;
  }

  /** {@code host:port} or {@code [ipv6]:port}. */
  static Settings.HostPort parse(String s) {
    String host;
    String port;
    if (s.startsWith("[")) {
      int close = s.indexOf(']');
      if (close < 0 || close + 1 >= s.length() || s.charAt(close + 1) != ':') {
        throw new IllegalArgumentException("an IPv6 address needs the form [address]:port");
      }
      host = s.substring(1, close);
      port = s.substring(close + 2);
    } else {
      int colon = s.lastIndexOf(':');
      if (colon < 0) {
        throw new IllegalArgumentException("no port");
      }
      host = s.substring(0, colon);
      port = s.substring(colon + 1);
      if (host.contains(":")) {
        throw new IllegalArgumentException("write an IPv6 address in brackets");
      }
    }
    if (host.isEmpty()) {
      throw new IllegalArgumentException("no host");
    }
    if (!host.matches("[A-Za-z0-9.:_-]+")) {
      throw new IllegalArgumentException("the host has characters a host name cannot have");
    }
    int p;
    try {
      p = Integer.parseInt(port);
    } catch (NumberFormatException ex) {
      throw new IllegalArgumentException("the port is not a number");
    }
    if (p < 1 || p > 65535) {
      throw new IllegalArgumentException("the port must be between 1 and 65535");
    }
    return new Settings.HostPort(host, p);
  }
}
