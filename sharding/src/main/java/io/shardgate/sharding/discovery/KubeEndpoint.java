package io.shardgate.sharding.discovery;

import java.util.Collections;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One address of a Service port as an EndpointSlice lists it, resolved to the port the Service port targets.
 * Immutable value; equal endpoints are equal records, so an unchanged slice gives equal lists.
 *
 * @param address the IP address (the first of the endpoint's addresses)
 * @param port the target port of the Service port on this address
 * @param health whether the endpoint takes new requests ({@link Health#READY}) or only finishes the ones it has
 *     ({@link Health#DRAINING}: the slice marks it serving and terminating)
 * @param labels the labels of the Pod behind the endpoint (its {@code targetRef}), for subset routing; empty when it
 *     has no Pod or the Pod is not known
 * @param zone the endpoint's zone, or empty
 */
public record KubeEndpoint(String address, int port, Health health, SortedMap<String, String> labels, String zone)
    implements Comparable<KubeEndpoint> {

  /** What Envoy is told about the endpoint's health. */
  public enum Health {
    READY,
    DRAINING
  }

  public KubeEndpoint {
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(health, "health");
    labels = labels == null || labels.isEmpty()
        ? Collections.emptySortedMap()
        : Collections.unmodifiableSortedMap(new TreeMap<>(labels));
    zone = zone == null ? "" : zone;
  }

  /** Sorted by address, then port: the order Envoy is given, whatever order the slices listed them in. */
  @Override
  public int compareTo(KubeEndpoint o) {
    int c = address.compareTo(o.address);
    return c != 0 ? c : Integer.compare(port, o.port);
  }
}
