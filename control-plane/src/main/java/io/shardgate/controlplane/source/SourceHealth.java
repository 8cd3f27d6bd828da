package io.shardgate.controlplane.source;

import java.util.Optional;

/**
 * What a config source says about its own health for {@code /ready}: empty while it reads normally, otherwise one
 * line saying what is wrong and what is served meanwhile (the Kubernetes source: the API server is unreachable since
 * a time, the last config is served).
 *
 * <p>Stage: source. Implementations are thread-safe; {@link #health()} is cheap and called on HTTP threads.
 */
public interface SourceHealth {

  /** Empty when healthy; else a line without a trailing newline. */
  Optional<String> health();
}
