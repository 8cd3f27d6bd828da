package io.shardgate.controlplane.state;

import static io.shardgate.controlplane.state.StateLogFormat.BASE;
import static io.shardgate.controlplane.state.StateLogFormat.CHANGE;
import static io.shardgate.controlplane.state.StateLogFormat.CURRENT;
import static io.shardgate.controlplane.state.StateLogFormat.HEADER_BYTES;
import static io.shardgate.controlplane.state.StateLogFormat.MAGIC;
import static io.shardgate.controlplane.state.StateLogFormat.MAX_KEY_BYTES;
import static io.shardgate.controlplane.state.StateLogFormat.PAYLOAD_FIXED_BYTES;
import static io.shardgate.controlplane.state.StateLogFormat.RECORD_HEAD_BYTES;
import static io.shardgate.controlplane.state.StateLogFormat.RECORD_TAIL_BYTES;

import io.shardgate.controlplane.state.StateLogFormat.Slot;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * Reads a state log from its start and replays its records into an index of where each live value lies, checking
 * every checksum; values themselves are not kept. It stops at the first record it cannot trust and says why, so
 * that what it returns is always the state after a prefix of whole transactions. Reads only; stateless.
 *
 * <p>A log is a header, a base record (the whole state as of its sequence), then change records numbered on from
 * it. Only the last record can be torn by a crash: every other one was forced to disk before the next was begun.
 */
final class StateLogReader {

  private StateLogReader() {}

  enum Ending {
    /** Every byte was a valid record. */
    CLEAN,
    /** The last record is incomplete: the apply writing it was cut short, or the file was truncated. */
    TORN_TAIL,
    /** A record failed its checksum or made no sense; the records before it are good. */
    CORRUPT,
    /** No valid header: not a state log, or its first bytes are damaged. Nothing is trusted. */
    BAD_HEADER,
    /** A valid header of a format newer than this code reads. Nothing is read. */
    NEWER_FORMAT
  }

  /**
   * What the reader found. {@code index}, {@code sequence} and {@code liveEntryBytes} describe the valid prefix,
   * which ends at {@code validEnd}, where reading stopped; {@code detail} says why when it stopped early.
   */
  record Result(
      Ending ending, String detail, int format, TreeMap<String, Slot> index, long sequence, int records,
      long liveEntryBytes, long validEnd, long fileSize) {}

  static Result read(FileChannel channel) throws IOException {
    long size = channel.size();
    Input in = new Input(channel, size);
    if (size < HEADER_BYTES) {
      return unreadable(Ending.BAD_HEADER, 0, "the file has " + size + " bytes, less than a header", size);
    }
    byte[] header = in.bytes(HEADER_BYTES);
    if (!Arrays.equals(header, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
      return unreadable(Ending.BAD_HEADER, 0, "not a Shardgate state log (no SHARDGATE-STATE header)", size);
    }
    ByteBuffer h = ByteBuffer.wrap(header, MAGIC.length, 8);
    int format = h.getInt();
    if (h.getInt() != StateLogFormat.crc(header, 0, MAGIC.length + 4)) {
      return unreadable(Ending.BAD_HEADER, 0, "the header fails its checksum", size);
    }
    if (format > CURRENT) {
      return unreadable(Ending.NEWER_FORMAT, format, "format " + format + " is newer than this Shardgate reads ("
          + CURRENT + ")", size);
    }
    if (format < 1) {
      return unreadable(Ending.BAD_HEADER, 0, "unknown format " + format, size);
    }
    // Format 1 is every format so far; a later one adds its reader here and keeps this one.
    return new Replay(in, format).run();
  }

  private static Result unreadable(Ending ending, int format, String detail, long size) {
    return new Result(ending, detail, format, new TreeMap<>(), 0, 0, 0, 0, size);
  }

  /** The replay of one file's records, format 1. */
  private static final class Replay {
    private final Input in;
    private final int format;
    private final TreeMap<String, Slot> index = new TreeMap<>();
    private long sequence;
    private int records;
    private long live;

    Replay(Input in, int format) {
      this.in = in;
      this.format = format;
    }

    Result run() throws IOException {
      while (true) {
        long start = in.position();
        long remaining = in.remaining();
        if (remaining == 0) {
          return result(Ending.CLEAN, start, "");
        }
        if (remaining < RECORD_HEAD_BYTES) {
          return result(Ending.TORN_TAIL, start, "an incomplete record header of " + remaining + " bytes");
        }
        long length = in.u64();
        if (in.u32() != StateLogFormat.lengthCrc(length)) {
          return result(Ending.CORRUPT, start, "a record header that fails its checksum");
        }
        if (length < PAYLOAD_FIXED_BYTES) {
          return result(Ending.CORRUPT, start, "a record length of " + length + " bytes, less than any record");
        }
        if (length > remaining - RECORD_HEAD_BYTES - RECORD_TAIL_BYTES) {
          return result(Ending.TORN_TAIL, start, "a record of " + StateLogFormat.recordBytes(length)
              + " bytes of which the file holds " + remaining);
        }
        long payloadEnd = in.position() + length;
        in.startCrc();
        Parsed parsed = null;
        String malformed = null;
        try {
          parsed = parse(payloadEnd);
        } catch (Malformed m) {
          malformed = m.getMessage();
          in.skipTo(payloadEnd);
        }
        int computed = in.endCrc();
        if (in.u32() != computed) {
          return result(Ending.CORRUPT, start, "a record that fails its checksum");
        }
        if (malformed != null) {
          return result(Ending.CORRUPT, start, "a malformed record (" + malformed + ")");
        }
        if ((parsed.kind == BASE) != (records == 0)) {
          return result(Ending.CORRUPT, start, records == 0 ? "a first record that is not a base record"
              : "a base record after the start of the file");
        }
        if (parsed.kind == CHANGE && parsed.sequence != sequence + 1) {
          return result(Ending.CORRUPT, start, "transaction " + parsed.sequence + " after transaction " + sequence);
        }
        commit(parsed);
      }
    }

    private Result result(Ending ending, long at, String detail) {
      if (records == 0 && ending != Ending.CORRUPT) {
        // Every log starts with a base record, complete before the file got its name: a file that lacks one
        // (ends after the header, or inside the base) was cut by something other than a crash of the writer.
        return new Result(Ending.CORRUPT, "the file ends " + (at == in.size ? "after its header" : "inside its base"
            + " record (" + detail + ")") + ", though every state log starts with a whole base record", format,
            index, sequence, records, live, at, in.size);
      }
      return new Result(ending, detail, format, index, sequence, records, live, at, in.size);
    }

    private void commit(Parsed p) {
      for (PendingPut put : p.puts) {
        Slot old = index.put(put.key, put.slot);
        if (old != null) {
          live -= StateLogFormat.putBytes(put.keyBytes, old.length());
        }
        live += StateLogFormat.putBytes(put.keyBytes, put.slot.length());
      }
      for (int i = 0; i < p.deletes.size(); i++) {
        Slot old = index.remove(p.deletes.get(i));
        if (old != null) {
          live -= StateLogFormat.putBytes(p.deleteKeyBytes.get(i), old.length());
        }
      }
      sequence = p.sequence;
      records++;
    }

    private Parsed parse(long payloadEnd) throws IOException, Malformed {
      int kind = in.u8();
      if (kind != CHANGE && kind != BASE) {
        throw new Malformed("unknown record kind " + kind);
      }
      long seq = in.u64();
      long puts = Integer.toUnsignedLong(in.u32());
      long deletes = Integer.toUnsignedLong(in.u32());
      if (seq < 0 || puts * 8 + deletes * 4 > payloadEnd - in.position()) {
        throw new Malformed("counts that do not fit the record");
      }
      if (kind == BASE && deletes > 0) {
        throw new Malformed("a base record with deletes");
      }
      Parsed p = new Parsed(kind, seq);
      for (long i = 0; i < puts; i++) {
        byte[] key = key(payloadEnd);
        int valueLength = length(payloadEnd, Integer.MAX_VALUE);
        long offset = in.position();
        int valueCrc = in.skip(valueLength);
        p.puts.add(new PendingPut(decode(key), key.length, new Slot(offset, valueLength, valueCrc)));
      }
      for (long i = 0; i < deletes; i++) {
        byte[] key = key(payloadEnd);
        p.deletes.add(decode(key));
        p.deleteKeyBytes.add(key.length);
      }
      if (in.position() != payloadEnd) {
        throw new Malformed((payloadEnd - in.position()) + " bytes after the last entry");
      }
      return p;
    }

    private byte[] key(long payloadEnd) throws IOException, Malformed {
      return in.bytes(length(payloadEnd, MAX_KEY_BYTES));
    }

    /** A length field, checked against the bytes left in the payload before anything is allocated for it. */
    private int length(long payloadEnd, int max) throws IOException, Malformed {
      if (payloadEnd - in.position() < 4) {
        throw new Malformed("an entry cut off by the end of the record");
      }
      long n = Integer.toUnsignedLong(in.u32());
      if (n > max || n > payloadEnd - in.position()) {
        throw new Malformed("a length of " + n + " bytes that does not fit the record");
      }
      return (int) n;
    }

    private static String decode(byte[] key) throws Malformed {
      try {
        return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(key)).toString();
      } catch (CharacterCodingException e) {
        throw new Malformed("a key that is not UTF-8");
      }
    }
  }

  private record PendingPut(String key, int keyBytes, Slot slot) {}

  private static final class Parsed {
    final int kind;
    final long sequence;
    final List<PendingPut> puts = new ArrayList<>();
    final List<String> deletes = new ArrayList<>();
    final List<Integer> deleteKeyBytes = new ArrayList<>();

    Parsed(int kind, long sequence) {
      this.kind = kind;
      this.sequence = sequence;
    }
  }

  /** A record whose checksum may still hold (then it is a writer's bug) but whose content makes no sense. */
  private static final class Malformed extends Exception {
    Malformed(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * Sequential reads of one file through a buffer, with a running CRC-32C over the bytes between
   * {@link #startCrc} and {@link #endCrc}. Callers check {@link #remaining} before they read.
   */
  private static final class Input {
    private final FileChannel channel;
    final long size;
    private final ByteBuffer buffer = ByteBuffer.allocate(1 << 20).limit(0);
    /** File offset of the buffer's first byte. */
    private long bufferStart;
    private CRC32C crc;

    Input(FileChannel channel, long size) {
      this.channel = channel;
      this.size = size;
    }

    long position() {
      return bufferStart + buffer.position();
    }

    long remaining() {
      return size - position();
    }

    void startCrc() {
      crc = new CRC32C();
    }

    int endCrc() {
      int value = (int) crc.getValue();
      crc = null;
      return value;
    }

    int u8() throws IOException {
      return bytes(1)[0] & 0xff;
    }

    int u32() throws IOException {
      return ByteBuffer.wrap(bytes(4)).getInt();
    }

    long u64() throws IOException {
      return ByteBuffer.wrap(bytes(8)).getLong();
    }

    byte[] bytes(int n) throws IOException {
      byte[] out = new byte[n];
      for (int done = 0; done < n; ) {
        fill();
        int k = Math.min(n - done, buffer.remaining());
        buffer.get(out, done, k);
        done += k;
      }
      if (crc != null) {
        crc.update(out, 0, n);
      }
      return out;
    }

    /** Consumes {@code n} bytes without keeping them; returns their own CRC-32C. */
    int skip(long n) throws IOException {
      CRC32C own = new CRC32C();
      while (n > 0) {
        fill();
        int k = (int) Math.min(n, buffer.remaining());
        int at = buffer.arrayOffset() + buffer.position();
        own.update(buffer.array(), at, k);
        if (crc != null) {
          crc.update(buffer.array(), at, k);
        }
        buffer.position(buffer.position() + k);
        n -= k;
      }
      return (int) own.getValue();
    }

    void skipTo(long position) throws IOException {
      skip(position - position());
    }

    private void fill() throws IOException {
      if (buffer.hasRemaining()) {
        return;
      }
      bufferStart = position();
      buffer.clear();
      while (buffer.hasRemaining()) {
        int n = channel.read(buffer, bufferStart + buffer.position());
        if (n < 0) {
          break;
        }
      }
      buffer.flip();
      if (!buffer.hasRemaining()) {
        throw new IOException("the file ended at offset " + bufferStart + " while being read");
      }
    }
  }
}
