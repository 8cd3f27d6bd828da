package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.AppenderBase;
import com.google.protobuf.Message;
import com.sun.net.httpserver.HttpServer;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.micronaut.context.ApplicationContext;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.controlplane.source.DirectoryContents;
import io.shardgate.controlplane.source.DirectorySource;
import io.shardgate.controlplane.source.SourceProblem;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.report.ResourceState;
import io.shardgate.sharding.report.ResourceStatus;
import io.shardgate.snapshot.ShardDiscoveryServer;
import io.shardgate.snapshot.ShardResources;
import io.shardgate.snapshot.ShardSnapshotCache;
import io.shardgate.snapshot.ShardStreamStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * Random wrong edits never hurt what is served. Seeded random mutations of the example's files ({@link YamlMutator}),
 * one at a time, against the control plane in-process and two <b>real Envoys</b> (the protected and the noisy shard,
 * from the project's own bootstraps) in front of echo backends.
 *
 * <p>Before the first mutation the test records a baseline: a fixed set of probes (Envoy, method, host, path) that
 * covers every route of the example on both Envoys, with the answer of each (status, body, redirect location), and
 * every shard's xDS resources. Then, for each mutation: it writes the mutated file (atomically, as editors save),
 * waits until the pipeline has translated exactly what the source read from it and every Envoy is in sync with what
 * the cache serves, checks, restores the file, waits the same way and checks again. The waits are conditions, never
 * sleeps: the source's hash of the file equals the written bytes' and the latest translation's input is the source's
 * latest contents; the cache has no staged update under way ({@code isSettled}) and each Envoy's accepted version of
 * every type ({@code version_text} of LDS, CDS and each served route configuration) equals the cache's. A shard whose
 * Envoy rejected a listener that cannot bind (see the rules) is waited for until its update is held instead
 * ({@code isHeld}).
 *
 * <p>The rules, for every mutation:
 *
 * <ul>
 *   <li>no Envoy exits and no Envoy NACKs (the cache's {@code latestNacks} gains nothing, and Envoy's own
 *       {@code update_rejected} counters do not grow), with one exception: an edit that moves a Gateway to an address
 *       or port its Envoy cannot bind (an address the host does not have) is valid to the control plane, and the
 *       Envoy must NACK the listener ({@code cannot bind} in its message). Such a NACK (and its LDS
 *       {@code update_rejected}, and the WARNs that quote it) is allowed when the shard's update is then held and
 *       every probe answers exactly its baseline: the old listener keeps serving. Any other NACK fails;
 *   <li>the control plane logs no event with a throwable and no ERROR other than the expected ones (a rejected
 *       resource, a file problem); {@code ShardPipeline.failures()} stays empty; no status or problem says
 *       "internal error"; a secret-looking value the mutation wrote appears in no log line, status or problem;
 *   <li>either (a) a resource is rejected or a file error (or a document that is not read) is reported, and then
 *       every probe answers exactly its baseline and every shard serves exactly its baseline resources: the last
 *       good keeps serving; or (b) nothing is rejected, and then the Envoys serve what the control plane now serves
 *       (their versions equal the cache's, which the wait established) and every probe the change did not touch
 *       answers its baseline;
 *   <li>after the restore nothing is rejected, every status is the baseline's, every shard serves exactly its
 *       baseline resources and every probe answers its baseline.
 * </ul>
 *
 * <p><b>Which probes a valid change touches</b>, decided from the served xDS resources, without re-implementing
 * routing: a probe of a shard whose resources equal the baseline's is untouched. In a changed shard, a probe is
 * touched when the listeners changed; or its listener's route configuration changed anything but its virtual hosts;
 * or the virtual hosts' names or domains changed (so Envoy may pick another one); otherwise, when its host is
 * listed verbatim in a virtual host's domains (Envoy prefers an exact domain to any wildcard), it is touched when
 * that virtual host or a cluster it routes to changed, and when it is listed in none (a baseline 404), it stays
 * untouched. Touched probes may answer anything; they are printed.
 *
 * <p>Short mode (the default, part of {@code ./mvnw verify}): {@value #DEFAULT_COUNT} mutations of seed
 * {@value #DEFAULT_SEED}. Long mode: {@code -Dshardgate.mutations=1000 -Dshardgate.mutations.seed=N}, optionally
 * {@code -Dshardgate.mutations.first=K} to start at mutation K and {@code -Dshardgate.mutations.maxFailures=F} to stop
 * after F failing ones (default {@value #DEFAULT_MAX_FAILURES}); {@code tools/mutation-test.sh} passes them all.
 * Mutation K of a seed is the same whatever ran before it, so a failure is replayed by its seed and number alone. A
 * failing mutation is printed in full (seed, number, description, the file, statuses, problems, NACKs, probes, log
 * events, the Envoys' listeners, versions and log tails), the run goes on with the next one, and the test fails at
 * the end listing them all; it stops early only when a restore does not bring back the baseline, because every later
 * result would be meaningless. Every failure fails the run: what the test found is fixed, and listed with its seed and
 * number in docs/testing.md. Timeouts are liveness bounds only.
 */
class MutationE2ETest {

  static final int DEFAULT_COUNT = 200;
  static final long DEFAULT_SEED = 20_240_611L;

  private static final Duration LIVENESS = Duration.ofSeconds(30);
  private static final String LDS = Resources.V3.LISTENER_TYPE_URL;
  private static final String RDS = Resources.V3.ROUTE_TYPE_URL;
  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String PAYMENTS_HOST = "payments.example.com";
  private static final String CATALOG_HOST = "catalog.example.com";
  /** By default the run stops after this many failing mutations: enough to see the classes of failure. */
  static final int DEFAULT_MAX_FAILURES = 25;

  @TempDir static Path work;

  private static ExampleConfig config;
  private static HttpServer paymentsBackend;
  private static HttpServer catalogBackend;
  private static ApplicationContext controlPlane;
  private static EnvoyProcess protectedEnvoy;
  private static EnvoyProcess noisyEnvoy;
  private static final LogCapture LOGS = new LogCapture();

  /** The two shards of the example, each with its one Envoy. */
  enum Shard {
    PROTECTED(ExampleConfig.PROTECTED_ROLE),
    NOISY(ExampleConfig.NOISY_ROLE);

    final String role;

    Shard(String role) {
      this.role = role;
    }

    EnvoyProcess envoy() {
      return this == PROTECTED ? protectedEnvoy : noisyEnvoy;
    }

    int port() {
      return this == PROTECTED ? config.protectedPort() : config.noisyPort();
    }
  }

  /** One request sent to one Envoy's listener. */
  record Probe(Shard shard, String method, String host, String path) {
    @Override
    public String toString() {
      return shard.name().toLowerCase() + " " + method + " " + host + path;
    }
  }

  /** What a probe got: status, body and redirect location, or the error that kept it from getting an answer. */
  record Answer(int status, String body, String location, String error) {
    @Override
    public String toString() {
      if (error != null) {
        return "no answer (" + error + ")";
      }
      String b = body.length() > 80 ? body.substring(0, 80) + "..." : body;
      return status + (location == null ? "" : " -> " + location) + (b.isEmpty() ? "" : " '" + b.strip() + "'");
    }
  }

  /** Every route of the example on both Envoys, and what each Envoy must not serve. */
  private static final List<Probe> PROBES = List.of(
      new Probe(Shard.PROTECTED, "GET", PAYMENTS_HOST, "/payments/v1/charges"),
      new Probe(Shard.PROTECTED, "POST", PAYMENTS_HOST, "/payments/v1/charges"),
      new Probe(Shard.PROTECTED, "DELETE", PAYMENTS_HOST, "/payments/v1/charges"),
      new Probe(Shard.PROTECTED, "GET", PAYMENTS_HOST, "/payments/old"),
      new Probe(Shard.PROTECTED, "GET", PAYMENTS_HOST, "/healthz"),
      new Probe(Shard.PROTECTED, "GET", PAYMENTS_HOST, "/other"),
      new Probe(Shard.PROTECTED, "GET", CATALOG_HOST, "/items/42"),
      new Probe(Shard.NOISY, "GET", CATALOG_HOST, "/items/42"),
      new Probe(Shard.NOISY, "POST", CATALOG_HOST, "/"),
      new Probe(Shard.NOISY, "GET", PAYMENTS_HOST, "/payments/v1/charges"),
      new Probe(Shard.NOISY, "GET", "unknown.example.com", "/"));

  private static SortedMap<String, byte[]> originals;
  private static final Map<Probe, Answer> baselineAnswers = new LinkedHashMap<>();
  private static final Map<Shard, ShardResources> baselineResources = new TreeMap<>();
  private static SortedMap<ResourceKey, ResourceStatus> baselineStatuses;

  @BeforeAll
  static void startEverything() throws Exception {
    EnvoyProcess.binary();
    int[] ports = ExampleConfig.freePorts(8);
    config = ExampleConfig.copyTo(work.resolve("config"), ports);
    Path run = Files.createDirectories(work.resolve("run"));
    LOGS.attach();
    try {
      paymentsBackend = E2eSupport.echoBackend(config.paymentsPort(), "payments-backend");
      catalogBackend = E2eSupport.echoBackend(config.catalogPort(), "catalog-backend");
      controlPlane = ServeCommand.start(config.dir(), work.resolve("state"), ports[4], ports[5], "127.0.0.1");
      ServeCommand.awaitFirstTranslation(controlPlane);
      protectedEnvoy = E2eSupport.startShardEnvoy("protected", "gateway-proxy-protected", ports[4], ports[6], run);
      noisyEnvoy = E2eSupport.startShardEnvoy("noisy", "gateway-proxy-noisy", ports[4], ports[7], run);
      protectedEnvoy.awaitReady(LIVENESS);
      noisyEnvoy.awaitReady(LIVENESS);
      E2eSupport.awaitStatus(protectedEnvoy, config.protectedPort(), PAYMENTS_HOST, "/healthz", 200, LIVENESS);
      E2eSupport.awaitStatus(noisyEnvoy, config.noisyPort(), CATALOG_HOST, "/items", 200, LIVENESS);
      String unsynced = awaitInSync(cache().latestNacks());
      assertEquals(null, unsynced, "the Envoys never got in sync before the first mutation");
    } catch (Throwable t) {
      E2eSupport.printEnvoyLogs("setup", protectedEnvoy, noisyEnvoy);
      throw t;
    }
    originals = new TreeMap<>();
    try (Stream<Path> files = Files.walk(config.dir())) {
      for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
        originals.put(relative(f), Files.readAllBytes(f));
      }
    }
  }

  @AfterAll
  static void stopEverything() {
    for (EnvoyProcess envoy : new EnvoyProcess[] {protectedEnvoy, noisyEnvoy}) {
      if (envoy != null) {
        envoy.close();
      }
    }
    if (controlPlane != null) {
      ServeCommand.stop(controlPlane);
    }
    for (HttpServer backend : new HttpServer[] {paymentsBackend, catalogBackend}) {
      if (backend != null) {
        backend.stop(0);
      }
    }
    LOGS.detach();
  }

  @Test
  void randomWrongEditsNeverHurtWhatIsServed() throws Exception {
    int count = Integer.getInteger("shardgate.mutations", DEFAULT_COUNT);
    long seed = Long.getLong("shardgate.mutations.seed", DEFAULT_SEED);
    int first = Integer.getInteger("shardgate.mutations.first", 0);
    int maxFailures = Integer.getInteger("shardgate.mutations.maxFailures", DEFAULT_MAX_FAILURES);
    assertTrue(count > 0, "shardgate.mutations must be positive, got " + count);

    Translation baseline = pipeline().latest();
    baselineStatuses = baseline.gateway().statuses();
    assertTrue(baselineStatuses.values().stream().noneMatch(s -> s.state() == ResourceState.REJECTED)
        && !baseline.input().hasSourceErrors() && baseline.gateway().documentProblems().isEmpty(),
        () -> "the example itself has problems: " + describeProblems(baseline));
    for (Shard s : Shard.values()) {
      baselineResources.put(s, cache().resourcesOf(s.role));
    }
    for (Probe p : PROBES) {
      baselineAnswers.put(p, ask(p));
    }
    System.out.println("E2E mutations: baseline " + baselineAnswers);
    for (Map.Entry<Probe, Answer> e : baselineAnswers.entrySet()) {
      assertTrue(e.getValue().error() == null && (e.getValue().status() != 200 || e.getValue().body().contains(
          e.getKey().host().startsWith("payments") ? "payments" : "catalog")), () -> "baseline " + e);
    }

    SortedMap<String, String> texts = YamlMutator.texts(originals);
    Map<String, Integer> outcomes = new TreeMap<>();
    List<String> failures = new ArrayList<>();
    long started = System.nanoTime();
    for (int n = first; n < first + count && failures.size() < maxFailures; n++) {
      YamlMutator.Mutation m = YamlMutator.mutation(seed, n, texts);
      Result result = run(m);
      outcomes.merge(result.outcome, 1, Integer::sum);
      if (!result.problems.isEmpty()) {
        System.out.println(report(seed, m, result));
        failures.add("#" + n + " " + m.description() + ": " + String.join("; ", result.problems));
      }
      if (result.baselineLost) {
        failures.add("stopped after #" + n + ": restoring " + m.file() + " did not bring back the baseline");
        break;
      }
    }
    long seconds = (System.nanoTime() - started) / 1_000_000_000;
    System.out.println("E2E mutations: seed " + seed + ", mutations " + first + ".." + (first + count - 1) + ": "
        + outcomes + ", " + failures.size() + " failing, in " + seconds + " s");
    if (!failures.isEmpty()) {
      fail(failures.size() + " of the mutations of seed " + seed + " broke the rules (each printed in full above; "
          + "replay one with tools/mutation-test.sh --seed " + seed + " --first N --count 1):\n  "
          + String.join("\n  ", failures));
    }
  }

  // ------------------------------------------------------------------ one mutation

  /** What one mutation did: its outcome class, the rules it broke, what the probes answered. */
  private static final class Result {
    String outcome = "unknown";
    final List<String> problems = new ArrayList<>();
    final Map<Probe, Answer> answers = new LinkedHashMap<>();
    final Map<Probe, Answer> restoredAnswers = new LinkedHashMap<>();
    final List<String> touched = new ArrayList<>();
    final List<ILoggingEvent> events = new ArrayList<>();
    Translation translation;
    boolean baselineLost;
  }

  private static Result run(YamlMutator.Mutation m) throws Exception {
    Result result = new Result();
    Window window = Window.open();
    write(m.file(), m.content());
    String waited = awaitProcessed(m.file(), m.content());
    if (waited == null) {
      waited = awaitInSync(window.nacks);
    }
    if (waited != null) {
      result.problems.add(waited);
    }
    Translation t = pipeline().latest();
    result.translation = t;
    window.check(result.problems, m.secret(), t);
    result.events.addAll(window.events());
    boolean reported = t.gateway().statuses().values().stream().anyMatch(s -> s.state() == ResourceState.REJECTED)
        || t.input().hasSourceErrors() || !t.gateway().documentProblems().isEmpty();
    boolean rejected = t.gateway().statuses().values().stream().anyMatch(s -> s.state() == ResourceState.REJECTED);
    Map<Shard, ShardResources> served = servedResources();
    for (Probe p : PROBES) {
      result.answers.put(p, ask(p));
    }
    if (reported) {
      result.outcome = rejected ? "rejected" : "file error";
      for (Shard s : Shard.values()) {
        if (!served.get(s).equals(baselineResources.get(s))) {
          result.problems.add("rejected, yet the " + s + " shard's resources changed: the last good does not keep "
              + "serving (" + diff(baselineResources.get(s), served.get(s)) + ")");
        }
      }
      for (Probe p : PROBES) {
        if (!result.answers.get(p).equals(baselineAnswers.get(p))) {
          result.problems.add("rejected, yet " + p + " answers " + result.answers.get(p) + " instead of "
              + baselineAnswers.get(p));
        }
      }
    } else if (!window.unbindable.isEmpty()) {
      // Valid to the control plane, but an Envoy cannot bind the new listener: its update must be held, with the old
      // listener serving every probe exactly as before.
      result.outcome = "valid, cannot bind: held";
      window.unbindable.forEach((group, nack) -> {
        if (!cache().isHeld(group)) {
          result.problems.add("an Envoy of " + group + " cannot bind its new listener (" + nack.message().strip()
              + "), yet the update is not held");
        }
      });
      for (Probe p : PROBES) {
        if (!result.answers.get(p).equals(baselineAnswers.get(p))) {
          result.problems.add("an Envoy cannot bind its new listener (" + window.unbindable.values().stream()
              .map(n -> n.message().strip()).toList() + "), yet " + p + " answers " + result.answers.get(p)
              + " instead of " + baselineAnswers.get(p) + ": the last good does not keep serving");
        }
      }
    } else {
      boolean changed = false;
      for (Probe p : PROBES) {
        ShardResources now = served.get(p.shard());
        changed |= !now.equals(baselineResources.get(p.shard()));
        Answer a = result.answers.get(p);
        if (touched(p, baselineResources.get(p.shard()), now)) {
          if (!a.equals(baselineAnswers.get(p))) {
            result.touched.add(p + ": " + baselineAnswers.get(p) + " -> " + a);
          }
        } else if (!a.equals(baselineAnswers.get(p))) {
          result.problems.add("valid, and " + p + " was not touched by the change, yet it answers " + a
              + " instead of " + baselineAnswers.get(p));
        }
      }
      result.outcome = changed ? "valid, served" : "valid, nothing served changed";
    }

    // Restore, and everything must be as it was.
    Window restore = Window.open();
    write(m.file(), originals.get(m.file()));
    String restored = awaitProcessed(m.file(), originals.get(m.file()));
    if (restored == null) {
      restored = awaitInSync(restore.nacks);
    }
    if (restored != null) {
      result.problems.add("after the restore: " + restored);
      result.baselineLost = true;
    }
    Translation back = pipeline().latest();
    restore.check(result.problems, m.secret(), back);
    result.events.addAll(restore.events());
    if (!back.gateway().statuses().equals(baselineStatuses) || back.input().hasSourceErrors()
        || !back.gateway().documentProblems().isEmpty()) {
      result.problems.add("after the restore the statuses are not the baseline's: " + describeProblems(back));
      result.baselineLost = true;
    }
    Map<Shard, ShardResources> servedBack = servedResources();
    for (Shard s : Shard.values()) {
      if (!servedBack.get(s).equals(baselineResources.get(s))) {
        result.problems.add("after the restore the " + s + " shard does not serve its baseline resources ("
            + diff(baselineResources.get(s), servedBack.get(s)) + ")");
        result.baselineLost = true;
      }
    }
    for (Probe p : PROBES) {
      Answer a = ask(p);
      result.restoredAnswers.put(p, a);
      if (!a.equals(baselineAnswers.get(p))) {
        result.problems.add("after the restore " + p + " answers " + a + " instead of " + baselineAnswers.get(p));
        result.baselineLost = true;
      }
    }
    return result;
  }

  /**
   * What can change and be seen between the write and the checks of one step: log events, the cache's NACKs, the
   * Envoys' {@code update_rejected} counters.
   */
  private static final class Window {
    private final int firstEvent;
    private final SortedMap<String, SortedMap<String, ShardStreamStats.Nack>> nacks;
    private final Map<Shard, Map<String, Long>> rejected = new TreeMap<>();
    /** By group, the NACKs of a listener that cannot bind: allowed if the caller finds the last good serving. */
    final Map<String, ShardStreamStats.Nack> unbindable = new TreeMap<>();

    private Window() throws IOException {
      firstEvent = LOGS.size();
      nacks = cache().latestNacks();
      for (Shard s : Shard.values()) {
        rejected.put(s, envoyStats(s.envoy(), "update_rejected$"));
      }
    }

    static Window open() throws IOException {
      return new Window();
    }

    List<ILoggingEvent> events() {
      return LOGS.since(firstEvent);
    }

    /** Whether a WARN quotes one of this step's NACKs of a listener that cannot bind (the NACK's and the hold's). */
    private boolean quotesUnbindable(ILoggingEvent e) {
      return unbindable.values().stream().anyMatch(n -> e.getFormattedMessage().contains(n.message().strip()));
    }

    /**
     * Adds to {@code problems} every rule this step broke, as far as logs, NACKs and the translation show; a NACK of a
     * listener that cannot bind goes to {@link #unbindable} instead, for the caller to check the probes.
     */
    void check(List<String> problems, String secret, Translation t) throws IOException {
      for (Shard s : Shard.values()) {
        try {
          s.envoy().checkAlive();
        } catch (AssertionError e) {
          problems.add(e.getMessage());
          return;
        }
      }
      if (!controlPlane.isRunning()) {
        problems.add("the control plane stopped");
      }
      cache().latestNacks().forEach((group, byType) -> byType.forEach((type, nack) -> {
        ShardStreamStats.Nack before = nacks.getOrDefault(group, Collections.emptySortedMap()).get(type);
        if (!nack.equals(before) && cannotBind(nack)) {
          unbindable.put(group, nack);
        } else if (!nack.equals(before)) {
          boolean servedNow = cache().versionOf(group, type).map(nack.version()::equals).orElse(false);
          problems.add("NACK from " + nack.nodeId() + " of " + type + " version " + nack.version()
              + (servedNow ? " (the version served now)" : " (no longer served)") + ": " + nack.message());
        }
      }));
      for (Shard s : Shard.values()) {
        Map<String, Long> now = envoyStats(s.envoy(), "update_rejected$");
        now.forEach((stat, value) -> {
          boolean allowed = unbindable.containsKey(s.role) && stat.equals("listener_manager.lds.update_rejected");
          if (value > rejected.get(s).getOrDefault(stat, 0L) && !allowed) {
            problems.add("Envoy " + s.envoy().name + " " + stat + " grew to " + value);
          }
        });
      }
      List<ILoggingEvent> events = events();
      for (ILoggingEvent e : events) {
        if (e.getThrowableProxy() != null) {
          problems.add("logged a throwable: " + e.getLevel() + " " + e.getLoggerName() + " - "
              + e.getFormattedMessage() + ": " + throwable(e.getThrowableProxy()));
        } else if (e.getLevel() == Level.ERROR && !expectedError(e)) {
          problems.add("logged an unexpected ERROR: " + e.getLoggerName() + " - " + e.getFormattedMessage());
        } else if (e.getLevel() == Level.WARN && unexpectedWarning(e) && !quotesUnbindable(e)) {
          problems.add("logged: " + e.getLoggerName() + " - " + e.getFormattedMessage());
        }
      }
      if (!pipeline().failures().isEmpty()) {
        problems.add("ShardPipeline.failures(): " + pipeline().failures());
      }
      List<String> texts = new ArrayList<>();
      t.gateway().statuses().values().forEach(s -> texts.add(s.key() + ": " + s.reason()));
      t.input().problems().forEach(p -> texts.add(p.toString()));
      texts.addAll(t.gateway().documentProblems());
      t.failures().forEach((role, f) -> texts.add(role + ": " + f));
      for (String text : texts) {
        if (text.contains("internal error")) {
          problems.add("reports an internal error: " + text);
        }
      }
      if (secret != null) {
        // Messages may quote a value cut to 64 characters; the secret's last 48 never fit in that.
        String tail = secret.substring(secret.length() - 48);
        for (String text : texts) {
          if (text.contains(tail)) {
            problems.add("a status or problem shows the secret-looking value: " + text);
          }
        }
        for (ILoggingEvent e : events) {
          if (e.getFormattedMessage().contains(tail)
              || (e.getThrowableProxy() != null && throwable(e.getThrowableProxy()).contains(tail))) {
            problems.add("the log shows the secret-looking value: " + e.getLoggerName() + " - "
                + e.getFormattedMessage());
          }
        }
      }
    }
  }

  /**
   * The NACKs the cache has now that differ from {@code before}, by group (each group's latest changed one; a
   * group has at most one per type, and a step changes one or two).
   */
  private static Map<String, ShardStreamStats.Nack> newNacks(
      SortedMap<String, SortedMap<String, ShardStreamStats.Nack>> before) {
    Map<String, ShardStreamStats.Nack> out = new TreeMap<>();
    cache().latestNacks().forEach((group, byType) -> byType.forEach((type, nack) -> {
      if (!nack.equals(before.getOrDefault(group, Collections.emptySortedMap()).get(type))) {
        // A group with an unbindable listener's NACK and another one is reported with the other, which fails.
        ShardStreamStats.Nack kept = out.get(group);
        if (kept == null || cannotBind(kept)) {
          out.put(group, nack);
        }
      }
    }));
    return out;
  }

  /** A NACK of a listener that cannot bind its address, as Envoy words it. */
  private static boolean cannotBind(ShardStreamStats.Nack nack) {
    return nack.typeUrl().equals(LDS) && nack.message().contains(": cannot bind '");
  }

  /** The ERRORs a wrong edit is expected to cause: a rejected resource, a file that cannot be read as written. */
  private static boolean expectedError(ILoggingEvent e) {
    return (e.getLoggerName().equals(ShardPipeline.class.getName()) && e.getMessage().equals("{} is rejected: {}"))
        || (e.getLoggerName().equals(DirectorySource.class.getName()) && e.getMessage().equals("{}")
            && e.getArgumentArray() != null && e.getArgumentArray().length == 1
            && e.getArgumentArray()[0] instanceof SourceProblem);
  }

  /** WARNs that say an Envoy rejected something or did not answer: never expected here. */
  private static boolean unexpectedWarning(ILoggingEvent e) {
    String message = e.getMessage();
    return e.getLoggerName().startsWith("io.shardgate.snapshot.")
        && (message.contains("rejected") || message.contains("did not answer") || message.contains("failed"));
  }

  // ------------------------------------------------------------------ waiting

  /**
   * Waits until the source has read {@code content} from {@code file} and the pipeline has translated exactly what
   * the source delivered last (which is also the case when the read found nothing new), and the pass has finished.
   * Returns null, or what was last seen when that does not happen within {@link #LIVENESS}.
   */
  private static String awaitProcessed(String file, byte[] content) throws InterruptedException {
    String hash = sha256(content);
    DirectorySource source = controlPlane.getBean(DirectorySource.class);
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    String last = "nothing read yet";
    while (System.nanoTime() - deadline < 0) {
      DirectoryContents read = source.current();
      Translation t = pipeline().latest();
      if (read != null && hash.equals(read.fileHashes().get(file)) && t != null && translates(t, read)) {
        // accept() is synchronized: once the monitor is free, the pass that set latest() has logged all it logs.
        synchronized (pipeline()) {
          return null;
        }
      }
      last = read == null ? "the source delivered nothing"
          : !hash.equals(read.fileHashes().get(file)) ? "the source has not read the new content of " + file
          : "the pipeline has not translated the source's latest contents";
      Thread.sleep(10);
    }
    return "not processed within " + LIVENESS + ": " + last;
  }

  /** Whether {@code t} is the translation of {@code read}: the very same documents and equal problems. */
  private static boolean translates(Translation t, DirectoryContents read) {
    List<SourceDocument> translated = t.input().documents();
    if (translated.size() != read.documents().size() || !t.input().problems().equals(read.problems())) {
      return false;
    }
    for (int i = 0; i < translated.size(); i++) {
      if (translated.get(i) != read.documents().get(i)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Waits until each shard has no staged update under way and its Envoy's accepted versions equal the cache's, or,
   * for a shard whose Envoy rejected a listener that cannot bind, until its update is held. Returns null, or what
   * differed last when that does not happen within {@link #LIVENESS}; returns at once, with the NACK, when the cache
   * gains any other NACK than {@code nacks} (taken before the write): a rejecting Envoy would never get in sync.
   */
  private static String awaitInSync(SortedMap<String, SortedMap<String, ShardStreamStats.Nack>> nacks)
      throws InterruptedException, IOException {
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    String last = "";
    while (System.nanoTime() - deadline < 0) {
      Map<String, ShardStreamStats.Nack> newNacks = newNacks(nacks);
      List<ShardStreamStats.Nack> others = newNacks.values().stream().filter(n -> !cannotBind(n)).toList();
      List<String> differences = new ArrayList<>();
      for (Shard s : Shard.values()) {
        boolean held = newNacks.containsKey(s.role) && cannotBind(newNacks.get(s.role));
        String d = syncDifference(s, held);
        if (d != null) {
          differences.add(s + ": " + d);
        }
      }
      if (differences.isEmpty() && others.isEmpty()) {
        return null;
      }
      last = String.join("; ", differences);
      if (!others.isEmpty()) {
        return "an Envoy NACKed while getting in sync (" + last + "): " + cache().latestNacks();
      }
      Thread.sleep(10);
    }
    return "the Envoys did not get in sync with the cache within " + LIVENESS + ": " + last;
  }

  /**
   * How shard {@code s}'s Envoy differs from what the cache serves it, or null when it does not. For a shard whose
   * Envoy rejected a listener that cannot bind ({@code held}), null once the update is held.
   */
  private static String syncDifference(Shard s, boolean held) throws IOException {
    EnvoyProcess envoy = s.envoy();
    envoy.checkAlive();
    ShardSnapshotCache cache = cache();
    if (held) {
      return cache.isHeld(s.role) ? null : "its Envoy rejected a listener that cannot bind, and the update is not held";
    }
    if (!cache.isSettled(s.role)) {
      return "a staged update is under way";
    }
    Map<String, String> versions = envoyVersions(envoy);
    Map<String, String> expected = new TreeMap<>();
    expected.put("listener_manager.lds.version_text", cache.versionOf(s.role, LDS).orElse(null));
    expected.put("cluster_manager.cds.version_text", cache.versionOf(s.role, CDS).orElse(null));
    for (RouteConfiguration rc : cache.resourcesOf(s.role).routes()) {
      // Envoy writes ':' in stat names as '_' (an IPv6 listener's route configuration: listener-::-8080-routes).
      expected.put("http.http.rds." + rc.getName().replace(':', '_') + ".version_text",
          cache.versionOf(s.role, RDS).orElse(null));
    }
    for (Map.Entry<String, String> e : expected.entrySet()) {
      if (!Objects.equals(e.getValue(), versions.get(e.getKey()))) {
        return e.getKey() + " is " + versions.get(e.getKey()) + ", the cache serves " + e.getValue();
      }
    }
    if (!cache.resourcesOf(s.role).endpoints().isEmpty()) {
      return "the shard has EDS resources, whose versions this test does not check yet";
    }
    String listeners = E2eSupport.admin(envoy, "/config_dump?resource=dynamic_listeners");
    if (listeners.contains("\"warming_state\"")) {
      return "a listener is still warming";
    }
    return null;
  }

  /** Envoy's accepted version of each xDS subscription ({@code version_text} text readouts). */
  private static Map<String, String> envoyVersions(EnvoyProcess envoy) throws IOException {
    Map<String, String> out = new TreeMap<>();
    for (String line : E2eSupport.admin(envoy, "/stats?filter=version_text$").split("\n")) {
      int colon = line.lastIndexOf(": ");
      if (colon > 0) {
        out.put(line.substring(0, colon).trim(), line.substring(colon + 2).trim().replace("\"", ""));
      }
    }
    return out;
  }

  private static Map<String, Long> envoyStats(EnvoyProcess envoy, String filter) throws IOException {
    Map<String, Long> out = new TreeMap<>();
    for (String line : E2eSupport.admin(envoy, "/stats?filter=" + filter).split("\n")) {
      int colon = line.lastIndexOf(": ");
      if (colon > 0) {
        out.put(line.substring(0, colon).trim(), Long.parseLong(line.substring(colon + 2).trim()));
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ probes and what touches them

  private static Answer ask(Probe p) {
    try {
      Map<String, String> headers = p.method().equals("POST") ? Map.of("Content-Length", "0") : Map.of();
      RawHttp.Response r = RawHttp.request(p.shard().port(), p.method(), p.host(), p.path(), headers);
      return new Answer(r.status(), r.body(), r.headers().get("location"), null);
    } catch (IOException e) {
      return new Answer(0, "", null, e.getClass().getSimpleName() + ": " + e.getMessage());
    }
  }

  /** Whether the change from {@code before} to {@code now} may change what {@code p} gets (see the class comment). */
  static boolean touched(Probe p, ShardResources before, ShardResources now) {
    if (now.equals(before)) {
      return false;
    }
    if (!now.listeners().equals(before.listeners())) {
      return true;
    }
    String name = ExampleConfig.routeConfigName(p.shard().port());
    RouteConfiguration rcBefore = routeConfig(before, name);
    RouteConfiguration rcNow = routeConfig(now, name);
    if (rcBefore == null || rcNow == null) {
      return rcBefore != rcNow;
    }
    if (!rcBefore.toBuilder().clearVirtualHosts().build().equals(rcNow.toBuilder().clearVirtualHosts().build())
        || !domains(rcBefore).equals(domains(rcNow))) {
      return true;
    }
    VirtualHost vhBefore = virtualHostListing(rcBefore, p.host());
    if (vhBefore == null) {
      return false;
    }
    VirtualHost vhNow = virtualHostListing(rcNow, p.host());
    if (!vhBefore.equals(vhNow)) {
      return true;
    }
    for (String cluster : clustersOf(vhBefore)) {
      if (!Objects.equals(cluster(before, cluster), cluster(now, cluster))) {
        return true;
      }
    }
    return false;
  }

  private static RouteConfiguration routeConfig(ShardResources r, String name) {
    return r.routes().stream().filter(rc -> rc.getName().equals(name)).findFirst().orElse(null);
  }

  private static Cluster cluster(ShardResources r, String name) {
    return r.clusters().stream().filter(c -> c.getName().equals(name)).findFirst().orElse(null);
  }

  private static Map<String, List<String>> domains(RouteConfiguration rc) {
    Map<String, List<String>> out = new TreeMap<>();
    rc.getVirtualHostsList().forEach(vh -> out.put(vh.getName(), vh.getDomainsList()));
    return out;
  }

  private static VirtualHost virtualHostListing(RouteConfiguration rc, String host) {
    return rc.getVirtualHostsList().stream().filter(vh -> vh.getDomainsList().contains(host)).findFirst()
        .orElse(null);
  }

  private static List<String> clustersOf(VirtualHost vh) {
    List<String> out = new ArrayList<>();
    for (Route r : vh.getRoutesList()) {
      out.add(r.getRoute().getCluster());
      for (WeightedCluster.ClusterWeight w : r.getRoute().getWeightedClusters().getClustersList()) {
        out.add(w.getName());
      }
      r.getRoute().getRequestMirrorPoliciesList().forEach(m -> out.add(m.getCluster()));
    }
    out.removeIf(String::isEmpty);
    return out;
  }

  private static Map<Shard, ShardResources> servedResources() {
    Map<Shard, ShardResources> out = new TreeMap<>();
    for (Shard s : Shard.values()) {
      out.put(s, cache().resourcesOf(s.role));
    }
    return out;
  }

  /** Which resources of each type differ, by name. */
  private static String diff(ShardResources before, ShardResources now) {
    List<String> out = new ArrayList<>();
    for (String type : List.of(LDS, RDS, CDS)) {
      Map<String, Object> a = byName(before.ofType(type));
      Map<String, Object> b = byName(now.ofType(type));
      TreeSet<String> names = new TreeSet<>(a.keySet());
      names.addAll(b.keySet());
      for (String n : names) {
        if (!Objects.equals(a.get(n), b.get(n))) {
          out.add(type.substring(type.lastIndexOf('.') + 1) + " " + n
              + (a.get(n) == null ? " added" : b.get(n) == null ? " removed" : " changed"));
        }
      }
    }
    return String.join(", ", out);
  }

  private static Map<String, Object> byName(List<? extends Message> resources) {
    Map<String, Object> out = new TreeMap<>();
    for (Message m : resources) {
      Object name = m.getField(m.getDescriptorForType().findFieldByName("name"));
      out.put(String.valueOf(name), m);
    }
    return out;
  }

  // ------------------------------------------------------------------ reporting

  private static String report(long seed, YamlMutator.Mutation m, Result r) {
    StringBuilder sb = new StringBuilder("\n==== MUTATION FAILURE: seed " + seed + ", mutation #" + m.number() + " (" + m.kind() + "): " + m.description() + "\n");
    sb.append("replay: tools/mutation-test.sh --seed ").append(seed).append(" --first ").append(m.number())
        .append(" --count 1\n");
    sb.append("broken rules:\n");
    r.problems.forEach(p -> sb.append("  - ").append(p).append('\n'));
    sb.append("outcome: ").append(r.outcome).append('\n');
    sb.append("the mutated ").append(m.file()).append(":\n");
    String[] lines = m.text().split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      sb.append(String.format("  %3d| %s%n", i + 1, lines[i]));
    }
    if (r.translation != null) {
      sb.append("after the mutation: ").append(describeProblems(r.translation)).append('\n');
    }
    sb.append("probes after the mutation (baseline in brackets):\n");
    r.answers.forEach((p, a) -> sb.append("  ").append(p).append(": ").append(a)
        .append(a.equals(baselineAnswers.get(p)) ? "" : "   [" + baselineAnswers.get(p) + "]").append('\n'));
    if (!r.touched.isEmpty()) {
      sb.append("touched probes that changed: ").append(r.touched).append('\n');
    }
    sb.append("probes after the restore:\n");
    r.restoredAnswers.forEach((p, a) -> sb.append("  ").append(p).append(": ").append(a).append('\n'));
    sb.append("latest NACKs: ").append(cache().latestNacks()).append('\n');
    for (Shard s : Shard.values()) {
      sb.append(s).append(": settled ").append(cache().isSettled(s.role)).append(", held ")
          .append(cache().isHeld(s.role)).append(", cache versions ")
          .append(List.of(LDS, RDS, CDS).stream().map(t -> cache().versionOf(s.role, t).orElse("-")).toList())
          .append(", streams ").append(controlPlane.getBean(ShardDiscoveryServer.class).callbacks().statsOf(s.role))
          .append('\n');
    }
    sb.append("pipeline failures: ").append(pipeline().failures()).append('\n');
    sb.append("log events at WARN and above:\n");
    for (ILoggingEvent e : r.events) {
      if (e.getLevel().isGreaterOrEqual(Level.WARN)) {
        sb.append("  ").append(e.getLevel()).append(' ').append(e.getLoggerName()).append(" - ")
            .append(e.getFormattedMessage());
        if (e.getThrowableProxy() != null) {
          sb.append("\n    ").append(throwable(e.getThrowableProxy()));
        }
        sb.append('\n');
      }
    }
    for (Shard s : Shard.values()) {
      sb.append("Envoy ").append(s.envoy().name).append(" listeners: ").append(envoyListeners(s.envoy()))
          .append(", versions ").append(safely(() -> envoyVersions(s.envoy()).toString())).append('\n');
    }
    sb.append(E2eSupport.envoyLogs("mutation #" + m.number(), protectedEnvoy, noisyEnvoy));
    return sb.toString();
  }

  /** The Envoy's dynamic listeners, each with its states (active, warming, draining) and its last update's error. */
  private static String envoyListeners(EnvoyProcess envoy) {
    return safely(() -> {
      List<String> out = new ArrayList<>();
      String json = E2eSupport.admin(envoy, "/config_dump?resource=dynamic_listeners");
      Object dump = new Yaml(new LoaderOptions()).load(json);
      if (dump instanceof Map<?, ?> d && d.get("configs") instanceof List<?> configs) {
        for (Object c : configs) {
          if (c instanceof Map<?, ?> l) {
            List<String> states = new ArrayList<>();
            for (String state : List.of("active_state", "warming_state", "draining_state")) {
              if (l.containsKey(state)) {
                states.add(state.replace("_state", ""));
              }
            }
            out.add(l.get("name") + " " + states + (l.get("error_state") instanceof Map<?, ?> e
                ? " (last update failed: " + e.get("details") + ")" : ""));
          }
        }
      }
      return out.toString();
    });
  }

  private interface Read {
    String get() throws IOException;
  }

  private static String safely(Read read) {
    try {
      return read.get();
    } catch (IOException | RuntimeException | AssertionError e) {
      return "(cannot read: " + e + ")";
    }
  }

  /** The statuses that are not Accepted, the source's problems and the documents that are not read. */
  private static String describeProblems(Translation t) {
    StringBuilder sb = new StringBuilder();
    t.gateway().statuses().values().stream().filter(s -> s.state() != ResourceState.ACCEPTED)
        .forEach(s -> sb.append("\n  ").append(s.state()).append(' ').append(s.key()).append(": ").append(s.reason()));
    t.input().problems().forEach(p -> sb.append("\n  source ").append(p.severity()).append(' ').append(p));
    t.gateway().documentProblems().forEach(p -> sb.append("\n  not read: ").append(p));
    return sb.length() == 0 ? "every resource Accepted, no problems" : sb.toString();
  }

  private static String throwable(IThrowableProxy t) {
    StringBuilder sb = new StringBuilder();
    for (IThrowableProxy x = t; x != null; x = x.getCause()) {
      sb.append(sb.length() == 0 ? "" : " caused by ").append(x.getClassName()).append(": ").append(x.getMessage());
      if (x.getStackTraceElementProxyArray().length > 0) {
        sb.append(" at ").append(x.getStackTraceElementProxyArray()[0].getSTEAsString());
      }
    }
    return sb.toString();
  }

  // ------------------------------------------------------------------ helpers

  /** Replaces the file as editors save: a hidden temporary file (which the source ignores) moved over it. */
  private static void write(String file, byte[] content) throws IOException {
    Path target = config.file(file);
    Path temp = target.resolveSibling("." + target.getFileName() + ".mutation");
    Files.write(temp, content);
    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private static String relative(Path file) {
    StringBuilder sb = new StringBuilder();
    for (Path segment : config.dir().relativize(file)) {
      sb.append(sb.length() == 0 ? "" : "/").append(segment);
    }
    return sb.toString();
  }

  private static String sha256(byte[] content) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static ShardPipeline pipeline() {
    return controlPlane.getBean(ShardPipeline.class);
  }

  private static ShardSnapshotCache cache() {
    return controlPlane.getBean(ShardSnapshotCache.class);
  }

  /** Every log event of the process while the test runs, in order; the control plane logs through Logback. */
  private static final class LogCapture extends AppenderBase<ILoggingEvent> {
    private final List<ILoggingEvent> events = new ArrayList<>();

    void attach() {
      LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
      setContext(context);
      setName("mutation-test-capture");
      start();
      context.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(this);
    }

    void detach() {
      LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
      context.getLogger(Logger.ROOT_LOGGER_NAME).detachAppender(this);
      stop();
    }

    @Override
    protected void append(ILoggingEvent event) {
      event.prepareForDeferredProcessing();
      synchronized (events) {
        events.add(event);
      }
    }

    int size() {
      synchronized (events) {
        return events.size();
      }
    }

    List<ILoggingEvent> since(int index) {
      synchronized (events) {
        return new ArrayList<>(events.subList(index, events.size()));
      }
    }
  }
}
