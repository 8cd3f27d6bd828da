/**
 * Secrets a platform holds that can carry TLS material, in Shardgate's own immutable terms
 * ({@link io.shardgate.sharding.secret.KubeSecret}, {@link io.shardgate.sharding.secret.SecretState}). Sources build
 * them at the edge; the TLS translation reads them. Their data never appears in a string, a log line or an error
 * message: {@code toString} shows keys and a hash prefix only. Pure values only.
 */
package io.shardgate.sharding.secret;
