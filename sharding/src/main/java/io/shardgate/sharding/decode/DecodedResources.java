package io.shardgate.sharding.decode;

import io.shardgate.sharding.model.ObjectMeta;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceSnapshot;
import io.shardgate.sharding.report.ResourceStatus;
import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What {@link ResourceDecoder} made of a set of documents. Immutable.
 *
 * @param snapshot the resources that decoded without errors and are in watched namespaces
 * @param statuses the decode problems of every resource read, rejected ones included
 * @param documentProblems problems with documents that are not (identifiable) resources, as
 *     {@code origin:line: message}
 * @param rejectedMeta the metadata of resources rejected while decoding, so selectors can still say they matched
 *     a rejected resource
 */
public record DecodedResources(
    ResourceSnapshot snapshot,
    SortedMap<ResourceKey, ResourceStatus> statuses,
    List<String> documentProblems,
    SortedMap<ResourceKey, ObjectMeta> rejectedMeta) {

  public DecodedResources {
    statuses = Collections.unmodifiableSortedMap(new TreeMap<>(statuses));
    documentProblems = List.copyOf(documentProblems);
    rejectedMeta = Collections.unmodifiableSortedMap(new TreeMap<>(rejectedMeta));
  }
}
