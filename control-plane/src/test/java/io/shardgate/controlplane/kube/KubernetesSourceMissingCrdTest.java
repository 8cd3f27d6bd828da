package io.shardgate.controlplane.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.source.KubernetesSource;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
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
      // Settings are read first: they say which namespaces the other kinds are read in.
      KubeWaits.await(BOUND, "an ERROR naming Settings", () -> KubeWaits.errors(logs).toString(),
          () -> KubeWaits.errors(logs).stream()
          .anyMatch(m -> m.startsWith("Kubernetes: cannot list Settings (settings.gloo.solo.io, all namespaces)")
              && m.contains("not found (is its CRD installed?")));
      assertEquals(List.of(), inputs, "nothing is delivered before every kind has been listed");

      KubeCrdSchemaTest.install(KUBE.client());
      KubeWaits.await(BOUND, "the first delivery", () -> KubeWaits.errors(logs).toString(), () -> !inputs.isEmpty());
      // Only the Upstream discovered from the Service every cluster has.
      assertEquals(List.of("Service default/kubernetes@"), inputs.get(0).documents().stream()
          .map(d -> d.origin().substring(0, d.origin().indexOf('@') + 1)).toList());
    } finally {
      logger.detachAppender(logs);
    }
  }

}
