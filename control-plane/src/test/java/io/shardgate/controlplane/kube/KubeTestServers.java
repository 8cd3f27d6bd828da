package io.shardgate.controlplane.kube;

import io.shardgate.controlplane.e2e.ScriptBuiltTool;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The real kube-apiserver, kube-controller-manager and etcd binaries, built from the Go module proxy by
 * {@code tools/kube-test-servers.sh} into a cache outside the work tree ({@link ScriptBuiltTool}: one build
 * attempt per JVM, progress streamed, a failed build fails the calling test).
 *
 * <p>Stateless apart from that one answer; thread-safe.
 */
final class KubeTestServers {

  static final String SCRIPT = "tools/kube-test-servers.sh";

  private static final ScriptBuiltTool BUILD = new ScriptBuiltTool(SCRIPT,
      "The Kubernetes tests run a real kube-apiserver and etcd", "Go 1.24+ and the Go module proxy");

  private KubeTestServers() {
  }

  static Path binDir() {
    return BUILD.path();
  }

  static Path binary(String name) {
    Path bin = binDir().resolve(name);
    if (!Files.isExecutable(bin)) {
      throw new AssertionError(SCRIPT + " reported " + binDir() + " but " + bin + " is not an executable. Rebuild"
          + " with:\n  bash " + SCRIPT + " build --force");
    }
    return bin;
  }
}
