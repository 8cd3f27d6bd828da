package io.shardgate.sharding.model;

import java.util.Comparator;
import java.util.Objects;

/**
 * Identity of an input resource: kind, namespace and name. Ordered by kind, namespace, name so every collection
 * keyed by it iterates deterministically. Immutable value.
 */
public record ResourceKey(Kind kind, String namespace, String name) implements Comparable<ResourceKey> {

  private static final Comparator<ResourceKey> ORDER =
      Comparator.comparing(ResourceKey::kind)
          .thenComparing(ResourceKey::namespace)
          .thenComparing(ResourceKey::name);

  public ResourceKey {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
  }

  public ResourceRef ref() {
    return new ResourceRef(namespace, name);
  }

  @Override
  public int compareTo(ResourceKey o) {
    return ORDER.compare(this, o);
  }

  /** {@code VirtualService team-a/payments}: the form every message uses to name a resource. */
  @Override
  public String toString() {
    return kind.kindName() + " " + namespace + "/" + name;
  }
}
