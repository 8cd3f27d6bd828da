package io.shardgate.controlplane.security;

/**
 * A certificate, key or CA file that cannot serve TLS: missing, unreadable, not PEM, or a key that does not match its
 * certificate. The message names the option and the file and says what is wrong; it never quotes file contents, so
 * no key material reaches a terminal or a log.
 */
public final class TlsMaterialException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public TlsMaterialException(String message) {
    super(message, null, false, false);
  }
}
