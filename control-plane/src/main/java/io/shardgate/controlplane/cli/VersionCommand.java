package io.shardgate.controlplane.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code version}: the same line as {@code --version} (glooctl and egctl users type the subcommand). */
@Command(
    name = "version",
    mixinStandardHelpOptions = true,
    description = "Print the version and the git commit this build was made from (the same as --version).")
public final class VersionCommand implements Callable<Integer> {

  /** Injected by picocli: its writers are the terminal, or whatever a caller set with setOut. */
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    out.println(BuildVersion.current().line());
    out.flush();
    return 0;
  }
}
