package io.shardgate.controlplane.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code shardgate.jar}: one subcommand per task, each with {@code --help}. */
@Command(
    name = "shardgate",
    mixinStandardHelpOptions = true,
    versionProvider = ShardgateCli.Version.class,
    description = "A control plane for sharded Envoy API gateways, driven by Gloo Edge v1 resources.",
    subcommands = {
      ServeCommand.class,
      TranslateCommand.class,
      ValidateCommand.class,
      PlanCommand.class,
      StatusCommand.class,
      BootstrapCommand.class,
      RenderCommand.class,
      ConsulCommand.class,
      DemoCommand.class,
      VersionCommand.class,
      CommandLine.HelpCommand.class
    })
public final class ShardgateCli implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    int exit = run(args);
    if (exit != 0 || !ServeCommand.isServing()) {
      System.exit(exit);
    }
  }

  /** Runs a command line and returns its exit code; {@code serve} returns once the server has started. */
  public static int run(String... args) {
    return new CommandLine(new ShardgateCli()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
    spec.commandLine().getOut().flush();
  }

  /** {@code --version}: the build's version and commit ({@link BuildVersion}). */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {BuildVersion.current().line()};
    }
  }
}
