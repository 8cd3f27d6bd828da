package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The network-namespace test host on the real kernel (root, iproute2): its backend answers on the namespace's own
 * address with its name, the requests it logs come from the host side of the veth pair, and closing it leaves no
 * namespace, no link and no process; the remains of a JVM that was killed are removed by the next start.
 */
class NetnsTestHostTest {

  @TempDir Path work;

  @Test
  void theBackendAnswersOnTheNamespaceAddressWithItsNameAndNothingIsLeftAfterClose() throws Exception {
    String namespace;
    String hostLink;
    long backendPid;
    try (NetnsTestHost host = NetnsTestHost.start("probe-backend", 8080, work)) {
      namespace = host.namespace();
      assertTrue(NetnsTestHost.namespaces(ip()).contains(namespace), NetnsTestHost.namespaces(ip())::toString);
      hostLink = host.hostLink();
      assertTrue(NetnsTestHost.hostLinks(ip()).contains(hostLink), () -> hostLink + " not among the links");
      HttpResponse<String> r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build().send(
          HttpRequest.newBuilder(URI.create("http://" + host.address() + ":" + host.port() + "/hello"))
              .timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode(), r::toString);
      assertEquals("probe-backend", r.headers().firstValue(NetnsBackend.HEADER).orElse(""), r.headers()::toString);
      assertTrue(r.body().startsWith("probe-backend path=/hello"), r.body());
      assertEquals(List.of("GET /hello from " + host.hostAddress()), host.requests(), host::logTail);
      backendPid = Long.parseLong(NetnsTestHost.run(ip(), "netns", "pids", namespace).strip().split("\\s+")[0]);
    }
    assertFalse(NetnsTestHost.namespaces(ip()).contains(namespace), "namespace left: " + namespace);
    assertFalse(NetnsTestHost.hostLinks(ip()).contains(hostLink), "link left: " + hostLink);
    assertFalse(ProcessHandle.of(backendPid).map(ProcessHandle::isAlive).orElse(false),
        "backend pid " + backendPid + " still runs");
  }

  @Test
  void theRemainsOfAJvmThatWasKilledAreRemovedByTheNextStart() throws Exception {
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor(30, TimeUnit.SECONDS);
    long deadPid = gone.pid();
    String ns = NetnsTestHost.NAMESPACE_PREFIX + deadPid + "-0";
    String link = "sgt" + deadPid + "h0";
    NetnsTestHost.run(ip(), "netns", "add", ns);
    NetnsTestHost.run(ip(), "link", "add", link, "type", "veth", "peer", "name", "sgt" + deadPid + "n0");
    NetnsTestHost.run(ip(), "link", "set", "sgt" + deadPid + "n0", "netns", ns);
    Process orphan = new ProcessBuilder(ip(), "netns", "exec", ns, "sleep", "600").start();
    try {
      NetnsTestHost.reapAgain();
      try (NetnsTestHost host = NetnsTestHost.start("after-reap", 8080, work)) {
        assertFalse(NetnsTestHost.namespaces(ip()).contains(ns), "stale namespace " + ns + " left");
        assertFalse(NetnsTestHost.hostLinks(ip()).contains(link), "stale link " + link + " left");
        assertTrue(orphan.waitFor(30, TimeUnit.SECONDS), "the process left in the stale namespace was stopped");
        assertTrue(NetnsTestHost.namespaces(ip()).contains(host.namespace()));
      }
    } finally {
      orphan.destroyForcibly();
      if (NetnsTestHost.namespaces(ip()).contains(ns)) {
        NetnsTestHost.run(ip(), "netns", "del", ns);
      }
    }
  }

  private static String ip() {
    return NetnsTestHost.ipBinary();
  }
}
