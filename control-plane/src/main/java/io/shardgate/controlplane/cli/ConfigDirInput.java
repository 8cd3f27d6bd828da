package io.shardgate.controlplane.cli;

import io.shardgate.controlplane.app.ServeFactory;
import io.shardgate.controlplane.pipeline.ConfigInput;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.source.VaultSecretStore;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The source options of the one-shot commands ({@code --config-dir} or {@code --consul}; {@code --consul-agent} for
 * service discovery; {@code --vault-addr} with its options, as {@code serve} has them), and the translation of one
 * read of them.
 */
final class ConfigDirInput {

  /** The command this option is mixed into: its error writer is where problems reading the directory go. */
  @Spec(Spec.Target.MIXEE)
  CommandSpec command;

  @Option(names = "--config-dir", paramLabel = "DIR",
      description = "Directory of Gloo Edge YAML (this or --consul is required; --consul-agent may be added).")
  Path configDir;

  @Mixin ConsulOptions consul;

  @Mixin VaultOptions vault;

  /** The translation of the directory or of Consul's KV, or null (after saying why) when it cannot be read at all. */
  Translation translate() {
    PrintWriter err = command.commandLine().getErr();
    String problem = consul.problem(command.commandLine().getParseResult().hasMatchedOption("--consul-root-key"));
    if (problem == null && consul.enabled() == (configDir != null)) {
      problem = consul.enabled() ? "--config-dir and --consul are mutually exclusive: read one source."
          : "Missing required option: '--config-dir=DIR' (or --consul ADDR)";
    }
    Map<String, Object> vaultProperties = Map.of();
    if (problem == null) {
      try {
        vaultProperties = vault.properties();
      } catch (IllegalArgumentException e) {
        problem = e.getMessage();
      }
    }
    if (problem != null) {
      err.println("error: " + problem);
      err.flush();
      return null;
    }
    ConfigInput input = configDir != null ? Inputs.read(configDir, consul, err) : Inputs.readConsul(consul, err);
    if (input == null) {
      return null;
    }
    if (!vaultProperties.isEmpty()) {
      // Vault once, as serve reads it before its first translation: the same secrets, the same verdicts.
      try (VaultSecretStore store = ServeFactory.openVaultSecretStore(vaultProperties)) {
        input = store.readOnce(input);
      }
    }
    return Translation.of(input);
  }
}
