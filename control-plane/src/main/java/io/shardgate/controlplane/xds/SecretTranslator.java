package io.shardgate.controlplane.xds;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.shardgate.sharding.ir.SecretUse;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.secret.TlsSecretContent;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The SDS resources of one shard: exactly its {@link io.shardgate.sharding.ir.ShardConfig#secretUses() secret uses},
 * each as the {@link Secret} its listeners and clusters name ({@link XdsNames#certificateSecret} with the certificate
 * chain, private key and OCSP staple; {@link XdsNames#validationSecret} with the root CA), the bytes inline.
 *
 * <p>Stage: xDS translation. Pure; thread-safe. Gateway translation builds TLS only for secrets that can serve, so a
 * use without content (a certificate use of a secret that holds only a root CA, or a validation use of a secret
 * without one) is a bug: it throws {@link IllegalStateException} naming the secret, never its content, and the
 * shard's translation fails as for any internal error, so no listener can reference an SDS name that is not served.
 */
public final class SecretTranslator {

  private SecretTranslator() {}

  /** The certificate secret of {@code content}, named for {@code ref}. */
  public static Secret certificate(ResourceRef ref, TlsSecretContent content) {
    if (!content.hasCertificateChain() || !content.hasPrivateKey()) {
      throw new IllegalStateException("secret " + ref + " is used to present a certificate but its served content"
          + " holds only a root CA; gateway translation must not have built that use");
    }
    TlsCertificate.Builder tls = TlsCertificate.newBuilder()
        .setCertificateChain(inline(content.certificateChain()))
        .setPrivateKey(inline(content.privateKey()));
    if (content.hasOcspStaple()) {
      tls.setOcspStaple(inline(content.ocspStaple()));
    }
    return Secret.newBuilder().setName(XdsNames.certificateSecret(ref)).setTlsCertificate(tls).build();
  }

  /** The validation context secret of {@code content}'s root CA, named for {@code ref}. */
  public static Secret validation(ResourceRef ref, TlsSecretContent content) {
    if (!content.hasRootCa()) {
      throw new IllegalStateException("secret " + ref + " is used to verify peers but its served content has no root"
          + " CA; gateway translation must not have built that use");
    }
    return Secret.newBuilder().setName(XdsNames.validationSecret(ref))
        .setValidationContext(CertificateValidationContext.newBuilder().setTrustedCa(inline(content.rootCa())))
        .build();
  }

  /**
   * The SDS resources for {@code uses}, in use order (certificate before validation per secret).
   *
   * @param served what each secret serves, empty when nothing can be served
   */
  public static List<Secret> translate(Collection<SecretUse> uses, Function<ResourceRef, Optional<TlsSecretContent>>
      served) {
    List<Secret> out = new ArrayList<>();
    for (SecretUse use : uses) {
      TlsSecretContent content = content(use, served);
      if (use.certificate()) {
        out.add(certificate(use.secret(), content));
      }
      if (use.validation()) {
        out.add(validation(use.secret(), content));
      }
    }
    return out;
  }

  /** What {@code use}'s secret serves; a use with nothing to serve is a bug ({@link IllegalStateException}). */
  public static TlsSecretContent content(SecretUse use, Function<ResourceRef, Optional<TlsSecretContent>> served) {
    return served.apply(use.secret()).orElseThrow(() -> new IllegalStateException("secret " + use.secret()
        + " is referenced by a listener or cluster of this shard but has no content to serve; gateway translation"
        + " must not have built that reference"));
  }

  private static DataSource inline(byte[] bytes) {
    return DataSource.newBuilder().setInlineBytes(ByteString.copyFrom(bytes)).build();
  }
}
