package io.shardgate.snapshot;

import java.util.Objects;

/**
 * Where the fallback listener for Envoys without a role listens (snapshot cache stage configuration).
 *
 * <p>Immutable value; safe to share between threads. The defaults match the gateway-proxy HTTP port, so a misconfigured Envoy answers its usual
 * traffic with an explanation instead of refusing connections.
 *
 * @param address the IP the listener binds, e.g. {@code 0.0.0.0}
 * @param port the listener port, 1..65535
 */
public record FallbackConfig(String address, int port) {

  /** Envoy's usual HTTP listener: {@code 0.0.0.0:8080}. */
  public static final FallbackConfig DEFAULT = new FallbackConfig("0.0.0.0", 8080);

  /** Validates the values. */
  public FallbackConfig {
    Objects.requireNonNull(address, "address");
    if (address.isBlank()) {
      throw new IllegalArgumentException("fallback listener address must not be blank");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("fallback listener port must be in 1..65535, got " + port);
    }
  }

  /** The default address with another port. */
  public static FallbackConfig onPort(int port) {
    return new FallbackConfig(DEFAULT.address(), port);
  }
}
