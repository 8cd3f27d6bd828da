package io.shardgate.controlplane.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.source.KubernetesSource;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * The Kubernetes source on a real kube-apiserver without the Gloo CRDs: each kind it cannot list is logged at ERROR
 * naming the kind and the verb, nothing is delivered, and once the CRDs are installed the informers' retries list
 * them and the first delivery follows without a restart.
 */
class KubernetesSourceMissingCrdTest {

  private static final Duration BOUND = Duration.ofSeconds(60); // the informers retry with back-off

  @RegisterExtension
  static final KubeApiServerExtension KUBE = new KubeApiServerExtension();

  @Test
  void aMissingCrdIsNamedAndRetriedUntilInstalled() throws Exception {
    Logger logger = (Logger) LoggerFactory.getLogger(KubernetesSource.class);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    logger.addAppender(logs);
    List<ConfigInput> inputs = new CopyOnWriteArrayList<>();
    try (KubernetesSource source = new KubernetesSource(KUBE.client(), inputs::add)) {
      source.start();
      await("an ERROR naming Gateway", () -> errors(logs).toString(), () -> errors(logs).stream()
          .anyMatch(m -> m.startsWith("Kubernetes: cannot list Gateway (gateways.gateway.solo.io, all namespaces)")
              && m.contains("not found (is its CRD installed?")));
      assertEquals(List.of(), inputs, "nothing is delivered before every kind has been listed");

      KubeCrdSchemaTest.install(KUBE.client());
      await("the first delivery", () -> errors(logs).toString(), () -> !inputs.isEmpty());
      assertEquals(List.of(), inputs.get(0).documents());
    } finally {
      logger.detachAppender(logs);
    }
  }

  private static List<String> errors(ListAppender<ILoggingEvent> logs) {
    return List.copyOf(logs.list).stream().filter(e -> e.getLevel() == Level.ERROR)
        .map(ILoggingEvent::getFormattedMessage).toList();
  }

  private static void await(String what, Supplier<String> lastSeen, BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + BOUND.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail("waited " + BOUND + " for " + what + "; last seen: " + lastSeen.get());
      }
      Thread.sleep(50);
    }
  }
}
