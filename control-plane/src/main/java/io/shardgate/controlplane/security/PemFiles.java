package io.shardgate.controlplane.security;

import io.shardgate.sharding.secret.PemException;
import io.shardgate.sharding.secret.PemReader;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.function.Supplier;

/**
 * Reads PEM certificate and private key files for the xDS TLS server (TLS edge) with {@link PemReader}, the same
 * parsing the TLS secrets served to Envoys get.
 *
 * <p>Every failure is a {@link TlsMaterialException} naming the option and the file; messages never quote the file,
 * so key material cannot leak into a terminal or log. Stateless; thread-safe.
 */
final class PemFiles {

  private PemFiles() {}

  /** The file's bytes; a missing, unreadable or empty file is a clear error. */
  static byte[] read(String option, Path file) {
    try {
      if (Files.isDirectory(file)) {
        throw new TlsMaterialException(option + " " + file + " is a directory, not a PEM file");
      }
      byte[] bytes = Files.readAllBytes(file);
      if (bytes.length == 0) {
        throw new TlsMaterialException(option + " " + file + " is empty");
      }
      return bytes;
    } catch (NoSuchFileException e) {
      throw new TlsMaterialException(option + " " + file + " does not exist");
    } catch (AccessDeniedException e) {
      throw new TlsMaterialException(option + " " + file + " cannot be read: permission denied");
    } catch (IOException e) {
      throw new TlsMaterialException(option + " " + file + " cannot be read: " + e.getClass().getSimpleName());
    }
  }

  /** Every certificate in a PEM file, in file order; at least one. */
  static List<X509Certificate> certificates(String option, Path file, byte[] bytes) {
    return wrapped(() -> PemReader.certificates(option + " " + file, bytes));
  }

  /** The one private key in a PEM file. */
  static PrivateKey privateKey(String option, Path file, byte[] bytes) {
    return wrapped(() -> PemReader.privateKey(option + " " + file, bytes));
  }

  /**
   * Fails unless {@code key} is the private key of {@code certificate}: a signature made with the key must verify
   * with the certificate's public key.
   */
  static void requireKeyMatches(PrivateKey key, X509Certificate certificate, String keyWhat, String certWhat) {
    wrapped(() -> {
      PemReader.requireKeyMatches(key, certificate, keyWhat, certWhat);
      return null;
    });
  }

  private static <T> T wrapped(Supplier<T> read) {
    try {
      return read.get();
    } catch (PemException e) {
      throw new TlsMaterialException(e.getMessage());
    }
  }
}
