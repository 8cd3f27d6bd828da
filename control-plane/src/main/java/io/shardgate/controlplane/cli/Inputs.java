package io.shardgate.controlplane.cli;

import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.source.ConsulCatalogWatcher;
import io.shardgate.controlplane.source.ConsulKvClient;
import io.shardgate.controlplane.source.ConsulKvSource;
import io.shardgate.controlplane.source.DirectoryLoader;
import io.shardgate.controlplane.source.SourceProblem;
import io.shardgate.sharding.report.ResourceState;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/** Shared by the one-shot commands: load a directory once and translate it. */
final class Inputs {

  private Inputs() {}

  /** The translation of {@code dir}, or null (after printing why) when the directory cannot be read at all. */
  static Translation translate(Path dir, PrintWriter err) {
    return translate(dir, null, err);
  }

  /**
   * The translation of {@code dir} with what the Consul agent of {@code consul} (when it names one) says of the
   * consul Upstreams' services, or null (after printing why) when the directory or the agent cannot be read.
   */
  static Translation translate(Path dir, ConsulOptions consul, PrintWriter err) {
    if (!Files.isDirectory(dir)) {
      err.println("error: config directory " + dir.toAbsolutePath() + " does not exist or is not a directory");
      err.flush();
      return null;
    }
    Path root = dir.toAbsolutePath().normalize();
    ConfigInput input = ConfigInput.of(root.toString(), new DirectoryLoader().load(root));
    if (consul == null || consul.agentAddress() == null) {
      return Translation.of(input);
    }
    try {
      return Translation.of(withDiscovery(consul, new ConsulKvClient(consul.toOptions()), input));
    } catch (IOException e) {
      err.println("error: " + e.getMessage());
      err.flush();
      return null;
    }
  }

  /** One read of the agent's health (and catalog) endpoints, as the first delivery of {@code serve} has them. */
  private static ConfigInput withDiscovery(ConsulOptions consul, ConsulKvClient client, ConfigInput input) {
    return ConsulCatalogWatcher.readOnce(client, consul.discovery, input);
  }

  /**
   * The translation of one full read of Consul's KV (what {@code serve --consul} would serve first), or null (after
   * printing why) when Consul cannot be read.
   */
  static Translation translateConsul(ConsulOptions consul, PrintWriter err) {
    try {
      ConsulKvClient client = new ConsulKvClient(consul.toOptions());
      return Translation.of(withDiscovery(consul, client, ConsulKvSource.readOnce(client, consul.rootKey)));
    } catch (IOException e) {
      err.println("error: " + e.getMessage());
      err.flush();
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      err.println("error: interrupted while reading Consul");
      err.flush();
      return null;
    }
  }

  static void printProblemSummary(Translation t, PrintWriter err) {
    long rejected =
        t.gateway().statuses().values().stream().filter(s -> s.state() == ResourceState.REJECTED).count();
    long fileErrors = t.input().problems().stream().filter(p -> p.severity() == SourceProblem.Severity.ERROR).count();
    if (rejected > 0 || fileErrors > 0) {
      err.printf("%d resources rejected, %d file errors: run 'validate' for details%n", rejected, fileErrors);
      err.flush();
    }
  }
}
