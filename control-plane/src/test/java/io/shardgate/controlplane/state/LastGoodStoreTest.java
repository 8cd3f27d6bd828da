package io.shardgate.controlplane.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.pipeline.TranslationEngine;
import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.ir.ProxyVirtualHost;
import io.shardgate.sharding.translate.LastGood;
import io.shardgate.sharding.translate.ProxyLastGood;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The last good state in the state store: it round-trips exactly (Proxy output and last accepted documents), a pass
 * writes only the entries it changed, a state of a newer format is never used nor overwritten, an unreadable entry
 * costs only itself, and the YAML file of format 1 is migrated once.
 */
class LastGoodStoreTest {

  @TempDir Path dir;

  /** Twelve teams, each a VirtualService delegating to a RouteTable, one shard, and a rejected Upstream. */
  private static String config(int version) {
    StringBuilder sb = new StringBuilder("""
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata: {name: gw, namespace: gloo-system}
        spec: {bindPort: 8080, httpGateway: {}}
        ---
        apiVersion: gloo.solo.io/v1
        kind: Upstream
        metadata: {name: backend, namespace: shared}
        spec: {static: {hosts: [{addr: 10.0.0.1, port: 8080}]}}
        """);
    for (int i = 0; i < 12; i++) {
      int status = i == 0 ? 200 + version : 200;
      sb.append("""
          ---
          apiVersion: gateway.solo.io/v1
          kind: VirtualService
          metadata: {name: team-%1$d, namespace: teams}
          spec:
            virtualHost:
              domains: [team-%1$d.example.com]
              routes:
              - matchers: [{prefix: /api}]
                delegateAction: {ref: {name: team-%1$d, namespace: teams}}
          ---
          apiVersion: gateway.solo.io/v1
          kind: RouteTable
          metadata: {name: team-%1$d, namespace: teams}
          spec:
            routes:
            - matchers: [{prefix: /api/orders}]
              directResponseAction: {status: %2$d}
            - matchers: [{prefix: /api/forward}]
              routeAction: {single: {upstream: {name: backend, namespace: shared}}}
          """.formatted(i, status));
    }
    return sb.toString();
  }

  private static ConfigInput input(String yaml) {
    try {
      return new ConfigInput("test", new YamlDocumentReader().read("c.yaml", yaml), List.of());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void aPassWritesOnlyWhatItChangedAndTheStateRoundTripsExactly() {
    TranslationEngine engine = new TranslationEngine();
    Translation first = engine.translate(input(config(0)), LastGood.EMPTY);
    // The Upstream stops decoding: its last accepted document stays in force and is part of the state.
    String broken = config(0).replace("port: 8080}]", "port: -1}]");
    Translation second = engine.translate(input(broken), first.gateway().lastGood());
    assertTrue(second.gateway().lastGood().documents().containsKey("Upstream shared/backend"));
    try (LastGoodStore store = LastGoodStore.open(dir)) {
      store.load();
      store.save(second.gateway().lastGood());
      long[] afterFirst = store.writes();
      assertTrue(afterFirst[1] > 20, "every listener, host, subtree and document: " + afterFirst[1]);

      // One team's table changes: one subtree entry (and its host) is written, not the whole state.
      Translation third = engine.translate(input(broken.replace("status: 200\n", "status: 201\n")
          .replaceFirst("status: 201\n", "status: 200\n")), second.gateway().lastGood());
      Translation edited = engine.translate(input(config(1).replace("port: 8080}]", "port: -1}]")),
          third.gateway().lastGood());
      store.save(third.gateway().lastGood());
      long[] before = store.writes();
      store.save(edited.gateway().lastGood());
      long[] after = store.writes();
      assertEquals(before[0] + 1, after[0], "one transaction");
      long entries = after[1] - before[1];
      assertTrue(entries >= 1 && entries <= 2,
          "an edit of one table writes its subtree and its virtual host, not its listener: " + entries);

      store.save(edited.gateway().lastGood());
      assertEquals(after[0], store.writes()[0], "an unchanged state writes nothing");
    }
    try (LastGoodStore store = LastGoodStore.open(dir)) {
      LastGood reloaded = store.load();
      assertEquals(engine.translate(input(config(1).replace("port: 8080}]", "port: -1}]")),
          second.gateway().lastGood()).gateway().lastGood().proxies().keySet(), reloaded.proxies().keySet());
      Translation afterRestart = new TranslationEngine().translate(
          input(config(1).replace("port: 8080}]", "port: -1}]")), reloaded);
      assertTrue(afterRestart.gateway().lastGood().documents().containsKey("Upstream shared/backend"),
          "the rejected Upstream still serves its last accepted version after a restart");
      assertTrue(afterRestart.xds().values().iterator().next().clusters().stream()
          .anyMatch(c -> c.getName().equals("backend_shared")), "its cluster is served");
      assertEquals(List.of(), store.problems());
    }
  }

  @Test
  void documentsAndOutputRoundTripExactly() throws Exception {
    TranslationEngine engine = new TranslationEngine();
    Translation t = engine.translate(input(config(0)), LastGood.EMPTY);
    LastGood state = t.gateway().lastGood();
    try (LastGoodStore store = LastGoodStore.open(dir)) {
      store.load();
      store.save(state);
    }
    try (LastGoodStore store = LastGoodStore.open(dir)) {
      LastGood reloaded = store.load();
      assertEquals(state.proxies(), reloaded.proxies());
      assertEquals(state.documents().keySet(), reloaded.documents().keySet());
      for (Map.Entry<String, SourceDocument> e : state.documents().entrySet()) {
        SourceDocument a = e.getValue();
        SourceDocument b = reloaded.documents().get(e.getKey());
        assertEquals(a.origin(), b.origin());
        assertEquals(a.line(), b.line());
        assertEquals(a.content(), b.content());
        assertEquals(a.fieldLines(), b.fieldLines());
        assertEquals(List.copyOf(a.content().keySet()), List.copyOf(b.content().keySet()), "field order kept");
      }
    }
  }

  @Test
  void aStateOfANewerFormatIsNeitherUsedNorOverwritten() {
    try (StateStore raw = StateStore.open(dir)) {
      raw.apply(Map.of(LastGoodStore.FORMAT_KEY, "99".getBytes(StandardCharsets.UTF_8),
          "lg/p/l/Gateway ns/gw", "{\"from\":\"the future\"}".getBytes(StandardCharsets.UTF_8)), Set.of());
    }
    Translation t = new TranslationEngine().translate(input(config(0)), LastGood.EMPTY);
    try (LastGoodStore store = LastGoodStore.open(dir)) {
      assertEquals(LastGood.EMPTY, store.load());
      assertTrue(store.problems().get(0).contains("format 99"), store.problems().toString());
      store.save(t.gateway().lastGood());
      assertEquals(0, store.writes()[0], "nothing written over it");
    }
    try (StateStore raw = StateStore.open(dir)) {
      assertEquals("99", new String(raw.entries().get(LastGoodStore.FORMAT_KEY), StandardCharsets.UTF_8));
    }
  }

  @Test
  void aFormat2StateWithListenersHoldingTheirHostsIsReadAndRewrittenAsFormat3() {
    LastGood state = new TranslationEngine().translate(input(config(0)), LastGood.EMPTY).gateway().lastGood();
    try (LastGoodStore store = LastGoodStore.open(dir)) {
      store.load();
      store.save(state);
    }
    // As Shardgate wrote it with format 2: every listener entry holds its virtual hosts whole.
    try (StateStore raw = StateStore.open(dir)) {
      Map<String, byte[]> format2 = new TreeMap<>();
      format2.put(LastGoodStore.FORMAT_KEY, "2".getBytes(StandardCharsets.UTF_8));
      state.proxies().forEach((proxy, slice) -> slice.listeners().forEach((name, l) ->
          format2.put(LastGoodStore.EntryKey.of(proxy, "l", name), StateCodec.encode(l))));
      raw.apply(format2, Set.of());
    }
    try (LastGoodStore store = LastGoodStore.open(dir)) {
      assertEquals(state.proxies(), store.load().proxies());
      assertEquals(List.of(), store.problems());
    }
    try (StateStore raw = StateStore.open(dir)) {
      assertEquals("3", new String(raw.entries().get(LastGoodStore.FORMAT_KEY), StandardCharsets.UTF_8));
      String listener = raw.entries().entrySet().stream().filter(e -> e.getKey().contains("/l/"))
          .map(e -> new String(e.getValue(), StandardCharsets.UTF_8)).findFirst().orElseThrow();
      assertTrue(listener.contains("\"ref\"") && !listener.contains("\"routes\""),
          "the listener refers to its hosts: " + listener);
    }
    try (LastGoodStore store = LastGoodStore.open(dir)) {
      assertEquals(state.proxies(), store.load().proxies(), "and reads back the same");
    }
  }

  @Test
  void aListenerKeptWhileItsHostsEntriesMovedOnKeepsItsOwnHosts() {
    LastGood state = new TranslationEngine().translate(input(config(0)), LastGood.EMPTY).gateway().lastGood();
    ProxyLastGood slice = state.proxies().get("gateway-proxy");
    // Every host entry replaced by another version, the listener left as it was (a rejected Gateway's last good).
    TreeMap<String, ProxyVirtualHost> movedOn = new TreeMap<>();
    slice.virtualHosts().forEach((k, vh) -> movedOn.put(k,
        new ProxyVirtualHost(vh.name(), List.of("moved.example.com"), vh.routes(), vh.virtualService())));
    LastGood kept = new LastGood(new TreeMap<>(Map.of("gateway-proxy",
        new ProxyLastGood(slice.listeners(), movedOn, slice.subtrees()))), state.documents());
    try (LastGoodStore store = LastGoodStore.open(dir)) {
      store.load();
      store.save(state);
      store.save(kept);
    }
    try (LastGoodStore store = LastGoodStore.open(dir)) {
      assertEquals(kept.proxies(), store.load().proxies());
    }
  }

  @Test
  void anUnreadableEntryCostsOnlyItself() {
    Translation t = new TranslationEngine().translate(input(config(0)), LastGood.EMPTY);
    try (LastGoodStore store = LastGoodStore.open(dir)) {
      store.load();
      store.save(t.gateway().lastGood());
    }
    String victim;
    try (StateStore raw = StateStore.open(dir)) {
      victim = raw.entries().keySet().stream().filter(k -> k.contains("/s/")).findFirst().orElseThrow();
      raw.apply(Map.of(victim, "{\"not\": \"a route list\"}".getBytes(StandardCharsets.UTF_8)), Set.of());
    }
    try (LastGoodStore store = LastGoodStore.open(dir)) {
      LastGood reloaded = store.load();
      assertEquals(1, store.problems().size(), store.problems().toString());
      assertTrue(store.problems().get(0).contains(victim), store.problems().toString());
      int before = t.gateway().lastGood().proxies().get("gateway-proxy").subtrees().size();
      assertEquals(before - 1, reloaded.proxies().get("gateway-proxy").subtrees().size());
    }
  }

  /**
   * {@code last-good-format-1.yaml} is what Shardgate 0.1's state file looked like (written by its LastGoodStore from
   * the team-delegation example with one RouteTable rejected); it is read into the store once.
   */
  @Test
  void theFormatOneFileIsMigratedOnce() throws IOException {
    try (InputStream in = getClass().getResourceAsStream("/state-formats/last-good-format-1.yaml")) {
      Files.write(dir.resolve(LastGoodStore.LEGACY_FILE), in.readAllBytes());
    }
    LastGood migrated;
    try (LastGoodStore store = LastGoodStore.open(dir)) {
      migrated = store.load();
      assertTrue(store.problems().get(0).startsWith("migrated the last good state"), store.problems().toString());
    }
    assertFalse(Files.exists(dir.resolve(LastGoodStore.LEGACY_FILE)));
    assertTrue(Files.exists(dir.resolve(LastGoodStore.LEGACY_FILE + ".migrated")));
    assertEquals(List.of("gateway-proxy"), new ArrayList<>(migrated.proxies().keySet()));
    assertFalse(migrated.proxies().get("gateway-proxy").subtrees().isEmpty());
    try (LastGoodStore store = LastGoodStore.open(dir)) {
      assertEquals(migrated, store.load(), "read back from the store, not migrated again");
      assertEquals(List.of(), store.problems());
    }
  }
}
