package io.shardgate.controlplane.consul;

import static io.shardgate.controlplane.consul.ConsulDiscoveryTest.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.source.ConsulCatalogWatcher;
import io.shardgate.controlplane.source.ConsulKvClient;
import io.shardgate.sharding.discovery.ConsulInstance;
import io.shardgate.sharding.discovery.ConsulServiceEndpoints;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rotated Consul token file is picked up without a restart, against a real Consul 1.16.1 dev agent with ACLs on
 * (default deny, a management token for the test's own calls): the watcher reads with token A from a file; A is
 * deleted in Consul and the file now holds token B; Consul answers 403 to A, the client reads the file again and the
 * watch goes on with B, seeing the next instance. The token never appears in what the watcher reports.
 */
class ConsulTokenRotationTest {

  private static final String MANAGEMENT = "c0ffee00-0000-4000-8000-000000000001";

  @RegisterExtension
  static final ConsulAgent CONSUL = new ConsulAgent(false, """
      acl {
        enabled = true
        default_policy = "deny"
        tokens {
          initial_management = "%s"
        }
      }
      """.formatted(MANAGEMENT));

  @TempDir Path dir;

  @Test
  void aRotatedTokenFileIsReadAgainAfterA403() throws Exception {
    ConsulServices admin = new ConsulServices(CONSUL.address(), MANAGEMENT);
    admin.put("/v1/acl/policy", "{\"Name\":\"discovery\",\"Rules\":\"service_prefix \\\"\\\" { policy = \\\"read\\\" }"
        + " node_prefix \\\"\\\" { policy = \\\"read\\\" }\"}");
    String[] a = token(admin);
    String[] b = token(admin);
    admin.register("rot", "rot-1", "127.0.0.1", 18201, List.of());
    admin.pass("rot-1");

    Path tokenFile = dir.resolve("consul-token");
    Files.writeString(tokenFile, a[1] + "\n");
    ConsulKvClient client = new ConsulKvClient(ConsulKvClient.Options.resolve(CONSUL.address(), tokenFile, null,
        null));
    // The ACLs are really on: without a token the instance is filtered out; an unknown token is refused (403).
    ConsulKvClient anonymous = new ConsulKvClient(ConsulKvClient.Options.of(CONSUL.address()));
    assertEquals("[]", new String(anonymous.get("/v1/health/service/rot", "passing", 0, Duration.ZERO).body(),
        StandardCharsets.UTF_8).strip());
    ConsulKvClient unknown = new ConsulKvClient(new ConsulKvClient.Options(URI.create(CONSUL.address()),
        Optional.of("00000000-0000-4000-8000-00000000dead"), Optional.empty(), Optional.empty()));
    ConsulKvClient.ConsulException refused = assertThrows(ConsulKvClient.ConsulException.class,
        () -> unknown.get("/v1/health/service/rot", "passing", 0, Duration.ZERO));
    assertEquals(403, refused.status());
    assertFalse(refused.getMessage().contains("dead"), refused::getMessage);

    AtomicReference<ConfigInput> last = new AtomicReference<>();
    try (ConsulCatalogWatcher watcher = new ConsulCatalogWatcher(client, ConsulCatalogWatcher.Options.quick(false))) {
      watcher.inFrontOf(last::set).accept(new ConfigInput("test", ConsulDiscoveryTest.twoShards("rot"), List.of()));
      await("rot-1 read with token A", () -> instances(last), () -> instances(last).size() == 1);

      admin.delete("/v1/acl/token/" + a[0]);
      Files.writeString(tokenFile, b[1] + "\n");
      admin.register("rot", "rot-2", "127.0.0.1", 18202, List.of());
      admin.pass("rot-2");
      await("rot-2 read with token B", () -> instances(last) + " " + watcher.health(),
          () -> instances(last).size() == 2);
      assertEquals(1, client.tokenReloads(), "the file was read again once, after Consul refused token A");
      String reported = watcher.health().orElse("") + watcher.describe() + client;
      assertFalse(reported.contains(a[1]) || reported.contains(b[1]), reported);
      assertTrue(client.toString().contains("with a token"), client::toString);
    }
  }

  /** Creates a token with the discovery policy: its accessor and secret IDs. */
  private static String[] token(ConsulServices admin) throws Exception {
    String body = admin.put("/v1/acl/token", "{\"Policies\":[{\"Name\":\"discovery\"}]}");
    return new String[] {field(body, "AccessorID"), field(body, "SecretID")};
  }

  private static String field(String json, String name) {
    Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"([^\"]+)\"").matcher(json);
    if (!m.find()) {
      throw new AssertionError("no " + name + " in " + json);
    }
    return m.group(1);
  }

  private static List<ConsulInstance> instances(AtomicReference<ConfigInput> last) {
    ConfigInput input = last.get();
    ConsulServiceEndpoints e = input == null ? null
        : input.endpoints().consul().get(ConsulServiceEndpoints.key("rot"));
    return e == null ? List.of() : e.in(List.of());
  }
}
