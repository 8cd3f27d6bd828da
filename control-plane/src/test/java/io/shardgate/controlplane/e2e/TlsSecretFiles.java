package io.shardgate.controlplane.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Base64;

/**
 * Writes TLS secrets into a config directory in the two forms Shardgate's directory source reads, the way users and
 * their tools hand them over:
 *
 * <ul>
 *   <li>a Kubernetes {@code kubernetes.io/tls} Secret document ({@code data: tls.crt, tls.key, ca.crt}, base64), at
 *       any path of the tree (what {@code kubectl create secret tls --dry-run=client -o yaml} prints);
 *   <li>Gloo's directory layout {@code secrets/<namespace>/<name>.yaml} in Gloo's flat form: {@code metadata} and
 *       {@code tls: {certChain, privateKey, rootCa}} as PEM text (what Gloo's file secret client writes).
 * </ul>
 *
 * <p>Every write replaces the file atomically (a hidden temporary file beside it, which the source never reads, then
 * a rename), as cert-manager, kubelet's volume swap and most editors do, so the source never sees half a
 * certificate and a rotation test measures the rotation, not a torn read. Returns the instant of the rename.
 */
final class TlsSecretFiles {

  private TlsSecretFiles() {}

  /** Writes a {@code kubernetes.io/tls} Secret {@code namespace/name} to {@code file}; {@code caPem} may be null. */
  static long writeKubernetesTlsSecret(Path file, String namespace, String name, TlsTestPki.Material m, String caPem)
      throws IOException {
    StringBuilder yaml = new StringBuilder()
        .append("apiVersion: v1\n")
        .append("kind: Secret\n")
        .append("type: kubernetes.io/tls\n")
        .append("metadata:\n")
        .append("  name: ").append(name).append('\n')
        .append("  namespace: ").append(namespace).append('\n')
        .append("data:\n")
        .append("  tls.crt: ").append(base64(m.certChain())).append('\n')
        .append("  tls.key: ").append(base64(m.privateKey())).append('\n');
    if (caPem != null) {
      yaml.append("  ca.crt: ").append(base64(caPem)).append('\n');
    }
    return replace(file, yaml.toString());
  }

  /** Where Gloo's directory layout keeps the secret {@code namespace/name} of {@code configDir}. */
  static Path glooSecretFile(Path configDir, String namespace, String name) {
    return configDir.resolve("secrets").resolve(namespace).resolve(name + ".yaml");
  }

  /**
   * Writes Gloo's TLS secret {@code namespace/name} to its {@link #glooSecretFile}; {@code caPem} may be null.
   * Returns the instant of the rename.
   */
  static long writeGlooTlsSecret(Path configDir, String namespace, String name, TlsTestPki.Material m, String caPem)
      throws IOException {
    StringBuilder yaml = new StringBuilder()
        .append("metadata:\n")
        .append("  name: ").append(name).append('\n')
        .append("  namespace: ").append(namespace).append('\n')
        .append("tls:\n")
        .append("  certChain: |\n").append(indent(m.certChain()))
        .append("  privateKey: |\n").append(indent(m.privateKey()));
    if (caPem != null) {
      yaml.append("  rootCa: |\n").append(indent(caPem));
    }
    return replace(glooSecretFile(configDir, namespace, name), yaml.toString());
  }

  /**
   * Replaces {@code file} with {@code text} by a rename; returns {@link System#nanoTime()} right after it, the moment
   * the new content became visible.
   */
  static long replace(Path file, String text) throws IOException {
    Files.createDirectories(file.getParent());
    Path temporary = file.resolveSibling("." + file.getFileName() + ".writing");
    Files.writeString(temporary, text, StandardCharsets.US_ASCII);
    Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    return System.nanoTime();
  }

  private static String base64(String pem) {
    return Base64.getEncoder().encodeToString(pem.getBytes(StandardCharsets.US_ASCII));
  }

  private static String indent(String pem) {
    StringBuilder out = new StringBuilder();
    for (String line : pem.strip().split("\r?\n")) {
      out.append("    ").append(line).append('\n');
    }
    return out.toString();
  }
}
