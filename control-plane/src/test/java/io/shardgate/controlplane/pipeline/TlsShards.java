package io.shardgate.controlplane.pipeline;

import io.shardgate.controlplane.secret.TestSecrets;
import io.shardgate.sharding.ir.SecretUse;
import io.shardgate.sharding.ir.ShardConfig;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.secret.KubeSecret;
import io.shardgate.sharding.secret.SecretState;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Collections;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * {@link KubeShards}' two shards with TLS secrets beside them: shard A uses {@code shop/a-tls} for its certificate,
 * shard B uses {@code shop/b-tls} for its certificate and root CA, and {@code shop/unused} is used by no shard.
 * Certificates are made by the test. The documents are always the same objects; {@link #put} replaces one secret's
 * object and keeps the others'.
 *
 * <p>Until gateway translation builds SSL listeners, no shard's IR names a secret, so the uses come from
 * {@link #uses}, a stand-in for {@link ShardConfig#secretUses()} given to the engine: the one thing here that is not
 * the real part.
 */
public final class TlsShards {

  public static final ResourceRef A_TLS = new ResourceRef("shop", "a-tls");
  public static final ResourceRef B_TLS = new ResourceRef("shop", "b-tls");
  public static final ResourceRef UNUSED = new ResourceRef("shop", "unused");

  public final KubeShards shards = new KubeShards();
  public final TestSecrets pki;
  private final TreeMap<String, KubeSecret> secrets = new TreeMap<>();

  public TlsShards(Path pkiDir) {
    pki = new TestSecrets("tls-shards-ca", pkiDir);
    put(A_TLS, pki.leaf("a.example.com"), false);
    put(B_TLS, pki.leaf("b.example.com"), true);
    put(UNUSED, pki.leaf("unused.example.com"), false);
  }

  /** Replaces the secret {@code ref} with {@code pem} (and the CA as {@code ca.crt} when asked). */
  public KubeSecret put(ResourceRef ref, TestSecrets.Pem pem, boolean withCa) {
    KubeSecret s = TestSecrets.kubeTls(ref.namespace(), ref.name(), pem, withCa ? pki.caPem() : null,
        "secrets/" + ref.namespace() + "/" + ref.name() + ".yaml:1");
    secrets.put(s.key(), s);
    return s;
  }

  /** Replaces the secret with raw data (broken content). */
  public void putRaw(ResourceRef ref, Map<String, String> data) {
    KubeSecret s = TestSecrets.kubeTls(ref.namespace(), ref.name(), data, "secrets/x.yaml:1");
    secrets.put(s.key(), s);
  }

  public void remove(ResourceRef ref) {
    secrets.remove(KubeSecret.key(ref.namespace(), ref.name()));
  }

  /** The same documents and endpoints, with the current secrets. */
  public ConfigInput input() {
    ConfigInput base = shards.input();
    return new ConfigInput(base.description(), base.documents(), base.problems(), base.endpoints(),
        new SecretState(secrets));
  }

  /** The stand-in for {@link ShardConfig#secretUses()}: A's certificate, B's certificate and CA. */
  public static SortedSet<SecretUse> uses(ShardConfig shard) {
    SortedSet<SecretUse> out = new TreeSet<>();
    if (shard.proxy().role().equals(KubeShards.ROLE_A)) {
      out.add(new SecretUse(A_TLS, true, false));
    } else if (shard.proxy().role().equals(KubeShards.ROLE_B)) {
      out.add(new SecretUse(B_TLS, true, true));
    }
    return Collections.unmodifiableSortedSet(out);
  }

  /** An engine reading {@code clock} and the stand-in uses. */
  public static TranslationEngine engine(Clock clock) {
    return new TranslationEngine(null, null, clock, TlsShards::uses);
  }

  /** For tests that want the function itself. */
  public static Function<ShardConfig, SortedSet<SecretUse>> usesFunction() {
    return TlsShards::uses;
  }
}
