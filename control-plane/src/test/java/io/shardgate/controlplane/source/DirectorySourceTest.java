package io.shardgate.controlplane.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.shardgate.controlplane.source.SourceProblem.Severity;
import io.shardgate.sharding.decode.SourceDocument;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the real watcher against a temporary directory. Waits are liveness bounds (generous, never asserted as
 * speed); the only negative waits check that nothing more arrives after the source has demonstrably acted.
 */
class DirectorySourceTest {

  private static final Duration LIVENESS = Duration.ofSeconds(30);

  @TempDir Path root;

  private final BlockingQueue<DirectoryContents> deliveries = new LinkedBlockingQueue<>();
  private final List<DirectorySource> sources = new ArrayList<>();

  @AfterEach
  void closeSources() {
    sources.forEach(DirectorySource::close);
  }

  @Test
  void startDeliversTheInitialContentsBeforeReturning() throws IOException {
    write("virtualservices/gloo-system/default.yaml", "virtualHost: {domains: ['*']}\n");
    DirectorySource source = source(DirectorySource.DEFAULT_RESCAN_INTERVAL);

    source.start();

    DirectoryContents first = deliveries.poll();
    assertNotNull(first, "delivered during start()");
    assertEquals("VirtualService", first.documents().get(0).content().get("kind"));
    assertSame(first, source.current());
    assertEquals(1, source.reloads());
  }

  @Test
  void anEditIsDelivered() throws Exception {
    write("a.yaml", "kind: A\nvalue: 1\n");
    DirectorySource source = started();

    write("a.yaml", "kind: A\nvalue: 2\n");

    DirectoryContents next = awaitDelivery(c -> valueOf(c, "a.yaml").equals(2L));
    assertSame(next, source.current());
    assertTrue(source.events() > 0);
  }

  @Test
  void aBurstOfWritesGivesOneOrTwoDeliveriesEndingWithTheLastWrite() throws Exception {
    write("burst.yaml", "kind: A\nvalue: 0\n");
    DirectorySource source = started();
    long before = source.reloads();

    for (int i = 1; i <= 20; i++) {
      write("burst.yaml", "kind: A\nvalue: " + i + "\n");
    }

    awaitDelivery(c -> valueOf(c, "burst.yaml").equals(20L));
    // Anything still coming from the burst arrives within maxDelay; wait that long again, with margin.
    Thread.sleep(DirectorySource.DEFAULT_MAX_DELAY.multipliedBy(2).toMillis());
    long burstDeliveries = source.reloads() - before;
    assertTrue(burstDeliveries >= 1 && burstDeliveries <= 2, "deliveries for 20 writes: " + burstDeliveries);
    assertEquals(20L, valueOf(source.current(), "burst.yaml"));
  }

  @Test
  void aNewSubdirectoryWithAFileIsPickedUp() throws Exception {
    write("a.yaml", "kind: A\n");
    started();

    write("upstreams/new-ns/echo.yaml", "static: {hosts: [{addr: 127.0.0.1, port: 9000}]}\n");

    DirectoryContents next = awaitDelivery(c -> !c.documentsOf("upstreams/new-ns/echo.yaml").isEmpty());
    assertEquals("Upstream", next.documentsOf("upstreams/new-ns/echo.yaml").get(0).content().get("kind"));

    // The new folders are watched too: a later edit inside them is seen.
    write("upstreams/new-ns/echo.yaml", "static: {hosts: [{addr: 127.0.0.2, port: 9000}]}\n");
    awaitDelivery(c -> c.documentsOf("upstreams/new-ns/echo.yaml").get(0).content().toString()
        .contains("127.0.0.2"));
  }

  @Test
  void rewritingTheSameBytesDeliversNothing() throws Exception {
    write("a.yaml", "kind: A\n");
    DirectorySource source = started();
    long loads = source.loads();

    write("a.yaml", "kind: A\n");
    Files.setLastModifiedTime(root.resolve("a.yaml"), FileTime.fromMillis(System.currentTimeMillis() + 60_000));

    awaitTrue(() -> source.loads() > loads, "the change was read");
    assertNull(deliveries.poll(DirectorySource.DEFAULT_MAX_DELAY.toMillis(), TimeUnit.MILLISECONDS));
    assertEquals(1, source.reloads());
  }

  @Test
  void aRescanThatFindsNothingNewDeliversNothing() throws Exception {
    write("a.yaml", "kind: A\n");
    DirectorySource source = source(Duration.ofMillis(50));
    source.start();
    deliveries.take();

    awaitTrue(() -> source.loads() >= 4, "re-scans happen");

    assertEquals(1, source.reloads());
    assertTrue(deliveries.isEmpty());
  }

  @Test
  void aBrokenEditKeepsServingTheLastGoodDocumentsAndSaysWhy() throws Exception {
    write("upstreams/ns/echo.yaml", "static: {hosts: [{addr: a, port: 1}]}\n");
    DirectorySource source = started();
    SourceDocument good = source.current().documents().get(0);

    write("upstreams/ns/echo.yaml", "static: {hosts: [{addr: b, port: 1}]\n");

    DirectoryContents broken = awaitDelivery(DirectoryContents::hasErrors);
    assertEquals(List.of(good), broken.documents());
    assertEquals(Severity.ERROR, broken.problems().get(0).severity());
    assertEquals("upstreams/ns/echo.yaml", broken.problems().get(0).file());
    assertTrue(broken.problems().get(0).line() > 0);
  }

  @Test
  void aListenerThatThrowsDoesNotStopTheWatching() throws Exception {
    write("a.yaml", "kind: A\nvalue: 1\n");
    AtomicInteger calls = new AtomicInteger();
    DirectorySource source = new DirectorySource(root, DirectorySource.DEFAULT_DEBOUNCE,
        DirectorySource.DEFAULT_MAX_DELAY, c -> {
          calls.incrementAndGet();
          deliveries.add(c);
          throw new IllegalStateException("listener failure on purpose");
        });
    sources.add(source);
    source.start();
    deliveries.take();

    write("a.yaml", "kind: A\nvalue: 2\n");
    awaitDelivery(c -> valueOf(c, "a.yaml").equals(2L));
    write("a.yaml", "kind: A\nvalue: 3\n");
    awaitDelivery(c -> valueOf(c, "a.yaml").equals(3L));

    assertEquals(3, calls.get());
  }

  @Test
  void closeStopsTheThreadAndTheDeliveries() throws Exception {
    write("a.yaml", "kind: A\nvalue: 1\n");
    Set<Thread> before = watchThreads();
    DirectorySource source = started();
    Set<Thread> mine = watchThreads();
    mine.removeAll(before);
    assertEquals(1, mine.size(), "one watch thread");
    Thread thread = mine.iterator().next();
    assertTrue(thread.isDaemon());

    source.close();
    source.close(); // idempotent

    assertFalse(thread.isAlive());
    long loads = source.loads();
    write("a.yaml", "kind: A\nvalue: 2\n");
    assertNull(deliveries.poll(DirectorySource.DEFAULT_MAX_DELAY.multipliedBy(2).toMillis(),
        TimeUnit.MILLISECONDS));
    assertEquals(loads, source.loads());
    assertThrows(IllegalStateException.class, source::start);
  }

  @Test
  void startFailsClearlyWhenTheRootIsMissing() {
    DirectorySource source = new DirectorySource(root.resolve("missing"), deliveries::add);
    sources.add(source);

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, source::start);

    assertTrue(e.getMessage().contains("--config-dir"), e.getMessage());
    assertTrue(deliveries.isEmpty());
  }

  @Test
  void badTimingsAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> new DirectorySource(root, Duration.ofSeconds(2),
        Duration.ofSeconds(1), deliveries::add));
    assertThrows(IllegalArgumentException.class, () -> new DirectorySource(root, Duration.ofMillis(-1),
        Duration.ofSeconds(1), deliveries::add));
    assertThrows(IllegalArgumentException.class, () -> new DirectorySource(root, Duration.ZERO,
        Duration.ofSeconds(1), Duration.ZERO, deliveries::add));
  }

  // ---- helpers ----

  private DirectorySource started() throws InterruptedException {
    DirectorySource source = source(DirectorySource.DEFAULT_RESCAN_INTERVAL);
    source.start();
    assertNotNull(deliveries.poll(), "initial delivery");
    return source;
  }

  private DirectorySource source(Duration rescanInterval) {
    DirectorySource source = new DirectorySource(root, DirectorySource.DEFAULT_DEBOUNCE,
        DirectorySource.DEFAULT_MAX_DELAY, rescanInterval, deliveries::add);
    sources.add(source);
    return source;
  }

  private DirectoryContents awaitDelivery(Predicate<DirectoryContents> wanted) throws InterruptedException {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    List<String> seen = new ArrayList<>();
    while (System.nanoTime() - deadline < 0) {
      DirectoryContents c = deliveries.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (c == null) {
        break;
      }
      if (wanted.test(c)) {
        return c;
      }
      seen.add(c.documents().toString());
    }
    return fail("no matching delivery within " + LIVENESS + "; saw " + seen);
  }

  private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail(what + ": not within " + LIVENESS);
      }
      Thread.sleep(10);
    }
  }

  private static Object valueOf(DirectoryContents contents, String file) {
    List<SourceDocument> docs = contents.documentsOf(file);
    if (docs.isEmpty()) {
      return "(no document)";
    }
    Map<String, Object> content = docs.get(0).content();
    Object value = content.get("value");
    return value == null ? "(no value)" : value;
  }

  private static Set<Thread> watchThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().equals(DirectorySource.THREAD_NAME) && t.isAlive())
        .collect(Collectors.toSet());
  }

  private void write(String rel, String text) throws IOException {
    Path file = root.resolve(rel);
    Files.createDirectories(file.getParent());
    Files.writeString(file, text, StandardCharsets.UTF_8);
  }
}
