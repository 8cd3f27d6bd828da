package io.shardgate.sharding.secret;

/**
 * PEM bytes that cannot serve TLS: not PEM, not a certificate or key, encrypted, or a key that does not match its
 * certificate. The message names what the bytes are (an option and file, a secret's key) and says what is wrong; it
 * never quotes them.
 */
public final class PemException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public PemException(String message) {
    super(message, null, false, false);
  }
}
