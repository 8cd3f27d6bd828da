package io.shardgate.controlplane.state;

import static io.shardgate.controlplane.state.StateStoreAssertions.assertEntries;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash safety for real: a child JVM applies numbered transactions in a loop and is killed with SIGKILL
 * ({@code destroyForcibly}) at random moments, round after round on the same directory, now and then while it is
 * still opening (recovering) the store. After each kill the store must open, and hold exactly the state after
 * transactions 1..k, where k is the last transaction the child reported durable or the one after it (killed
 * between its apply returning and its report). Compaction runs every few dozen transactions, so kills land in
 * compactions too. A kill must never look like corruption: the only problems allowed are a torn last record and
 * a compaction's leftover file.
 */
class StateStoreCrashTest {

  private static final int ROUNDS = 25;
  private static final long SEED = 20261123;
  /** Small, so that the child compacts often. */
  private static final long SLACK = 64 * 1024;

  @TempDir
  Path tmp;

  @Test
  void afterAKillAtAnyMomentTheStoreHoldsEveryDurableTransactionAndNothingElse() throws Exception {
    Path dir = tmp.resolve("store");
    Random timing = new Random();
    SortedMap<String, byte[]> expected = new TreeMap<>();
    long applied = 0;
    int tornTails = 0;
    int leftoverCompactions = 0;
    int killedWhileOpening = 0;
    for (int round = 0; round < ROUNDS; round++) {
      List<String> printed;
      try (ChildJvm child = ChildJvm.start(tmp.resolve("child-" + round),
          "apply", dir.toString(), String.valueOf(applied + 1), String.valueOf(SEED), String.valueOf(SLACK))) {
        if (round % 5 == 4) {
          Thread.sleep(200 + timing.nextInt(800)); // lands before, during or after the child's open
        } else {
          // Every fifth round waits for a first durable transaction, so that the children surely make progress.
          child.await(round % 5 == 2 ? "durable" : "opened", Duration.ofSeconds(60));
          Thread.sleep(timing.nextInt(400));
        }
        printed = child.kill();
        if (child.exitValue() != 137) {
          fail("round " + round + ": the child ended by itself (exit " + child.exitValue() + "), not by the kill;"
              + " stdout " + printed + "; stderr:\n" + child.stderr());
        }
      }
      if (printed.stream().noneMatch(l -> l.startsWith("opened"))) {
        killedWhileOpening++;
      }
      long lastDurable = printed.stream().filter(l -> l.startsWith("durable "))
          .mapToLong(l -> Long.parseLong(l.substring("durable ".length()))).max().orElse(applied);
      try (StateStore store = StateStore.open(dir)) {
        long k = store.stats().sequence();
        String context = "round " + round + " (child reported " + lastDurable + " durable, store holds " + k
            + "; the child printed first " + printed.subList(0, Math.min(2, printed.size())) + ", last "
            + printed.subList(Math.max(0, printed.size() - 3), printed.size()) + "; problems " + store.problems() + ")";
        assertTrue(k == lastDurable || k == lastDurable + 1, context + ": lost a durable transaction or invented one");
        for (long n = applied + 1; n <= k; n++) {
          StateStoreChild.Transaction t = StateStoreChild.transaction(SEED, n);
          expected.putAll(t.puts());
          t.deletes().forEach(expected::remove);
        }
        applied = k;
        assertEntries(expected, store.entries(), context);
        for (String problem : store.problems()) {
          if (problem.contains("dropped the last")) {
            tornTails++;
          } else if (problem.startsWith("Removed") && problem.contains(StateStore.COMPACTING_FILE)) {
            leftoverCompactions++;
          } else {
            fail(context + ": a kill must not look like damage: " + problem);
          }
        }
      }
    }
    System.out.printf("StateStoreCrashTest: %d kills, %d transactions applied, %d torn tails dropped, %d compactions"
        + " cut short, %d kills during open%n", ROUNDS, applied, tornTails, leftoverCompactions, killedWhileOpening);
    assertTrue(applied >= ROUNDS / 5, "every fifth round waits for a durable transaction; applied: " + applied);
  }
}
