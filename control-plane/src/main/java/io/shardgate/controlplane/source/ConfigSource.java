package io.shardgate.controlplane.source;

/**
 * A config source the {@code serve} process starts once its ports are open and closes when it stops: the directory
 * source or the Kubernetes source.
 *
 * <p>Stage: source. Implementations are stateful and thread-safe.
 */
public interface ConfigSource extends AutoCloseable {

  /** Starts reading; delivers to the source's listener as its own Javadoc says. */
  void start();

  /** What is read, for log lines: a directory, or the API server. */
  String describe();

  /** Stops reading; idempotent. */
  @Override
  void close();
}
