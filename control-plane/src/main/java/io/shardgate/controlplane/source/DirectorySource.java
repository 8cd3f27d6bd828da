package io.shardgate.controlplane.source;

import io.shardgate.controlplane.source.SourceProblem.Severity;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches a config directory and hands each new {@link DirectoryContents} to a listener.
 *
 * <p>Stage: source (the edge that touches the file system). Stateful; thread-safe: {@link #start()},
 * {@link #close()} and the accessors may be called from any thread. The listener is called on the thread that calls
 * {@link #start()} for the first contents, then only on the daemon thread {@value #THREAD_NAME}, one call at a time.
 *
 * <p>How it reads:
 *
 * <ul>
 *   <li>{@link #start()} reads the directory and delivers the result before returning, even when it is empty or
 *       full of problems, so the caller has contents to serve at once.
 *   <li>Every folder is watched with the platform {@link WatchService}; folders that appear later are watched as
 *       they appear. An event schedules a read of just the file (or folder) it names, so an edit costs what it
 *       changes, not the size of the tree. An overflow, or an event on a name starting with {@code ..} (a Kubernetes
 *       ConfigMap volume changes by swapping its hidden {@code ..data} link), schedules a re-scan of the whole
 *       tree instead; a re-scan reads only files whose size, modification time or identity changed.
 *   <li>Reads are debounced: one happens {@code debounce} after the last event of a burst, but never later than
 *       {@code maxDelay} after its first event, so saving twenty files gives one read and an edit is served within
 *       {@code maxDelay} plus the time to read.
 *   <li>The tree is also re-scanned every {@code rescanInterval}, because some file systems (network mounts, some
 *       container overlays) drop events. If the platform cannot watch at all, this is the only way changes are
 *       seen, and a warning says so.
 *   <li>A read that finds the same contents as the last delivered ({@link DirectoryContents#sameAs}) is dropped, so
 *       touching a file, or an editor's swap file, costs a read but never a pass or a push to the Envoys.
 *   <li>A file that does not parse keeps its last good documents (see {@link DirectoryLoader}); a root directory
 *       that disappears keeps the last delivered contents and is retried at the next event or re-scan.
 *   <li>An exception thrown by the listener is logged and the watcher goes on.
 * </ul>
 *
 * <p>Logging: one INFO line per delivery (files, documents, problems), then each problem not already reported in
 * the previous delivery at ERROR or WARN, one line each as {@code file:line:column: message}.
 */
public final class DirectorySource implements ConfigSource {

  private static final Logger LOG = LoggerFactory.getLogger(DirectorySource.class);

  /** Quiet time after the last event before reading. */
  public static final Duration DEFAULT_DEBOUNCE = Duration.ofMillis(150);

  /** Longest time from the first event of a burst to its read. */
  public static final Duration DEFAULT_MAX_DELAY = Duration.ofMillis(800);

  /** Period of the full re-scan that catches events the platform missed. */
  public static final Duration DEFAULT_RESCAN_INTERVAL = Duration.ofSeconds(30);

  /** Name of the watching thread. */
  public static final String THREAD_NAME = "shardgate-directory-watch";

  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);

  private final Path root;
  private final long debounceNanos;
  private final long maxDelayNanos;
  private final long rescanNanos;
  private final Consumer<DirectoryContents> listener;
  private final DirectoryLoader loader = new DirectoryLoader();

  private final AtomicLong loads = new AtomicLong();
  private final AtomicLong reloads = new AtomicLong();
  private final AtomicLong events = new AtomicLong();
  private final AtomicLong batches = new AtomicLong();

  private final Object lifecycle = new Object();
  private boolean started; // guarded by lifecycle
  private volatile boolean closed;
  private volatile WatchService watchService;
  private volatile Thread thread;
  private volatile DirectoryContents current;

  // Touched by start() before the thread exists, then only by the thread: Thread.start() orders the hand-over.
  private final Map<Path, WatchKey> watched = new HashMap<>();
  private DirectoryContents lastLoaded;
  private DirectoryContents lastDelivered;
  /** Relative paths the events of the pending burst named; a re-scan when {@link #pendingRescan}. */
  private final Set<String> pendingPaths = new HashSet<>();
  private boolean pendingRescan;
  private boolean rootProblemLogged;
  private boolean watchProblemLogged;

  /** A source with the default debounce, maximum delay and re-scan interval. */
  public DirectorySource(Path root, Consumer<DirectoryContents> listener) {
    this(root, DEFAULT_DEBOUNCE, DEFAULT_MAX_DELAY, DEFAULT_RESCAN_INTERVAL, listener);
  }

  /** A source with the default re-scan interval. */
  public DirectorySource(Path root, Duration debounce, Duration maxDelay, Consumer<DirectoryContents> listener) {
    this(root, debounce, maxDelay, DEFAULT_RESCAN_INTERVAL, listener);
  }

  /**
   * A source; nothing is read until {@link #start()}.
   *
   * @param root the config directory
   * @param debounce quiet time after the last event before reading; zero reads at once
   * @param maxDelay longest time from the first event of a burst to its read; at least {@code debounce}
   * @param rescanInterval period of the full re-scan; positive
   * @param listener receives each new contents
   */
  public DirectorySource(Path root, Duration debounce, Duration maxDelay, Duration rescanInterval,
      Consumer<DirectoryContents> listener) {
    this.root = Objects.requireNonNull(root, "root");
    this.listener = Objects.requireNonNull(listener, "listener");
    if (debounce.isNegative()) {
      throw new IllegalArgumentException("debounce must not be negative: " + debounce);
    }
    if (maxDelay.compareTo(debounce) < 0) {
      throw new IllegalArgumentException("maxDelay " + maxDelay + " must be at least debounce " + debounce);
    }
    if (rescanInterval.isNegative() || rescanInterval.isZero()) {
      throw new IllegalArgumentException("rescanInterval must be positive: " + rescanInterval);
    }
    this.debounceNanos = debounce.toNanos();
    this.maxDelayNanos = maxDelay.toNanos();
    this.rescanNanos = rescanInterval.toNanos();
  }

  /**
   * Reads the directory, delivers the result to the listener on this thread, then starts watching.
   *
   * @throws IllegalArgumentException when the root does not exist or is not a directory
   * @throws IllegalStateException when called twice or after {@link #close()}
   */
  public void start() {
    synchronized (lifecycle) {
      if (closed) {
        throw new IllegalStateException("closed");
      }
      if (started) {
        throw new IllegalStateException("already started");
      }
      started = true;
      // Fail on a bad root before creating anything that would need closing.
      DirectoryLoader.checkRoot(root);
      try {
        watchService = root.getFileSystem().newWatchService();
      } catch (IOException | UnsupportedOperationException e) {
        LOG.warn("config directory {}: cannot watch for changes ({}); re-reading it every {} instead", root, e,
            Duration.ofNanos(rescanNanos));
      }
      // Watch before the first read, so that a change made during the read raises an event.
      registerTree();
      DirectoryContents first = loader.load(root, null);
      loads.incrementAndGet();
      lastLoaded = first;
      deliver(first, "initial read");
      if (closed) {
        return; // the listener closed us
      }
      Thread t = new Thread(this::run, THREAD_NAME);
      t.setDaemon(true);
      thread = t;
      t.start();
    }
  }

  /** The config directory. */
  public Path root() {
    return root;
  }

  @Override
  public String describe() {
    return "config directory " + root;
  }

  /** The contents last delivered to the listener, or null before {@link #start()}. */
  public DirectoryContents current() {
    return current;
  }

  /** How many contents were delivered to the listener, the first included. */
  public long reloads() {
    return reloads.get();
  }

  /** How many times the directory was read, including reads that found no change and were not delivered. */
  public long loads() {
    return loads.get();
  }

  /**
   * How many debounced bursts of events were read: one per burst however many events it had, so {@link #events()}
   * divided by this is the debounce's coalescing factor. Re-scans and the initial read are not counted.
   */
  public long batches() {
    return batches.get();
  }

  /** How many file-system events were received (an overflow counts as the events it stands for). */
  public long events() {
    return events.get();
  }

  /**
   * Stops watching: the thread ends after the read or delivery in progress, if any, and no more deliveries happen.
   * Waits for a {@link #start()} in progress on another thread, then up to five seconds for the watch thread
   * unless called from it. Idempotent.
   */
  @Override
  public void close() {
    synchronized (lifecycle) {
      if (closed) {
        return;
      }
      closed = true;
    }
    WatchService ws = watchService;
    if (ws != null) {
      try {
        ws.close(); // wakes the thread out of poll()
      } catch (IOException e) {
        LOG.debug("closing the watch service of {}", root, e);
      }
    }
    Thread t = thread;
    if (t == null || t == Thread.currentThread()) {
      return;
    }
    LockSupport.unpark(t); // wakes it when it sleeps without a watch service
    try {
      t.join(CLOSE_TIMEOUT.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    if (t.isAlive()) {
      LOG.warn("config directory {}: the watch thread did not stop within {}; is the listener stuck?", root,
          CLOSE_TIMEOUT);
    }
  }

  // ---- the watch thread ----

  private void run() {
    long burstStart = 0;
    long lastEvent = 0;
    boolean pending = false;
    long nextRescan = System.nanoTime() + rescanNanos;
    while (!closed) {
      try {
        long now = System.nanoTime();
        // While a burst is pending its read is due within maxDelay and doubles as the re-scan.
        long deadline = pending ? Math.min(lastEvent + debounceNanos, burstStart + maxDelayNanos) : nextRescan;
        boolean sawEvents = awaitEvents(Math.max(0, deadline - now));
        if (closed) {
          return;
        }
        now = System.nanoTime();
        if (sawEvents) {
          if (!pending) {
            pending = true;
            burstStart = now;
          }
          lastEvent = now;
        }
        if (pending && (now - lastEvent >= debounceNanos || now - burstStart >= maxDelayNanos)) {
          pending = false;
          batches.incrementAndGet();
          if (pendingRescan) {
            reload("change", null);
          } else {
            reload("change", Set.copyOf(pendingPaths));
          }
          pendingPaths.clear();
          pendingRescan = false;
        } else if (!pending && now - nextRescan >= 0) {
          reload("re-scan", null);
          nextRescan = System.nanoTime() + rescanNanos;
        }
      } catch (ClosedWatchServiceException e) {
        return;
      } catch (RuntimeException e) {
        LOG.error("config directory {}: unexpected error in the watch loop; going on", root, e);
        // A fault that repeats at once would otherwise spin the CPU and flood the log.
        LockSupport.parkNanos(Math.max(debounceNanos, TimeUnit.MILLISECONDS.toNanos(100)));
      }
    }
  }

  /** Waits up to {@code timeoutNanos} for events, drains all that are queued, and says whether there were any. */
  private boolean awaitEvents(long timeoutNanos) {
    WatchService ws = watchService;
    if (ws == null) {
      LockSupport.parkNanos(timeoutNanos);
      return false;
    }
    WatchKey key;
    try {
      key = timeoutNanos == 0 ? ws.poll() : ws.poll(timeoutNanos, TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      // Only close() may stop this thread, and it does so by closing the watch service; a stray interrupt (from a
      // listener, say) must not end the watching.
      return false;
    }
    boolean any = false;
    while (key != null) {
      Path dir = key.watchable() instanceof Path p ? p : null;
      for (WatchEvent<?> event : key.pollEvents()) {
        events.addAndGet(event.count());
        any = true;
        if (event.kind() == StandardWatchEventKinds.OVERFLOW || dir == null) {
          LOG.debug("config directory {}: event overflow; re-scanning the tree", root);
          pendingRescan = true;
          continue;
        }
        Path name = (Path) event.context();
        String n = name.toString();
        if (n.startsWith("..")) {
          pendingRescan = true; // a ConfigMap volume swapped its files all at once
        } else if (!n.startsWith(".")) {
          pendingPaths.add(DirectoryLoader.relative(root, dir.resolve(name)));
        }
      }
      key.reset(); // an invalid key (folder deleted) is dropped at the next registerTree()
      key = ws.poll();
    }
    return any;
  }

  /** Reads the named paths, or the whole tree when {@code paths} is null. */
  private void reload(String reason, Set<String> paths) {
    loads.incrementAndGet();
    DirectoryContents next;
    try {
      if (paths == null) {
        registerTree();
        next = loader.load(root, lastLoaded);
      } else {
        registerNew(paths);
        next = loader.update(root, lastLoaded, paths);
      }
    } catch (IllegalArgumentException | UncheckedIOException e) {
      if (!rootProblemLogged) {
        LOG.error("config directory {}: {}; still serving what was read last", root, e.getMessage());
        rootProblemLogged = true;
      }
      return;
    }
    if (rootProblemLogged) {
      LOG.info("config directory {}: readable again", root);
      rootProblemLogged = false;
    }
    lastLoaded = next;
    if (closed) {
      return;
    }
    deliver(next, reason);
  }

  private void deliver(DirectoryContents contents, String reason) {
    if (contents.sameAs(lastDelivered)) {
      LOG.debug("config directory {}: {} found no change", root, reason);
      return;
    }
    DirectoryContents before = current;
    lastDelivered = contents;
    current = contents;
    long n = reloads.incrementAndGet();
    long errors = contents.problems().stream().filter(p -> p.severity() == Severity.ERROR).count();
    LOG.info("config directory {}: {} files, {} documents, {} secrets, {} problems ({} errors) [{}, delivery {}]",
        root, contents.fileHashes().size(), contents.documents().size(), contents.secrets().size(),
        contents.problems().size(), errors, reason, n);
    Set<SourceProblem> known = before == null ? Set.of() : new HashSet<>(before.problems());
    for (SourceProblem p : contents.problems()) {
      if (known.contains(p)) {
        continue;
      }
      if (p.severity() == Severity.ERROR) {
        LOG.error("{}", p);
      } else {
        LOG.warn("{}", p);
      }
    }
    try {
      listener.accept(contents);
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) { // NOPMD: whatever the listener does must not stop config from being watched
      LOG.error("config directory {}: the listener failed on delivery {}; watching goes on", root, n, e);
    }
  }

  /** Watches the folders among {@code paths} (and their sub-folders) that appeared since the last read. */
  private void registerNew(Set<String> paths) {
    for (String rel : paths) {
      Path p = root.resolve(rel);
      if (Files.isDirectory(p) && !watched.containsKey(p)) {
        registerTree(); // rare (a folder was created): register everything new, and forget what is gone
        return;
      }
    }
  }

  /** Watches every non-hidden folder not watched yet, and forgets folders that are gone. */
  private void registerTree() {
    WatchService ws = watchService;
    if (ws == null) {
      return;
    }
    watched.values().removeIf(k -> !k.isValid());
    try {
      Files.walkFileTree(root, EnumSet.of(FileVisitOption.FOLLOW_LINKS), Integer.MAX_VALUE,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
              Path name = dir.getFileName();
              if (!dir.equals(root) && name != null && name.toString().startsWith(".")) {
                return FileVisitResult.SKIP_SUBTREE;
              }
              WatchKey key = watched.get(dir);
              if (key == null || !key.isValid()) {
                try {
                  watched.put(dir, dir.register(ws, StandardWatchEventKinds.ENTRY_CREATE,
                      StandardWatchEventKinds.ENTRY_DELETE, StandardWatchEventKinds.ENTRY_MODIFY));
                } catch (IOException e) {
                  if (!watchProblemLogged) {
                    // Typically the inotify watch limit (fs.inotify.max_user_watches).
                    LOG.warn("config directory {}: cannot watch {} ({}); changes there are seen by the re-scan "
                        + "every {}", root, dir, e, Duration.ofNanos(rescanNanos));
                    watchProblemLogged = true;
                  }
                }
              }
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) {
              return FileVisitResult.CONTINUE; // the loader reports unreadable files and folders
            }
          });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
