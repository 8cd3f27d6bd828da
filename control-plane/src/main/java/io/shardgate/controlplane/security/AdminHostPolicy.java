package io.shardgate.controlplane.security;

import io.shardgate.sharding.model.IpLiterals;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Which {@code Host} headers the admin API answers (admin API edge; see docs/security.md). A web page that rebinds its
 * own DNS name to 127.0.0.1 (DNS rebinding) can make a browser on the control plane's machine send requests to the
 * admin API, but the browser still sends the page's name as {@code Host}; refusing names the operator did not allow
 * refuses those requests.
 *
 * <p>Allowed: the bind address itself; {@code localhost}, {@code 127.0.0.1} and {@code [::1]} when bound to loopback;
 * every IP literal and {@code localhost} when bound to a wildcard address ({@code 0.0.0.0}, {@code ::}), so kubelet
 * probes and Prometheus scrapes (which send the pod IP) keep working; and the names of the allow-list. A name is
 * allowed with the admin port or no port; an allow-list entry {@code name:port} allows exactly that port as well (a
 * {@code kubectl port-forward} to another local port). IP literals are safe to accept because a rebinding page's origin
 * is always a DNS name: a page whose origin is the control plane's own address is a page the admin API served itself.
 *
 * <p>Pure: no name is ever resolved, IP literals are only parsed. Immutable and thread-safe.
 */
public final class AdminHostPolicy {

  /** The outcome for one request: allowed, or the one-line reason to answer with. */
  public record Decision(boolean allowed, String reason) {
    static final Decision ALLOW = new Decision(true, "");
  }

  /** A parsed {@code Host} value: a canonical host key and the port, or -1 when the header has none. */
  private record HostPort(String host, int port) {}

  private final String bindAddress;
  private final boolean wildcard;
  private final Set<String> names;
  private final Set<HostPort> namesWithPort;
  private final String allowedText;

  private AdminHostPolicy(String bindAddress, boolean wildcard, Set<String> names, Set<HostPort> namesWithPort,
      String allowedText) {
    this.bindAddress = bindAddress;
    this.wildcard = wildcard;
    this.names = Set.copyOf(names);
    this.namesWithPort = Set.copyOf(namesWithPort);
    this.allowedText = allowedText;
  }

  /**
   * The policy of an admin API bound to {@code bindAddress} (an IP literal or a name; {@code null} or empty means
   * every interface), with the extra {@code allowedHosts} ({@code name}, {@code name:port}, {@code [v6]:port}).
   *
   * @throws IllegalArgumentException naming {@code --admin-allowed-hosts} when an entry is not a host name
   */
  public static AdminHostPolicy of(String bindAddress, List<String> allowedHosts) {
    String bind = bindAddress == null || bindAddress.isBlank() ? "0.0.0.0" : bindAddress.strip();
    InetAddress bindIp = literal(bind);
    boolean wildcard = bindIp != null && bindIp.isAnyLocalAddress();
    boolean loopback = bindIp != null ? bindIp.isLoopbackAddress() : canonicalName(bind).equals("localhost");
    Set<String> names = new LinkedHashSet<>();
    List<String> shown = new ArrayList<>();
    if (wildcard) {
      names.add("localhost");
      shown.addAll(List.of("any IP address", "localhost"));
    } else {
      names.add(bindIp != null ? key(bindIp) : canonicalName(bind));
      shown.add(bindIp instanceof Inet6Address && !bind.startsWith("[") ? "[" + bind + "]" : bind);
      if (loopback) {
        for (String local : List.of("127.0.0.1", "[::1]", "localhost")) {
          if (names.add(parse(local).host())) {
            shown.add(local);
          }
        }
      }
    }
    Set<HostPort> withPort = new LinkedHashSet<>();
    for (String entry : allowedHosts) {
      HostPort parsed = allowListEntry(entry);
      if (parsed.port() < 0) {
        names.add(parsed.host());
      } else {
        withPort.add(parsed);
      }
      shown.add(entry.strip());
    }
    return new AdminHostPolicy(bind, wildcard, names, withPort, String.join(", ", shown));
  }

  /**
   * Checks the syntax of {@code --admin-allowed-hosts} entries.
   *
   * @throws IllegalArgumentException naming the option and the first entry that is not a host name
   */
  public static void requireHostNames(List<String> allowedHosts) {
    allowedHosts.forEach(AdminHostPolicy::allowListEntry);
  }

  private static HostPort allowListEntry(String entry) {
    HostPort parsed = parse(entry.strip());
    if (parsed == null) {
      throw new IllegalArgumentException("--admin-allowed-hosts entry \"" + printable(entry) + "\" is not a host"
          + " name: expected NAME, NAME:PORT, an IP address or [IPv6]:PORT");
    }
    return parsed;
  }

  /**
   * Whether a request to {@code adminPort} whose {@code Host} header is {@code hostHeader} ({@code null}: none) may be
   * answered.
   */
  public Decision check(String hostHeader, int adminPort) {
    HostPort parsed = hostHeader == null ? null : parse(hostHeader.strip());
    if (parsed != null) {
      if (namesWithPort.contains(parsed)) {
        return Decision.ALLOW;
      }
      boolean portOk = parsed.port() < 0 || parsed.port() == adminPort;
      boolean hostOk = names.contains(parsed.host()) || wildcard && isIpKey(parsed.host());
      if (portOk && hostOk) {
        return Decision.ALLOW;
      }
    }
    return new Decision(false, "Forbidden: this admin API (bound to " + bindAddress + ") answers only requests for"
        + " Host " + allowedText + " (port " + adminPort + " or none), to keep web pages that rebind their DNS name to"
        + " this address out; add a name with --admin-allowed-hosts NAME[,NAME...]");
  }

  /** A header value fit for one log line: printable ASCII only, at most 100 characters. */
  public static String printable(String value) {
    if (value == null) {
      return "(none)";
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < value.length() && sb.length() < 100; i++) {
      char c = value.charAt(i);
      sb.append(c >= 0x20 && c < 0x7f ? c : '?');
    }
    return sb.toString();
  }

  /**
   * {@code host}, {@code host:port}, {@code [v6]} or {@code [v6]:port}, with the host as a canonical key (IP
   * literals in one spelling, names lower-case without a final dot); null when it is none of these.
   */
  private static HostPort parse(String value) {
    if (value.isEmpty()) {
      return null;
    }
    String host;
    String port;
    if (value.startsWith("[")) {
      int end = value.indexOf(']');
      if (end < 0) {
        return null;
      }
      host = value.substring(1, end);
      String rest = value.substring(end + 1);
      if (!rest.isEmpty() && !rest.startsWith(":")) {
        return null;
      }
      port = rest.isEmpty() ? "" : rest.substring(1);
      if (!IpLiterals.isIpv6(host)) {
        return null;
      }
    } else {
      int colon = value.indexOf(':');
      if (colon != value.lastIndexOf(':')) {
        return null; // an IPv6 literal must be bracketed in a Host header
      }
      host = colon < 0 ? value : value.substring(0, colon);
      port = colon < 0 ? "" : value.substring(colon + 1);
    }
    int portNumber = -1;
    if (!port.isEmpty()) {
      if (port.length() > 5 || !port.chars().allMatch(Character::isDigit)) {
        return null;
      }
      portNumber = Integer.parseInt(port);
      if (portNumber < 1 || portNumber > 65535) {
        return null;
      }
    }
    InetAddress ip = literal(host);
    if (ip != null) {
      return new HostPort(key(ip), portNumber);
    }
    if (IpLiterals.isIpv6(host) || !isName(host)) {
      return null;
    }
    return new HostPort(canonicalName(host), portNumber);
  }

  /** The address of an IP literal, parsed without any lookup; null for anything else. */
  private static InetAddress literal(String host) {
    String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    if (!IpLiterals.isIpv4(bare) && !IpLiterals.isIpv6(bare)) {
      return null;
    }
    try {
      // Brackets make the JDK treat the text as an IPv6 literal and fail instead of asking DNS when it is not one;
      // a string matching the strict IPv4 pattern is always parsed as a literal.
      return InetAddress.getByName(IpLiterals.isIpv4(bare) ? bare : "[" + bare + "]");
    } catch (UnknownHostException notALiteral) {
      return null;
    }
  }

  private static String key(InetAddress ip) {
    return "ip:" + ip.getHostAddress();
  }

  private static boolean isIpKey(String key) {
    return key.startsWith("ip:");
  }

  private static String canonicalName(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    return lower.endsWith(".") ? lower.substring(0, lower.length() - 1) : lower;
  }

  /** Dot-separated labels of letters, digits, '-' and '_' (seen in some internal names), 253 characters at most. */
  private static boolean isName(String host) {
    String name = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
    if (name.isEmpty() || name.length() > 253) {
      return false;
    }
    for (String label : name.split("\\.", -1)) {
      if (label.isEmpty() || label.length() > 63 || !label.chars().allMatch(c -> c < 0x80
          && (Character.isLetterOrDigit(c) || c == '-' || c == '_'))) {
        return false;
      }
    }
    return true;
  }
}
