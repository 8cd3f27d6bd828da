package io.shardgate.controlplane.state;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One store's exclusive claim on a state directory: an OS file lock on {@code state.lock} against other processes,
 * and a registry against a second store in this process. Stateful; thread-safe.
 *
 * <p>The registry is checked before the lock file is touched because POSIX drops every lock a process holds on a
 * file when any of its descriptors for that file closes: a second store in the same JVM that opened and closed the
 * lock file would silently release the first store's lock.
 */
final class StateDirectoryLock implements AutoCloseable {

  static final String FILE_NAME = "state.lock";

  private static final Set<Path> HELD_HERE = ConcurrentHashMap.newKeySet();

  private final Path dir;
  private final FileChannel channel;
  private final boolean usedBefore;
  private boolean released;

  private StateDirectoryLock(Path dir, FileChannel channel, boolean usedBefore) {
    this.dir = dir;
    this.channel = channel;
    this.usedBefore = usedBefore;
  }

  /** Creates {@code dir} if needed and claims it, or fails with a message naming who holds it. */
  static StateDirectoryLock acquire(Path dir) {
    Path real;
    try {
      Files.createDirectories(dir);
      real = dir.toRealPath();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create the state directory " + dir + ": " + e, e);
    }
    if (!HELD_HERE.add(real)) {
      throw new IllegalStateException("The state directory " + real + " is already open in this process");
    }
    Path file = real.resolve(FILE_NAME);
    try {
      boolean usedBefore = Files.exists(file);
      FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
          StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (IOException | RuntimeException e) {
        channel.close();
        throw e;
      }
      if (lock == null) {
        String holder = holder(channel);
        channel.close();
        throw new IllegalStateException("The state directory " + real + " is in use by another process (" + holder
            + ", per " + file + "); only one Shardgate process may use a state directory");
      }
      // For the message a second process prints; the lock itself is what excludes it.
      channel.truncate(0);
      channel.write(ByteBuffer.wrap(("pid " + ProcessHandle.current().pid() + "\n")
          .getBytes(StandardCharsets.US_ASCII)), 0);
      return new StateDirectoryLock(real, channel, usedBefore);
    } catch (IOException e) {
      HELD_HERE.remove(real);
      throw new UncheckedIOException("Cannot lock the state directory " + real + " (" + file + "): " + e, e);
    } catch (RuntimeException e) {
      HELD_HERE.remove(real);
      throw e;
    }
  }

  private static String holder(FileChannel channel) {
    try {
      ByteBuffer b = ByteBuffer.allocate(64);
      channel.read(b, 0);
      String text = new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).trim();
      return text.matches("pid \\d+") ? text : "pid unknown";
    } catch (IOException e) {
      return "pid unknown";
    }
  }

  /** The directory, as a real path. */
  Path dir() {
    return dir;
  }

  /** Whether the lock file was already there: this directory has held a store before. */
  boolean usedBefore() {
    return usedBefore;
  }

  @Override
  public synchronized void close() {
    if (released) {
      return;
    }
    released = true;
    try {
      channel.close(); // releases the OS lock
    } catch (IOException ignored) {
      // The descriptor is gone either way, and with it the lock.
    } finally {
      HELD_HERE.remove(dir);
    }
  }
}
