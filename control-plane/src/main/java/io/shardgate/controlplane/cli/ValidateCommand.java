package io.shardgate.controlplane.cli;

import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.render.Trees;
import io.shardgate.controlplane.source.SourceProblem;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.report.ResourceStatus;
import java.io.PrintWriter;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code validate}: every resource's state and problems; exit 1 when anything is rejected or unreadable. */
@Command(
    name = "validate",
    mixinStandardHelpOptions = true,
    description = {
      "Translate a config directory without serving it and print every resource's state (Accepted, Warning,",
      "Rejected) with its problems. Exits 1 when any resource is rejected or any file cannot be read."
    })
public final class ValidateCommand implements Callable<Integer> {

  /** Injected by picocli: its writers are the terminal, or whatever a caller set with setOut/setErr. */
  @Spec CommandSpec spec;

  @Mixin ConfigDirInput input;

  @Override
  public Integer call() {
    Translation t = input.translate();
    if (t == null) {
      return 2;
    }
    PrintWriter out = spec.commandLine().getOut();
    Map<ResourceState, Integer> counts = new EnumMap<>(ResourceState.class);
    for (ResourceStatus s : t.gateway().statuses().values()) {
      counts.merge(s.state(), 1, Integer::sum);
    }
    StatusPrinter.print(Trees.statuses(t.gateway().statuses().values()), out);
    long fileErrors = 0;
    for (SourceProblem p : t.input().problems()) {
      out.println(p);
      if (p.severity() == SourceProblem.Severity.ERROR) {
        fileErrors++;
      }
    }
    t.gateway().documentProblems().forEach(p -> out.println("skipped   " + p));
    out.printf(
        "%d resources: %d accepted, %d with warnings, %d rejected; %d file errors; shards: %s%n",
        t.gateway().statuses().size(),
        counts.getOrDefault(ResourceState.ACCEPTED, 0),
        counts.getOrDefault(ResourceState.WARNING, 0),
        counts.getOrDefault(ResourceState.REJECTED, 0),
        fileErrors,
        t.gateway().shards().keySet());
    out.flush();
    return counts.getOrDefault(ResourceState.REJECTED, 0) > 0 || fileErrors > 0 ? 1 : 0;
  }
}
