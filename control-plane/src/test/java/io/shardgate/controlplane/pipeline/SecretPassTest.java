package io.shardgate.controlplane.pipeline;

import static io.shardgate.controlplane.pipeline.KubeShards.ROLE_A;
import static io.shardgate.controlplane.pipeline.KubeShards.ROLE_B;
import static io.shardgate.controlplane.pipeline.TlsShards.A_TLS;
import static io.shardgate.controlplane.pipeline.TlsShards.B_TLS;
import static io.shardgate.controlplane.pipeline.TlsShards.UNUSED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.shardgate.controlplane.render.TranslationOutput;
import io.shardgate.controlplane.secret.TestSecrets;
import io.shardgate.controlplane.xds.XdsNames;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.report.ResourceStatus;
import io.shardgate.snapshot.ShardResources;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Secret changes through the real pipeline into the real snapshot cache: a valid-to-valid rotation rebuilds only the
 * SDS resources of the shard using the secret (no gateway translation, every other list the very same object, only
 * the SDS version moves); a secret no shard uses changes nothing served; a secret that becomes invalid takes the full
 * path, keeps serving its last good content, and shows on the Secret's status until it is fixed. Each result equals
 * what a fresh engine gives for the same input. The secret uses are a stand-in ({@link TlsShards#uses}) until SSL
 * listeners name secrets.
 */
class SecretPassTest {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;
  private static final String SDS = Resources.V3.SECRET_TYPE_URL;
  private static final List<String> TYPES = List.of(CDS, EDS, LDS, RDS, SDS);
  private static final Clock CLOCK = Clock.fixed(Instant.now(), ZoneOffset.UTC);

  @TempDir Path pkiDir;
  private TlsShards tls;
  private final ShardSnapshotCache cache = new ShardSnapshotCache();
  private final TranslationEngine engine = TlsShards.engine(CLOCK);
  private ShardPipeline pipeline;

  @BeforeEach
  void start() {
    tls = new TlsShards(pkiDir);
    pipeline = new ShardPipeline(cache, null, PipelineObserver.NONE, engine);
    pipeline.accept(tls.input());
    assertEquals(1, engine.fullPasses());
    assertEquals(List.of(XdsNames.certificateSecret(A_TLS)), names(ROLE_A));
    assertEquals(List.of(XdsNames.certificateSecret(B_TLS), XdsNames.validationSecret(B_TLS)), names(ROLE_B));
  }

  @AfterEach
  void stop() {
    cache.close();
  }

  @Test
  void aValidRotationPushesOnlySdsAndOnlyToTheShardUsingTheSecret() {
    Translation before = pipeline.latest();
    Map<String, String> a = versions(ROLE_A);
    Map<String, String> b = versions(ROLE_B);
    TestSecrets.Pem rotated = tls.pki.leaf("a.example.com");

    tls.put(A_TLS, rotated, false);
    pipeline.accept(tls.input());

    Translation t = pipeline.latest();
    assertTrue(t.endpointsOnly(), "no gateway translation");
    assertEquals(1, engine.fullPasses());
    assertEquals(1, engine.secretPasses());
    assertEquals(Set.of(ROLE_A), t.translated());
    ShardResources was = before.xds().get(ROLE_A);
    ShardResources now = t.xds().get(ROLE_A);
    assertSame(was.listeners(), now.listeners(), "LDS: the very list");
    assertSame(was.routes(), now.routes(), "RDS: the very list");
    assertSame(was.clusters(), now.clusters(), "CDS: the very list");
    assertSame(was.endpoints(), now.endpoints(), "EDS: the very list");
    assertNotSame(was.secrets(), now.secrets());
    assertSame(before.xds().get(ROLE_B), t.xds().get(ROLE_B), "shard B: nothing");
    assertEquals(rotated.certificate(),
        now.secrets().get(0).getTlsCertificate().getCertificateChain().getInlineBytes().toString(StandardCharsets.UTF_8));
    Map<String, String> a2 = versions(ROLE_A);
    for (String type : List.of(CDS, EDS, LDS, RDS)) {
      assertEquals(a.get(type), a2.get(type), type + " version of shard A");
    }
    assertNotEquals(a.get(SDS), a2.get(SDS), "SDS version of shard A moves");
    assertEquals(b, versions(ROLE_B), "shard B's versions");
    assertEqualsFresh(t);
  }

  @Test
  void aSecretNoShardUsesChangesNothingServedButItsStatus() {
    Translation before = pipeline.latest();
    tls.put(UNUSED, tls.pki.leaf("unused.example.com"), false);
    pipeline.accept(tls.input());
    Translation t = pipeline.latest();
    assertTrue(t.endpointsOnly());
    assertEquals(Set.of(), t.translated());
    assertSame(before.xds().get(ROLE_A), t.xds().get(ROLE_A));
    assertSame(before.xds().get(ROLE_B), t.xds().get(ROLE_B));

    tls.putRaw(UNUSED, Map.of("tls.crt", "not a certificate", "tls.key", "nor a key"));
    pipeline.accept(tls.input());
    t = pipeline.latest();
    assertTrue(t.endpointsOnly(), "nobody reads it: still no gateway translation");
    assertEquals(Set.of(), t.translated());
    ResourceStatus st = t.gateway().statuses().get(new ResourceKey(Kind.SECRET, "shop", "unused"));
    assertEquals(ResourceState.REJECTED, st.state());
    assertEquals("secret shop/unused: tls.crt holds no certificate: expected a PEM block -----BEGIN CERTIFICATE-----;"
        + " its last valid content keeps serving", st.reason());
    assertEquals(1, engine.fullPasses());
    assertEquals(2, engine.secretPasses());
    assertEqualsFresh(t);
  }

  @Test
  void anInvalidSecretKeepsServingItsLastGoodContentWithAnErrorUntilFixed() {
    Translation before = pipeline.latest();
    Secret served = before.xds().get(ROLE_A).secrets().get(0);
    ResourceKey key = new ResourceKey(Kind.SECRET, "shop", "a-tls");
    assertEquals(ResourceState.ACCEPTED, before.gateway().statuses().get(key).state());
    assertEquals(Set.of("proxy-a"), before.gateway().statuses().get(key).proxies());
    assertEquals("secrets/shop/a-tls.yaml:1", before.gateway().statuses().get(key).origin());

    TestSecrets.Pem a = tls.pki.leaf("a.example.com");
    TestSecrets.Pem other = tls.pki.leaf("other.example.com");
    tls.put(A_TLS, new TestSecrets.Pem(a.certificate(), other.key()), false);
    pipeline.accept(tls.input());

    Translation t = pipeline.latest();
    assertFalse(t.endpointsOnly(), "a view changed: the full path");
    assertEquals(2, engine.fullPasses());
    assertSame(served, t.xds().get(ROLE_A).secrets().get(0), "the last good content, the very resource");
    assertSame(before.xds().get(ROLE_A), t.xds().get(ROLE_A), "nothing served changed");
    ResourceStatus st = t.gateway().statuses().get(key);
    assertEquals(ResourceState.REJECTED, st.state());
    assertEquals("secret shop/a-tls: tls.key does not match the certificate's public key; its last valid content"
        + " keeps serving", st.reason());
    assertFalse(st.reason().contains(TestSecrets.pemBody(other.key()).substring(0, 16)));
    assertEqualsFresh(t);

    tls.put(A_TLS, a, false);
    pipeline.accept(tls.input());
    t = pipeline.latest();
    assertEquals(ResourceState.ACCEPTED, t.gateway().statuses().get(key).state(), "the error goes when fixed");
    assertEquals(a.certificate(), t.xds().get(ROLE_A).secrets().get(0).getTlsCertificate().getCertificateChain()
        .getInlineBytes().toString(StandardCharsets.UTF_8));
    assertEquals(Set.of(ROLE_A), t.translated());
    assertEqualsFresh(t);
  }

  @Test
  void aUsedSecretWithNothingToServeFailsOnlyThatShardWhichKeepsWhatItServed() {
    Translation before = pipeline.latest();
    tls.remove(B_TLS);
    tls.put(A_TLS, tls.pki.leaf("a.example.com"), false);
    pipeline.accept(tls.input());
    Translation t = pipeline.latest();
    assertEquals(Set.of(ROLE_B), t.failures().keySet(), "the stand-in uses name a secret nobody can serve: a bug");
    assertTrue(t.failures().get(ROLE_B).startsWith("internal error while building the SDS resources of shard "
        + ROLE_B), t.failures()::toString);
    assertSame(before.xds().get(ROLE_B), t.xds().get(ROLE_B), "shard B keeps what it served, nothing partial");
    assertTrue(t.translated().contains(ROLE_A), "shard A goes on");
    assertEquals(List.of(), engine.drainFailures().stream().filter(f -> !f.shard().equals(ROLE_B)).toList());
  }

  @Test
  void anExpiringCertificateIsRecheckedAtItsNotAfter() {
    Instant now = CLOCK.instant();
    tls.put(A_TLS, tls.pki.leaf("a.example.com", now.minus(Duration.ofHours(1)), now.plus(Duration.ofHours(1))),
        false);
    pipeline.accept(tls.input());
    assertEquals(now.plus(Duration.ofHours(1)).getEpochSecond(),
        engine.nextSecretChange().orElseThrow().getEpochSecond());
  }

  private void assertEqualsFresh(Translation t) {
    Translation fresh = TlsShards.engine(CLOCK).translate(t.input(), pipeline.latest().gateway().lastGood());
    // A fresh engine has no last good content: compare the shards whose secrets all serve their current content.
    for (String role : t.xds().keySet()) {
      boolean lastGood = t.gateway().statuses().values().stream().anyMatch(s -> s.key().kind() == Kind.SECRET
          && s.state() == ResourceState.REJECTED && s.proxies().contains(role.substring(role.indexOf('~') + 1)));
      if (!lastGood) {
        assertEquals(TranslationOutput.xds(fresh.xds().get(role), true), TranslationOutput.xds(t.xds().get(role),
            true), role + ": incremental equals fresh");
      }
    }
  }

  private List<String> names(String role) {
    return cache.resourcesOf(role).secrets().stream().map(Secret::getName).toList();
  }

  private Map<String, String> versions(String role) {
    Map<String, String> out = new TreeMap<>();
    for (String type : TYPES) {
      out.put(type, cache.versionOf(role, type).orElse(""));
    }
    return out;
  }
}
