package io.shardgate.controlplane.source;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.shardgate.controlplane.source.SourceProblem.Severity;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.secret.KubeSecret;
import io.shardgate.sharding.secret.TlsSecretContent;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Turns the Secret documents of a config directory into {@link KubeSecret}s, so that secret bytes never travel the
 * document and decoder path (whose messages quote values): Gloo's own TLS secret ({@code tls: {certChain, privateKey,
 * rootCa, ocspStaple}}, in {@code secrets/<namespace>/<name>.yaml} or as a document of kind Secret with a {@code tls}
 * entry) becomes a {@code kubernetes.io/tls} secret as Gloo's converter to Kubernetes makes it; a Kubernetes Secret
 * ({@code data} in base64 and {@code stringData}) is judged and read as the Kubernetes source reads one
 * ({@link KubernetesSource#keepsSecret}, {@link KubernetesSource#kubeSecret}).
 *
 * <p>Stage: source. Pure; thread-safe. Messages name the file, line, secret and field, never a value.
 */
final class DirectorySecrets {

  private DirectorySecrets() {}

  /** One document's outcome: a secret, or a problem (a warning for a Secret that is not a TLS one). */
  record Result(KubeSecret secret, SourceProblem problem) {}

  /** Whether {@code doc} is a Secret document: it goes here, never to the decoder. */
  static boolean isSecret(SourceDocument doc) {
    Object api = doc.content().get("apiVersion");
    return "Secret".equals(doc.content().get("kind"))
        && (api == null || "v1".equals(api) || "gloo.solo.io/v1".equals(api));
  }

  /** The secret of {@code doc} (a Secret document; {@link #isSecret}), or the problem with it. */
  static Result read(SourceDocument doc) {
    Map<String, Object> content = doc.content();
    Map<?, ?> meta = content.get("metadata") instanceof Map<?, ?> m ? m : Map.of();
    String name = meta.get("name") instanceof String s ? s : null;
    String namespace = meta.get("namespace") instanceof String s ? s : "default";
    if (name == null || name.isEmpty()) {
      return problem(doc, "metadata.name", Severity.ERROR, "the Secret has no metadata.name");
    }
    String what = "Secret " + namespace + "/" + name;
    String origin = doc.origin() + ":" + doc.line();
    Map<?, ?> spec = content.get("spec") instanceof Map<?, ?> sp ? sp : null;
    Object tls = spec != null && spec.get("tls") != null ? spec.get("tls") : content.get("tls");
    if (tls != null) {
      String path = spec != null && spec.get("tls") != null ? "spec.tls" : "tls";
      if (!(tls instanceof Map<?, ?> fields)) {
        return problem(doc, path, Severity.ERROR, what + ": " + path + " must be a mapping of certChain, privateKey,"
            + " rootCa and ocspStaple");
      }
      SortedMap<String, byte[]> data = new TreeMap<>();
      for (Map.Entry<String, String> f : Map.of("certChain", KubeSecret.TLS_CERT, "privateKey", KubeSecret.TLS_KEY,
          "rootCa", KubeSecret.CA_CERT, "ocspStaple", TlsSecretContent.OCSP_STAPLE).entrySet()) {
        Object v = fields.get(f.getKey());
        if (v == null) {
          continue;
        }
        if (!(v instanceof String text)) {
          return problem(doc, path + "." + f.getKey(), Severity.ERROR, what + ": " + path + "." + f.getKey()
              + " must be a string");
        }
        if (f.getKey().equals("ocspStaple")) {
          try {
            data.put(f.getValue(), Base64.getMimeDecoder().decode(text)); // proto bytes are base64 in YAML
          } catch (IllegalArgumentException e) {
            return problem(doc, path + ".ocspStaple", Severity.ERROR, what + ": " + path
                + ".ocspStaple is not valid base64");
          }
        } else {
          data.put(f.getValue(), text.getBytes(StandardCharsets.UTF_8));
        }
      }
      return new Result(new KubeSecret(namespace, name, KubernetesSource.TLS_SECRET_TYPE, data, origin), null);
    }
    Object type = content.get("type") == null ? KubernetesSource.OPAQUE_SECRET_TYPE : content.get("type");
    Map<String, String> data = new LinkedHashMap<>();
    for (String field : List.of("data", "stringData")) {
      Object values = content.get(field);
      if (values == null) {
        continue;
      }
      if (!(values instanceof Map<?, ?> entries)) {
        return problem(doc, field, Severity.ERROR, what + ": " + field + " must be a mapping");
      }
      for (Map.Entry<?, ?> e : entries.entrySet()) {
        if (!(e.getValue() instanceof String v)) {
          return problem(doc, field + "." + e.getKey(), Severity.ERROR, what + ": " + field + "." + e.getKey()
              + " must be a string");
        }
        // The API server merges stringData into data, stringData winning; data is base64, so encode it the same.
        data.put(String.valueOf(e.getKey()), field.equals("data") ? v
            : Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8)));
      }
    }
    Map<String, String> annotations = new LinkedHashMap<>();
    if (meta.get("annotations") instanceof Map<?, ?> a) {
      a.forEach((k, v) -> annotations.put(String.valueOf(k), String.valueOf(v)));
    }
    Secret secret = new SecretBuilder()
        .withMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(name).withAnnotations(annotations)
            .build())
        .withType(String.valueOf(type)).withData(data).build();
    if (!KubernetesSource.keepsSecret(secret)) {
      return problem(doc, "type", Severity.WARNING, what + " of type " + type + " holds no TLS material Gloo reads"
          + " (kubernetes.io/tls, or Opaque with annotation resource_kind: '*v1.Secret' and a tls entry); ignored");
    }
    KubeSecret read;
    try {
      read = KubernetesSource.kubeSecret(secret);
    } catch (IllegalArgumentException e) {
      return problem(doc, "data", Severity.ERROR, what + ": a data entry is not valid base64");
    }
    return new Result(new KubeSecret(read.namespace(), read.name(), read.type(), read.data(), origin), null);
  }

  private static Result problem(SourceDocument doc, String field, Severity severity, String message) {
    return new Result(null, new SourceProblem(doc.origin(), doc.lineOf(field), severity, message));
  }
}
