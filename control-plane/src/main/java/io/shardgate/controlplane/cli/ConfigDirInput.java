package io.shardgate.controlplane.cli;

import io.shardgate.controlplane.pipeline.Translation;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The {@code --config-dir} option of the one-shot commands, and the translation of that directory. */
final class ConfigDirInput {

  /** The command this option is mixed into: its error writer is where problems reading the directory go. */
  @Spec(Spec.Target.MIXEE)
  CommandSpec command;

  @Option(names = "--config-dir", required = true, paramLabel = "DIR", description = "Directory of Gloo Edge YAML.")
  Path configDir;

  /** The translation of the directory, or null (after saying why) when it cannot be read at all. */
  Translation translate() {
    return Inputs.translate(configDir, command.commandLine().getErr());
  }
}
