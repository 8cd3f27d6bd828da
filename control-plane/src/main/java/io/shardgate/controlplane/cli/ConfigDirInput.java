package io.shardgate.controlplane.cli;

import io.shardgate.controlplane.pipeline.Translation;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The {@code --config-dir} option of the one-shot commands, and the translation of that directory. */
final class ConfigDirInput {

  /** The command this option is mixed into: its error writer is where problems reading the directory go. */
  @Spec(Spec.Target.MIXEE)
  CommandSpec command;

  @Option(names = "--config-dir", paramLabel = "DIR",
      description = "Directory of Gloo Edge YAML (this or --consul is required; --consul-agent may be added).")
  Path configDir;

  @Mixin ConsulOptions consul;

  /** The translation of the directory or of Consul's KV, or null (after saying why) when it cannot be read at all. */
  Translation translate() {
    PrintWriter err = command.commandLine().getErr();
    String problem = consul.problem(command.commandLine().getParseResult().hasMatchedOption("--consul-root-key"));
    if (problem == null && consul.enabled() == (configDir != null)) {
      problem = consul.enabled() ? "--config-dir and --consul are mutually exclusive: read one source."
          : "Missing required option: '--config-dir=DIR' (or --consul ADDR)";
    }
    if (problem != null) {
      err.println("error: " + problem);
      err.flush();
      return null;
    }
    if (configDir != null) {
      return Inputs.translate(configDir, consul, err);
    }
    return Inputs.translateConsul(consul, err);
  }
}
