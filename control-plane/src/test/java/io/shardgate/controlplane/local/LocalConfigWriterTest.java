package io.shardgate.controlplane.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.cli.ShardgateCli;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The generated layouts are valid Gloo config as the real loader and translator see it ({@code validate} and
 * {@code plan} in-process): every resource Accepted, each API on the proxy its layout says, the edge routing both
 * hosts; and the generation is deterministic.
 */
class LocalConfigWriterTest {

  private static final List<LocalApi> APIS = List.of(
      new LocalApi("payments", "protected", "payments.example.com", "/", "0"),
      new LocalApi("catalog", "noisy", "catalog.example.com", "/", "1"));

  @TempDir Path tmp;

  private static LocalConfigWriter.Ports ports(LocalLayout layout) {
    Map<String, Integer> gateways = layout == LocalLayout.SHARED
        ? Map.of(LocalLayout.SHARED_PROXY, 20001)
        : Map.of("gateway-proxy-protected", 20001, "gateway-proxy-noisy", 20002);
    return new LocalConfigWriter.Ports(gateways, Map.of("payments", 20003, "catalog", 20004), 20005);
  }

  @ParameterizedTest
  @EnumSource(LocalLayout.class)
  void everyLayoutValidatesAndPlansItsApisOnTheRightProxies(LocalLayout layout) throws IOException {
    Path dir = tmp.resolve(layout.label());
    LocalConfigWriter.write(dir, APIS, layout, ports(layout));
    String[] validate = cli("validate", "--config-dir", dir.toString());
    assertEquals("0", validate[0], validate[1] + validate[2]);
    assertFalse(validate[1].contains("Rejected") || validate[1].contains("Warning"), validate[1]);
    String[] plan = cli("plan", "--config-dir", dir.toString());
    assertEquals("0", plan[0], plan[1] + plan[2]);
    for (LocalApi api : APIS) {
      String shardBlock = plan[1].substring(plan[1].indexOf("Shard " + layout.proxyOf(api)));
      assertTrue(shardBlock.contains(api.domain()), layout + ": " + api.domain() + " not on " + layout.proxyOf(api)
          + ":\n" + plan[1]);
    }
    assertEquals(layout == LocalLayout.EDGE, plan[1].contains(LocalLayout.EDGE_PROXY), plan[1]);
  }

  @Test
  void theSameDescriptionGivesTheSameFiles() {
    assertEquals(LocalConfigWriter.files(APIS, LocalLayout.EDGE, ports(LocalLayout.EDGE)),
        LocalConfigWriter.files(List.copyOf(APIS), LocalLayout.EDGE, ports(LocalLayout.EDGE)));
  }

  private static String[] cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new ShardgateCli()).setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true)).execute(args);
    return new String[] {Integer.toString(exit), out.toString(), err.toString()};
  }
}
