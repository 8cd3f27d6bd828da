package io.shardgate.controlplane.kube;

import static org.junit.jupiter.api.Assertions.fail;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waiting on conditions against the real API server, and reading captured log events: shared by its tests. */
public final class KubeWaits {

  private KubeWaits() {}

  /** Polls {@code condition} until it holds; fails after {@code bound} with what was last seen. */
  public static void await(Duration bound, String what, Supplier<String> lastSeen, BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + bound.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail("waited " + bound + " for " + what + "; last seen: " + lastSeen.get());
      }
      Thread.sleep(50);
    }
  }

  /** The formatted messages of the ERROR events captured so far. */
  static List<String> errors(ListAppender<ILoggingEvent> logs) {
    return List.copyOf(logs.list).stream().filter(e -> e.getLevel() == Level.ERROR)
        .map(ILoggingEvent::getFormattedMessage).toList();
  }
}
