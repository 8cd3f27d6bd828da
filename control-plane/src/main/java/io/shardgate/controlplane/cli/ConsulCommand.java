package io.shardgate.controlplane.cli;

import io.shardgate.controlplane.source.ConsulKvClient;
import io.shardgate.controlplane.source.ConsulKvWriter;
import io.shardgate.controlplane.source.DirectoryContents;
import io.shardgate.controlplane.source.DirectoryLoader;
import io.shardgate.controlplane.source.SourceProblem;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code consul}: tools for the Consul KV config store; {@code consul push DIR} loads a config directory into it. */
@Command(
    name = "consul",
    mixinStandardHelpOptions = true,
    description = "Tools for Consul's KV store as the config source (see docs/consul.md).",
    subcommands = {ConsulCommand.Push.class})
public final class ConsulCommand implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
    spec.commandLine().getOut().flush();
  }

  /** {@code consul push DIR}: one KV value per Gloo resource of the directory, at the layout's key. */
  @Command(
      name = "push",
      mixinStandardHelpOptions = true,
      description = {
        "Write the Gloo resources of a config directory into Consul's KV store, one value per resource in Gloo's",
        "flat YAML form at <root-key>/<group>/<version>/<Kind>/<namespace>/<name> (the keys serve --consul and",
        "Gloo read). Values that are already there unchanged are not written. Secrets are never pushed. Exits 1",
        "when a file of the directory cannot be read (nothing is written then), 2 when Consul refuses."
      })
  public static final class Push implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "Directory of Gloo Edge YAML.")
    Path dir;

    @Option(names = "--consul", paramLabel = "ADDR", defaultValue = ConsulKvClient.DEFAULT_ADDRESS,
        description = "Consul's HTTP address (default: ${DEFAULT-VALUE}).")
    String address;

    @Option(names = "--root-key", paramLabel = "KEY", defaultValue = "gloo",
        description = "The key prefix (default: ${DEFAULT-VALUE}, as Gloo's rootKey).")
    String rootKey;

    @Option(names = "--consul-token-file", paramLabel = "FILE",
        description = "A file holding the ACL token (default: $CONSUL_HTTP_TOKEN, else no token).")
    Path tokenFile;

    @Option(names = "--consul-ca-file", paramLabel = "FILE",
        description = "With an https address: the PEM CA certificates to trust.")
    Path caFile;

    @Option(names = "--consul-datacenter", paramLabel = "DC", description = "The datacenter to write to.")
    String datacenter;

    @Option(names = "--prune", description = {"Also delete the keys of the layout under the root key that the",
        "directory does not hold (keys outside the layout are left alone)."})
    boolean prune;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      try {
        if (!Files.isDirectory(dir)) {
          err.println("error: config directory " + dir.toAbsolutePath() + " does not exist or is not a directory");
          return 2;
        }
        DirectoryContents contents = new DirectoryLoader().load(dir.toAbsolutePath().normalize());
        if (contents.hasErrors()) {
          contents.problems().stream().filter(p -> p.severity() == SourceProblem.Severity.ERROR)
              .forEach(p -> err.println("error: " + p));
          err.println("nothing written: fix the files above first");
          return 1;
        }
        ConsulKvClient client = new ConsulKvClient(ConsulKvClient.Options.resolve(address, tokenFile, caFile,
            datacenter));
        ConsulKvWriter.Result r = new ConsulKvWriter(client, rootKey).push(contents, prune);
        r.written().forEach(k -> out.println("wrote     " + k));
        r.unchanged().forEach(k -> out.println("unchanged " + k));
        r.deleted().forEach(k -> out.println("deleted   " + k));
        r.skipped().forEach(k -> out.println("skipped   " + k));
        if (!contents.secrets().isEmpty()) {
          out.println("skipped   " + contents.secrets().size() + " Secrets: Consul KV is no secret store (use Vault)");
        }
        out.printf("%d written, %d unchanged, %d deleted to %s under %s/%n", r.written().size(),
            r.unchanged().size(), r.deleted().size(), client.options().address(), rootKey);
        return 0;
      } catch (IOException | IllegalArgumentException e) {
        err.println("error: " + e.getMessage());
        return 2;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        err.println("error: interrupted");
        return 2;
      } finally {
        out.flush();
        err.flush();
      }
    }
  }
}
