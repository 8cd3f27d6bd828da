package io.shardgate.controlplane.source;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.informers.cache.BasicItemStore;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * An informer's item store that keeps of each object only its namespace, name and resourceVersion: what the informer
 * needs to key its cache, tell a relist's unchanged objects (same resourceVersion, no event) and name deleted ones.
 * The source reads every object whole from its add and update events and keeps its own reduced form, so the whole
 * objects (a Pod's spec and status are most of its size) need not stay in memory twice.
 *
 * <p>Not a full state ({@link #isFullState()} is false): fabric8 then hands the listed objects themselves to the
 * handlers rather than the stored copies, and only resyncs re-announce stored copies, whose resourceVersion the
 * source knows, so they change nothing. Stage: source. Thread-safe as {@link BasicItemStore}.
 */
final class MetadataOnlyItemStore<T extends HasMetadata> implements ItemStore<T> {

  private final BasicItemStore<T> store = new BasicItemStore<>(Cache::metaNamespaceKeyFunc);
  private final Function<ObjectMeta, T> empty;

  /** @param empty a new object of the kind holding only the given metadata */
  MetadataOnlyItemStore(Function<ObjectMeta, T> empty) {
    this.empty = empty;
  }

  @Override
  public String getKey(T obj) {
    return store.getKey(obj);
  }

  @Override
  public T put(String key, T obj) {
    ObjectMeta meta = obj.getMetadata();
    return store.put(key, empty.apply(new ObjectMetaBuilder().withNamespace(meta.getNamespace())
        .withName(meta.getName()).withResourceVersion(meta.getResourceVersion()).build()));
  }

  @Override
  public T remove(String key) {
    return store.remove(key);
  }

  @Override
  public Stream<String> keySet() {
    return store.keySet();
  }

  @Override
  public Stream<T> values() {
    return store.values();
  }

  @Override
  public int size() {
    return store.size();
  }

  @Override
  public T get(String key) {
    return store.get(key);
  }

  @Override
  public boolean isFullState() {
    return false;
  }
}
