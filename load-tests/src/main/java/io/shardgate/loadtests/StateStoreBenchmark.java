package io.shardgate.loadtests;

import io.shardgate.controlplane.state.StateStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

/**
 * Measures the state directory's store against the two embedded stores it was chosen over (docs/state.md), on one
 * workload: N entries of 1-20 KiB (random bytes), loaded 1,000 per transaction; then 300 edits, each one durable
 * transaction that changes one existing entry to a new 5 KiB value. Prints Markdown tables: load, file size, open
 * and open-and-read-everything times (median of three, page cache warm), edit latency and bytes written per edit
 * (the process's {@code wchar} from /proc/self/io, so every backend is counted the same way), fsync cost on this
 * disk, and what each store does when one byte of a stored value is flipped on disk.
 *
 * <p>Run with {@code bash load-tests/run-state-benchmark.sh [DIR]}; DIR (default {@code load-tests/target/state})
 * needs about 1.2 GB free and should be on the disk a state directory would use.
 */
public final class StateStoreBenchmark {

  private static final int EDITS = 300;
  private static final int OPENS = 3;
  private static final int BATCH = 1_000;
  private static final int EDIT_BYTES = 5 * 1024;

  private StateStoreBenchmark() {}

  /** The three stores behind one shape: put a batch durably, open, read everything, close. */
  private interface Backend extends AutoCloseable {
    void put(Map<String, byte[]> batch) throws Exception;

    /** Reads every entry; returns the bytes read so that nothing is optimised away. */
    long readAll() throws Exception;

    @Override
    void close() throws SQLException;
  }

  private record Kind(String name, String file, Opener opener) {}

  private interface Opener {
    Backend open(Path dir) throws Exception;
  }

  private static final List<Kind> KINDS = List.of(
      new Kind("StateStore (own log)", "state.log", Own::new),
      new Kind("H2 MVStore 2.5.252", "state.mv", Mv::new),
      new Kind("SQLite 3.54.1.0 (WAL, synchronous=FULL)", "state.db", Sqlite::new));

  public static void main(String[] args) throws Exception {
    Path root = Path.of(args.length > 0 ? args[0] : "load-tests/target/state").toAbsolutePath();
    deleteTree(root);
    Files.createDirectories(root);
    System.out.println("Directory: " + root + "; JDK " + System.getProperty("java.version") + "; "
        + Runtime.getRuntime().availableProcessors() + " cores; -Xmx"
        + Runtime.getRuntime().maxMemory() / (1024 * 1024) + "m");
    System.out.println();
    fsyncCost(root);
    System.out.println();
    System.out.println("| store | entries | live data (MiB) | load (s) | file size (MiB) | open (ms)"
        + " | open + read all (ms) | one 5 KiB edit p50 (ms) | p99 (ms) | bytes written per edit |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|");
    for (int entries : new int[] {10_000, 50_000}) {
      for (Kind kind : KINDS) {
        run(kind, root.resolve(kind.name().split(" ")[0] + "-" + entries), entries);
      }
    }
    System.out.println();
    compaction(root.resolve("compaction"), 50_000);
    System.out.println();
    System.out.println("| store | one flipped byte inside a stored value, then open and read everything |");
    System.out.println("|---|---|");
    for (Kind kind : KINDS) {
      String outcome = flippedByte(kind, root.resolve("flip-" + kind.name().split(" ")[0]));
      System.out.println("| " + kind.name() + " | " + outcome + " |");
    }
  }

  private static void run(Kind kind, Path dir, int entries) throws Exception {
    Files.createDirectories(dir);
    Random random = new Random(entries);
    long liveBytes = 0;
    long loadStart = System.nanoTime();
    try (Backend b = kind.opener().open(dir)) {
      for (int start = 0; start < entries; start += BATCH) {
        Map<String, byte[]> batch = new LinkedHashMap<>();
        for (int i = start; i < Math.min(entries, start + BATCH); i++) {
          byte[] v = new byte[1024 + random.nextInt(19 * 1024 + 1)];
          random.nextBytes(v);
          liveBytes += v.length;
          batch.put(key(i), v);
        }
        b.put(batch);
      }
    }
    double loadSeconds = (System.nanoTime() - loadStart) / 1e9;

    // Start-up, three times (the median is printed): open, then open and read everything, as a restart would.
    long[] opens = new long[OPENS];
    long[] reads = new long[OPENS];
    for (int i = 0; i < OPENS; i++) {
      long openStart = System.nanoTime();
      try (Backend b = kind.opener().open(dir)) {
        opens[i] = System.nanoTime() - openStart;
        b.readAll();
        reads[i] = System.nanoTime() - openStart;
      }
    }
    Arrays.sort(opens);
    Arrays.sort(reads);
    long openNanos = opens[OPENS / 2];
    long readNanos = reads[OPENS / 2];
    long[] edits = new long[EDITS];
    long written;
    try (Backend b = kind.opener().open(dir)) {
      byte[][] values = new byte[EDITS][];
      String[] keys = new String[EDITS];
      for (int i = 0; i < EDITS; i++) {
        values[i] = new byte[EDIT_BYTES];
        random.nextBytes(values[i]);
        keys[i] = key(random.nextInt(entries));
      }
      long wcharBefore = wchar();
      for (int i = 0; i < EDITS; i++) {
        long t = System.nanoTime();
        b.put(Map.of(keys[i], values[i]));
        edits[i] = System.nanoTime() - t;
      }
      written = (wchar() - wcharBefore) / EDITS;
    }
    Arrays.sort(edits);
    System.out.printf("| %s | %,d | %,.0f | %.1f | %,.0f | %,.0f | %,.0f | %.2f | %.2f | %,d |%n", kind.name(), entries,
        liveBytes / 1048576.0, loadSeconds, size(dir) / 1048576.0, openNanos / 1e6, readNanos / 1e6,
        edits[EDITS / 2] / 1e6, edits[EDITS * 99 / 100] / 1e6, written);
    deleteTree(dir);
  }

  /** The apply that crosses twice the live size pays for the rewrite; the others pay nothing for it. */
  private static void compaction(Path dir, int entries) throws Exception {
    Random random = new Random(1);
    long slowest = 0;
    long heapBefore = usedHeap();
    long indexHeap;
    try (StateStore store = StateStore.open(dir)) {
      for (int pass = 0; pass < 2; pass++) {
        for (int start = 0; start < entries; start += BATCH) {
          Map<String, byte[]> batch = new LinkedHashMap<>();
          for (int i = start; i < Math.min(entries, start + BATCH); i++) {
            byte[] v = new byte[1024 + random.nextInt(19 * 1024 + 1)];
            random.nextBytes(v);
            batch.put(key(i), v);
          }
          long before = store.stats().compactions();
          long t = System.nanoTime();
          store.apply(batch, Set.of());
          long took = System.nanoTime() - t;
          if (store.stats().compactions() > before) {
            slowest = took;
          }
        }
      }
      StateStore.Stats s = store.stats();
      System.out.printf("StateStore at %,d entries: rewriting overwrote every entry once, the log reached twice the"
          + " live size and was compacted %d time(s); the apply that compacted took %,.0f ms (live %,.0f MiB, file"
          + " after %,.0f MiB).%n", entries, s.compactions(), slowest / 1e6, s.liveBytes() / 1048576.0,
          s.fileBytes() / 1048576.0);
    }
    try (StateStore store = StateStore.open(dir)) {
      indexHeap = usedHeap() - heapBefore;
      System.out.printf("Heap the open store holds for its index of %,d entries: about %,.1f MiB (values stay on"
          + " disk).%n", store.stats().entries(), indexHeap / 1048576.0);
    }
    deleteTree(dir);
  }

  /** The cost of durability on this disk: a 5 KiB append with and without fdatasync. */
  private static void fsyncCost(Path root) throws IOException {
    Path file = root.resolve("fsync-probe");
    byte[] record = new byte[EDIT_BYTES + 64];
    long[] synced = new long[EDITS];
    long[] unsynced = new long[EDITS];
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      for (int i = 0; i < EDITS; i++) {
        long t = System.nanoTime();
        ch.write(ByteBuffer.wrap(record));
        unsynced[i] = System.nanoTime() - t;
        t = System.nanoTime();
        ch.write(ByteBuffer.wrap(record));
        ch.force(false);
        synced[i] = System.nanoTime() - t;
      }
    }
    Files.delete(file);
    Arrays.sort(synced);
    Arrays.sort(unsynced);
    System.out.printf("Durability on this disk: a 5 KiB append takes %.3f ms p50 without fdatasync and %.2f ms p50"
        + " (%.2f ms p99) with it.%n", unsynced[EDITS / 2] / 1e6, synced[EDITS / 2] / 1e6,
        synced[EDITS * 99 / 100] / 1e6);
  }

  private static String flippedByte(Kind kind, Path dir) throws Exception {
    Files.createDirectories(dir);
    Random random = new Random(3);
    Map<String, byte[]> batch = new LinkedHashMap<>();
    for (int i = 0; i < 100; i++) {
      byte[] v = new byte[2048];
      random.nextBytes(v);
      batch.put(key(i), v);
    }
    try (Backend b = kind.opener().open(dir)) {
      b.put(batch);
    }
    Path file = dir.resolve(kind.file());
    byte[] bytes = Files.readAllBytes(file);
    byte[] marker = Arrays.copyOfRange(batch.get(key(42)), 1000, 1032);
    int at = indexOf(bytes, marker);
    if (at < 0) {
      return "value not found as stored bytes in " + kind.file();
    }
    bytes[at + 16] ^= 0x10;
    Files.write(file, bytes);
    String outcome;
    try (Backend b = kind.opener().open(dir)) {
      if (b instanceof Own own && !own.store.problems().isEmpty()) {
        outcome = "detected at open: " + own.store.problems().get(0).replace(dir.toString(), "DIR")
            .replace("|", "/");
      } else {
        b.readAll();
        outcome = "**not detected**: open and read returned the damaged value";
      }
    } catch (Exception | Error e) {
      outcome = "detected on read: " + e.getClass().getSimpleName() + ": "
          + String.valueOf(e.getMessage()).lines().findFirst().orElse("");
    }
    deleteTree(dir);
    return outcome;
  }

  private static final class Own implements Backend {
    final StateStore store;

    Own(Path dir) {
      store = StateStore.open(dir);
    }

    @Override
    public void put(Map<String, byte[]> batch) {
      store.apply(batch, Set.of());
    }

    @Override
    public long readAll() {
      return store.entries().values().stream().mapToLong(v -> v.length).sum();
    }

    @Override
    public void close() {
      store.close();
    }
  }

  /** MVStore as a plain map; commit() then sync() is its durable transaction. */
  private static final class Mv implements Backend {
    final MVStore store;
    final MVMap<String, byte[]> map;

    Mv(Path dir) {
      store = new MVStore.Builder().fileName(dir.resolve("state.mv").toString()).autoCommitDisabled().open();
      map = store.openMap("state");
    }

    @Override
    public void put(Map<String, byte[]> batch) {
      map.putAll(batch);
      store.commit();
      store.sync();
    }

    @Override
    public long readAll() {
      long n = 0;
      for (Map.Entry<String, byte[]> e : map.entrySet()) {
        n += e.getValue().length;
      }
      return n;
    }

    @Override
    public void close() {
      store.close();
    }
  }

  /** SQLite in WAL mode with synchronous=FULL: the setting under which a commit survives a power cut. */
  private static final class Sqlite implements Backend {
    final Connection c;

    Sqlite(Path dir) throws SQLException {
      c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("state.db"));
      try (Statement s = c.createStatement()) {
        s.execute("PRAGMA journal_mode=WAL");
        s.execute("PRAGMA synchronous=FULL");
        s.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID");
      }
      c.setAutoCommit(false);
    }

    @Override
    public void put(Map<String, byte[]> batch) throws SQLException {
      try (PreparedStatement p = c.prepareStatement(
          "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")) {
        for (Map.Entry<String, byte[]> e : batch.entrySet()) {
          p.setString(1, e.getKey());
          p.setBytes(2, e.getValue());
          p.addBatch();
        }
        p.executeBatch();
      }
      c.commit();
    }

    @Override
    public long readAll() throws SQLException {
      long n = 0;
      try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT key, value FROM state")) {
        while (r.next()) {
          n += r.getBytes(2).length;
        }
      }
      return n;
    }

    @Override
    public void close() throws SQLException {
      c.close();
    }
  }

  private static String key(int i) {
    return "route/%08d".formatted(i);
  }

  /** Bytes this process has passed to write(2) and friends, from /proc/self/io. */
  private static long wchar() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/io"))) {
      if (line.startsWith("wchar:")) {
        return Long.parseLong(line.substring("wchar:".length()).trim());
      }
    }
    throw new IOException("no wchar in /proc/self/io");
  }

  private static long usedHeap() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  private static long size(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).mapToLong(p -> {
        try {
          return Files.size(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }).sum();
    }
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
        return i;
      }
    }
    return -1;
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      List<Path> all = new ArrayList<>(files.sorted(Comparator.reverseOrder()).toList());
      for (Path p : all) {
        Files.delete(p);
      }
    }
  }
}
