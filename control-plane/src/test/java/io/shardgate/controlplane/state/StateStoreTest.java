package io.shardgate.controlplane.state;

import static io.shardgate.controlplane.state.StateStoreAssertions.assertEntries;
import static io.shardgate.controlplane.state.StateStoreAssertions.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store's contract on a real directory: transactions, what they write, snapshots, compaction, threads, locks. */
class StateStoreTest {

  @TempDir
  Path dir;

  @Test
  void appliedTransactionsAreThereAfterReopening() {
    try (StateStore store = StateStore.open(dir)) {
      assertEquals(List.of(), store.problems());
      assertTrue(store.entries().isEmpty());
      store.apply(Map.of("a", utf8("1"), "b", utf8("2"), "c", utf8("3")), Set.of());
      store.apply(Map.of("b", utf8("two")), Set.of("a"));
      store.apply(Map.of("", new byte[0], "ключ/é", utf8("unicode key")), Set.of());
    }
    try (StateStore store = StateStore.open(dir)) {
      assertEquals(List.of(), store.problems());
      assertEntries(Map.of("b", utf8("two"), "c", utf8("3"), "", new byte[0], "ключ/é", utf8("unicode key")),
          store.entries(), "after reopening");
      assertEquals(3, store.stats().sequence());
      assertEquals(0, store.stats().transactions(), "counted since this open");
    }
  }

  /** The cost of one changed entry is that entry: equal bytes in a store of 1,000 and of 10,000 entries. */
  @Test
  void oneChangedEntryWritesOneRecordOfThatEntryWhateverTheStoreHolds() {
    long[] written = new long[2];
    int[] sizes = {1_000, 10_000};
    for (int s = 0; s < sizes.length; s++) {
      Path storeDir = dir.resolve("store-" + sizes[s]);
      try (StateStore store = StateStore.open(storeDir)) {
        Map<String, byte[]> all = new HashMap<>();
        for (int i = 0; i < sizes[s]; i++) {
          all.put("route/%06d".formatted(i), new byte[100]);
        }
        store.apply(all, Set.of());
        StateStore.Stats before = store.stats();
        store.apply(Map.of("route/000042", new byte[5 * 1024]), Set.of());
        StateStore.Stats after = store.stats();
        assertEquals(before.compactions(), after.compactions(), "this apply must not compact");
        written[s] = after.bytesWritten() - before.bytesWritten();
        assertEquals(written[s], after.fileBytes() - before.fileBytes(), "bytes written are the bytes the log grew");
      }
    }
    long expected = StateLogFormat.recordBytes(
        StateLogFormat.PAYLOAD_FIXED_BYTES + StateLogFormat.putBytes("route/000042".length(), 5 * 1024));
    assertEquals(expected, written[0], "one record: framing, the key and the 5 KiB value");
    assertEquals(written[0], written[1], "independent of the store's size");
  }

  @Test
  void entriesAreASnapshotTheCallerOwns() {
    try (StateStore store = StateStore.open(dir)) {
      byte[] value = utf8("original");
      store.apply(Map.of("k", value), Set.of());
      value[0] = 'X'; // the caller changing its array after apply changes nothing stored

      SortedMap<String, byte[]> first = store.entries();
      assertArrayEquals(utf8("original"), first.get("k"));
      first.get("k")[0] = 'Y'; // nor does changing an array entries() returned
      assertThrows(UnsupportedOperationException.class, () -> first.put("other", new byte[0]));

      store.apply(Map.of("k2", utf8("later")), Set.of("k"));
      assertEquals(Set.of("k"), first.keySet(), "an earlier snapshot does not follow later transactions");
      assertEntries(Map.of("k2", utf8("later")), store.entries(), "the store");
    }
    try (StateStore store = StateStore.open(dir)) {
      assertEntries(Map.of("k2", utf8("later")), store.entries(), "after reopening");
    }
  }

  @Test
  void aKeyBothPutAndDeletedIsRefusedAndNothingIsWritten() {
    try (StateStore store = StateStore.open(dir)) {
      store.apply(Map.of("k", utf8("v")), Set.of());
      StateStore.Stats before = store.stats();
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> store.apply(Map.of("k", utf8("w"), "n", utf8("x")), Set.of("k")));
      assertTrue(e.getMessage().contains("'k' is both put and deleted"), e.getMessage());
      assertEquals(before, store.stats());
      assertEntries(Map.of("k", utf8("v")), store.entries(), "unchanged");
    }
  }

  @Test
  void keysThatCouldNotBeReadBackAreRefused() {
    try (StateStore store = StateStore.open(dir)) {
      IllegalArgumentException surrogate = assertThrows(IllegalArgumentException.class,
          () -> store.apply(Map.of("bad\uD800", utf8("v")), Set.of()));
      assertTrue(surrogate.getMessage().contains("not valid Unicode"), surrogate.getMessage());
      assertThrows(IllegalArgumentException.class,
          () -> store.apply(Map.of("x".repeat(StateLogFormat.MAX_KEY_BYTES + 1), utf8("v")), Set.of()));
      Map<String, byte[]> nullValue = new HashMap<>();
      nullValue.put("k", null);
      assertThrows(NullPointerException.class, () -> store.apply(nullValue, Set.of()));
      assertEquals(0, store.stats().sequence(), "nothing was written");
    }
  }

  @Test
  void aTransactionWithNothingToChangeWritesNothing() {
    try (StateStore store = StateStore.open(dir)) {
      store.apply(Map.of("k", utf8("v")), Set.of());
      StateStore.Stats before = store.stats();
      store.apply(Map.of(), Set.of("absent"));
      store.apply(Map.of(), Set.of());
      assertEquals(before, store.stats());
    }
  }

  /** Values larger than the I/O buffer, and transactions of many entries, cross every buffer boundary. */
  @Test
  void largeValuesAndLargeTransactionsRoundTrip() {
    Map<String, byte[]> expected = new TreeMap<>();
    Random random = new Random(7);
    for (int i = 0; i < 300; i++) {
      byte[] v = new byte[i % 50 == 0 ? 1_000_000 + i : random.nextInt(3000)];
      random.nextBytes(v);
      expected.put("entry-" + i, v);
    }
    try (StateStore store = StateStore.open(dir)) {
      store.apply(expected, Set.of());
      assertEntries(expected, store.entries(), "before reopening");
    }
    try (StateStore store = StateStore.open(dir)) {
      assertEntries(expected, store.entries(), "after reopening");
    }
  }

  @Test
  void compactionKeepsTheLogWithinTwiceTheLiveSizeAndLosesNothing() throws Exception {
    Map<String, byte[]> expected = new TreeMap<>();
    long compactions;
    try (StateStore store = StateStore.open(dir, new StateStore.Options(0))) {
      for (int i = 0; i < 400; i++) {
        String key = "k" + (i % 20);
        byte[] value = new byte[500 + i];
        Arrays.fill(value, (byte) i);
        Set<String> deletes = i % 7 == 0 ? Set.of("k" + ((i + 3) % 20)) : Set.of();
        store.apply(Map.of(key, value), deletes);
        expected.put(key, value);
        deletes.forEach(expected::remove);
        StateStore.Stats s = store.stats();
        assertTrue(s.fileBytes() <= 2 * s.liveBytes(), "after transaction " + i + ": " + s);
        assertEquals(Files.size(dir.resolve(StateStore.LOG_FILE)), s.fileBytes(), "the file is as large as counted");
      }
      compactions = store.stats().compactions();
      assertTrue(compactions > 10, "expected many compactions, got " + store.stats());
      assertEntries(expected, store.entries(), "before reopening");
    }
    assertFalse(Files.exists(dir.resolve(StateStore.COMPACTING_FILE)), "no temporary file is left behind");
    try (StateStore store = StateStore.open(dir)) {
      assertEquals(List.of(), store.problems());
      assertEntries(expected, store.entries(), "after reopening");
      assertEquals(400, store.stats().sequence());
    }
  }

  @Test
  void concurrentTransactionsAreEachAppliedWholeAndAllKept() throws Exception {
    int threads = 4;
    int perThread = 100;
    AtomicBoolean writing = new AtomicBoolean(true);
    ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
    try (StateStore store = StateStore.open(dir, new StateStore.Options(4096))) {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<?>> writers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        writers.add(pool.submit(() -> {
          start.await();
          for (int i = 0; i < perThread; i++) {
            // Each transaction moves this thread's pair together: a reader must never see them apart.
            byte[] v = utf8(thread + ":" + i);
            store.apply(Map.of("t" + thread + "/a", v, "t" + thread + "/b", v, "t" + thread + "/" + i, v), Set.of());
          }
          return null;
        }));
      }
      Future<Integer> reader = pool.submit(() -> {
        start.await();
        int reads = 0;
        while (writing.get()) {
          SortedMap<String, byte[]> seen = store.entries();
          for (int t = 0; t < threads; t++) {
            byte[] a = seen.get("t" + t + "/a");
            byte[] b = seen.get("t" + t + "/b");
            if (!Arrays.equals(a, b)) {
              throw new AssertionError("saw half a transaction of thread " + t);
            }
          }
          store.stats();
          reads++;
        }
        return reads;
      });
      start.countDown();
      for (Future<?> w : writers) {
        w.get(120, TimeUnit.SECONDS);
      }
      writing.set(false);
      assertTrue(reader.get(120, TimeUnit.SECONDS) > 0);
      assertEquals(threads * perThread, store.stats().sequence());
    } finally {
      pool.shutdownNow();
    }
    try (StateStore store = StateStore.open(dir)) {
      SortedMap<String, byte[]> all = store.entries();
      assertEquals(threads * (perThread + 2), all.size());
      for (int t = 0; t < threads; t++) {
        assertArrayEquals(utf8(t + ":" + (perThread - 1)), all.get("t" + t + "/a"));
      }
    }
  }

  @Test
  void aSecondStoreOnTheSameDirectoryInThisProcessIsRefused() {
    try (StateStore store = StateStore.open(dir)) {
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> StateStore.open(dir.resolve(".")));
      assertTrue(e.getMessage().contains("already open in this process"), e.getMessage());
      store.apply(Map.of("k", utf8("v")), Set.of()); // the first store is unharmed
    }
    try (StateStore again = StateStore.open(dir)) {
      assertEntries(Map.of("k", utf8("v")), again.entries(), "after the first store closed");
    }
  }

  @Test
  void aClosedStoreRefusesWork() {
    StateStore store = StateStore.open(dir);
    store.close();
    store.close();
    assertThrows(IllegalStateException.class, () -> store.apply(Map.of("k", utf8("v")), Set.of()));
    assertThrows(IllegalStateException.class, store::entries);
  }
}
