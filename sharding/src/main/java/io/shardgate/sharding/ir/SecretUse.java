package io.shardgate.sharding.ir;

import io.shardgate.sharding.model.ResourceRef;
import java.util.Comparator;
import java.util.Objects;

/**
 * One TLS secret a shard's listeners or clusters reference by SDS name, and which of its parts they need: the
 * certificate with its key (what Envoy presents) and the root CA (what Envoy verifies the peer with). The SDS
 * resources of a shard are exactly its secret uses. Immutable value.
 *
 * @param secret the secret's {@code namespace/name}
 * @param certificate whether the certificate and key are served ({@code XdsNames.certificateSecret})
 * @param validation whether the root CA is served as a validation context ({@code XdsNames.validationSecret})
 */
public record SecretUse(ResourceRef secret, boolean certificate, boolean validation) implements Comparable<SecretUse> {

  private static final Comparator<SecretUse> ORDER = Comparator.comparing(SecretUse::secret)
      .thenComparing(SecretUse::certificate).thenComparing(SecretUse::validation);

  public SecretUse {
    Objects.requireNonNull(secret, "secret");
  }

  @Override
  public int compareTo(SecretUse o) {
    return ORDER.compare(this, o);
  }
}
