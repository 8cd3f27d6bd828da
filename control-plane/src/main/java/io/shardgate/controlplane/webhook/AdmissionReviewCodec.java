package io.shardgate.controlplane.webhook;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.shardgate.controlplane.source.KubernetesSource;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.model.Kind;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads {@code admission.k8s.io/v1} AdmissionReview requests and writes their responses (JSON). The objects become
 * {@link SourceDocument}s exactly as {@link KubernetesSource} makes them, so the webhook decodes what the pipeline
 * will decode. Pure; thread-safe.
 */
public final class AdmissionReviewCodec {

  /** The API version the webhook speaks (the ValidatingWebhookConfiguration lists only v1). */
  public static final String API_VERSION = "admission.k8s.io/v1";

  private static final KubernetesSerialization JSON = new KubernetesSerialization();

  private AdmissionReviewCodec() {}

  /** A request that cannot be read: the message says what is wrong (answered with HTTP 400). */
  public static final class BadReviewException extends Exception {
    BadReviewException(String message) {
      super(message);
    }
  }

  /** The request in {@code body}. */
  public static AdmissionRequest read(byte[] body) throws BadReviewException {
    Map<String, Object> review;
    try {
      review = map(JSON.unmarshal(new String(body, UTF_8), Map.class));
    } catch (RuntimeException e) {
      throw new BadReviewException("the body is not JSON: " + e.getClass().getSimpleName());
    }
    if (review == null || !API_VERSION.equals(review.get("apiVersion"))
        || !"AdmissionReview".equals(review.get("kind"))) {
      throw new BadReviewException("expected an AdmissionReview of apiVersion " + API_VERSION);
    }
    Map<String, Object> request = map(review.get("request"));
    if (request == null) {
      throw new BadReviewException("the AdmissionReview has no request");
    }
    AdmissionRequest.Operation operation;
    try {
      operation = AdmissionRequest.Operation.valueOf(String.valueOf(request.get("operation")));
    } catch (IllegalArgumentException e) {
      throw new BadReviewException("unknown operation " + request.get("operation"));
    }
    Map<String, Object> kind = map(request.get("kind"));
    KubernetesSource.Kind watched = kind == null ? null : watchedKind(String.valueOf(kind.get("group")),
        String.valueOf(kind.get("kind")));
    Kind glooKind = watched == null ? null : AdmissionValidator.kindOf(watched.kind());
    String namespace = string(request.get("namespace"));
    String name = string(request.get("name"));
    SourceDocument object = document(watched, request.get("object"));
    SourceDocument oldObject = document(watched, request.get("oldObject"));
    if (name == null) {
      SourceDocument d = object != null ? object : oldObject;
      name = d == null ? "" : string(map(d.content().get("metadata")).get("name"));
    }
    return new AdmissionRequest(string(request.get("uid")), operation, glooKind, namespace == null ? "" : namespace,
        name == null ? "" : name, object, oldObject, Boolean.TRUE.equals(request.get("dryRun")));
  }

  /** The AdmissionReview answering the request {@code uid} with {@code verdict}. */
  public static byte[] write(String uid, AdmissionVerdict verdict) {
    Map<String, Object> response = new LinkedHashMap<>();
    response.put("uid", uid);
    response.put("allowed", verdict.allowed());
    if (!verdict.allowed()) {
      Map<String, Object> status = new LinkedHashMap<>();
      status.put("code", 400);
      status.put("reason", "Invalid");
      status.put("message", verdict.message());
      response.put("status", status);
    }
    if (!verdict.warnings().isEmpty()) {
      response.put("warnings", verdict.warnings());
    }
    Map<String, Object> review = new LinkedHashMap<>();
    review.put("apiVersion", API_VERSION);
    review.put("kind", "AdmissionReview");
    review.put("response", response);
    return JSON.asJson(review).getBytes(UTF_8);
  }

  /** The Gloo kind the source reads with this group and kind, or null. */
  private static KubernetesSource.Kind watchedKind(String group, String kind) {
    for (KubernetesSource.Kind k : KubernetesSource.KINDS) {
      if (k.group().equals(group) && k.kind().equals(kind)) {
        return k;
      }
    }
    return null;
  }

  private static SourceDocument document(KubernetesSource.Kind kind, Object object) {
    if (kind == null || !(object instanceof Map<?, ?>)) {
      return null;
    }
    GenericKubernetesResource r = JSON.convertValue(object, GenericKubernetesResource.class);
    return KubernetesSource.document(kind, r);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o) {
    return o instanceof Map<?, ?> m ? (Map<String, Object>) m : null;
  }

  private static String string(Object o) {
    return o == null ? null : String.valueOf(o);
  }
}
