package io.shardgate.controlplane.cli;

import io.shardgate.controlplane.local.EnvoyBinary;
import io.shardgate.controlplane.local.LocalApi;
import io.shardgate.controlplane.local.LocalGateways;
import io.shardgate.controlplane.local.LocalHttp;
import io.shardgate.controlplane.local.LocalLayout;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code demo}: the control plane, an echo backend per API and real Envoy shards on loopback in one command
 * ({@link LocalGateways}), the curl lines to try (each checked before it is printed), running until Ctrl-C, whose
 * shutdown hook stops every child by pid and removes the temporary folder.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Start the control plane, two echo backends and real Envoy shards on 127.0.0.1",
      "(payments.example.com on gateway-proxy-protected, catalog.example.com on",
      "gateway-proxy-noisy), print curl lines that work, and run until Ctrl-C, which",
      "stops every process it started and removes its temporary folder.",
      "Envoy: --envoy, $SHARDGATE_ENVOY, or the checkout's .tools/envoy-" + EnvoyBinary.VERSION + ",",
      "installed with '" + EnvoyBinary.INSTALL_COMMAND + "' when missing.",
      "",
      "Examples:",
      "  java -jar control-plane/target/shardgate.jar demo",
      "  java -jar control-plane/target/shardgate.jar demo --layout edge",
      "  java -jar control-plane/target/shardgate.jar demo --check   # try, stop",
      ""
    })
public final class DemoCommand implements Callable<Integer> {

  /** The demo's APIs: the sharded example's two, with its hosts and shards. */
  static final List<LocalApi> APIS = List.of(
      new LocalApi("payments", "protected", "payments.example.com", "/payments/v1", null),
      new LocalApi("catalog", "noisy", "catalog.example.com", "/", null));

  @Spec CommandSpec spec;

  @Option(names = "--layout", paramLabel = "LAYOUT", defaultValue = "sharded",
      description = "sharded (one Envoy per shard), shared (one Envoy for both APIs) or edge (the shards behind the"
          + " edge shard) (default: ${DEFAULT-VALUE}).")
  String layout;

  @Option(names = "--base-port", paramLabel = "PORT", defaultValue = "18000",
      description = "Ports are picked free on 127.0.0.1 upwards from here, below the ephemeral range"
          + " (default: ${DEFAULT-VALUE}).")
  int basePort;

  @Option(names = "--envoy", paramLabel = "FILE", description = "The Envoy binary to run.")
  Path envoy;

  @Option(names = "--concurrency", paramLabel = "N", defaultValue = "1",
      description = "Envoy worker threads per Envoy (default: ${DEFAULT-VALUE}).")
  int concurrency;

  @Option(names = "--check", description = "Start everything, send every printed request and check its answer,"
      + " stop; exit 1 when any answer differs.")
  boolean check;

  /** One printed curl line: what it sends and what it must answer. */
  record Probe(int port, String host, String path, int status, String backend, String note) {
    String curl() {
      return "curl " + (status == 200 ? "" : "-i ") + "-H 'Host: " + host + "' http://127.0.0.1:" + port + path;
    }
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    LocalLayout chosen;
    try {
      chosen = LocalLayout.parse(layout);
    } catch (IllegalArgumentException e) {
      err.println("error: --layout: " + e.getMessage());
      err.flush();
      return 2;
    }
    PrintStream progress = System.err;
    LocalGateways gateways;
    try {
      Path bin = EnvoyBinary.find(envoy, true, progress);
      gateways = LocalGateways.start(new LocalGateways.Options(APIS, chosen, bin, concurrency, basePort, null, null),
          progress);
    } catch (IllegalStateException | IllegalArgumentException | IOException e) {
      err.println("demo cannot start: " + e.getMessage());
      err.flush();
      return 1;
    }
    Thread hook = new Thread(() -> {
      gateways.close();
      System.err.println("demo: stopped every process it started and removed " + gateways.workDir());
    }, "demo-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
    List<Probe> probes = probes(gateways, chosen);
    List<String> wrong = new ArrayList<>();
    for (Probe probe : probes) {
      String problem = problem(probe);
      if (problem != null) {
        wrong.add(probe.curl() + " -> " + problem);
      }
    }
    out.println();
    out.println("Shardgate demo, " + chosen.label() + " layout: control plane (xDS 127.0.0.1:" + gateways.xdsPort()
        + ", admin http://127.0.0.1:" + gateways.adminPort() + "), " + gateways.envoys().size() + " Envoy(s), "
        + gateways.backends().size() + " echo backends.");
    out.println("Config directory (edit a file there; the affected shard serves the change within a second):");
    out.println("  " + gateways.configDir());
    out.println();
    out.println("Try:");
    for (Probe probe : probes) {
      out.println("  " + probe.curl() + "   # " + probe.note());
    }
    out.println("  curl http://127.0.0.1:" + gateways.adminPort() + "/api/shards   # the shard plan, versions, Envoys");
    out.println();
    if (!wrong.isEmpty()) {
      err.println("demo: these answered otherwise than printed:");
      wrong.forEach(w -> err.println("  " + w));
      err.flush();
    }
    if (check) {
      out.println(wrong.isEmpty() ? "Every line answered as printed; stopping." : "Stopping.");
      out.flush();
      gateways.close();
      Runtime.getRuntime().removeShutdownHook(hook);
      return wrong.isEmpty() ? 0 : 1;
    }
    out.println("Press Ctrl-C to stop everything.");
    out.flush();
    new CountDownLatch(1).await(); // until SIGINT/SIGTERM: the shutdown hook stops the children
    return 0;
  }

  static List<Probe> probes(LocalGateways gateways, LocalLayout layout) {
    LocalApi payments = APIS.get(0);
    LocalApi catalog = APIS.get(1);
    List<Probe> probes = new ArrayList<>();
    String via = layout == LocalLayout.EDGE ? " through the edge" : "";
    probes.add(new Probe(gateways.entryPort(payments), payments.domain(), payments.pathPrefix() + "/charges", 200,
        payments.backendName(), "200 from " + payments.backendName() + " via " + layout.proxyOf(payments) + via));
    probes.add(new Probe(gateways.entryPort(catalog), catalog.domain(), "/items", 200, catalog.backendName(),
        "200 from " + catalog.backendName() + " via " + layout.proxyOf(catalog) + via));
    if (layout != LocalLayout.SHARED) {
      String noisy = layout.proxyOf(catalog);
      probes.add(new Probe(gateways.shardPort(noisy), payments.domain(), payments.pathPrefix() + "/charges", 404, null,
          "404: " + noisy + " does not serve payments (isolation)"));
    }
    probes.add(new Probe(gateways.entryPort(payments), payments.domain(), "/other", 404, null,
        "404: outside the payments route's prefix " + payments.pathPrefix()));
    return probes;
  }

  /** Null when the probe answers as printed, else what it answered. */
  static String problem(Probe probe) {
    try {
      LocalHttp.Answer answer = LocalHttp.get(probe.port(), probe.host(), probe.path());
      boolean ok = answer.status() == probe.status()
          && (probe.backend() == null || answer.body().startsWith(probe.backend() + " "));
      return ok ? null : "answered " + answer;
    } catch (IOException e) {
      return "no answer: " + e.getMessage();
    }
  }
}
