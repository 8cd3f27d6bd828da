package io.shardgate.controlplane.status;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfig;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Leader election among the control-plane replicas with a {@code coordination.k8s.io/v1} Lease (fabric8's
 * LeaderElector): every replica serves xDS; only the leader writes to the API server. Losing the lease (renewal
 * failed within the renew deadline, or {@link #close()}) tells the listener at once; a replica that lost it competes
 * again.
 *
 * <p>Stage: edge (talks to the API server). Stateful; thread-safe: the elector runs on the client's executor, the
 * accessors may be read from any thread.
 */
public final class LeaderElection implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(LeaderElection.class);

  /** Where a pod's service account tells its namespace. */
  public static final Path POD_NAMESPACE_FILE = Path.of("/var/run/secrets/kubernetes.io/serviceaccount/namespace");
  public static final String DEFAULT_ID = "shardgate-status-writer";
  public static final Duration DEFAULT_LEASE = Duration.ofSeconds(15);
  public static final Duration DEFAULT_RENEW = Duration.ofSeconds(10);
  public static final Duration DEFAULT_RETRY = Duration.ofSeconds(2);

  /**
   * What to elect with.
   *
   * @param namespace the Lease's namespace
   * @param name the Lease's name
   * @param identity this replica's name in the Lease's holder
   * @param leaseDuration how long the others wait after the last renewal before they take over
   * @param renewDeadline how long the leader keeps trying to renew before it gives leadership up
   * @param retryPeriod how often every replica tries to acquire or renew
   * @param releaseOnClose whether {@link #close()} releases the Lease (false only to simulate a crash in tests)
   */
  public record Options(String namespace, String name, String identity, Duration leaseDuration,
      Duration renewDeadline, Duration retryPeriod, boolean releaseOnClose) {

    public Options {
      Objects.requireNonNull(namespace, "namespace");
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(identity, "identity");
      if (!(leaseDuration.compareTo(renewDeadline) > 0 && renewDeadline.compareTo(retryPeriod) > 0)) {
        throw new IllegalArgumentException("leader election needs lease duration (" + leaseDuration
            + ") > renew deadline (" + renewDeadline + ") > retry period (" + retryPeriod + ")");
      }
    }

    /** The defaults: the pod's namespace, {@value #DEFAULT_ID}, this process's identity, 15 s / 10 s / 2 s. */
    public static Options defaults() {
      return new Options(defaultNamespace(), DEFAULT_ID, defaultIdentity(), DEFAULT_LEASE, DEFAULT_RENEW,
          DEFAULT_RETRY, true);
    }
  }

  /** The pod's namespace from its service-account file, else {@code gloo-system}. */
  public static String defaultNamespace() {
    try {
      if (Files.isReadable(POD_NAMESPACE_FILE)) {
        String ns = Files.readString(POD_NAMESPACE_FILE, StandardCharsets.UTF_8).trim();
        if (!ns.isEmpty()) {
          return ns;
        }
      }
    } catch (IOException e) {
      LOG.debug("cannot read {}", POD_NAMESPACE_FILE, e);
    }
    return "gloo-system";
  }

  /** {@code POD_NAME} when set (a pod), else {@code hostname_pid}. */
  public static String defaultIdentity() {
    String pod = System.getenv("POD_NAME");
    if (pod != null && !pod.isBlank()) {
      return pod;
    }
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "localhost";
    }
    return host + "_" + ProcessHandle.current().pid();
  }

  private final KubernetesClient client;
  private final Options options;
  private final Consumer<Boolean> leadership;
  private volatile boolean leader;
  private volatile String holder = "";
  private volatile long acquisitions;
  private CompletableFuture<?> running; // guarded by this
  private boolean started; // guarded by this
  private volatile boolean closed;

  /**
   * An election; nothing happens until {@link #start()}.
   *
   * @param leadership told true when this replica becomes the leader and false when it stops being it
   */
  public LeaderElection(KubernetesClient client, Options options, Consumer<Boolean> leadership) {
    this.client = Objects.requireNonNull(client, "client");
    this.options = Objects.requireNonNull(options, "options");
    this.leadership = Objects.requireNonNull(leadership, "leadership");
  }

  /** Starts trying to acquire the Lease, and renewing it once held; returns at once. */
  public synchronized void start() {
    if (started) {
      throw new IllegalStateException("already started");
    }
    started = true;
    LOG.info("Leader election: {} competes for Lease {}/{} (lease {}, renew {}, retry {})", options.identity(),
        options.namespace(), options.name(), options.leaseDuration(), options.renewDeadline(),
        options.retryPeriod());
    compete();
  }

  /**
   * One round of fabric8's elector: acquire, then renew until that fails. Its future ends when leadership is lost
   * (a renewal failed within the renew deadline: the API server was unreachable, or access was revoked); this replica
   * then competes again after a retry period, as it did at start, so it can lead again later.
   */
  private synchronized void compete() {
    if (closed) {
      return;
    }
    LeaderCallbacks callbacks = new LeaderCallbacks(this::started, this::stopped, this::newLeader);
    LeaderElectionConfig config = new LeaderElectionConfig(
        new LeaseLock(options.namespace(), options.name(), options.identity()), options.leaseDuration(),
        options.renewDeadline(), options.retryPeriod(), callbacks, options.releaseOnClose(), options.name());
    CompletableFuture<?> round = client.leaderElector().withConfig(config).build().start();
    running = round;
    round.whenComplete((ok, error) -> {
      stopped();
      if (!closed) {
        LOG.info("Leader election: {} competes again for Lease {}/{} in {}", options.identity(),
            options.namespace(), options.name(), options.retryPeriod());
        CompletableFuture.delayedExecutor(options.retryPeriod().toMillis(), TimeUnit.MILLISECONDS)
            .execute(this::compete);
      }
    });
  }

  private void started() {
    leader = true;
    holder = options.identity();
    acquisitions++;
    LOG.info("Leader election: {} is the leader (Lease {}/{}); it writes statuses", options.identity(),
        options.namespace(), options.name());
    leadership.accept(true);
  }

  private void stopped() {
    if (!leader) {
      return;
    }
    leader = false;
    LOG.warn("Leader election: {} is no longer the leader; it stops writing", options.identity());
    leadership.accept(false);
  }

  private void newLeader(String identity) {
    holder = identity == null ? "" : identity;
    if (identity != null && !options.identity().equals(identity)) {
      LOG.info("Leader election: the leader is {}", identity);
    }
  }

  public boolean isLeader() {
    return leader;
  }

  /** The identity that holds the Lease as last seen, or empty when unknown. */
  public String holder() {
    return holder;
  }

  public Options options() {
    return options;
  }

  /** How many times this replica became the leader. */
  public long acquisitions() {
    return acquisitions;
  }

  /** One line for /ready: {@code leader: yes|no, holder X}. */
  public String describe() {
    return "leader: " + (leader ? "yes" : "no") + ", holder " + (holder.isEmpty() ? "(none seen yet)" : holder)
        + " (Lease " + options.namespace() + "/" + options.name() + ", identity " + options.identity() + ")";
  }

  /** Stops competing; the listener hears false first if this replica led. Releases the Lease unless told not to. */
  @Override
  public synchronized void close() {
    closed = true;
    stopped();
    if (running != null) {
      running.cancel(true);
    }
  }
}
