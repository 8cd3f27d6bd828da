package io.shardgate.controlplane.cli;

import io.shardgate.controlplane.app.ServeFactory;
import io.shardgate.controlplane.security.XdsTlsCredentials;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The validation webhook options of {@code serve} (docs/validation-webhook.md), as a picocli mixin;
 * {@link #properties()} checks them and gives the application properties {@link ServeFactory} reads.
 */
final class WebhookOptions {

  @Option(names = "--webhook-port", paramLabel = "PORT",
      description = "Serve the validating admission webhook (AdmissionReview v1, POST /validation) over HTTPS on this"
          + " port (needs --webhook-cert and --webhook-key; default: no webhook).")
  Integer port;

  @Option(names = "--webhook-address", paramLabel = "ADDR", defaultValue = "127.0.0.1",
      description = "Address the webhook binds to (default: ${DEFAULT-VALUE}; 0.0.0.0 or the pod IP in a cluster).")
  String address;

  @Option(names = XdsTlsCredentials.WEBHOOK_CERT_OPTION, paramLabel = "FILE",
      description = "PEM certificate chain of the webhook (reloaded when the file changes, as cert-manager rotates"
          + " it).")
  Path cert;

  @Option(names = XdsTlsCredentials.WEBHOOK_KEY_OPTION, paramLabel = "FILE",
      description = "PEM private key of --webhook-cert (PKCS#8, PKCS#1 RSA or SEC1 EC, unencrypted).")
  Path key;

  /**
   * The webhook's application properties; empty without {@code --webhook-port}.
   *
   * @throws IllegalArgumentException naming the options that do not fit together
   * @throws io.shardgate.controlplane.security.TlsMaterialException naming the file that cannot be used
   */
  Map<String, Object> properties() {
    Map<String, Object> props = new LinkedHashMap<>();
    if (port == null) {
      if (cert != null || key != null) {
        throw new IllegalArgumentException((cert != null ? XdsTlsCredentials.WEBHOOK_CERT_OPTION
            : XdsTlsCredentials.WEBHOOK_KEY_OPTION) + " is only read with --webhook-port PORT, which turns the"
            + " validation webhook on");
      }
      return props;
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("--webhook-port " + port + " is not a port (0 to 65535)");
    }
    if (cert == null || key == null) {
      throw new IllegalArgumentException("the validation webhook serves HTTPS only: --webhook-port needs "
          + XdsTlsCredentials.WEBHOOK_CERT_OPTION + " FILE and " + XdsTlsCredentials.WEBHOOK_KEY_OPTION
          + " FILE (PEM; in the chart, the Secret <release>-webhook-tls)" + (cert == null && key == null ? ""
          : "; only " + (cert == null ? XdsTlsCredentials.WEBHOOK_KEY_OPTION : XdsTlsCredentials.WEBHOOK_CERT_OPTION)
          + " was given"));
    }
    if (address == null || address.isBlank()) {
      throw new IllegalArgumentException("--webhook-address is empty: give the address the webhook binds to, e.g."
          + " 127.0.0.1 or 0.0.0.0");
    }
    XdsTlsCredentials.checkWebhook(cert, key);
    props.put(ServeFactory.WEBHOOK_PORT, port);
    props.put(ServeFactory.WEBHOOK_ADDRESS, address);
    props.put(ServeFactory.WEBHOOK_CERT, cert.toAbsolutePath().normalize().toString());
    props.put(ServeFactory.WEBHOOK_KEY, key.toAbsolutePath().normalize().toString());
    return props;
  }
}
