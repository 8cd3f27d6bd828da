package io.shardgate.sharding.model;

import java.util.regex.Pattern;

/** Recognises IP address literals without any name lookup. Pure. */
public final class IpLiterals {

  private static final Pattern IPV4 =
      Pattern.compile("^((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$");
  private static final Pattern IPV6 = Pattern.compile("^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$");

  private IpLiterals() {}

  public static boolean isIpv4(String s) {
    return IPV4.matcher(s).matches();
  }

  /** A loose IPv6 check (hex digits, colons, an optional dotted IPv4 tail); enough to tell addresses from names. */
  public static boolean isIpv6(String s) {
    return s.contains(":") && IPV6.matcher(s).matches();
  }

  public static boolean isIp(String s) {
    return isIpv4(s) || isIpv6(s);
  }
}
