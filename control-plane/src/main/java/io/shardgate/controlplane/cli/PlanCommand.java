package io.shardgate.controlplane.cli;

import io.shardgate.controlplane.pipeline.Translation;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.plan.EdgePlan;
import io.shardgate.sharding.plan.ShardPlan;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code plan}: which VirtualServices, routes and Upstreams land on which shard; conflicts; the edge's routes. */
@Command(
    name = "plan",
    mixinStandardHelpOptions = true,
    description = {
      "Show the shard plan of a config directory. Per shard: its Gateways, its",
      "VirtualServices with their domains, its route count, the Upstreams its routes",
      "reach (its only clusters, unless shardgate.allUpstreamsPerShard) and its",
      "fingerprint, which changes exactly when something the shard depends on changes.",
      "Then the domains more than one shard claims, and the edge shard's routes when",
      "spec.shardgate.edge.enabled is true in Settings.",
      "Exits 1 when the plan has errors (a domain two shards claim while the edge is",
      "enabled), 2 when the directory cannot be read."
    })
public final class PlanCommand implements Callable<Integer> {

  /** Injected by picocli: its writers are the terminal, or whatever a caller set with setOut/setErr. */
  @Spec CommandSpec spec;

  @Mixin ConfigDirInput input;

  @Override
  public Integer call() {
    Translation t = input.translate();
    if (t == null) {
      return 2;
    }
    PrintWriter out = spec.commandLine().getOut();
    print(t.plan(), out);
    out.flush();
    Inputs.printProblemSummary(t, spec.commandLine().getErr());
    return t.plan().errors().isEmpty() ? 0 : 1;
  }

  /** The plan as text for people. */
  static void print(ShardPlan plan, PrintWriter out) {
    if (plan.shards().isEmpty()) {
      out.println("No shards: no Gateway in " + plan.writeNamespace() + " feeds a proxy.");
    }
    for (ShardPlan.Shard s : plan.shards().values()) {
      out.println("Shard " + s.proxyName() + "  (role " + s.role() + ")");
      Rows rows = new Rows();
      rows.add("fingerprint", s.fingerprint());
      rows.add("gateways", keys(s.gateways()));
      if (s.virtualHosts().isEmpty()) {
        rows.add("virtual services", "-");
      }
      for (int i = 0; i < s.virtualHosts().size(); i++) {
        ShardPlan.VirtualHostPlan vh = s.virtualHosts().get(i);
        rows.add(i == 0 ? "virtual services" : "",
            vh.virtualService().ref() + "  " + String.join(", ", vh.domains()) + "  (" + vh.routes()
                + (vh.routes() == 1 ? " route, " : " routes, ") + vh.listener() + ")");
      }
      rows.add("routes", String.valueOf(s.routes()));
      rows.add("route tables", keys(s.routeTables()));
      rows.add("upstream groups", keys(s.upstreamGroups()));
      rows.add("upstreams", refs(s.upstreams()));
      if (!s.missingUpstreams().isEmpty()) {
        rows.add("missing upstreams", refs(s.missingUpstreams()) + "  (routes to them fail until they exist)");
      }
      rows.add("clusters", plan.allUpstreamsPerShard()
          ? "every Upstream (shardgate.allUpstreamsPerShard: true)"
          : "the upstreams above");
      rows.print(out);
      out.println();
    }

    out.println("Domains claimed by more than one shard");
    if (plan.domainConflicts().isEmpty()) {
      out.println("  none");
    } else {
      Rows rows = new Rows();
      for (ShardPlan.DomainConflict c : plan.domainConflicts()) {
        rows.add(c.domain(), c.claimants().entrySet().stream()
            .map(e -> e.getKey() + " (" + keys(e.getValue()) + ")")
            .collect(Collectors.joining(", ")));
      }
      rows.print(out);
      out.println(plan.edge() != null
          ? "  The edge routes none of these domains; each claimant VirtualService is rejected until one shard"
              + " claims it."
          : "  Without the edge shard each shard serves its own copy; with the edge enabled these are errors.");
    }
    out.println();

    EdgePlan edge = plan.edge();
    if (edge == null) {
      out.println("Edge: not built (enable it with spec.shardgate.edge.enabled: true in Settings)");
    } else {
      out.println("Edge " + edge.proxyName() + "  (role " + edge.role() + ")");
      Rows rows = new Rows();
      rows.add("fingerprint", edge.fingerprint());
      rows.add("http listener", edge.httpListener().toString());
      rows.add("tls listener", edge.hasTlsListener()
          ? edge.tlsListener() + " (by SNI; tlsMode " + edge.tlsMode().settingName() + ")"
          : "none (no shard with an address in shardTlsAddresses terminates TLS)");
      rows.print(out);
      Rows routes = new Rows();
      routes.add("DOMAIN", "SHARD", "HTTP TO", "TLS TO");
      List<String[]> lines = new ArrayList<>();
      for (EdgePlan.Target target : edge.targets()) {
        for (String d : target.domains()) {
          lines.add(new String[] {
            d,
            target.shard(),
            target.http() == null ? "-" : target.http().toString(),
            target.tls() == null ? "-"
                : target.serverNames().contains(d) ? target.tls() + " (passthrough)"
                : target.tlsDomains().contains(d) ? target.tls() + " (terminated at the edge)"
                : "-"});
        }
      }
      lines.sort((a, b) -> a[0].compareTo(b[0]));
      lines.forEach(routes::add);
      routes.add("(any other host)", "-", "404 at the edge", "connection closed");
      out.println("  routes:");
      routes.print(out, "    ");
    }

    if (!plan.errors().isEmpty() || !plan.warnings().isEmpty()) {
      out.println();
      out.println("Problems found by the plan");
      plan.errors().forEach((k, ms) -> ms.forEach(m -> out.println("  error    " + k + ": " + m)));
      plan.warnings().forEach((k, ms) -> ms.forEach(m -> out.println("  warning  " + k + ": " + m)));
    }
  }

  private static String keys(Collection<ResourceKey> keys) {
    return keys.isEmpty() ? "-" : keys.stream().map(ResourceKey::toString).collect(Collectors.joining(", "));
  }

  private static String refs(Collection<ResourceRef> refs) {
    return refs.isEmpty() ? "-" : refs.stream().map(ResourceRef::toString).collect(Collectors.joining(", "));
  }

  /** Rows whose columns are padded to a common width. */
  private static final class Rows {
    private final List<String[]> rows = new ArrayList<>();

    void add(String... cells) {
      rows.add(cells);
    }

    void print(PrintWriter out) {
      print(out, "  ");
    }

    void print(PrintWriter out, String indent) {
      int columns = rows.stream().mapToInt(r -> r.length).max().orElse(0);
      int[] widths = new int[columns];
      for (String[] r : rows) {
        for (int i = 0; i < r.length - 1; i++) {
          widths[i] = Math.max(widths[i], r[i].length());
        }
      }
      for (String[] r : rows) {
        StringBuilder sb = new StringBuilder(indent);
        for (int i = 0; i < r.length; i++) {
          sb.append(r[i]);
          if (i < r.length - 1) {
            sb.append(" ".repeat(widths[i] - r[i].length() + 2));
          }
        }
        out.println(sb.toString().stripTrailing());
      }
    }
  }
}
