package io.shardgate.controlplane.webhook;

import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.model.Kind;
import java.util.Map;
import java.util.Objects;

/**
 * One admission request of the API server, as the validator reads it: what is done to which Gloo object, and the
 * object before and after as source documents (the very form {@code KubernetesSource} hands the pipeline). Immutable.
 *
 * @param uid the request's uid, echoed in the response
 * @param operation what is done
 * @param kind the Gloo kind, or null for a kind Shardgate does not validate (admitted as it is)
 * @param namespace the object's namespace
 * @param name the object's name
 * @param object the object after the change (null for DELETE)
 * @param oldObject the object before the change (UPDATE and DELETE; may be null when the API server sends none)
 * @param dryRun whether the API server persists nothing ({@code kubectl apply --dry-run=server}): validated, never
 *     applied to the validator's view
 */
public record AdmissionRequest(String uid, Operation operation, Kind kind, String namespace, String name,
    SourceDocument object, SourceDocument oldObject, boolean dryRun) {

  /** Gloo's annotation by which an object asks not to be validated. */
  public static final String SKIP_ANNOTATION = "gateway.solo.io/skip_validation";

  /** The operations of AdmissionReview v1. */
  public enum Operation { CREATE, UPDATE, DELETE, CONNECT }

  public AdmissionRequest {
    Objects.requireNonNull(operation, "operation");
    uid = uid == null ? "" : uid;
  }

  /** {@code VirtualService team-a/payments}, as every message names a resource. */
  public String describe() {
    return (kind == null ? "object" : kind.kindName()) + " " + namespace + "/" + name;
  }

  /** Whether the object (for DELETE, the old one) carries {@code gateway.solo.io/skip_validation: "true"}. */
  public boolean skipsValidation() {
    SourceDocument d = object != null ? object : oldObject;
    if (d == null || !(d.content().get("metadata") instanceof Map<?, ?> meta)) {
      return false;
    }
    return meta.get("annotations") instanceof Map<?, ?> annotations
        && "true".equals(String.valueOf(annotations.get(SKIP_ANNOTATION)));
  }

  /**
   * Whether an UPDATE leaves everything the decoder reads as it was (labels, annotations and spec): a status write,
   * or a change of server-side fields only. Gloo compares the spec alone; labels decide selection, so they count here.
   */
  public boolean changesNothingRead() {
    return operation == Operation.UPDATE && object != null && oldObject != null
        && object.content().equals(oldObject.content());
  }
}
