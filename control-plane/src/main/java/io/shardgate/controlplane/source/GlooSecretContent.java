package io.shardgate.controlplane.source;

import io.shardgate.sharding.secret.KubeSecret;
import io.shardgate.sharding.secret.PemException;
import io.shardgate.sharding.secret.TlsSecretContent;
import java.util.Base64;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Reads the TLS content of a Secret in either layout a source delivers: {@code kubernetes.io/tls} keys
 * ({@link TlsSecretContent#of}), or one of Gloo's own secrets stored as an Opaque Secret, whose {@code tls} entry is
 * Gloo's {@code TlsSecret} as YAML ({@code certChain}, {@code privateKey}, {@code rootCa}, {@code ocspStaple}).
 *
 * <p>Stage: between source and translation (the TLS secret catalog's reader). Pure; thread-safe. Errors say which
 * part is wrong, never a value.
 */
public final class GlooSecretContent {

  private GlooSecretContent() {}

  /** The content of {@code secret}; throws {@link PemException} when its Gloo {@code tls} entry cannot be read. */
  public static TlsSecretContent read(KubeSecret secret) {
    if (!KubernetesSource.OPAQUE_SECRET_TYPE.equals(secret.type())
        || secret.value(KubernetesSource.GLOO_TLS_KEY) == null) {
      return TlsSecretContent.of(secret);
    }
    Object parsed;
    try {
      LoaderOptions options = new LoaderOptions();
      options.setAllowDuplicateKeys(false);
      parsed = new Yaml(new SafeConstructor(options)).load(secret.text(KubernetesSource.GLOO_TLS_KEY));
    } catch (YAMLException e) {
      // snakeyaml's messages quote the text around the error: say only that it does not parse.
      throw new PemException("the tls entry is not YAML (Gloo's TlsSecret: certChain, privateKey, rootCa)");
    }
    if (!(parsed instanceof Map<?, ?> fields)) {
      throw new PemException("the tls entry is not a mapping of certChain, privateKey and rootCa");
    }
    byte[] ocsp = null;
    if (fields.get("ocspStaple") instanceof String staple) {
      try {
        ocsp = Base64.getMimeDecoder().decode(staple);
      } catch (IllegalArgumentException e) {
        throw new PemException("tls.ocspStaple is not valid base64");
      }
    }
    return new TlsSecretContent(text(fields, "certChain"), text(fields, "privateKey"), text(fields, "rootCa"), ocsp);
  }

  private static byte[] text(Map<?, ?> fields, String name) {
    Object v = fields.get(name);
    if (v != null && !(v instanceof String)) {
      throw new PemException("tls." + name + " is not a string");
    }
    return TlsSecretContent.utf8((String) v);
  }
}
