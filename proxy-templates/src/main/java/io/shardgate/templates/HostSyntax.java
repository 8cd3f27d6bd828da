package io.shardgate.templates;

import java.util.regex.Pattern;

/**
 * Classifies host strings as IP literals or DNS names by syntax alone.
 *
 * <p>{@link java.net.InetAddress#getByName} is not used because it falls back to a DNS lookup for strings
 * that are not literals, and rendering must stay pure.
 */
final class HostSyntax {

  private static final String OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
  private static final Pattern IPV4 = Pattern.compile(OCTET + "(\\." + OCTET + "){3}");
  private static final Pattern HEX_GROUP = Pattern.compile("[0-9A-Fa-f]{1,4}");
  private static final Pattern DNS_LABEL = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?");
  private static final Pattern ALL_DIGITS = Pattern.compile("[0-9]+");

  private HostSyntax() {}

  static boolean isIpLiteral(String host) {
    return isIpv4(host) || isIpv6(host);
  }

  static boolean isIpv4(String host) {
    return IPV4.matcher(host).matches();
  }

  /** RFC 4291 text form without brackets or zone id; a trailing dotted IPv4 part counts as two groups. */
  static boolean isIpv6(String host) {
    if (host.indexOf(':') < 0) {
      return false;
    }
    int gap = host.indexOf("::");
    if (gap >= 0 && host.indexOf("::", gap + 1) >= 0) {
      return false;
    }
    String head = gap >= 0 ? host.substring(0, gap) : host;
    String tail = gap >= 0 ? host.substring(gap + 2) : "";
    int groups = 0;
    String[] parts = joinNonEmpty(head, tail).split(":", -1);
    if (parts.length == 1 && parts[0].isEmpty()) {
      return gap >= 0; // "::" alone
    }
    for (int i = 0; i < parts.length; i++) {
      String part = parts[i];
      if (i == parts.length - 1 && part.indexOf('.') >= 0) {
        if (!isIpv4(part)) {
          return false;
        }
        groups += 2;
      } else if (HEX_GROUP.matcher(part).matches()) {
        groups += 1;
      } else {
        return false;
      }
    }
    return gap >= 0 ? groups <= 7 : groups == 8;
  }

  /** A DNS name Envoy can resolve: dot-separated RFC 1123 labels, optionally ending in a dot. */
  static boolean isHostname(String host) {
    String name = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
    if (name.isEmpty() || name.length() > 253) {
      return false;
    }
    String[] labels = name.split("\\.", -1);
    for (String label : labels) {
      if (!DNS_LABEL.matcher(label).matches()) {
        return false;
      }
    }
    // "10.0.0.300" has valid labels but is a mistyped address, not a name worth sending to DNS.
    return !ALL_DIGITS.matcher(labels[labels.length - 1]).matches();
  }

  private static String joinNonEmpty(String head, String tail) {
    if (head.isEmpty()) {
      return tail;
    }
    return tail.isEmpty() ? head : head + ":" + tail;
  }
}
