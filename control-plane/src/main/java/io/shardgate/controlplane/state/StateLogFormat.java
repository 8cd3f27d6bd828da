package io.shardgate.controlplane.state;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The byte layout of the state log that {@link StateStore} keeps, and its one writer. Stateless helpers plus
 * {@link Output}, a buffered writer owned by one thread at a time.
 *
 * <p>Format 1 (docs/state.md has the reasoning); integers are big-endian:
 * <pre>
 * header   "SHARDGATE-STATE\n" (16 bytes) | u32 format | u32 crc32c(the 20 bytes before)
 * record   u64 payload length | u32 crc32c(those 8 bytes) | payload | u32 crc32c(payload)
 * payload  u8 kind (1 change, 2 base) | u64 sequence | u32 puts | u32 deletes
 *          | puts x (u32 key length | key, UTF-8 | u32 value length | value)
 *          | deletes x (u32 key length | key, UTF-8)
 * </pre>
 * A change record is one {@link StateStore#apply} transaction; its sequence is one more than the record's before.
 * A base record holds the whole state as of its sequence and only ever starts a file (compaction writes it).
 * The length has its own checksum so that a damaged length is told apart from a record cut short by a crash.
 */
final class StateLogFormat {

  /** The format this code writes. Every older one it ever wrote must stay readable (StateStoreFormatTest). */
  static final int CURRENT = 1;

  static final byte[] MAGIC = "SHARDGATE-STATE\n".getBytes(StandardCharsets.US_ASCII);
  static final int HEADER_BYTES = MAGIC.length + 8;
  static final int RECORD_HEAD_BYTES = 12;
  static final int RECORD_TAIL_BYTES = 4;
  /** Kind, sequence and the two counts. */
  static final int PAYLOAD_FIXED_BYTES = 1 + 8 + 4 + 4;
  static final byte CHANGE = 1;
  static final byte BASE = 2;
  /** Keys are names, not data; the bound also keeps a damaged length from asking for a huge array. */
  static final int MAX_KEY_BYTES = 64 * 1024;
  /** One change record is written from one buffer pass; larger transactions are split by the caller. */
  static final long MAX_CHANGE_BYTES = Integer.MAX_VALUE - 64;

  private StateLogFormat() {}

  /** Where one value lives in the current log file, and its checksum (checked again whenever it is read). */
  record Slot(long offset, int length, int crc) {}

  /** A value to write: from memory (an apply) or from the old file (a compaction). */
  interface Value {
    int length();

    void writeTo(Output out) throws IOException;
  }

  record MemoryValue(byte[] bytes) implements Value {
    @Override
    public int length() {
      return bytes.length;
    }

    @Override
    public void writeTo(Output out) throws IOException {
      out.bytes(bytes);
    }
  }

  /** A value copied from another log file, verified against the checksum it was indexed with. */
  record FileValue(FileChannel source, Slot slot, String key) implements Value {
    @Override
    public int length() {
      return slot.length();
    }

    @Override
    public void writeTo(Output out) throws IOException {
      CRC32C crc = new CRC32C();
      byte[] chunk = new byte[Math.min(slot.length(), IO_CHUNK)];
      for (int done = 0; done < slot.length(); ) {
        int n = Math.min(chunk.length, slot.length() - done);
        readFully(source, chunk, n, slot.offset() + done);
        crc.update(chunk, 0, n);
        out.bytes(chunk, 0, n);
        done += n;
      }
      if ((int) crc.getValue() != slot.crc()) {
        throw new IOException("the value of '" + key + "' at offset " + slot.offset()
            + " no longer matches its checksum: the file changed on disk after it was read");
      }
    }
  }

  /** One put of a record: the key's UTF-8 bytes and the value. */
  record Put(String key, byte[] keyBytes, Value value) {}

  /** A delete of a record. */
  record Delete(String key, byte[] keyBytes) {}

  /** I/O goes through buffers of at most this size (the JDK caches a direct buffer as large as any heap one). */
  static final int IO_CHUNK = 256 * 1024;

  static ByteBuffer header(int format) {
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES);
    b.put(MAGIC).putInt(format);
    b.putInt(crc(b.array(), 0, MAGIC.length + 4));
    return b.flip();
  }

  static int crc(byte[] bytes, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, offset, length);
    return (int) crc.getValue();
  }

  static int lengthCrc(long payloadLength) {
    return crc(ByteBuffer.allocate(8).putLong(payloadLength).array(), 0, 8);
  }

  /** The bytes an entry takes in a record's payload. */
  static long putBytes(int keyBytes, long valueBytes) {
    return 4L + keyBytes + 4L + valueBytes;
  }

  static long deleteBytes(int keyBytes) {
    return 4L + keyBytes;
  }

  static long recordBytes(long payloadBytes) {
    return RECORD_HEAD_BYTES + payloadBytes + RECORD_TAIL_BYTES;
  }

  /**
   * Writes one record at the output's position. Returns where each put's value landed, in the order given, so the
   * caller can index them without reading them back.
   */
  static long[] writeRecord(Output out, byte kind, long sequence, List<Put> puts, List<Delete> deletes)
      throws IOException {
    long payload = PAYLOAD_FIXED_BYTES;
    for (Put p : puts) {
      payload += putBytes(p.keyBytes().length, p.value().length());
    }
    for (Delete d : deletes) {
      payload += deleteBytes(d.keyBytes().length);
    }
    out.u64(payload);
    out.u32(lengthCrc(payload));
    out.startCrc();
    out.u8(kind);
    out.u64(sequence);
    out.u32(puts.size());
    out.u32(deletes.size());
    long[] valueOffsets = new long[puts.size()];
    for (int i = 0; i < puts.size(); i++) {
      Put p = puts.get(i);
      out.u32(p.keyBytes().length);
      out.bytes(p.keyBytes());
      out.u32(p.value().length());
      valueOffsets[i] = out.position();
      p.value().writeTo(out);
    }
    for (Delete d : deletes) {
      out.u32(d.keyBytes().length);
      out.bytes(d.keyBytes());
    }
    out.u32(out.endCrc());
    return valueOffsets;
  }

  /** The key's UTF-8 bytes; a key that is not valid Unicode (an unpaired surrogate) could not be read back. */
  static byte[] keyBytes(String key) {
    try {
      ByteBuffer b = StandardCharsets.UTF_8.newEncoder().encode(CharBuffer.wrap(key));
      byte[] bytes = Arrays.copyOf(b.array(), b.limit());
      if (bytes.length > MAX_KEY_BYTES) {
        throw new IllegalArgumentException(
            "key of " + bytes.length + " bytes is longer than " + MAX_KEY_BYTES + ": " + key.substring(0, 80) + "...");
      }
      return bytes;
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("key is not valid Unicode: " + key, e);
    }
  }

  static void readFully(FileChannel channel, byte[] into, int length, long position) throws IOException {
    for (int done = 0; done < length; ) {
      int n = channel.read(ByteBuffer.wrap(into, done, Math.min(IO_CHUNK, length - done)), position + done);
      if (n < 0) {
        throw new IOException("unexpected end of file at offset " + (position + done));
      }
      done += n;
    }
  }

  /**
   * Buffered, positional writes to one file channel, with a running CRC-32C over the bytes between
   * {@link #startCrc} and {@link #endCrc}. Not thread-safe: the store uses it under its lock.
   */
  static final class Output {
    private final FileChannel channel;
    private final ByteBuffer buffer;
    /** File position of the first buffered byte. */
    private long flushed;
    private CRC32C crc;

    Output(FileChannel channel, long position, ByteBuffer buffer) {
      this.channel = channel;
      this.flushed = position;
      this.buffer = buffer.clear();
    }

    /** File position of the next byte. */
    long position() {
      return flushed + buffer.position();
    }

    void startCrc() {
      crc = new CRC32C();
    }

    int endCrc() {
      int value = (int) crc.getValue();
      crc = null;
      return value;
    }

    void u8(int v) throws IOException {
      bytes(new byte[] {(byte) v});
    }

    void u32(int v) throws IOException {
      bytes(ByteBuffer.allocate(4).putInt(v).array());
    }

    void u64(long v) throws IOException {
      bytes(ByteBuffer.allocate(8).putLong(v).array());
    }

    void bytes(byte[] b) throws IOException {
      bytes(b, 0, b.length);
    }

    void bytes(byte[] b, int offset, int length) throws IOException {
      if (crc != null) {
        crc.update(b, offset, length);
      }
      while (length > 0) {
        if (!buffer.hasRemaining()) {
          flush();
        }
        int n = Math.min(length, buffer.remaining());
        buffer.put(b, offset, n);
        offset += n;
        length -= n;
      }
    }

    /** Writes what is buffered; the caller forces the channel when it needs durability. */
    void flush() throws IOException {
      buffer.flip();
      while (buffer.hasRemaining()) {
        flushed += channel.write(buffer, flushed);
      }
      buffer.clear();
    }
  }
}
