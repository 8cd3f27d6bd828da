package io.shardgate.sharding.discovery;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * The names Gloo Edge gives the Upstreams it discovers from Kubernetes Services, so that routes written against a
 * Gloo installation ({@code <namespace>-<service>-<port>}) find the same Upstream here. Pure functions.
 */
public final class DiscoveredUpstreams {

  /** The label Gloo's discovery puts on the Upstreams it writes, and its value for Kubernetes Services. */
  public static final String DISCOVERED_BY = "discovered_by";

  public static final String KUBERNETES_PLUGIN = "kubernetesplugin";

  private static final int MAX_NAME = 63;
  private static final int KEPT_PREFIX = 31;

  private DiscoveredUpstreams() {}

  /** The name of the Upstream discovered for one port of a Service: {@code <namespace>-<service>-<port>}, sanitized. */
  public static String name(String serviceNamespace, String serviceName, int servicePort) {
    return sanitize(serviceNamespace + "-" + serviceName + "-" + servicePort);
  }

  /**
   * Gloo's name sanitizer: characters a Kubernetes name cannot hold become {@code -} (or are dropped), and a name
   * longer than 63 characters keeps its first 31 followed by {@code -} and the MD5 of the whole, cut to 63, so that
   * two long names stay apart. Lower case.
   */
  public static String sanitize(String raw) {
    StringBuilder b = new StringBuilder(raw.length());
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      switch (c) {
        case '*', '/', '.', ':', '_', ' ' -> b.append('-');
        case '[', ']', '\n', '"', '\'' -> { }
        default -> b.append(c);
      }
    }
    String name = b.toString();
    if (name.getBytes(StandardCharsets.UTF_8).length > MAX_NAME) {
      String hash = HexFormat.of().formatHex(md5(name));
      name = (name.substring(0, Math.min(KEPT_PREFIX, name.length())) + "-" + hash);
      name = name.substring(0, Math.min(MAX_NAME, name.length()));
    }
    return name.toLowerCase(Locale.ROOT);
  }

  private static byte[] md5(String s) {
    try {
      return MessageDigest.getInstance("MD5").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has MD5", e);
    }
  }
}
