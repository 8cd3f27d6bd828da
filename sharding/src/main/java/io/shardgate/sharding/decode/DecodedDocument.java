package io.shardgate.sharding.decode;

import io.shardgate.sharding.model.ObjectMeta;
import io.shardgate.sharding.model.Resource;
import io.shardgate.sharding.model.ResourceKey;
import java.util.List;

/**
 * One document decoded on its own, before the documents are put together (duplicates, Settings, watched
 * namespaces). Immutable. Either {@code documentProblem} is set (the document is not a resource Shardgate reads),
 * or {@code key} and {@code meta} are, with {@code resource} null when {@code errors} rejected it.
 */
public record DecodedDocument(
    SourceDocument document,
    ResourceKey key,
    ObjectMeta meta,
    Resource resource,
    List<String> errors,
    List<String> warnings,
    String documentProblem) {

  public DecodedDocument {
    errors = List.copyOf(errors);
    warnings = List.copyOf(warnings);
  }

  static DecodedDocument problem(SourceDocument doc, String problem) {
    return new DecodedDocument(doc, null, null, null, List.of(), List.of(), problem);
  }
}
