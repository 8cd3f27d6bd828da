package io.shardgate.sharding.decode;

import java.util.AbstractMap;
import java.util.Collections;
import java.util.Comparator;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The last accepted document of each resource that keeps one ({@link DecodedResourcesCache}), by {@code Kind ns/name}:
 * an immutable sorted map. It is handed from one translation to the next as the very same object, which tells the
 * decoder that nothing needs comparing; {@link #of} therefore returns an instance unchanged instead of copying it.
 */
public final class AcceptedDocuments extends AbstractMap<String, SourceDocument>
    implements SortedMap<String, SourceDocument> {

  public static final AcceptedDocuments EMPTY = new AcceptedDocuments(new TreeMap<>());

  private final SortedMap<String, SourceDocument> map;

  private AcceptedDocuments(SortedMap<String, SourceDocument> map) {
    this.map = Collections.unmodifiableSortedMap(map);
  }

  /** {@code documents} itself when it already is one, else an immutable copy. */
  public static AcceptedDocuments of(SortedMap<String, SourceDocument> documents) {
    if (documents instanceof AcceptedDocuments a) {
      return a;
    }
    return documents == null || documents.isEmpty() ? EMPTY : new AcceptedDocuments(new TreeMap<>(documents));
  }

  @Override
  public Comparator<? super String> comparator() {
    return null;
  }

  @Override
  public SortedMap<String, SourceDocument> subMap(String from, String to) {
    return map.subMap(from, to);
  }

  @Override
  public SortedMap<String, SourceDocument> headMap(String to) {
    return map.headMap(to);
  }

  @Override
  public SortedMap<String, SourceDocument> tailMap(String from) {
    return map.tailMap(from);
  }

  @Override
  public String firstKey() {
    return map.firstKey();
  }

  @Override
  public String lastKey() {
    return map.lastKey();
  }

  @Override
  public Set<Entry<String, SourceDocument>> entrySet() {
    return map.entrySet();
  }

  @Override
  public SourceDocument get(Object key) {
    return map.get(key);
  }

  @Override
  public boolean containsKey(Object key) {
    return map.containsKey(key);
  }

  @Override
  public int size() {
    return map.size();
  }
}
