package io.shardgate.sharding.model;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Which names Envoy can match a TLS client's SNI against ({@code filter_chain_match.server_names}): a DNS name,
 * matched exactly, or with one wildcard as its whole first label ({@code *.example.com}). Used where
 * {@code sslConfig.sniDomains} is decoded and where SNI names are derived from a VirtualService's domains. Pure.
 */
public final class SniNames {

  private static final Pattern DNS_NAME = Pattern.compile(
      "[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*");
  private static final Pattern DIGITS_AND_DOTS = Pattern.compile("[0-9.]+");

  private SniNames() {}

  /** Why Envoy cannot match {@code name} (lower-case) as an SNI server name, or null when it can. */
  public static String problem(String name) {
    if (name.isEmpty()) {
      return "an SNI name must not be empty";
    }
    String host = name.startsWith("*.") ? name.substring(2) : name;
    if (host.contains("*")) {
      return "Envoy matches SNI exactly or by a leading '*.' (as in '*.example.com'), not this wildcard";
    }
    if (host.length() > 253 || !DNS_NAME.matcher(host).matches()) {
      return "an SNI name must be a DNS name (letters, digits, '-' and '.'; no port, no IP address)";
    }
    if (DIGITS_AND_DOTS.matcher(host).matches()) {
      return "TLS clients never send an IP address as SNI";
    }
    return null;
  }

  /**
   * The SNI name a virtual host domain stands for: lower-cased, without its {@code :port}; null for {@code *} (every
   * SNI). Whether Envoy can match it is {@link #problem}'s to say.
   */
  public static String ofDomain(String domain) {
    String d = domain.toLowerCase(Locale.ROOT);
    if (d.equals("*")) {
      return null;
    }
    if (d.startsWith("[")) {
      return d; // an IPv6 literal, with or without a port: never an SNI name
    }
    int colon = d.lastIndexOf(':');
    if (colon >= 0 && d.indexOf(':') == colon && d.substring(colon + 1).matches("[0-9]*|\\*")) {
      d = d.substring(0, colon);
    }
    return d.endsWith(".") ? d.substring(0, d.length() - 1) : d;
  }
}
