package io.shardgate.sharding.secret;

import io.shardgate.sharding.model.ResourceRef;

/**
 * What gateway translation may know of the TLS secrets: per {@code secretRef}, whether it can be served and whether
 * it carries a root CA, never its content. A certificate rotated from one valid content to another answers the
 * same, so a rotation does not translate a Gateway again: only the SDS resources change.
 *
 * <p>Implementations are immutable values (built once per input); thread-safe.
 */
@FunctionalInterface
public interface TlsSecretLookup {

  /** No secrets at all: every reference is missing. */
  TlsSecretLookup NONE = ref -> TlsSecretView.missing(ref);

  /** What is known of the secret {@code ref} (never null). */
  TlsSecretView find(ResourceRef ref);

  /**
   * The view of one TLS secret.
   *
   * @param servable whether Envoy can be given a certificate for it: its content is valid, or it was valid before
   *     and that last good content still serves
   * @param hasRootCa whether the content served carries a root CA ({@code ca.crt}, Gloo's {@code rootCa})
   * @param problem why the current content cannot be served (not found, bad PEM, key not matching, expired), naming
   *     the secret and never its content; null when the current content serves
   */
  record TlsSecretView(boolean servable, boolean hasRootCa, String problem) {

    public static TlsSecretView missing(ResourceRef ref) {
      return new TlsSecretView(false, false, "secret " + ref + " not found");
    }

    public static TlsSecretView valid(boolean hasRootCa) {
      return new TlsSecretView(true, hasRootCa, null);
    }
  }
}
