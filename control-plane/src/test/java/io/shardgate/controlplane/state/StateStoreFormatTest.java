package io.shardgate.controlplane.state;

import static io.shardgate.controlplane.state.StateStoreAssertions.assertEntries;
import static io.shardgate.controlplane.state.StateStoreAssertions.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store reads every format it ever wrote. {@code state-formats/format-N/state.log} (test resources) is a log
 * that this code wrote from {@link #writeFixture} while N was the current format; each one must still open with
 * the content those transactions give, and an older one is migrated. The current format's fixture must also be
 * byte for byte what the code writes now, so the layout cannot change without a new format number.
 *
 * <p>Changing the layout: raise {@link StateLogFormat#CURRENT}, keep a reader for the old format, and run
 * {@value #ADD_FIXTURE}, which writes the new format's fixture beside the old ones. An existing fixture is never
 * rewritten: it is the proof that an upgrade reads what the released version wrote.
 */
class StateStoreFormatTest {

  private static final String ADD_FIXTURE = "./mvnw -pl control-plane -am test -Dtest=StateStoreFormatTest"
      + " -Dsurefire.failIfNoSpecifiedTests=false -Dgolden.update=true";

  @TempDir
  Path tmp;

  /** The binary value: every byte value, twice. */
  private static byte[] binary() {
    byte[] b = new byte[512];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) i;
    }
    return b;
  }

  /** What {@link #writeFixture} leaves, written out rather than replayed, so that a fixture is checked against it. */
  private static SortedMap<String, byte[]> content() {
    SortedMap<String, byte[]> m = new TreeMap<>();
    m.put("vhost/api", utf8("domains: [api.example.com, api.example.org]"));
    m.put("ключ/é", utf8("a key beyond ASCII"));
    m.put("", new byte[0]);
    m.put("subtree/teams/a", binary());
    return m;
  }

  /** Every kind of record and entry: a base record from a compaction, changes after it, deletes, odd keys. */
  static void writeFixture(Path dir) throws IOException {
    try (StateStore store = StateStore.open(dir, new StateStore.Options(Long.MAX_VALUE / 4))) {
      store.apply(Map.of("listener/http", utf8("port: 8080"), "vhost/api", utf8("domains: [api.example.com]"),
          "delete-me", utf8("soon gone")), Set.of());
      store.apply(Map.of("vhost/api", utf8("domains: [api.example.com, api.example.org]")), Set.of("delete-me"));
      store.compact();
      store.apply(Map.of("ключ/é", utf8("a key beyond ASCII"), "", new byte[0]), Set.of());
      store.apply(Map.of("subtree/teams/a", binary()), Set.of("listener/http"));
    }
  }

  @Test
  void everyFormatThisCodeEverWroteOpensWithItsContent() throws IOException {
    List<Path> fixtures;
    try (Stream<Path> dirs = Files.list(fixtureRoot())) {
      fixtures = dirs.filter(d -> d.getFileName().toString().startsWith("format-")).sorted().toList();
    }
    assertTrue(fixtures.stream().anyMatch(d -> d.getFileName().toString().equals("format-1")),
        "the format 1 fixture is missing from " + fixtureRoot());
    for (Path fixture : fixtures) {
      int format = Integer.parseInt(fixture.getFileName().toString().substring("format-".length()));
      byte[] log = Files.readAllBytes(fixture.resolve(StateStore.LOG_FILE));
      assertEquals(format, ByteBuffer.wrap(log, StateLogFormat.MAGIC.length, 4).getInt(),
          fixture + " must be a log of the format its folder names");
      Path dir = tmp.resolve(fixture.getFileName());
      Files.createDirectories(dir);
      Files.write(dir.resolve(StateStore.LOG_FILE), log);
      try (StateStore store = StateStore.open(dir)) {
        if (format == StateLogFormat.CURRENT) {
          assertEquals(List.of(), store.problems(), fixture.toString());
        } else {
          assertEquals(1, store.problems().size(), fixture + ": " + store.problems());
          assertTrue(store.problems().get(0).contains("migrated from format " + format), store.problems().get(0));
        }
        assertEntries(content(), store.entries(), fixture.toString());
        assertEquals(4, store.stats().sequence(), fixture + ": its transactions are numbered on");
        store.apply(Map.of("after", utf8("upgrade")), Set.of("vhost/api"));
      }
      try (StateStore store = StateStore.open(dir)) {
        assertEquals(List.of(), store.problems(), fixture + ", reopened");
        assertEquals(5, store.stats().sequence());
      }
    }
  }

  @Test
  void theCurrentFormatsFixtureIsWhatThisCodeWrites() throws IOException {
    Path dir = tmp.resolve("written");
    writeFixture(dir);
    byte[] written = Files.readAllBytes(dir.resolve(StateStore.LOG_FILE));
    Path fixture = fixtureRoot().resolve("format-" + StateLogFormat.CURRENT).resolve(StateStore.LOG_FILE);
    if (!Files.exists(fixture)) {
      if (!Boolean.getBoolean("golden.update")) {
        fail("No fixture of the current format " + StateLogFormat.CURRENT + " at " + fixture + "; write it with:\n  "
            + ADD_FIXTURE);
      }
      Files.createDirectories(fixture.getParent());
      Files.write(fixture, written);
    }
    assertArrayEquals(Files.readAllBytes(fixture), written, "The log layout changed but StateLogFormat.CURRENT did"
        + " not: raise it, keep a reader for format " + StateLogFormat.CURRENT + ", and add a fixture with:\n  "
        + ADD_FIXTURE);
  }

  private static Path fixtureRoot() {
    String basedir = System.getProperty("project.basedir", System.getProperty("user.dir"));
    return Path.of(basedir, "src", "test", "resources", "state-formats");
  }
}
