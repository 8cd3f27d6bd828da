package io.shardgate.sharding.secret;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The Secrets that can hold TLS material, keyed by {@code namespace/name}. Immutable value: a source hands a new one
 * to the pipeline on every change, reusing the {@link KubeSecret} objects of Secrets whose content did not change, so
 * {@link #changedSince} costs a comparison of references per Secret. {@link #toString()} shows no data (each
 * {@link KubeSecret} redacts itself).
 *
 * <p>The directory source has no Secrets yet: its state is {@link #EMPTY}.
 */
public record SecretState(SortedMap<String, KubeSecret> secrets) {

  public static final SecretState EMPTY = new SecretState(Collections.emptySortedMap());

  public SecretState {
    Objects.requireNonNull(secrets, "secrets");
    secrets = Collections.unmodifiableSortedMap(new TreeMap<>(secrets));
  }

  /** The Secret {@code namespace/name}, or null when it is not known. */
  public KubeSecret of(String namespace, String name) {
    return secrets.get(KubeSecret.key(namespace, name));
  }

  /**
   * The keys of the Secrets that differ between {@code before} and this state (added, removed, or a different object),
   * sorted.
   */
  public SortedSet<String> changedSince(SecretState before) {
    SortedSet<String> out = new TreeSet<>();
    for (Map.Entry<String, KubeSecret> e : secrets.entrySet()) {
      if (before.secrets.get(e.getKey()) != e.getValue()) {
        out.add(e.getKey());
      }
    }
    for (String k : before.secrets.keySet()) {
      if (!secrets.containsKey(k)) {
        out.add(k);
      }
    }
    return out;
  }
}
