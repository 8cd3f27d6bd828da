package io.shardgate.controlplane.state;

import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.ir.ProxyListener;
import io.shardgate.sharding.ir.ProxyRoute;
import io.shardgate.sharding.ir.ProxyVirtualHost;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.translate.LastGood;
import io.shardgate.sharding.translate.ProxyLastGood;
import java.io.IOException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * Persists the last good state ({@link LastGood}) in the state directory, so that after a restart a resource that
 * is still rejected serves exactly what it served before. Stateful edge (file I/O over a {@link StateStore});
 * thread-safe.
 *
 * <p>One entry per piece of output (a listener, a virtual host, a RouteTable subtree of one proxy; a last accepted
 * document), keyed by what it is, so a pass writes only the entries it changed, in one durable transaction: an edit
 * costs what it changes, however large the state. Entries are found changed by identity (the translation hands
 * unchanged output over as the very same objects), so finding them costs no serialization.
 *
 * <p>Format: the entry {@code format} holds {@value #FORMAT} (docs/state.md lists the entries; format 2 is read and
 * rewritten as 3 on load); every value is JSON ({@link StateCodec}). A state
 * written by a newer Shardgate (a higher format) is left untouched and not used: this process then starts with no
 * last good state and writes nothing, so a downgrade never destroys it. The YAML file that Shardgate 0.1 wrote
 * ({@code last-good.yaml}, format 1) is migrated once, then renamed {@code last-good.yaml.migrated}. An entry that
 * cannot be read is skipped and reported; the others are independent and still used.
 */
public final class LastGoodStore implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(LastGoodStore.class);

  /**
   * The format of the entries; a newer Shardgate reads every older one. 3: a listener's virtual hosts are references
   * to the virtual host entries (2 held them inline, so every edit of one VirtualService re-wrote the whole listener).
   */
  static final int FORMAT = 3;
  /** The older formats this one reads (and rewrites as {@link #FORMAT} on load). */
  private static final int FORMAT_2 = 2;
  static final String FORMAT_KEY = "format";
  static final String LEGACY_FILE = "last-good.yaml";

  private static final String LISTENER = "l";
  private static final String VIRTUAL_HOST = "v";
  private static final String SUBTREE = "s";
  private static final String DOCUMENT_PREFIX = "doc/";

  private final StateStore store;
  private final List<String> problems = new ArrayList<>();
  private LastGood saved = LastGood.EMPTY;
  private boolean readOnly;
  private long writes;
  private long entriesWritten;

  private LastGoodStore(StateStore store) {
    this.store = store;
    problems.addAll(store.problems());
  }

  /** Opens (or creates) the state in {@code stateDir}; see {@link StateStore#open} for locking and recovery. */
  public static LastGoodStore open(Path stateDir) {
    return new LastGoodStore(StateStore.open(stateDir));
  }

  public Path dir() {
    return store.dir();
  }

  /** What opening and reading found: recovered damage, unreadable entries, a migration, a newer format. */
  public synchronized List<String> problems() {
    return List.copyOf(problems);
  }

  /** Passes that wrote something, and entries written or deleted, since open. */
  public synchronized long[] writes() {
    return new long[] {writes, entriesWritten};
  }

  /** The persisted state, or {@link LastGood#EMPTY} when there is none or it cannot be used. */
  public synchronized LastGood load() {
    SortedMap<String, byte[]> entries = store.entries();
    if (entries.isEmpty()) {
      LastGood migrated = migrateLegacyFile();
      if (migrated != null) {
        return migrated;
      }
      return LastGood.EMPTY;
    }
    byte[] format = entries.get(FORMAT_KEY);
    int version;
    try {
      version = format == null ? -1 : Integer.parseInt(new String(format, StandardCharsets.UTF_8).trim());
    } catch (NumberFormatException e) {
      version = -1;
    }
    if (version != FORMAT && version != FORMAT_2) {
      readOnly = true;
      problem("the state in " + store.dir() + " has format " + (version < 0 ? "(unreadable)" : version)
          + ", which this Shardgate (format " + FORMAT + ") cannot read; it is left as it is and not used or"
          + " written. Rejected resources start with nothing to fall back on; remove the directory to start over,"
          + " or run the Shardgate that wrote it");
      return LastGood.EMPTY;
    }
    TreeMap<String, TreeMap<String, Object>> listeners = new TreeMap<>();
    TreeMap<String, TreeMap<String, ProxyVirtualHost>> hosts = new TreeMap<>();
    TreeMap<String, TreeMap<String, List<ProxyRoute>>> subtrees = new TreeMap<>();
    TreeMap<String, SourceDocument> documents = new TreeMap<>();
    int unreadable = 0;
    for (Map.Entry<String, byte[]> e : entries.entrySet()) {
      String key = e.getKey();
      if (key.equals(FORMAT_KEY)) {
        continue;
      }
      try {
        if (key.startsWith(DOCUMENT_PREFIX)) {
          documents.put(key.substring(DOCUMENT_PREFIX.length()), StateCodec.decode(e.getValue(), SourceDocument.class));
          continue;
        }
        EntryKey k = EntryKey.parse(key);
        switch (k.type()) {
          case LISTENER -> listeners.computeIfAbsent(k.proxy(), p -> new TreeMap<>()).put(k.name(),
              version == FORMAT_2 ? plain(StateCodec.decode(e.getValue(), ProxyListener.class))
                  : StateCodec.decode(e.getValue(), StoredListener.class));
          case VIRTUAL_HOST -> hosts.computeIfAbsent(k.proxy(), p -> new TreeMap<>())
              .put(k.name(), StateCodec.decode(e.getValue(), ProxyVirtualHost.class));
          case SUBTREE -> subtrees.computeIfAbsent(k.proxy(), p -> new TreeMap<>())
              .put(k.name(), StateCodec.decodeList(e.getValue(), ProxyRoute.class));
          default -> throw new IOException("unknown entry type");
        }
      } catch (IOException | RuntimeException ex) {
        unreadable++;
        if (unreadable <= 10) {
          problem("the state entry '" + key + "' cannot be read (" + ex.getMessage() + "); it is not used");
        }
      }
    }
    if (unreadable > 10) {
      problem((unreadable - 10) + " more state entries cannot be read and are not used");
    }
    Set<String> proxies = new TreeSet<>(listeners.keySet());
    proxies.addAll(hosts.keySet());
    proxies.addAll(subtrees.keySet());
    TreeMap<String, ProxyLastGood> slices = new TreeMap<>();
    for (String p : proxies) {
      TreeMap<String, ProxyVirtualHost> proxyHosts = hosts.getOrDefault(p, new TreeMap<>());
      TreeMap<String, ProxyListener> proxyListeners = new TreeMap<>();
      // Format 2 held copies of the hosts inside each listener: the host entries' very objects take their place, so
      // the rewrite below (and every later save) refers to them instead of writing them again.
      Map<ProxyVirtualHost, ProxyVirtualHost> canonical = new HashMap<>();
      if (version == FORMAT_2) {
        proxyHosts.values().forEach(vh -> canonical.putIfAbsent(vh, vh));
      }
      listeners.getOrDefault(p, new TreeMap<>()).forEach((name, value) -> {
        ProxyListener l = value instanceof StoredListener stored ? stored.resolve(proxyHosts)
            : canonicalHosts((ProxyListener) value, canonical);
        if (l == null) {
          problem("the state entry '" + EntryKey.of(p, LISTENER, name) + "' refers to a virtual host entry that is"
              + " missing; it is not used");
        } else {
          proxyListeners.put(name, l);
        }
      });
      slices.put(p, new ProxyLastGood(proxyListeners, proxyHosts, subtrees.getOrDefault(p, new TreeMap<>())));
    }
    LastGood state = new LastGood(slices, documents);
    if (version == FORMAT_2) {
      // Rewritten at once, in one transaction, so that no state ever mixes the two listener shapes.
      TreeMap<String, byte[]> puts = new TreeMap<>();
      slices.forEach((p, slice) -> {
        Map<ProxyVirtualHost, String> keys = keysByIdentity(slice);
        slice.listeners().forEach((name, l) -> puts.put(EntryKey.of(p, LISTENER, name),
            encode(StoredListener.of(l, keys))));
      });
      puts.put(FORMAT_KEY, String.valueOf(FORMAT).getBytes(StandardCharsets.UTF_8));
      store.apply(puts, Set.of());
      LOG.info("Rewrote the last good state in {} from format {} to {}: {} listener entries", store.dir(), FORMAT_2,
          FORMAT, puts.size() - 1);
    }
    saved = state;
    LOG.info("Loaded the last good state from {}: {}", store.dir(), state.summary());
    return state;
  }

  /** Writes what differs between {@code state} and what was last loaded or saved, in one transaction. */
  public synchronized void save(LastGood state) {
    Objects.requireNonNull(state, "state");
    if (readOnly || state == saved) {
      return;
    }
    TreeMap<String, byte[]> puts = new TreeMap<>();
    Set<String> deletes = new HashSet<>();
    diff(saved, state, puts, deletes);
    if (puts.isEmpty() && deletes.isEmpty()) {
      saved = state;
      return;
    }
    if (saved == LastGood.EMPTY || store.stats().transactions() == 0) {
      puts.put(FORMAT_KEY, String.valueOf(FORMAT).getBytes(StandardCharsets.UTF_8));
    }
    try {
      store.apply(puts, deletes);
      saved = state;
      writes++;
      entriesWritten += puts.size() + deletes.size();
    } catch (RuntimeException e) {
      // Serving goes on; only restart safety is lost until a later write succeeds (it writes the whole difference).
      LOG.error("Cannot write the last good state to {}: {}", store.dir(), e.getMessage());
    }
  }

  @Override
  public synchronized void close() {
    store.close();
  }

  /** The entries that differ between two states, found by identity first. */
  static void diff(LastGood before, LastGood after, Map<String, byte[]> puts, Set<String> deletes) {
    Set<String> proxies = new TreeSet<>(before.proxies().keySet());
    proxies.addAll(after.proxies().keySet());
    for (String p : proxies) {
      ProxyLastGood a = before.of(p);
      ProxyLastGood b = after.of(p);
      if (a == b) {
        continue;
      }
      // A listener is stored with references to its virtual host entries: compared and written in that form, an
      // edit of one VirtualService writes its virtual host, and its listener only when the list of hosts changed.
      Map<ProxyVirtualHost, String> keysBefore = keysByIdentity(a);
      Map<ProxyVirtualHost, String> keysAfter = keysByIdentity(b);
      for (Map.Entry<String, ProxyListener> e : b.listeners().entrySet()) {
        StoredListener now = StoredListener.of(e.getValue(), keysAfter);
        ProxyListener old = a.listeners().get(e.getKey());
        if (old == null || !StoredListener.of(old, keysBefore).equals(now)) {
          puts.put(EntryKey.of(p, LISTENER, e.getKey()), encode(now));
        }
      }
      for (String k : a.listeners().keySet()) {
        if (!b.listeners().containsKey(k)) {
          deletes.add(EntryKey.of(p, LISTENER, k));
        }
      }
      diffMap(a.virtualHosts(), b.virtualHosts(), (k, v) -> puts.put(EntryKey.of(p, VIRTUAL_HOST, k), encode(v)),
          k -> deletes.add(EntryKey.of(p, VIRTUAL_HOST, k)));
      diffMap(a.subtrees(), b.subtrees(), (k, v) -> puts.put(EntryKey.of(p, SUBTREE, k), encode(v)),
          k -> deletes.add(EntryKey.of(p, SUBTREE, k)));
    }
    if (before.documents() != after.documents()) {
      diffMap(before.documents(), after.documents(), (k, v) -> puts.put(DOCUMENT_PREFIX + k, encode(v)),
          k -> deletes.add(DOCUMENT_PREFIX + k));
    }
  }

  /**
   * A listener of a format that predates TLS listeners (1 and 2), which are all plain: their absent filter chains
   * read as an empty list, which would make an SSL listener of them.
   */
  private static ProxyListener plain(ProxyListener l) {
    return new ProxyListener(l.name(), l.bindAddress(), l.bindPort(), l.virtualHosts(), l.gateway());
  }

  private static ProxyListener canonicalHosts(ProxyListener l, Map<ProxyVirtualHost, ProxyVirtualHost> canonical) {
    List<ProxyVirtualHost> hosts = new ArrayList<>();
    l.virtualHosts().forEach(vh -> hosts.add(canonical.getOrDefault(vh, vh)));
    return l.withVirtualHosts(hosts);
  }

  /** Each virtual host of a slice by identity, to the key of its entry. */
  private static Map<ProxyVirtualHost, String> keysByIdentity(ProxyLastGood slice) {
    Map<ProxyVirtualHost, String> keys = new IdentityHashMap<>();
    slice.virtualHosts().forEach((k, vh) -> keys.putIfAbsent(vh, k));
    return keys;
  }

  /**
   * A listener as stored: each of its virtual hosts a reference to the slice's entry that holds that very virtual
   * host, or inline when no entry does (a listener kept at its last good version while its hosts' entries moved on).
   */
  record StoredListener(
      String name, String bindAddress, int bindPort, ResourceKey gateway, List<StoredHost> virtualHosts, boolean ssl) {

    static StoredListener of(ProxyListener l, Map<ProxyVirtualHost, String> keys) {
      List<StoredHost> hosts = new ArrayList<>(l.virtualHosts().size());
      for (ProxyVirtualHost vh : l.virtualHosts()) {
        String ref = keys.get(vh);
        hosts.add(ref != null ? new StoredHost(ref, null) : new StoredHost(null, vh));
      }
      return new StoredListener(l.name(), l.bindAddress(), l.bindPort(), l.gateway(), hosts, l.isSsl());
    }

    /** The listener, with the very virtual hosts of {@code hosts} it refers to; null when one is missing. */
    ProxyListener resolve(Map<String, ProxyVirtualHost> hosts) {
      List<ProxyVirtualHost> resolved = new ArrayList<>();
      for (StoredHost h : virtualHosts == null ? List.<StoredHost>of() : virtualHosts) {
        ProxyVirtualHost vh = h.ref() != null ? hosts.get(h.ref()) : h.inline();
        if (vh == null) {
          return null;
        }
        resolved.add(vh);
      }
      // An SSL listener's filter chains are its hosts', so they are not stored (a state written before TLS has none).
      return ssl ? ProxyListener.ssl(name, bindAddress, bindPort, resolved, gateway)
          : new ProxyListener(name, bindAddress, bindPort, resolved, gateway);
    }
  }

  /** One virtual host of a {@link StoredListener}: {@code ref} (a virtual host entry's name) or {@code inline}. */
  record StoredHost(String ref, ProxyVirtualHost inline) {}

  private static byte[] encode(Object value) {
    return StateCodec.encode(value);
  }

  private static <V> void diffMap(SortedMap<String, V> a, SortedMap<String, V> b, BiConsumer<String, V> put,
      Consumer<String> delete) {
    for (Map.Entry<String, V> e : b.entrySet()) {
      V old = a.get(e.getKey());
      if (old != e.getValue() && !Objects.equals(old, e.getValue())) {
        put.accept(e.getKey(), e.getValue());
      }
    }
    for (String k : a.keySet()) {
      if (!b.containsKey(k)) {
        delete.accept(k);
      }
    }
  }

  private void problem(String message) {
    problems.add(message);
    LOG.error("{}", message);
  }

  /**
   * The YAML file Shardgate 0.1 kept in the state directory (format 1: one map per output type, keys prefixed with
   * the proxy name and {@code |}): read once, written into the store, renamed. Null when there is none.
   */
  private LastGood migrateLegacyFile() {
    Path file = store.dir().resolve(LEGACY_FILE);
    if (!Files.isRegularFile(file)) {
      return null;
    }
    try {
      Object loaded = new Yaml(new LoaderOptions()).load(Files.readString(file, StandardCharsets.UTF_8));
      if (!(loaded instanceof Map<?, ?> doc) || !Integer.valueOf(1).equals(doc.get("format"))) {
        throw new IllegalArgumentException("not a format 1 state file");
      }
      LegacyState legacy = TreeReader.read(doc.get("state"), LegacyState.class);
      LastGood state = legacy.toLastGood();
      TreeMap<String, byte[]> puts = new TreeMap<>();
      diff(LastGood.EMPTY, state, puts, new HashSet<>());
      puts.put(FORMAT_KEY, String.valueOf(FORMAT).getBytes(StandardCharsets.UTF_8));
      store.apply(puts, Set.of());
      saved = state;
      Files.move(file, file.resolveSibling(LEGACY_FILE + ".migrated"), StandardCopyOption.REPLACE_EXISTING);
      problem("migrated the last good state from " + file + " (format 1) into the state store: " + state.summary()
          + "; the old file is kept as " + LEGACY_FILE + ".migrated");
      return state;
    } catch (IOException | RuntimeException e) {
      problem("cannot migrate " + file + " (" + e.getMessage() + "); rejected resources start with nothing to fall"
          + " back on; the file is left as it is");
      return null;
    }
  }

  /** Format 1's state: the three maps of every proxy in one, keys {@code proxy|...}. */
  record LegacyState(
      SortedMap<String, ProxyListener> listeners,
      SortedMap<String, ProxyVirtualHost> virtualHosts,
      SortedMap<String, List<ProxyRoute>> subtrees) {

    LastGood toLastGood() {
      TreeMap<String, TreeMap<String, ProxyListener>> l = split(listeners);
      l.values().forEach(m -> m.replaceAll((k, listener) -> plain(listener)));
      TreeMap<String, TreeMap<String, ProxyVirtualHost>> v = split(virtualHosts);
      TreeMap<String, TreeMap<String, List<ProxyRoute>>> s = split(subtrees);
      Set<String> proxies = new TreeSet<>(l.keySet());
      proxies.addAll(v.keySet());
      proxies.addAll(s.keySet());
      TreeMap<String, ProxyLastGood> slices = new TreeMap<>();
      for (String p : proxies) {
        slices.put(p, new ProxyLastGood(l.getOrDefault(p, new TreeMap<>()), v.getOrDefault(p, new TreeMap<>()),
            s.getOrDefault(p, new TreeMap<>())));
      }
      return new LastGood(slices);
    }

    private static <V> TreeMap<String, TreeMap<String, V>> split(SortedMap<String, V> in) {
      TreeMap<String, TreeMap<String, V>> out = new TreeMap<>();
      if (in == null) {
        return out;
      }
      in.forEach((k, v) -> {
        int bar = k.indexOf('|');
        if (bar > 0) {
          out.computeIfAbsent(k.substring(0, bar), p -> new TreeMap<>()).put(k.substring(bar + 1), v);
        }
      });
      return out;
    }
  }

  /** {@code lg/<proxy>/<type>/<name>}, the proxy name URL-encoded so that a {@code /} in it cannot mislead. */
  record EntryKey(String proxy, String type, String name) {

    static String of(String proxy, String type, String name) {
      return "lg/" + URLEncoder.encode(proxy, StandardCharsets.UTF_8) + "/" + type + "/" + name;
    }

    static EntryKey parse(String key) throws IOException {
      if (!key.startsWith("lg/")) {
        throw new IOException("unknown entry");
      }
      int a = key.indexOf('/', 3);
      int b = a < 0 ? -1 : key.indexOf('/', a + 1);
      if (b < 0) {
        throw new IOException("malformed key");
      }
      return new EntryKey(URLDecoder.decode(key.substring(3, a), StandardCharsets.UTF_8), key.substring(a + 1, b),
          key.substring(b + 1));
    }
  }

  /** For tests: the entries as stored. */
  SortedMap<String, byte[]> entries() {
    return Collections.unmodifiableSortedMap(store.entries());
  }
}
