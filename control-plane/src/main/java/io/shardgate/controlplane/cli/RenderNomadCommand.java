package io.shardgate.controlplane.cli;

import io.shardgate.controlplane.nomad.ChartValues;
import io.shardgate.controlplane.nomad.NomadJobRenderer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code render nomad}: Nomad job specifications from the Helm chart's values (docs/hashicorp.md). */
@Command(
    name = "nomad",
    mixinStandardHelpOptions = true,
    description = {
      "Write Nomad job specifications (HCL2) from the Helm chart's values: the",
      "chart's values.yaml as defaults, your --values files merged over it as Helm",
      "merges them, checked against the chart's values.schema.json (a misspelled",
      "key is an error naming it). One file per job:",
      "  shardgate.nomad.hcl         the control plane (Consul KV, Vault), in",
      "                              Consul as " + NomadJobRenderer.XDS_SERVICE + " with a /readyz check",
      "  shardgate.vault-policy.hcl  its Vault policy (Gloo's secret paths)",
      "  <proxy>.nomad.hcl           per enabled gatewayProxies entry and the",
      "                              edge: count = replicas, the bootstrap in a",
      "                              template finding the control plane through",
      "                              Consul, a /ready check, a graceful drain",
      "(fullnameOverride renames shardgate). Run each with: nomad job run FILE.",
      "Details: docs/hashicorp.md."
    })
public final class RenderNomadCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(names = "--values", paramLabel = "FILE", description = "A values file in the Helm chart's layout; repeat"
      + " it to merge several, later ones winning (none: the chart's defaults).")
  List<Path> values = List.of();

  @Option(names = "--output", paramLabel = "DIR", defaultValue = ".",
      description = "Folder to write the files into, created if missing (default: the current folder).")
  Path output;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    SortedMap<String, String> files;
    try {
      Map<String, Object> merged = ChartValues.load(values);
      files = NomadJobRenderer.render(merged, BuildVersion.current().version());
    } catch (ChartValues.ValuesException | IllegalArgumentException e) {
      err.println("error: " + e.getMessage());
      err.flush();
      return 2;
    }
    try {
      Files.createDirectories(output);
      for (Map.Entry<String, String> file : files.entrySet()) {
        Path target = output.resolve(file.getKey());
        Files.writeString(target, file.getValue(), StandardCharsets.UTF_8);
        out.println("wrote " + target);
      }
    } catch (IOException e) {
      err.println("error: cannot write into " + output + ": " + e.getMessage());
      err.flush();
      return 1;
    }
    out.flush();
    return 0;
  }
}
