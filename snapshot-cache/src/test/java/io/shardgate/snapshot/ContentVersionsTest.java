package io.shardgate.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import java.util.List;
import org.junit.jupiter.api.Test;

class ContentVersionsTest {

  @Test
  void equalContentGivesEqualVersions() {
    Cluster a = Fixtures.edsCluster("backend");
    Cluster b = Fixtures.edsCluster("backend");
    assertNotSame(a, b);
    assertEquals(ContentVersions.of(a), ContentVersions.of(b));
    assertEquals(ContentVersions.of(List.of(a)), ContentVersions.of(List.of(b)));
  }

  @Test
  void differentContentGivesDifferentVersions() {
    assertNotEquals(ContentVersions.of(Fixtures.edsCluster("backend")),
        ContentVersions.of(Fixtures.edsCluster("backend2")));
    assertNotEquals(ContentVersions.of(Fixtures.endpoints("backend", 1000)),
        ContentVersions.of(Fixtures.endpoints("backend", 1001)));
  }

  @Test
  void inputOrderDoesNotMatterOnceShardResourcesSortedIt() {
    Cluster x = Fixtures.edsCluster("x");
    Cluster y = Fixtures.edsCluster("y");
    ShardResources xy = new ShardResources(List.of(x, y), List.of(), List.of(), List.of(), List.of());
    ShardResources yx = new ShardResources(List.of(Fixtures.edsCluster("y"), Fixtures.edsCluster("x")),
        List.of(), List.of(), List.of(), List.of());
    assertEquals(ContentVersions.of(xy.clusters()), ContentVersions.of(yx.clusters()));
    // and the list version really depends on order, which is why ShardResources sorts
    assertNotEquals(ContentVersions.of(List.of(x, y)), ContentVersions.of(List.of(y, x)));
  }

  @Test
  void versionIsAStableLiteralComputedFromBytes() {
    // Computed once and pinned (and re-derived outside Java from the serialized bytes): a hashCode()-based version
    // would differ between JVM runs and fail here.
    assertEquals("222ebf0bd4026dd4", ContentVersions.of(Fixtures.edsCluster("backend")));
    assertEquals("e3b0c44298fc1c14", ContentVersions.EMPTY, "SHA-256 of nothing");
    assertEquals(ContentVersions.EMPTY, ContentVersions.of(List.of()));
    assertEquals(16, ContentVersions.of(Fixtures.edsCluster("backend")).length());
  }

  @Test
  void sendingAVersionedResourceReusesTheSerializationItsVersionWasHashedFrom() throws Exception {
    Cluster cluster = Fixtures.edsCluster("packed");
    String version = ContentVersions.of(cluster);
    long before = ContentVersions.serializedResources();

    Any packed = new IdentityCachingSerializer().serialize(cluster, null);

    assertEquals(before, ContentVersions.serializedResources(), "no second serialization to send it");
    assertEquals(Any.pack(cluster).getTypeUrl(), packed.getTypeUrl());
    assertEquals(cluster, packed.unpack(Cluster.class));
    assertEquals(version, ContentVersions.of(cluster));
  }

  @Test
  void aResourceInstanceIsSerializedOnceHoweverOftenItIsVersioned() {
    Cluster a = Fixtures.edsCluster("memo-a");
    Cluster b = Fixtures.edsCluster("memo-b");
    Cluster c = Fixtures.edsCluster("memo-c");
    long before = ContentVersions.serializedResources();
    String first = ContentVersions.versions(List.of(a, b, c)).list();
    assertEquals(before + 3, ContentVersions.serializedResources());

    // The same instances again (an unchanged shard): nothing is serialized.
    assertEquals(first, ContentVersions.versions(List.of(a, b, c)).list());
    assertEquals(first, ContentVersions.of(List.of(a, b, c)));
    assertEquals(before + 3, ContentVersions.serializedResources());

    // One changed resource (a new instance): only it is serialized, and the list version changes.
    Cluster changed = c.toBuilder().setAltStatName("edited").build();
    String edited = ContentVersions.versions(List.of(a, b, changed)).list();
    assertEquals(before + 4, ContentVersions.serializedResources());
    assertNotEquals(first, edited);

    // A fresh instance with equal content costs one serialization and gets the same version: identity is only a memo.
    assertEquals(ContentVersions.of(a), ContentVersions.of(Fixtures.edsCluster("memo-a")));
    assertEquals(before + 5, ContentVersions.serializedResources());
  }

  @Test
  void combinedComputationMatchesThePublicOnes() {
    List<Cluster> clusters = List.of(Fixtures.edsCluster("a"), Fixtures.edsCluster("b"));
    ContentVersions.Versions v = ContentVersions.versions(clusters);
    assertEquals(ContentVersions.of(clusters), v.list());
    assertEquals(List.of(ContentVersions.of(clusters.get(0)), ContentVersions.of(clusters.get(1))), v.perResource());
  }

  @Test
  void mapFieldsAreHashedDeterministically() {
    // Same metadata, keys inserted in opposite orders: plain serialization writes them in insertion order.
    Struct ab = Struct.newBuilder().putFields("a", str("1")).putFields("b", str("2")).build();
    Struct ba = Struct.newBuilder().putFields("b", str("2")).putFields("a", str("1")).build();
    Cluster one = Fixtures.edsCluster("c").toBuilder()
        .setMetadata(Metadata.newBuilder().putFilterMetadata("x", ab).putFilterMetadata("y", ab)).build();
    Cluster two = Fixtures.edsCluster("c").toBuilder()
        .setMetadata(Metadata.newBuilder().putFilterMetadata("y", ba).putFilterMetadata("x", ba)).build();
    assertEquals(one, two);
    assertEquals(ContentVersions.of(one), ContentVersions.of(two));
  }

  @Test
  void framingKeepsTypesAndSplitsApart() {
    // A cluster and a listener named alike serialize to the same bytes; the type name tells them apart.
    Cluster cluster = Cluster.newBuilder().setName("same").build();
    Listener listener = Listener.newBuilder().setName("same").build();
    assertEquals(cluster.toByteString(), listener.toByteString());
    assertNotEquals(ContentVersions.of(cluster), ContentVersions.of(listener));

    // Two resources are not one resource with their concatenated bytes.
    Cluster ab = Cluster.newBuilder().setName("a").setAltStatName("b").build();
    Cluster a = Cluster.newBuilder().setName("a").build();
    Cluster b = Cluster.newBuilder().setAltStatName("b").build();
    assertEquals(ab.toByteString(), a.toByteString().concat(b.toByteString()));
    assertNotEquals(ContentVersions.of(List.of(ab)), ContentVersions.of(List.of(a, b)));
    assertTrue(ContentVersions.of(List.of(a, b)).matches("[0-9a-f]{16}"));
  }

  private static Value str(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }
}
