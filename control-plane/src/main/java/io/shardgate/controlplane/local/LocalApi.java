package io.shardgate.controlplane.local;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One API of a local layout: what {@link LocalConfigWriter} turns into a VirtualService and an Upstream, and what
 * {@link LocalGateways} starts an echo backend for. Immutable.
 *
 * @param name the API's name: its namespace, VirtualService, Upstream and backend are named after it
 * @param shard the shard that serves it in the sharded layouts (proxy name {@code gateway-proxy-<shard>})
 * @param domain the Host it is served for
 * @param pathPrefix the prefix its one route matches (requests outside it get 404)
 * @param cpus the CPUs ({@code taskset -c} list, e.g. {@code 0} or {@code 0,1}) its backend, its load generator and
 *     its shard's Envoy run on; null for no pinning
 */
public record LocalApi(String name, String shard, String domain, String pathPrefix, String cpus) {

  private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  private static final Pattern CPUS = Pattern.compile("[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*");

  public LocalApi {
    Objects.requireNonNull(domain, "domain");
    check(name, "name");
    check(shard, "shard");
    if (!pathPrefix.startsWith("/")) {
      throw new IllegalArgumentException("API " + name + ": pathPrefix must start with '/', got '" + pathPrefix + "'");
    }
    if (cpus != null && !CPUS.matcher(cpus).matches()) {
      throw new IllegalArgumentException("API " + name + ": cpus must be a taskset list such as 0 or 0,1 or 0-1, got '"
          + cpus + "'");
    }
  }

  private static void check(String value, String field) {
    if (value == null || !NAME.matcher(value).matches()) {
      throw new IllegalArgumentException("API " + field + " must be a DNS label (a-z, 0-9, '-'), got '" + value + "'");
    }
  }

  /** The same API pinned to other CPUs (null: unpinned). */
  public LocalApi withCpus(String otherCpus) {
    return new LocalApi(name, shard, domain, pathPrefix, otherCpus);
  }

  /** The name its echo backend answers with, first in every body. */
  public String backendName() {
    return name + "-backend";
  }
}
