package io.shardgate.controlplane.state;

import static io.shardgate.controlplane.state.StateStoreAssertions.assertEntries;
import static io.shardgate.controlplane.state.StateStoreAssertions.copy;
import static io.shardgate.controlplane.state.StateStoreAssertions.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What open does with a damaged state log: every flipped bit and every truncation of a real log, garbage, a missing
 * file, formats it does not know, a compaction cut short. The rule in every case: open succeeds, the store holds
 * the state after a prefix of whole transactions (the longest one that can be trusted), what was found is in
 * problems(), and a damaged file is kept beside the log for the operator.
 */
class StateStoreRecoveryTest {

  @TempDir
  Path tmp;

  /** A real log: a base record (from a compaction) and three change records; what holds after each; where each ends. */
  private record Sample(byte[] bytes, List<Long> recordEnds, List<SortedMap<String, byte[]>> states) {

    /** The state a reader can trust when the damage is at {@code offset}: the records that end before it. */
    SortedMap<String, byte[]> stateBefore(long offset) {
      SortedMap<String, byte[]> state = new TreeMap<>();
      for (int r = 0; r < recordEnds.size() && recordEnds.get(r) <= offset; r++) {
        state = states.get(r);
      }
      return state;
    }

    long sequenceBefore(long offset) {
      long sequence = 0;
      for (int r = 0; r < recordEnds.size() && recordEnds.get(r) <= offset; r++) {
        sequence = r == 0 ? 2 : 2 + r;
      }
      return sequence;
    }

    int recordAt(long offset) {
      for (int r = 0; r < recordEnds.size(); r++) {
        if (offset < recordEnds.get(r)) {
          return r;
        }
      }
      return -1;
    }
  }

  private Sample sample() throws IOException {
    Path dir = tmp.resolve("sample");
    List<Long> ends = new ArrayList<>();
    List<SortedMap<String, byte[]>> states = new ArrayList<>();
    try (StateStore store = StateStore.open(dir, new StateStore.Options(Long.MAX_VALUE / 4))) {
      store.apply(Map.of("listener/http", utf8("port: 8080"), "vhost/api", utf8("api.example.com")), Set.of());
      store.apply(Map.of("vhost/api", utf8("api.example.com, api.example.org")), Set.of());
      store.compact();
      record(store, ends, states);
      store.apply(Map.of("subtree/teams/a", utf8("/a")), Set.of("listener/http"));
      record(store, ends, states);
      store.apply(Map.of("subtree/teams/b", utf8("/b"), "subtree/teams/a", new byte[0]), Set.of());
      record(store, ends, states);
      store.apply(Map.of(), Set.of("vhost/api"));
      record(store, ends, states);
    }
    return new Sample(Files.readAllBytes(dir.resolve(StateStore.LOG_FILE)), ends, states);
  }

  private static void record(StateStore store, List<Long> ends, List<SortedMap<String, byte[]>> states) {
    ends.add(store.stats().fileBytes());
    states.add(copy(store.entries()));
  }

  private Path storeWith(String name, byte[] log) throws IOException {
    Path dir = tmp.resolve(name);
    Files.createDirectories(dir);
    Files.write(dir.resolve(StateStore.LOG_FILE), log);
    return dir;
  }

  @Test
  void everyFlippedBitKeepsTheWholeTransactionsBeforeItAndSetsTheFileAside() throws IOException {
    Sample sample = sample();
    for (int offset = 0; offset < sample.bytes().length; offset++) {
      byte[] damaged = sample.bytes().clone();
      damaged[offset] ^= (byte) (1 << (offset % 8));
      Path dir = storeWith("flip-" + offset, damaged);
      String context = "bit " + (offset % 8) + " of byte " + offset + " (record " + sample.recordAt(offset) + ")";
      try (StateStore store = StateStore.open(dir)) {
        assertEntries(sample.stateBefore(offset), store.entries(), context);
        assertEquals(sample.sequenceBefore(offset), store.stats().sequence(), context);
        assertEquals(1, store.problems().size(), context + ": " + store.problems());
        Path aside = dir.resolve(StateStore.LOG_FILE + ".corrupt-1");
        assertTrue(store.problems().get(0).contains(aside.toString()), context + ": " + store.problems());
        assertArrayEquals(damaged, Files.readAllBytes(aside), context + ": the damaged file is kept as it was");
        store.apply(Map.of("after", utf8("repair")), Set.of());
      }
      try (StateStore store = StateStore.open(dir)) {
        assertEquals(List.of(), store.problems(), context + ": the repaired log is sound");
        SortedMap<String, byte[]> expected = copy(sample.stateBefore(offset));
        expected.put("after", utf8("repair"));
        assertEntries(expected, store.entries(), context + ", reopened");
      }
    }
  }

  @Test
  void everyTruncationKeepsTheWholeTransactionsBeforeTheCut() throws IOException {
    Sample sample = sample();
    long headerEnd = StateLogFormat.HEADER_BYTES;
    long baseEnd = sample.recordEnds().get(0);
    for (int cutAt = 0; cutAt <= sample.bytes().length; cutAt++) {
      int length = cutAt;
      byte[] cut = Arrays.copyOf(sample.bytes(), length);
      Path dir = storeWith("cut-" + length, cut);
      String context = "cut to " + length + " of " + sample.bytes().length + " bytes";
      boolean atBoundary = sample.recordEnds().contains((long) length);
      try (StateStore store = StateStore.open(dir)) {
        assertEntries(sample.stateBefore(length), store.entries(), context);
        if (length < baseEnd) {
          // No whole header, or a header without its base record: nothing can be trusted.
          assertEquals(1, store.problems().size(), context + ": " + store.problems());
          assertTrue(store.problems().get(0).contains("corrupt-1"), context + ": " + store.problems());
          assertArrayEquals(cut, Files.readAllBytes(dir.resolve(StateStore.LOG_FILE + ".corrupt-1")), context);
          assertTrue(store.problems().get(0).contains(length < headerEnd ? "less than a header" : "base record"),
              context + ": " + store.problems());
        } else if (atBoundary) {
          // A cut between records reads like a log with fewer transactions: a prefix, nothing to report.
          assertEquals(List.of(), store.problems(), context);
        } else {
          assertEquals(1, store.problems().size(), context + ": " + store.problems());
          long kept = sample.recordEnds().stream().filter(e -> e <= length).max(Long::compare).orElseThrow();
          String dropped = "dropped the last " + (length - kept) + " bytes at offset " + kept;
          assertTrue(store.problems().get(0).contains(dropped), context + ": " + store.problems());
          assertEquals(kept, Files.size(dir.resolve(StateStore.LOG_FILE)), context + ": the torn tail is cut off");
          try (Stream<Path> files = Files.list(dir)) {
            assertFalse(files.anyMatch(p -> p.getFileName().toString().contains("corrupt")),
                context + ": a torn tail is not damage to keep");
          }
        }
      }
      try (StateStore store = StateStore.open(dir)) {
        assertEquals(List.of(), store.problems(), context + ": reopened after recovery");
      }
    }
  }

  @Test
  void garbageIsSetAsideEachTimeUnderItsOwnNameAndTheStoreStartsEmpty() throws IOException {
    byte[] garbage = new byte[4096];
    new Random(11).nextBytes(garbage);
    Path dir = storeWith("garbage", garbage);
    try (StateStore store = StateStore.open(dir)) {
      assertTrue(store.entries().isEmpty());
      assertEquals(1, store.problems().size(), store.problems().toString());
      assertTrue(store.problems().get(0).contains("not a Shardgate state log"), store.problems().get(0));
      assertTrue(store.problems().get(0).contains("started empty"), store.problems().get(0));
    }
    Files.write(dir.resolve(StateStore.LOG_FILE), garbage);
    try (StateStore store = StateStore.open(dir)) {
      assertTrue(store.problems().get(0).contains(StateStore.LOG_FILE + ".corrupt-2"), store.problems().toString());
    }
    assertArrayEquals(garbage, Files.readAllBytes(dir.resolve(StateStore.LOG_FILE + ".corrupt-1")));
    assertArrayEquals(garbage, Files.readAllBytes(dir.resolve(StateStore.LOG_FILE + ".corrupt-2")));
  }

  @Test
  void garbageAfterTheLastRecordKeepsEveryTransaction() throws IOException {
    Sample sample = sample();
    byte[] tail = new byte[100];
    new Random(5).nextBytes(tail);
    byte[] log = Arrays.copyOf(sample.bytes(), sample.bytes().length + tail.length);
    System.arraycopy(tail, 0, log, sample.bytes().length, tail.length);
    Path dir = storeWith("trailing-garbage", log);
    try (StateStore store = StateStore.open(dir)) {
      assertEntries(sample.states().get(sample.states().size() - 1), store.entries(), "every transaction");
      assertEquals(1, store.problems().size(), store.problems().toString());
      assertTrue(store.problems().get(0).contains("at offset " + sample.bytes().length), store.problems().get(0));
      assertTrue(Files.exists(dir.resolve(StateStore.LOG_FILE + ".corrupt-1")));
    }
  }

  @Test
  void aMissingLogIsReportedAndTheStoreStartsEmpty() throws IOException {
    Path dir = tmp.resolve("missing");
    try (StateStore store = StateStore.open(dir)) {
      store.apply(Map.of("k", utf8("v")), Set.of());
    }
    Files.delete(dir.resolve(StateStore.LOG_FILE));
    try (StateStore store = StateStore.open(dir)) {
      assertTrue(store.entries().isEmpty());
      assertEquals(1, store.problems().size(), store.problems().toString());
      assertTrue(store.problems().get(0).contains(StateStore.LOG_FILE + " is missing"), store.problems().get(0));
    }
  }

  @Test
  void aNewerFormatIsSetAsideForTheShardgateThatWroteIt() throws IOException {
    ByteBuffer newer = ByteBuffer.allocate(200);
    newer.put(StateLogFormat.header(StateLogFormat.CURRENT + 1));
    newer.put(utf8("whatever a later format holds"));
    byte[] log = Arrays.copyOf(newer.array(), newer.position());
    Path dir = storeWith("newer", log);
    int next = StateLogFormat.CURRENT + 1;
    Path aside = dir.resolve(StateStore.LOG_FILE + ".format-" + next + "-1");
    try (StateStore store = StateStore.open(dir)) {
      assertTrue(store.entries().isEmpty());
      assertEquals(1, store.problems().size(), store.problems().toString());
      String problem = store.problems().get(0);
      assertTrue(problem.contains("format " + next + " is newer than this Shardgate reads"), problem);
      assertTrue(problem.contains(aside.toString()), problem);
      store.apply(Map.of("k", utf8("v")), Set.of());
    }
    assertArrayEquals(log, Files.readAllBytes(aside));
    try (StateStore store = StateStore.open(dir)) {
      assertEquals(List.of(), store.problems());
    }
  }

  @Test
  void aFormatNumberThatWasNeverWrittenIsSetAside() throws IOException {
    Path dir = storeWith("format-0", StateLogFormat.header(0).array());
    try (StateStore store = StateStore.open(dir)) {
      assertTrue(store.entries().isEmpty());
      assertTrue(store.problems().get(0).contains("unknown format 0"), store.problems().toString());
      assertTrue(Files.exists(dir.resolve(StateStore.LOG_FILE + ".corrupt-1")));
    }
  }

  @Test
  void aCompactionCutShortLeavesTheLogAsItWas() throws IOException {
    Path dir = tmp.resolve("compaction");
    try (StateStore store = StateStore.open(dir)) {
      store.apply(Map.of("k", utf8("v")), Set.of());
    }
    // What a kill during a compaction leaves: a part of the new file next to the untouched log.
    Files.write(dir.resolve(StateStore.COMPACTING_FILE), Arrays.copyOf(StateLogFormat.header(1).array(), 30));
    try (StateStore store = StateStore.open(dir)) {
      assertEntries(Map.of("k", utf8("v")), store.entries(), "the log");
      assertEquals(1, store.problems().size(), store.problems().toString());
      assertTrue(store.problems().get(0).contains("Removed " + dir.toRealPath().resolve(StateStore.COMPACTING_FILE)),
          store.problems().get(0));
    }
    assertFalse(Files.exists(dir.resolve(StateStore.COMPACTING_FILE)));
  }

  /** A value damaged on disk after open is refused, not handed out and not copied into a compacted log. */
  @Test
  void aValueDamagedWhileTheStoreIsOpenIsNeverHandedOutOrCompacted() throws IOException {
    Path dir = tmp.resolve("rot");
    try (StateStore store = StateStore.open(dir, new StateStore.Options(Long.MAX_VALUE / 4))) {
      store.apply(Map.of("k", utf8("a value that rots")), Set.of());
      Path log = dir.resolve(StateStore.LOG_FILE);
      byte[] bytes = Files.readAllBytes(log);
      int at = indexOf(bytes, utf8("rots"));
      bytes[at] ^= 1;
      Files.write(log, bytes);
      UncheckedIOException read = assertThrows(UncheckedIOException.class, store::entries);
      assertTrue(read.getMessage().contains("no longer matches its checksum"), read.getMessage());
      IOException compaction = assertThrows(IOException.class, store::compact);
      assertTrue(compaction.getMessage().contains("no longer matches its checksum"), compaction.getMessage());
      assertEquals(0, store.stats().compactions());
    }
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
        return i;
      }
    }
    throw new AssertionError("not found");
  }
}
