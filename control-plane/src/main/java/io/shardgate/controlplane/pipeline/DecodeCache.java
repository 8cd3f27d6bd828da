package io.shardgate.controlplane.pipeline;

import io.shardgate.sharding.decode.DecodedDocument;
import io.shardgate.sharding.decode.ResourceDecoder;
import io.shardgate.sharding.decode.SourceDocument;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Remembers how each document was decoded, so a pass decodes only the documents that changed: the directory source
 * hands over the very same (immutable) document objects for files whose bytes did not change. Decoding is the
 * largest part of a pass on big configurations, and one edit changes one file.
 *
 * <p>Stateful and not thread-safe: the pipeline uses it from its one translation thread. Keeps only the documents
 * of the latest pass, so memory follows the configuration's size.
 */
public final class DecodeCache implements Function<SourceDocument, DecodedDocument> {

  private Map<SourceDocument, DecodedDocument> previous = new IdentityHashMap<>();
  private Map<SourceDocument, DecodedDocument> current = new IdentityHashMap<>();
  private long hits;
  private long misses;

  @Override
  public DecodedDocument apply(SourceDocument doc) {
    DecodedDocument d = previous.get(doc);
    if (d == null) {
      d = current.get(doc);
    }
    if (d == null) {
      d = ResourceDecoder.decodeDocument(doc);
      misses++;
    } else {
      hits++;
    }
    current.put(doc, d);
    return d;
  }

  /** Ends a pass: what this pass did not use is forgotten. */
  public void endPass() {
    previous = current;
    current = new IdentityHashMap<>();
  }

  long hits() {
    return hits;
  }

  long misses() {
    return misses;
  }
}
