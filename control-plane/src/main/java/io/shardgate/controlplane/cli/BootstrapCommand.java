package io.shardgate.controlplane.cli;

import io.shardgate.templates.BootstrapParams;
import io.shardgate.templates.BootstrapRenderer;
import io.shardgate.templates.XdsMode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code bootstrap}: prints the Envoy bootstrap of one shard. */
@Command(
    name = "bootstrap",
    mixinStandardHelpOptions = true,
    description = {
      "Print the Envoy bootstrap (YAML) of one gateway-proxy shard to stdout. Run Envoy with it:",
      "  envoy -c envoy.yaml --base-id <unique number per Envoy on the host>"
    })
public final class BootstrapCommand implements Callable<Integer> {

  /** Injected by picocli: its writers are the terminal, or whatever a caller set with setOut/setErr. */
  @Spec CommandSpec spec;

  @Option(names = "--proxy", required = true, paramLabel = "NAME", description = "Proxy name (a Gateway proxyNames entry).")
  String proxy;

  @Option(names = "--namespace", paramLabel = "NS", defaultValue = BootstrapParams.DEFAULT_NAMESPACE,
      description = "Write namespace: the first half of the node role (default: ${DEFAULT-VALUE}).")
  String namespace;

  @Option(names = "--xds", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:9977",
      description = "Address of the control plane's xDS port (default: ${DEFAULT-VALUE}).")
  String xds;

  @Option(names = "--admin-port", paramLabel = "PORT", defaultValue = "19000",
      description = "Envoy admin port on 127.0.0.1; give each Envoy on one host its own (default: ${DEFAULT-VALUE}).")
  int adminPort;

  @Option(names = "--node-id", paramLabel = "ID", description = "Envoy node id (default: <proxy>.<namespace>).")
  String nodeId;

  @Option(names = "--stats-port", paramLabel = "PORT", defaultValue = "0",
      description = "Port of a /ready and /metrics listener on 127.0.0.1; 0 for none (default: ${DEFAULT-VALUE}).")
  int statsPort;

  @Option(names = "--delta", description = "Use incremental (delta) xDS instead of state of the world.")
  boolean delta;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    int colon = xds.lastIndexOf(':');
    if (colon <= 0 || colon == xds.length() - 1) {
      err.println("error: --xds must be HOST:PORT, e.g. 127.0.0.1:9977; got '" + xds + "'");
      err.flush();
      return 2;
    }
    int port;
    try {
      port = Integer.parseInt(xds.substring(colon + 1));
    } catch (NumberFormatException e) {
      err.println("error: --xds port must be a number, got '" + xds.substring(colon + 1) + "'");
      err.flush();
      return 2;
    }
    String host = xds.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    try {
      BootstrapParams.Builder b =
          BootstrapParams.builder(proxy)
              .namespace(namespace)
              .xdsHost(host)
              .xdsPort(port)
              .adminPort(adminPort)
              .statsPort(statsPort)
              .xdsMode(delta ? XdsMode.DELTA : XdsMode.SOTW);
      if (nodeId != null) {
        b.nodeId(nodeId);
      }
      out.print(BootstrapRenderer.render(b.build()));
      out.flush();
      return 0;
    } catch (IllegalArgumentException e) {
      err.println("error: " + e.getMessage());
      err.flush();
      return 2;
    }
  }
}
