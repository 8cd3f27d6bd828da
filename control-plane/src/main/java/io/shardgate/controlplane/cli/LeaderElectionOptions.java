package io.shardgate.controlplane.cli;

import io.shardgate.controlplane.status.LeaderElection;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;

/**
 * The leader-election options of {@code serve --kubernetes} as a picocli mixin; {@link #toOptions()} checks them and
 * {@link #properties(LeaderElection.Options)} hands them to the application context.
 */
final class LeaderElectionOptions {

  @Option(names = "--leader-election-namespace", paramLabel = "NS",
      description = "With --kubernetes: the namespace of the Lease the replicas elect the status writer with"
          + " (default: the pod's namespace from its service account, else gloo-system).")
  String namespace;

  @Option(names = "--leader-election-id", paramLabel = "NAME", defaultValue = LeaderElection.DEFAULT_ID,
      description = "With --kubernetes: the name of that Lease (default: ${DEFAULT-VALUE}).")
  String id;

  @Option(names = "--leader-election-identity", paramLabel = "NAME",
      description = "With --kubernetes: this replica's name in the Lease (default: $POD_NAME, else hostname_pid).")
  String identity;

  @Option(names = "--leader-election-lease-duration", paramLabel = "DURATION", defaultValue = "15s",
      converter = DurationConverter.class,
      description = "How long the other replicas wait after the leader's last renewal before one takes over"
          + " (default: ${DEFAULT-VALUE}; e.g. 15s, 1500ms).")
  Duration leaseDuration;

  @Option(names = "--leader-election-renew-deadline", paramLabel = "DURATION", defaultValue = "10s",
      converter = DurationConverter.class,
      description = "How long the leader tries to renew before it stops writing (default: ${DEFAULT-VALUE}).")
  Duration renewDeadline;

  @Option(names = "--leader-election-retry-period", paramLabel = "DURATION", defaultValue = "2s",
      converter = DurationConverter.class,
      description = "How often each replica tries to acquire or renew the Lease (default: ${DEFAULT-VALUE}).")
  Duration retryPeriod;

  /**
   * The checked options.
   *
   * @throws IllegalArgumentException unless lease duration &gt; renew deadline &gt; retry period
   */
  LeaderElection.Options toOptions() {
    return new LeaderElection.Options(namespace == null ? LeaderElection.defaultNamespace() : namespace, id,
        identity == null ? LeaderElection.defaultIdentity() : identity, leaseDuration, renewDeadline, retryPeriod,
        true);
  }

  /** The properties ServeFactory reads. */
  static Map<String, Object> properties(LeaderElection.Options o) {
    Map<String, Object> props = new LinkedHashMap<>();
    props.put("shardgate.leader-election.namespace", o.namespace());
    props.put("shardgate.leader-election.id", o.name());
    props.put("shardgate.leader-election.identity", o.identity());
    props.put("shardgate.leader-election.lease-ms", o.leaseDuration().toMillis());
    props.put("shardgate.leader-election.renew-ms", o.renewDeadline().toMillis());
    props.put("shardgate.leader-election.retry-ms", o.retryPeriod().toMillis());
    return props;
  }

  /** {@code 15s}, {@code 1500ms}, {@code 2m} or ISO-8601 ({@code PT15S}). */
  static final class DurationConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      String v = value.trim();
      try {
        if (v.endsWith("ms")) {
          return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
        }
        if (v.endsWith("s")) {
          return Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)));
        }
        if (v.endsWith("m")) {
          return Duration.ofMinutes(Long.parseLong(v.substring(0, v.length() - 1)));
        }
        return Duration.parse(v);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("'" + value + "' is not a duration (e.g. 15s, 1500ms, 2m)");
      }
    }
  }
}
