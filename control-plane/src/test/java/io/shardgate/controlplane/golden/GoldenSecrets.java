package io.shardgate.controlplane.golden;

import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.secret.TlsSecretLookup;
import io.shardgate.sharding.secret.TlsSecretLookup.TlsSecretView;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Golden cases give TLS secrets as Kubernetes Secret documents in the same file ({@code apiVersion: v1, kind:
 * Secret, type: kubernetes.io/tls}, with {@code stringData} or base64 {@code data}), so one file shows an SSL
 * Gateway, the secrets its VirtualServices name and what Envoy gets. The cases use fake PEM text
 * ({@code -----BEGIN CERTIFICATE-----\nTEST...}), never real keys.
 *
 * <p>A test-side stand-in, and deliberately minimal: a Secret is servable when its {@code tls.crt} and
 * {@code tls.key} are not empty, and has a root CA when its {@code ca.crt} is not empty; one with only a
 * {@code ca.crt} holds only a root CA (servable, no certificate), as the catalog sees it. It checks no PEM, key match
 * or expiry; the TLS secret catalog of the secrets work (tls-secrets) builds the real {@link TlsSecretLookup} from
 * {@code ConfigInput.secrets()} and replaces this one.
 */
public final class GoldenSecrets {

  public record Split(List<SourceDocument> documents, TlsSecretLookup secrets) {}

  private GoldenSecrets() {}

  /** The documents other than {@code kubernetes.io/tls} Secrets, and the lookup those Secrets describe. */
  @SuppressWarnings("unchecked")
  public static Split split(List<SourceDocument> docs) {
    List<SourceDocument> rest = new ArrayList<>();
    SortedMap<ResourceRef, TlsSecretView> views = new TreeMap<>();
    for (SourceDocument d : docs) {
      if (!"v1".equals(d.content().get("apiVersion")) || !"Secret".equals(d.content().get("kind"))
          || !"kubernetes.io/tls".equals(d.content().get("type"))) {
        rest.add(d);
        continue;
      }
      Map<String, Object> meta = (Map<String, Object>) d.content().getOrDefault("metadata", Map.of());
      ResourceRef ref = new ResourceRef(String.valueOf(meta.getOrDefault("namespace", "default")),
          String.valueOf(meta.get("name")));
      Map<String, String> data = new TreeMap<>();
      ((Map<String, Object>) d.content().getOrDefault("data", Map.of())).forEach((k, v) ->
          data.put(k, new String(Base64.getDecoder().decode(String.valueOf(v)), StandardCharsets.UTF_8)));
      ((Map<String, Object>) d.content().getOrDefault("stringData", Map.of())).forEach((k, v) ->
          data.put(k, String.valueOf(v)));
      boolean cert = !data.getOrDefault("tls.crt", "").isEmpty();
      boolean key = !data.getOrDefault("tls.key", "").isEmpty();
      boolean ca = !data.getOrDefault("ca.crt", "").isEmpty();
      views.put(ref, cert && key ? TlsSecretView.valid(ca)
          : !cert && !key && ca ? TlsSecretView.rootCaOnly()
          : TlsSecretView.unservable("secret " + ref + ": " + (cert ? "tls.key" : "tls.crt") + " is empty"));
    }
    return new Split(rest, ref -> views.getOrDefault(ref, TlsSecretView.missing(ref)));
  }
}
