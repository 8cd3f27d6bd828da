package io.shardgate.controlplane.cli;

import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.render.TranslationOutput;
import io.shardgate.controlplane.render.Trees;
import io.shardgate.snapshot.ShardResources;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code translate}: prints each shard's xDS resources as YAML. */
@Command(
    name = "translate",
    mixinStandardHelpOptions = true,
    description = {
      "Print the xDS resources each shard's Envoys would get, as YAML keyed by node role (for GitOps reviews and",
      "debugging). Problems are printed to stderr; run 'validate' for the full status of every resource."
    })
public final class TranslateCommand implements Callable<Integer> {

  /** Injected by picocli: its writers are the terminal, or whatever a caller set with setOut/setErr. */
  @Spec CommandSpec spec;

  @Mixin ConfigDirInput input;

  @Option(names = "--proxy", paramLabel = "NAME", description = "Only this proxy name (shard).")
  String proxy;

  @Option(names = "--show-secrets", description = {"Show the certificates and private keys of SDS Secrets; by default",
      "each is shown as <redacted: N bytes, sha256:xxxxxxxx>."})
  boolean showSecrets;

  @Override
  public Integer call() {
    Translation t = input.translate();
    if (t == null) {
      return 2;
    }
    PrintWriter stdout = spec.commandLine().getOut();
    PrintWriter stderr = spec.commandLine().getErr();
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<String, ShardResources> e : t.xds().entrySet()) {
      String proxyName = e.getKey().substring(e.getKey().indexOf('~') + 1);
      if (proxy == null || proxy.equals(proxyName)) {
        out.put(e.getKey(), TranslationOutput.xds(e.getValue(), showSecrets));
      }
    }
    if (proxy != null && out.isEmpty()) {
      stderr.println(
          "error: no shard named '" + proxy + "'; shards: "
              + t.gateway().shards().keySet() + ". A shard exists when a Gateway lists it in proxyNames.");
      stderr.flush();
      return 1;
    }
    stdout.print(Trees.yaml(out));
    // Flushed before anything goes to stderr, so a terminal shows the YAML first, as before.
    stdout.flush();
    Inputs.printProblemSummary(t, spec.commandLine().getErr());
    return 0;
  }
}
