package io.shardgate.sharding.secret;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class KubeSecretTest {

  private static final String KEY = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIdoNotLogThis\n-----END PRIVATE KEY-----\n";

  private static KubeSecret secret(String key, String origin) {
    return new KubeSecret("shop", "web-tls", "kubernetes.io/tls", new TreeMap<>(Map.of(
        KubeSecret.TLS_KEY, key.getBytes(StandardCharsets.UTF_8),
        KubeSecret.TLS_CERT, "cert".getBytes(StandardCharsets.UTF_8))), origin);
  }

  @Test
  void toStringShowsKeysLengthsAndAHashPrefixButNeverTheData() {
    KubeSecret s = secret(KEY, "Secret shop/web-tls@12");
    String text = s.toString() + new SecretState(new TreeMap<>(Map.of(s.key(), s)));
    assertFalse(text.contains("doNotLogThis"), text);
    assertFalse(text.contains("PRIVATE KEY"), text);
    assertFalse(text.contains("cert>") || text.contains("=cert"), text);
    assertTrue(text.contains("tls.key=<" + KEY.length() + " bytes, sha256:"), text);
    assertTrue(text.contains("Secret shop/web-tls@12"), text);
  }

  @Test
  void equalByContentNotByOriginAndTheBytesCannotBeChangedFromOutside() {
    byte[] key = KEY.getBytes(StandardCharsets.UTF_8);
    TreeMap<String, byte[]> data = new TreeMap<>(Map.of(KubeSecret.TLS_KEY, key));
    KubeSecret s = new KubeSecret("shop", "web-tls", "kubernetes.io/tls", data, "Secret shop/web-tls@12");
    assertEquals(secret(KEY, "x").keys(), Set.of("tls.crt", "tls.key"));
    assertEquals(secret(KEY, "Secret shop/web-tls@12"), secret(KEY, "Secret shop/web-tls@13"));
    assertEquals(secret(KEY, "a").hashCode(), secret(KEY, "b").hashCode());
    assertNotEquals(secret(KEY, "a"), secret(KEY + "x", "a"));
    key[0] = 'X';
    s.data().get(KubeSecret.TLS_KEY)[1] = 'Y';
    s.value(KubeSecret.TLS_KEY)[2] = 'Z';
    assertArrayEquals(KEY.getBytes(StandardCharsets.UTF_8), s.value(KubeSecret.TLS_KEY));
    assertEquals(KEY, s.text(KubeSecret.TLS_KEY));
  }

  @Test
  void changedSinceNamesAddedRemovedAndReplacedSecretsByIdentity() {
    KubeSecret a = secret(KEY, "a");
    KubeSecret b = new KubeSecret("shop", "other", "Opaque", new TreeMap<>(), "b");
    SecretState before = new SecretState(new TreeMap<>(Map.of(a.key(), a, b.key(), b)));
    KubeSecret c = new KubeSecret("shop", "new", "Opaque", new TreeMap<>(), "c");
    SecretState after = new SecretState(new TreeMap<>(Map.of(a.key(), secret(KEY, "a2"), c.key(), c)));
    assertEquals(Set.of("shop/web-tls", "shop/other", "shop/new"), after.changedSince(before));
    assertEquals(Set.of(), before.changedSince(before));
  }
}
