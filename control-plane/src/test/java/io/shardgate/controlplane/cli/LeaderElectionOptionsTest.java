package io.shardgate.controlplane.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.controlplane.status.LeaderElection;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The leader-election options of {@code serve --kubernetes}: documented by {@code --help}, parsed into the election's
 * options (defaults 15 s / 10 s / 2 s), and durations that cannot work are one {@code error:} line, exit 2.
 */
class LeaderElectionOptionsTest {

  @Test
  void helpDocumentsTheOptions() {
    StringWriter out = new StringWriter();
    int exit = new CommandLine(new ShardgateCli()).setOut(new PrintWriter(out, true)).execute("serve", "--help");
    assertEquals(0, exit);
    String help = out.toString().replaceAll("\\s+", " ");
    for (String option : new String[] {"--leader-election-namespace=NS", "--leader-election-id=NAME",
        "--leader-election-identity=NAME", "--leader-election-lease-duration=DURATION",
        "--leader-election-renew-deadline=DURATION", "--leader-election-retry-period=DURATION"}) {
      assertTrue(help.contains(option), () -> option + " in " + help);
    }
    assertTrue(help.contains("(default: shardgate-status-writer)"), help);
  }

  @Test
  void parsesDurationsAndKeepsTheDefaults() {
    LeaderElectionOptions o = new LeaderElectionOptions();
    new CommandLine(o).parseArgs("--leader-election-namespace", "ops", "--leader-election-identity", "pod-1",
        "--leader-election-lease-duration", "3000ms", "--leader-election-renew-deadline", "2s",
        "--leader-election-retry-period", "500ms");
    LeaderElection.Options options = o.toOptions();
    assertEquals("ops", options.namespace());
    assertEquals(LeaderElection.DEFAULT_ID, options.name());
    assertEquals("pod-1", options.identity());
    assertEquals(Duration.ofSeconds(3), options.leaseDuration());
    assertEquals(Duration.ofSeconds(2), options.renewDeadline());
    assertEquals(Duration.ofMillis(500), options.retryPeriod());

    LeaderElectionOptions defaults = new LeaderElectionOptions();
    new CommandLine(defaults).parseArgs();
    assertEquals(LeaderElection.DEFAULT_LEASE, defaults.toOptions().leaseDuration());
    assertEquals(LeaderElection.DEFAULT_RENEW, defaults.toOptions().renewDeadline());
    assertEquals(LeaderElection.DEFAULT_RETRY, defaults.toOptions().retryPeriod());
  }

  @Test
  void aLeaseShorterThanTheRenewDeadlineIsAnError() {
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new ShardgateCli()).setErr(new PrintWriter(err, true))
        .execute("serve", "--kubernetes", "--leader-election-lease-duration", "5s");
    assertEquals(2, exit, err::toString);
    assertEquals("error: leader election needs lease duration (PT5S) > renew deadline (PT10S) > retry period (PT2S)",
        err.toString().strip());
  }
}
