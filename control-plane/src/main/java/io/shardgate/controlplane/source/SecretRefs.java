package io.shardgate.controlplane.source;

import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.model.ResourceRef;
import java.util.Collection;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The Secrets a configuration names: each VirtualService's and Upstream's {@code spec.sslConfig.secretRef}, its
 * namespace defaulting to the resource's (Gloo's rule; a resource without a namespace is in {@code default}, as the
 * decoder says). Read from the documents as the source gave them, before decoding, so that a secret store in front
 * of the pipeline knows what to fetch; a reference that decoding later rejects costs one read, nothing else.
 *
 * <p>Stage: source. Pure; thread-safe.
 */
public final class SecretRefs {

  private SecretRefs() {}

  /** The secrets {@code documents} reference, sorted by namespace and name. */
  public static SortedSet<ResourceRef> of(Collection<SourceDocument> documents) {
    SortedSet<ResourceRef> out = new TreeSet<>();
    for (SourceDocument doc : documents) {
      Map<String, Object> content = doc.content();
      Object kind = content.get("kind");
      if (!"VirtualService".equals(kind) && !"Upstream".equals(kind)) {
        continue;
      }
      Map<?, ?> meta = content.get("metadata") instanceof Map<?, ?> m ? m : Map.of();
      String namespace = meta.get("namespace") instanceof String s && !s.isEmpty() ? s : "default";
      if (content.get("spec") instanceof Map<?, ?> spec && spec.get("sslConfig") instanceof Map<?, ?> ssl
          && ssl.get("secretRef") instanceof Map<?, ?> ref && ref.get("name") instanceof String name
          && !name.isEmpty()) {
        String ns = ref.get("namespace") instanceof String s && !s.isEmpty() ? s : namespace;
        out.add(new ResourceRef(ns, name));
      }
    }
    return out;
  }
}
