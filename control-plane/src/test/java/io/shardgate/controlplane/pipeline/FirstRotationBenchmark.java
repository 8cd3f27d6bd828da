package io.shardgate.controlplane.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.secret.TestSecrets;
import io.shardgate.controlplane.source.DirectoryContents;
import io.shardgate.controlplane.source.DirectoryLoader;
import io.shardgate.snapshot.ShardSnapshotCache;
import java.lang.management.ClassLoadingMXBean;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.SortedSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How much colder the first secret-only pass after start is than the ones after it, in-process: a real config
 * directory (an SSL Gateway, a VirtualService naming a Secret file with a test-made certificate), the real
 * {@link DirectoryLoader}, {@link ShardPipeline}, engine and snapshot cache (no Envoy connected). Startup reads and
 * translates it once; then the Secret file is rewritten four times, each read as the directory source reads a
 * changed file and passed through the pipeline, printing per stage the milliseconds and the classes loaded.
 *
 * <p>A benchmark, not part of the suite (its name ends in Benchmark, so surefire does not pick it up): it prints and
 * asserts no time. Run it alone in a fresh JVM: {@code ./mvnw -B -ntp -o -pl control-plane -am test
 * -Dtest=FirstRotationBenchmark -Dsurefire.failIfNoSpecifiedTests=false}; add
 * {@code -DargLine=-Xlog:class+load=info:file=/tmp/classes.log:uptimemillis} to see which classes each rotation
 * loads (the MARK lines give the uptime), or {@code -DargLine=-Xint} to see the cost of the code without the JIT.
 */
class FirstRotationBenchmark {

  @TempDir Path root;
  @TempDir Path pkiDir;

  private long secretNanos;
  private long publishNanos;

  @Test
  void firstAndLaterRotationsPerStage() throws Exception {
    TestSecrets pki = new TestSecrets("bench-ca", pkiDir);
    Files.writeString(root.resolve("gw.yaml"), """
        apiVersion: gateway.solo.io/v1
        kind: Gateway
        metadata: {name: ssl, namespace: gloo-system}
        spec: {bindPort: 8443, ssl: true, proxyNames: [gateway-proxy], httpGateway: {}}
        ---
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: web, namespace: shop}
        spec:
          sslConfig: {secretRef: {name: web-tls}}
          virtualHost: {domains: [web.example.com], routes: [{directResponseAction: {status: 200}}]}
        """);
    Files.createDirectories(root.resolve("secrets/shop"));
    writeSecret(pki.leaf("web.example.com"));
    ClassLoadingMXBean classes = ManagementFactory.getClassLoadingMXBean();
    DirectoryLoader loader = new DirectoryLoader();
    ShardSnapshotCache cache = new ShardSnapshotCache();
    PipelineObserver observer = new PipelineObserver() {
      @Override
      public void secretsTranslated(SortedSet<String> updatedShards, long translationNanos) {
        secretNanos = translationNanos;
      }

      @Override
      public void shardPublished(String shard, boolean changed, long nanos) {
        publishNanos = nanos;
      }
    };
    ShardPipeline pipeline = new ShardPipeline(cache, null, observer);
    long t0 = System.nanoTime();
    DirectoryContents contents = loader.load(root, null);
    pipeline.accept(ConfigInput.of(root.toString(), contents));
    System.out.printf("startup: %d ms, %d classes loaded so far%n", (System.nanoTime() - t0) / 1_000_000,
        classes.getTotalLoadedClassCount());
    for (int i = 1; i <= 4; i++) {
      TestSecrets.Pem pem = pki.leaf("web.example.com");
      writeSecret(pem);
      System.out.println("MARK rotation " + i + " at uptime " + ManagementFactory.getRuntimeMXBean().getUptime());
      long c0 = classes.getTotalLoadedClassCount();
      long a = System.nanoTime();
      contents = loader.update(root, contents, List.of("secrets/shop/web-tls.yaml"));
      long b = System.nanoTime();
      long c1 = classes.getTotalLoadedClassCount();
      ConfigInput input = ConfigInput.of(root.toString(), contents);
      pipeline.accept(input);
      long c = System.nanoTime();
      long c2 = classes.getTotalLoadedClassCount();
      System.out.println("MARK end " + i + " at uptime " + ManagementFactory.getRuntimeMXBean().getUptime());
      assertTrue(pipeline.latest().endpointsOnly(), "a secret-only pass");
      System.out.printf("rotation %d: load %.1f ms (+%d classes), pipeline %.1f ms (+%d classes; translate %.1f ms,"
          + " publish %.1f ms)%n", i, (b - a) / 1e6, c1 - c0, (c - b) / 1e6, c2 - c1, secretNanos / 1e6,
          (publishNanos) / 1e6);
    }
    assertEquals(Set.of("gloo-system~gateway-proxy"), pipeline.latest().xds().keySet());
    cache.close();
  }

  private void writeSecret(TestSecrets.Pem pem) throws Exception {
    Files.writeString(root.resolve("secrets/shop/web-tls.yaml"), "apiVersion: v1\nkind: Secret\n"
        + "metadata: {name: web-tls, namespace: shop}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: |\n"
        + indent(pem.certificate()) + "  tls.key: |\n" + indent(pem.key()), StandardCharsets.UTF_8);
  }

  private static String indent(String pem) {
    StringBuilder out = new StringBuilder();
    for (String line : pem.split("\n")) {
      out.append("    ").append(line).append('\n');
    }
    return out.toString();
  }
}
