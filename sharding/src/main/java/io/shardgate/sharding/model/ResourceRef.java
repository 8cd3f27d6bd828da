package io.shardgate.sharding.model;

import java.util.Comparator;

/** A namespace/name reference as written in Gloo resources ({@code {name, namespace}}). Immutable value. */
public record ResourceRef(String namespace, String name) implements Comparable<ResourceRef> {

  private static final Comparator<ResourceRef> ORDER =
      Comparator.comparing(ResourceRef::namespace).thenComparing(ResourceRef::name);

  public ResourceRef {
    namespace = namespace == null ? "" : namespace;
    name = name == null ? "" : name;
  }

  /** The same reference with an empty namespace replaced by {@code ns}. */
  public ResourceRef withDefaultNamespace(String ns) {
    return namespace.isEmpty() ? new ResourceRef(ns, name) : this;
  }

  @Override
  public int compareTo(ResourceRef o) {
    return ORDER.compare(this, o);
  }

  @Override
  public String toString() {
    return namespace + "/" + name;
  }
}
