package io.shardgate.controlplane.state;

import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The other process of the multi-process tests, run by {@link ChildJvm}. Modes:
 * <ul>
 *   <li>{@code apply DIR FIRST SEED SLACK}: opens the store and applies {@link #transaction} FIRST, FIRST+1, ...
 *       until killed, printing {@code durable N} after each apply returns;
 *   <li>{@code hold DIR}: opens the store, prints {@code opened}, and holds it until stdin closes;
 *   <li>{@code probe DIR}: tries to open the store and prints {@code opened} or {@code refused <message>}.
 * </ul>
 */
final class StateStoreChild {

  private StateStoreChild() {}

  /** One transaction of the crash workload: a few puts and deletes over 40 keys, now and then a large value. */
  record Transaction(Map<String, byte[]> puts, Set<String> deletes) {}

  static Transaction transaction(long seed, long number) {
    Random r = new Random(seed * 1_000_003L + number);
    Map<String, byte[]> puts = new TreeMap<>();
    for (int i = 0, n = 1 + r.nextInt(6); i < n; i++) {
      // Large values span several buffer flushes, so that a kill can land inside one record's writes.
      byte[] value = new byte[r.nextInt(4) == 0 ? 500_000 + r.nextInt(1_500_000) : r.nextInt(4_000)];
      r.nextBytes(value);
      puts.put("key-" + r.nextInt(40), value);
    }
    Set<String> deletes = new TreeSet<>();
    for (int i = 0, n = r.nextInt(3); i < n; i++) {
      String key = "key-" + r.nextInt(40);
      if (!puts.containsKey(key)) {
        deletes.add(key);
      }
    }
    return new Transaction(puts, deletes);
  }

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[1]);
    switch (args[0]) {
      case "apply" -> {
        long first = Long.parseLong(args[2]);
        long seed = Long.parseLong(args[3]);
        try (StateStore store = StateStore.open(dir, new StateStore.Options(Long.parseLong(args[4])))) {
          say("opened " + store.stats().sequence());
          for (long n = first; ; n++) {
            Transaction t = transaction(seed, n);
            store.apply(t.puts(), t.deletes());
            say("durable " + n);
          }
        }
      }
      case "hold" -> {
        try (StateStore store = StateStore.open(dir)) {
          say("opened");
          while (System.in.read() >= 0) {
            // until the parent closes our stdin
          }
        }
      }
      case "probe" -> {
        try (StateStore store = StateStore.open(dir)) {
          say("opened");
        } catch (IllegalStateException e) {
          say("refused " + e.getMessage());
        }
      }
      default -> throw new IllegalArgumentException("unknown mode " + args[0]);
    }
  }

  private static void say(String line) {
    System.out.println(line);
    System.out.flush();
  }
}
