package io.shardgate.controlplane.security;

import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * What a request from a peer that is not on loopback may read on the admin API ({@code serve --admin-remote-access};
 * docs/security.md): the kubelet's probes and a Prometheus scrape come from the pod network, while {@code /api/*}
 * shows configuration that only operators, through {@code kubectl port-forward} (a loopback peer), should read.
 * Loopback peers may always read everything. One declarative table: each level lists the paths it opens, and a wider
 * level includes the narrower ones.
 *
 * <p>Pure and immutable; thread-safe.
 */
public enum AdminRemoteAccess {

  /** The probes only: liveness and readiness, under both their names. */
  HEALTH(Set.of("/healthz", "/livez", "/ready", "/readyz")),
  /** The probes and the Prometheus scrape: the default. */
  METRICS(union(HEALTH.paths, Set.of("/metrics"))),
  /** Every path; the admin API is read-only, but {@code /api/*} shows the configuration served. */
  ALL(null);

  /** The command-line option, named in every refusal. */
  public static final String OPTION = "--admin-remote-access";

  /** Null: every path. */
  private final Set<String> paths;

  AdminRemoteAccess(Set<String> paths) {
    this.paths = paths;
  }

  /** The option's value for this level, e.g. {@code metrics}. */
  public String value() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * The level an option value names ({@code health}, {@code metrics}, {@code all}; case-insensitive).
   *
   * @throws IllegalArgumentException naming the option and the values it takes
   */
  public static AdminRemoteAccess parse(String value) {
    String v = value == null ? "" : value.strip().toLowerCase(Locale.ROOT);
    for (AdminRemoteAccess level : values()) {
      if (level.value().equals(v)) {
        return level;
      }
    }
    throw new IllegalArgumentException(OPTION + " \"" + AdminHostPolicy.printable(value) + "\" is not one of "
        + Arrays.stream(values()).map(AdminRemoteAccess::value).collect(Collectors.joining(", ")));
  }

  /**
   * Whether a request for {@code path} (without its query) with {@code method} may be answered. {@code loopbackPeer}
   * says whether it came from a loopback address of this host; those are always answered. The path must be one of the
   * table's exactly: no prefix, no trailing slash, so no routing quirk can widen it.
   */
  public AdminHostPolicy.Decision check(boolean loopbackPeer, String method, String path) {
    if (loopbackPeer || paths == null || "GET".equals(method) && paths.contains(path)) {
      return AdminHostPolicy.Decision.ALLOW;
    }
    return new AdminHostPolicy.Decision(false, "Forbidden: requests from outside this host may only GET "
        + String.join(" ", new TreeSet<>(paths)) + " (" + OPTION + " " + value() + "); read the rest from this host"
        + " or through `kubectl port-forward`, or widen it with " + OPTION + " " + wider());
  }

  private String wider() {
    return this == HEALTH ? "metrics|all" : "all";
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> out = new TreeSet<>(a);
    out.addAll(b);
    return Set.copyOf(out);
  }
}
