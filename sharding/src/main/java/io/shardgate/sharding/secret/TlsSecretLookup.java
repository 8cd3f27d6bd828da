package io.shardgate.sharding.secret;

import io.shardgate.sharding.model.ResourceRef;

/**
 * What gateway translation may know of the TLS secrets: per {@code secretRef}, whether it can be served, whether it
 * carries a certificate and key, and whether a root CA; never its content. A certificate rotated from one valid
 * content to another answers the same, so a rotation does not translate a Gateway again: only the SDS resources
 * change.
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
   * @param servable whether Envoy can be given its content: the current content is valid, or it was valid before and
   *     that last good content still serves
   * @param hasCertificate whether the content served carries a certificate chain and its key (what a listener
   *     presents, or a cluster presents as its client certificate); false for a secret that holds only a root CA,
   *     which can verify a backend but not serve a VirtualService
   * @param hasRootCa whether the content served carries a root CA ({@code ca.crt}, Gloo's {@code rootCa})
   * @param problem why the current content cannot be served (not found, bad PEM, key not matching, expired), naming
   *     the secret and never its content; null when the current content serves
   */
  record TlsSecretView(boolean servable, boolean hasCertificate, boolean hasRootCa, String problem) {

    public TlsSecretView {
      if (!servable && (hasCertificate || hasRootCa)) {
        throw new IllegalArgumentException("a secret that cannot be served has no parts to serve");
      }
      if (servable && !hasCertificate && !hasRootCa) {
        throw new IllegalArgumentException("a servable secret has a certificate or a root CA");
      }
    }

    public static TlsSecretView missing(ResourceRef ref) {
      return unservable("secret " + ref + " not found");
    }

    /** A secret that cannot be served, and why (naming it). */
    public static TlsSecretView unservable(String problem) {
      return new TlsSecretView(false, false, false, problem);
    }

    /** A valid secret with a certificate and key, and a root CA when {@code hasRootCa}. */
    public static TlsSecretView valid(boolean hasRootCa) {
      return new TlsSecretView(true, true, hasRootCa, null);
    }

    /** A valid secret that holds only a root CA: it verifies peers and presents nothing. */
    public static TlsSecretView rootCaOnly() {
      return new TlsSecretView(true, false, true, null);
    }
  }
}
