package io.shardgate.sharding.model;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The metadata Shardgate uses from a resource. Labels and annotations are kept sorted. {@code origin} says where
 * the resource was read from ({@code file:line} or a store key) so every message can point at it.
 */
public record ObjectMeta(
    String name, String namespace, Map<String, String> labels, Map<String, String> annotations, String origin) {

  public ObjectMeta {
    labels = Collections.unmodifiableSortedMap(new TreeMap<>(labels));
    annotations = Collections.unmodifiableSortedMap(new TreeMap<>(annotations));
    origin = origin == null ? "" : origin;
  }

  public ResourceRef ref() {
    return new ResourceRef(namespace, name);
  }
}
