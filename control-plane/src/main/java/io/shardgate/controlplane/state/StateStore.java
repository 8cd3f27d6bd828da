package io.shardgate.controlplane.state;

import static io.shardgate.controlplane.state.StateLogFormat.BASE;
import static io.shardgate.controlplane.state.StateLogFormat.CHANGE;
import static io.shardgate.controlplane.state.StateLogFormat.HEADER_BYTES;
import static io.shardgate.controlplane.state.StateLogFormat.PAYLOAD_FIXED_BYTES;

import io.shardgate.controlplane.state.StateLogFormat.Delete;
import io.shardgate.controlplane.state.StateLogFormat.FileValue;
import io.shardgate.controlplane.state.StateLogFormat.MemoryValue;
import io.shardgate.controlplane.state.StateLogFormat.Output;
import io.shardgate.controlplane.state.StateLogFormat.Put;
import io.shardgate.controlplane.state.StateLogFormat.Slot;
import io.shardgate.controlplane.state.StateLogReader.Ending;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A crash-safe key-value store in the state directory: string keys, byte values, changed in atomic, durable
 * transactions whose cost is proportional to the change. Stateful edge (file I/O); thread-safe: every read and
 * change holds the store's monitor, so transactions are applied one at a time and a reader sees whole ones.
 *
 * <p>The directory holds one append-only log ({@code state.log}, layout in {@link StateLogFormat} and
 * docs/state.md): a header carrying the format version, then one checksummed record per {@link #apply}, forced to
 * disk before {@code apply} returns. Memory holds only where each live value lies in the file. When the log grows
 * past twice what its live entries take, it is rewritten as one record of the whole state into a new file, which
 * then replaces it by an atomic rename.
 *
 * <p>{@link #open} recovers from whatever a crash or a damaged disk left: after a kill at any moment the store holds
 * exactly the effect of a prefix of the applied transactions, at least every one whose {@code apply} returned. It
 * never fails on bad content; what it found and did is in {@link #problems()}, which the caller reports (the store
 * does not log them).
 */
public final class StateStore implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(StateStore.class);

  static final String LOG_FILE = "state.log";
  static final String COMPACTING_FILE = "state.log.compacting";

  /**
   * Tuning, for tests: the log is compacted once it is larger than twice the live size plus
   * {@code compactionSlackBytes} (the slack keeps a small store from being rewritten every few changes).
   */
  record Options(long compactionSlackBytes) {
    static final Options DEFAULT = new Options(1 << 20);
  }

  /**
   * Counters since {@link #open}: transactions applied, bytes written (records, compactions and any rewrite open
   * did), compactions; and now: the sequence number of the last transaction, the number of entries, the bytes a
   * compacted file would take ({@code liveBytes}) and the size of the log ({@code fileBytes}).
   */
  public record Stats(
      long transactions, long bytesWritten, long compactions, long sequence, int entries, long liveBytes,
      long fileBytes) {}

  private final Path dir;
  private final Path log;
  private final StateDirectoryLock lock;
  private final Options options;
  private final List<String> problems;
  private final ByteBuffer ioBuffer = ByteBuffer.allocate(StateLogFormat.IO_CHUNK);

  private FileChannel channel;
  private TreeMap<String, Slot> index;
  private long sequence;
  private long fileEnd;
  /** The put bytes of every live entry: with the header and one record's framing, the size of a compacted log. */
  private long liveEntryBytes;
  private long transactions;
  private long bytesWritten;
  private long compactions;
  /** Why the store refuses changes: a write whose outcome on disk is unknown. Null while usable. */
  private String broken;
  private boolean closed;

  private StateStore(Path dir, StateDirectoryLock lock, Options options, List<String> problems, Opened opened) {
    this.dir = dir;
    this.log = dir.resolve(LOG_FILE);
    this.lock = lock;
    this.options = options;
    this.problems = List.copyOf(problems);
    this.channel = opened.channel;
    this.index = opened.index;
    this.sequence = opened.sequence;
    this.fileEnd = opened.fileEnd;
    this.liveEntryBytes = opened.liveEntryBytes;
    this.bytesWritten = opened.bytesWritten;
  }

  /**
   * Opens the store in {@code dir}, creating the directory if needed, and takes the directory for this process
   * alone: a second open, here or in another process, fails with an {@link IllegalStateException} that says who
   * holds it. Damaged content never fails the open: see {@link #problems()}. Fails with an
   * {@link UncheckedIOException} only when the directory cannot be read or written.
   */
  public static StateStore open(Path dir) {
    return open(dir, Options.DEFAULT);
  }

  static StateStore open(Path dir, Options options) {
    StateDirectoryLock lock = StateDirectoryLock.acquire(dir);
    try {
      List<String> problems = new ArrayList<>();
      Opened opened = recover(lock.dir(), lock.usedBefore(), problems);
      return new StateStore(lock.dir(), lock, options, problems, opened);
    } catch (IOException e) {
      lock.close();
      throw new UncheckedIOException("Cannot open the state store in " + dir + ": " + e, e);
    } catch (RuntimeException | Error e) {
      lock.close();
      throw e;
    }
  }

  /** The log as open leaves it: a channel positioned for appends and the index of the state it holds. */
  private record Opened(
      FileChannel channel, TreeMap<String, Slot> index, long sequence, long fileEnd, long liveEntryBytes,
      long bytesWritten) {}

  private static Opened recover(Path dir, boolean usedBefore, List<String> problems) throws IOException {
    Path log = dir.resolve(LOG_FILE);
    Path compacting = dir.resolve(COMPACTING_FILE);
    if (Files.deleteIfExists(compacting)) {
      syncDirectory(dir);
      problems.add("Removed " + compacting + ", left by a compaction that a crash interrupted; " + log
          + " was not touched by it");
    }
    if (!Files.exists(log)) {
      if (usedBefore) {
        problems.add(log + " is missing, though " + dir.resolve(StateDirectoryLock.FILE_NAME) + " shows that this"
            + " directory held a state store before; starting empty");
      }
      return rebuild(dir, null, new TreeMap<>(), 0);
    }
    FileChannel channel = FileChannel.open(log, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      StateLogReader.Result r = StateLogReader.read(channel);
      String kept = "kept the state as of transaction " + r.sequence() + " (" + r.index().size() + " entries)";
      switch (r.ending()) {
        case CLEAN, TORN_TAIL -> {
          if (r.ending() == Ending.TORN_TAIL) {
            // Only the last apply can be torn, and it never returned: nothing acknowledged is lost.
            channel.truncate(r.validEnd());
            channel.force(true);
            problems.add(log + ": dropped the last " + (r.fileSize() - r.validEnd()) + " bytes at offset "
                + r.validEnd() + ", " + r.detail() + " (a transaction cut short by a crash, or a truncated file); "
                + kept);
          }
          if (r.format() != StateLogFormat.CURRENT) {
            Opened migrated = rebuild(dir, channel, r.index(), r.sequence());
            channel.close();
            problems.add(log + ": migrated from format " + r.format() + " to format " + StateLogFormat.CURRENT);
            return migrated;
          }
          return new Opened(channel, r.index(), r.sequence(), r.validEnd(), r.liveEntryBytes(), 0);
        }
        case CORRUPT -> {
          // Keep the valid prefix: it is the state after whole transactions, a state that really existed. What
          // follows a damaged record cannot be replayed without the changes the damaged record made.
          Path aside = setAside(log, "corrupt");
          Opened repaired = rebuild(dir, channel, r.index(), r.sequence());
          channel.close();
          problems.add(log + ": at offset " + r.validEnd() + " of " + r.fileSize() + " bytes, " + r.detail() + "; "
              + kept + " and moved the damaged file to " + aside);
          return repaired;
        }
        case BAD_HEADER, NEWER_FORMAT -> {
          channel.close();
          Path aside = setAside(log, r.ending() == Ending.NEWER_FORMAT ? "format-" + r.format() : "corrupt");
          problems.add(log + ": " + r.detail() + "; moved it to " + aside + " and started empty"
              + (r.ending() == Ending.NEWER_FORMAT ? " (the Shardgate that wrote it can still read it there)" : ""));
          return rebuild(dir, null, new TreeMap<>(), 0);
        }
        default -> throw new IllegalStateException("unhandled ending " + r.ending());
      }
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  /** Everything stored, read from the file (so call it once, at start-up); the arrays are the caller's own. */
  public synchronized SortedMap<String, byte[]> entries() {
    checkOpen();
    TreeMap<String, byte[]> out = new TreeMap<>();
    try {
      for (Map.Entry<String, Slot> e : index.entrySet()) {
        Slot slot = e.getValue();
        byte[] value = new byte[slot.length()];
        StateLogFormat.readFully(channel, value, value.length, slot.offset());
        if (StateLogFormat.crc(value, 0, value.length) != slot.crc()) {
          throw new IOException("the value of '" + e.getKey() + "' at offset " + slot.offset()
              + " no longer matches its checksum: the file changed on disk while the store was open");
        }
        out.put(e.getKey(), value);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + log + ": " + e.getMessage(), e);
    }
    return Collections.unmodifiableSortedMap(out);
  }

  /**
   * Applies {@code puts} and {@code deletes} as one transaction, durable on disk when this returns: a crash later
   * keeps it, a crash during it keeps all or nothing of it. Writes one record, proportional to the change; deleting
   * an absent key is nothing to write, and a transaction with nothing to write writes nothing. A key may not be both
   * put and deleted. On an {@link UncheckedIOException} nothing was applied.
   */
  public synchronized void apply(Map<String, byte[]> puts, Set<String> deletes) {
    Objects.requireNonNull(puts, "puts");
    Objects.requireNonNull(deletes, "deletes");
    checkUsable();
    // Sorted, so that equal transactions give equal bytes whatever map the caller used.
    List<Put> putList = new ArrayList<>(puts.size());
    for (Map.Entry<String, byte[]> e : new TreeMap<>(puts).entrySet()) {
      byte[] value = Objects.requireNonNull(e.getValue(), () -> "value of '" + e.getKey() + "'").clone();
      putList.add(new Put(e.getKey(), StateLogFormat.keyBytes(e.getKey()), new MemoryValue(value)));
    }
    List<Delete> deleteList = new ArrayList<>();
    for (String key : new TreeSet<>(deletes)) {
      if (puts.containsKey(key)) {
        throw new IllegalArgumentException("'" + key + "' is both put and deleted in one transaction");
      }
      if (index.containsKey(key)) {
        deleteList.add(new Delete(key, StateLogFormat.keyBytes(key)));
      }
    }
    if (putList.isEmpty() && deleteList.isEmpty()) {
      return;
    }
    long payload = PAYLOAD_FIXED_BYTES;
    for (Put p : putList) {
      payload += StateLogFormat.putBytes(p.keyBytes().length, p.value().length());
    }
    for (Delete d : deleteList) {
      payload += StateLogFormat.deleteBytes(d.keyBytes().length);
    }
    if (StateLogFormat.recordBytes(payload) > StateLogFormat.MAX_CHANGE_BYTES) {
      throw new IllegalArgumentException("a transaction of " + payload + " bytes is larger than one record may be ("
          + StateLogFormat.MAX_CHANGE_BYTES + "); split it");
    }
    long start = fileEnd;
    long[] offsets;
    long end;
    try {
      Output out = new Output(channel, start, ioBuffer);
      offsets = StateLogFormat.writeRecord(out, CHANGE, sequence + 1, putList, deleteList);
      out.flush();
      channel.force(false);
      end = out.position();
    } catch (IOException e) {
      undoWrite(start, e);
      throw new UncheckedIOException("Cannot write to " + log + "; the transaction was not applied: " + e, e);
    }
    for (int i = 0; i < putList.size(); i++) {
      Put p = putList.get(i);
      byte[] value = ((MemoryValue) p.value()).bytes();
      Slot old = index.put(p.key(), new Slot(offsets[i], value.length, StateLogFormat.crc(value, 0, value.length)));
      if (old != null) {
        liveEntryBytes -= StateLogFormat.putBytes(p.keyBytes().length, old.length());
      }
      liveEntryBytes += StateLogFormat.putBytes(p.keyBytes().length, value.length);
    }
    for (Delete d : deleteList) {
      Slot old = index.remove(d.key());
      liveEntryBytes -= StateLogFormat.putBytes(d.keyBytes().length, old.length());
    }
    sequence++;
    transactions++;
    bytesWritten += end - start;
    fileEnd = end;
    if (fileEnd > 2 * liveBytes() + options.compactionSlackBytes()) {
      try {
        compact();
      } catch (IOException | RuntimeException e) {
        // The transaction is durable in the current log; only space is not reclaimed yet.
        LOG.warn("Cannot compact the state log {}; it keeps growing until a compaction succeeds: {}", log,
            e.toString());
      }
    }
  }

  /** What {@link #open} found and did, one sentence each naming the file; empty when the store was sound. */
  public List<String> problems() {
    return problems;
  }

  public synchronized Stats stats() {
    return new Stats(transactions, bytesWritten, compactions, sequence, index.size(), liveBytes(), fileEnd);
  }

  /** The directory, as a real path. */
  public Path dir() {
    return dir;
  }

  /** Rewrites the log as one base record of the live state (the apply path calls it when the log is too large). */
  synchronized void compact() throws IOException {
    checkUsable();
    Opened rebuilt = write(dir, channel, index, sequence);
    // From here the new file is state.log: use it whatever else fails.
    FileChannel old = channel;
    channel = rebuilt.channel;
    index = rebuilt.index;
    fileEnd = rebuilt.fileEnd;
    liveEntryBytes = rebuilt.liveEntryBytes;
    bytesWritten += rebuilt.bytesWritten;
    compactions++;
    try {
      old.close();
    } catch (IOException ignored) {
      // It is no longer state.log.
    }
    try {
      syncDirectory(dir);
    } catch (IOException e) {
      // Until the rename is on disk, a power cut could bring back the old file without what is appended next.
      broken = "the directory could not be synced after a compaction (" + e + ")";
      throw e;
    }
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      channel.close();
    } catch (IOException e) {
      LOG.warn("Cannot close {}: {}", log, e.toString());
    } finally {
      lock.close();
    }
  }

  private long liveBytes() {
    return HEADER_BYTES + StateLogFormat.recordBytes(PAYLOAD_FIXED_BYTES + liveEntryBytes);
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("The state store in " + dir + " is closed");
    }
  }

  private void checkUsable() {
    checkOpen();
    if (broken != null) {
      throw new IllegalStateException("The state store in " + dir + " takes no more changes: " + broken
          + "; open it again");
    }
  }

  /** Cuts off what a failed apply may have written, so the next record follows the last good one. */
  private void undoWrite(long end, IOException cause) {
    try {
      channel.truncate(end);
      channel.force(false);
    } catch (IOException e) {
      cause.addSuppressed(e);
      broken = "a failed write could not be undone (" + e + ")";
    }
  }

  /** {@link #write} followed by the directory sync that makes its rename durable: for open. */
  private static Opened rebuild(Path dir, FileChannel source, TreeMap<String, Slot> index, long sequence)
      throws IOException {
    Opened rebuilt = write(dir, source, index, sequence);
    try {
      syncDirectory(dir);
    } catch (IOException e) {
      rebuilt.channel.close();
      throw e;
    }
    return rebuilt;
  }

  /**
   * Writes a log of the current format holding one base record of {@code index} (values copied from
   * {@code source} and checked against their checksums) to a temporary file, forces it and renames it to
   * {@code state.log}. The caller syncs the directory. Returns the new file, open for appends.
   */
  private static Opened write(Path dir, FileChannel source, TreeMap<String, Slot> index, long sequence)
      throws IOException {
    Path tmp = dir.resolve(COMPACTING_FILE);
    FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
        StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      List<Put> puts = new ArrayList<>(index.size());
      for (Map.Entry<String, Slot> e : index.entrySet()) {
        FileValue value = new FileValue(source, e.getValue(), e.getKey());
        puts.add(new Put(e.getKey(), StateLogFormat.keyBytes(e.getKey()), value));
      }
      out.write(StateLogFormat.header(StateLogFormat.CURRENT), 0);
      Output o = new Output(out, HEADER_BYTES, ByteBuffer.allocate(StateLogFormat.IO_CHUNK));
      long[] offsets = StateLogFormat.writeRecord(o, BASE, sequence, puts, List.of());
      o.flush();
      out.force(true);
      Files.move(tmp, dir.resolve(LOG_FILE), StandardCopyOption.ATOMIC_MOVE);
      TreeMap<String, Slot> moved = new TreeMap<>();
      long live = 0;
      for (int i = 0; i < puts.size(); i++) {
        Put p = puts.get(i);
        Slot was = index.get(p.key());
        moved.put(p.key(), new Slot(offsets[i], was.length(), was.crc()));
        live += StateLogFormat.putBytes(p.keyBytes().length, was.length());
      }
      return new Opened(out, moved, sequence, o.position(), live, o.position());
    } catch (IOException | RuntimeException e) {
      out.close();
      Files.deleteIfExists(tmp);
      throw e;
    }
  }

  /**
   * Keeps the file as it is under {@code <name>.<why>-<n>} (a hard link where the file system has them), for the
   * operator to inspect; the caller then replaces the original.
   */
  private static Path setAside(Path file, String why) throws IOException {
    for (int n = 1; ; n++) {
      Path aside = file.resolveSibling(file.getFileName() + "." + why + "-" + n);
      try {
        Files.createLink(aside, file);
      } catch (FileAlreadyExistsException taken) {
        continue;
      } catch (UnsupportedOperationException | IOException noLinks) {
        try {
          Files.copy(file, aside);
        } catch (FileAlreadyExistsException taken) {
          continue;
        }
        try (FileChannel copy = FileChannel.open(aside, StandardOpenOption.WRITE)) {
          copy.force(true);
        }
      }
      syncDirectory(file.getParent());
      return aside;
    }
  }

  /** Makes renames, links and deletions in {@code dir} durable (the POSIX way: fsync the directory itself). */
  private static void syncDirectory(Path dir) throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    }
  }
}
