package io.shardgate.controlplane.state;

import static io.shardgate.controlplane.state.StateStoreAssertions.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One process per state directory, proven with a real second JVM ({@link StateStoreChild}). */
class StateStoreLockTest {

  @TempDir
  Path tmp;

  @Test
  void aSecondProcessIsRefusedWithAMessageNamingTheHolder() throws Exception {
    Path dir = tmp.resolve("store");
    try (ChildJvm holder = ChildJvm.start(tmp.resolve("hold"), "hold", dir.toString())) {
      holder.await("opened", Duration.ofSeconds(60));
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> StateStore.open(dir));
      assertTrue(e.getMessage().contains("is in use by another process (pid " + holder.pid() + ","), e.getMessage());
      assertTrue(e.getMessage().contains(StateDirectoryLock.FILE_NAME), e.getMessage());
      assertEquals(0, holder.finish(), holder.stderr());
    }
    try (StateStore store = StateStore.open(dir)) {
      store.apply(Map.of("k", utf8("v")), Set.of()); // the lock went with the holder
    }
  }

  /**
   * POSIX drops all of a process's locks on a file when any descriptor of it closes; a refused second open in this
   * JVM must not touch the lock file, or the first store would lose its lock to the next process.
   */
  @Test
  void aRefusedSecondOpenInThisProcessLeavesTheOtherProcessesLockedOut() throws Exception {
    Path dir = tmp.resolve("store");
    try (StateStore store = StateStore.open(dir)) {
      assertThrows(IllegalStateException.class, () -> StateStore.open(dir));
      try (ChildJvm probe = ChildJvm.start(tmp.resolve("probe"), "probe", dir.toString())) {
        String answer = probe.await("", Duration.ofSeconds(60));
        assertTrue(answer.startsWith("refused ") && answer.contains("pid " + ProcessHandle.current().pid()),
            "the other process must still be refused, got: " + answer + "; stderr:\n" + probe.stderr());
      }
    }
  }
}
