package io.shardgate.controlplane.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code render}: deployment files for a target other than the Helm chart; one subcommand per target. */
@Command(
    name = "render",
    mixinStandardHelpOptions = true,
    description = "Render deployment files from the Helm chart's values for another scheduler.",
    subcommands = {RenderNomadCommand.class, CommandLine.HelpCommand.class})
public final class RenderCommand implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
    spec.commandLine().getOut().flush();
  }
}
