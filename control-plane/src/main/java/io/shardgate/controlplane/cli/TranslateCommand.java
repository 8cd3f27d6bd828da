package io.shardgate.controlplane.cli;

import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.render.TranslationOutput;
import io.shardgate.controlplane.render.Trees;
import io.shardgate.snapshot.ShardResources;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code translate}: prints each shard's xDS resources as YAML. */
@Command(
    name = "translate",
    mixinStandardHelpOptions = true,
    description = {
      "Print the xDS resources each shard's Envoys would get, as YAML keyed by node role (for GitOps reviews and",
      "debugging). Problems are printed to stderr; run 'validate' for the full status of every resource."
    })
public final class TranslateCommand implements Callable<Integer> {

  @Option(names = "--config-dir", required = true, paramLabel = "DIR", description = "Directory of Gloo Edge YAML.")
  Path configDir;

  @Option(names = "--proxy", paramLabel = "NAME", description = "Only this proxy name (shard).")
  String proxy;

  @Override
  public Integer call() {
    Translation t = Inputs.translate(configDir);
    if (t == null) {
      return 2;
    }
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<String, ShardResources> e : t.xds().entrySet()) {
      String proxyName = e.getKey().substring(e.getKey().indexOf('~') + 1);
      if (proxy == null || proxy.equals(proxyName)) {
        out.put(e.getKey(), TranslationOutput.xds(e.getValue()));
      }
    }
    if (proxy != null && out.isEmpty()) {
      System.err.println(
          "error: no shard named '" + proxy + "'; shards: "
              + t.gateway().shards().keySet() + ". A shard exists when a Gateway lists it in proxyNames.");
      return 1;
    }
    System.out.print(Trees.yaml(out));
    Inputs.printProblemSummary(t, System.err);
    return 0;
  }
}
