package io.shardgate.sharding.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.shardgate.sharding.model.ObjectMeta;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CanonicalTest {

  @Test
  void mapsAreCanonicalWhateverTheirOrder() {
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("x", 1L);
    a.put("y", List.of("p", "q"));
    Map<String, Object> b = new LinkedHashMap<>();
    b.put("y", List.of("p", "q"));
    b.put("x", 1L);
    assertEquals(Canonical.of(a), Canonical.of(b));
    assertNotEquals(Canonical.of(List.of("p", "q")), Canonical.of(List.of("q", "p")));
  }

  /** String keys sort as their canonical texts would ("s<length>:<text>"), without building those texts. */
  @Test
  void stringKeysSortLikeTheirCanonicalTexts() {
    Random random = new Random(7);
    for (int round = 0; round < 200; round++) {
      List<String> keys = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        keys.add("k".repeat(random.nextInt(14)) + (char) ('a' + random.nextInt(3)));
      }
      List<String> byCanonical = new ArrayList<>(keys);
      byCanonical.sort(Comparator.comparing(k -> "s" + k.length() + ":" + k));
      List<String> fast = new ArrayList<>(keys);
      fast.sort(Canonical::compareAsCanonicalStrings);
      assertEquals(byCanonical, fast);
    }
  }

  @Test
  void metadataKeepsOnlyNameAndNamespace() {
    ObjectMeta one = new ObjectMeta("n", "ns", Map.of("a", "1"), Map.of("note", "x"), "f.yaml:3");
    ObjectMeta two = new ObjectMeta("n", "ns", Map.of(), Map.of(), "g.yaml:30");
    assertEquals(Canonical.of(one), Canonical.of(two));
    assertNotEquals(Canonical.of(one), Canonical.of(new ObjectMeta("m", "ns", Map.of(), Map.of(), "")));
  }

  @Test
  void stringsCannotForgeSeparators() {
    assertNotEquals(Canonical.of(List.of("a,", "b")), Canonical.of(List.of("a", ",b")));
    assertEquals(64, Canonical.hash("x").length());
  }

  @Test
  void integralNumbersHashAlikeWhateverTheirType() {
    assertEquals(Canonical.of(Map.of("w", 3L)), Canonical.of(Map.of("w", 3.0)));
    assertEquals(Canonical.of(3), Canonical.of(3L));
  }

  @Test
  void unknownTypesAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> Canonical.of(new Object()));
  }
}
