package io.shardgate.controlplane.kube;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * A real Kubernetes API server ({@link KubeApiServer}: etcd and kube-apiserver on free loopback ports) for one test
 * class. Tests get a fabric8 {@link #client()} and a {@link #kubeconfig()} file (bearer token of a
 * {@code system:masters} user, the server's own CA), which serves any other client alike.
 *
 * <p>Register it on a static field, so it starts once before the class's tests and stops after them:
 * <pre>{@code
 * @RegisterExtension
 * static final KubeApiServerExtension KUBE = new KubeApiServerExtension();
 * }</pre>
 * A build or start that fails fails the class with the reason and the server's log tail; it never skips. When a
 * test fails, the API server's log tail is printed.
 *
 * <p>Stateful; used from JUnit's thread.
 */
public final class KubeApiServerExtension implements BeforeAllCallback, AfterAllCallback, TestWatcher {

  private static final int LOG_LINES = 60;

  /** The user of {@link #restrictedKubeconfig()}: in no group, so RBAC allows it nothing a test does not grant. */
  public static final String RESTRICTED_USER = KubeApiServer.RESTRICTED_USER;

  private final List<String> extraApiServerArgs;
  private KubeApiServer server;

  /** An API server started with kube-apiserver's own defaults and the flags {@link KubeApiServer} always sets. */
  public KubeApiServerExtension() {
    this(List.of());
  }

  /**
   * An API server started with extra flags besides {@link KubeApiServer}'s own, e.g. {@code --watch-cache=false}, so
   * that watches are served from etcd itself and an etcd compaction makes an informer's next watch answer 410 Gone.
   */
  public KubeApiServerExtension(List<String> extraApiServerArgs) {
    this.extraApiServerArgs = List.copyOf(extraApiServerArgs);
  }

  /** The fabric8 client for the running server, authenticated as a cluster admin. */
  public KubernetesClient client() {
    return running().client();
  }

  /** A kubeconfig file for the running server (token of a system:masters user, the server's own CA). */
  public Path kubeconfig() {
    return running().kubeconfig();
  }

  /** A kubeconfig file for {@link #RESTRICTED_USER}, for tests of what a control plane without access does. */
  public Path restrictedKubeconfig() {
    return running().restrictedKubeconfig();
  }

  /** {@code https://127.0.0.1:<port>}. */
  public String serverUrl() {
    return running().serverUrl();
  }

  /** The API server's log file, for a test that wants to show it. */
  public Path apiServerLog() {
    return running().apiServerLog();
  }

  /** See {@link KubeApiServer#stopApiServer()}. */
  public void stopApiServer() {
    running().stopApiServer();
  }

  /** See {@link KubeApiServer#startApiServer()}. */
  public void startApiServer() throws Exception {
    running().startApiServer();
  }

  /** See {@link KubeApiServer#duringOutage}. */
  public void duringOutage(KubeApiServer.OutageAction during) throws Exception {
    running().duringOutage(during);
  }

  /** See {@link KubeApiServer#compactEtcd()}. */
  public long compactEtcd() throws IOException, InterruptedException {
    return running().compactEtcd();
  }

  private KubeApiServer running() {
    if (server == null) {
      throw new IllegalStateException("the API server runs only inside a test class that registers this extension"
          + " on a static field");
    }
    return server;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    server = KubeApiServer.start(context.getDisplayName(), extraApiServerArgs);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (server != null) {
      System.out.println("[kube-api-server] after " + context.getDisplayName() + ": " + server.residentMemory());
      server.close();
      server = null;
    }
  }

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    if (server != null) {
      System.out.println("---- kube-apiserver log after the failure of " + context.getDisplayName() + " ----\n"
          + server.apiServerLogTail(LOG_LINES));
    }
  }
}
