package io.shardgate.controlplane.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.shardgate.controlplane.golden.Diff;
import io.shardgate.controlplane.render.TranslationOutput;
import io.shardgate.controlplane.render.Trees;
import io.shardgate.controlplane.secret.TestSecrets;
import io.shardgate.controlplane.source.SourceException;
import io.shardgate.controlplane.source.YamlDocumentReader;
import io.shardgate.controlplane.xds.EndpointTranslator;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.discovery.DiscoveredUpstreams;
import io.shardgate.sharding.discovery.EndpointState;
import io.shardgate.sharding.discovery.KubeEndpoint;
import io.shardgate.sharding.discovery.ServiceEndpoints;
import io.shardgate.sharding.secret.KubeSecret;
import io.shardgate.sharding.secret.SecretState;
import io.shardgate.sharding.secret.TlsSecretCatalog;
import io.shardgate.sharding.translate.LastGood;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The incremental engine gives exactly what a translation from scratch gives, after every step of long randomized
 * edit sequences: byte for byte in every status, Proxy, xDS resource, plan fingerprint and last good state.
 *
 * <p>Each step applies one random edit to a generated configuration of several shards (label selectors,
 * expressions and references; delegation by reference and by selector, nested, with weights; Upstreams,
 * UpstreamGroups, Settings) and then translates the whole input twice: with the long-lived {@link TranslationEngine}
 * the pipeline uses, and with a fresh engine. Both carry their own last good state from step to step, as the
 * pipeline does. Edits include the ones that move resources between shards or change which resources are rejected:
 * label and selector changes, domain conflicts, delegation cycles, routes without actions, documents that stop
 * decoding, deletions, Settings policy changes. Kube Upstreams, kube destinations and the Upstreams discovery writes
 * for Service ports appear and disappear, and Service endpoints change on their own (the documents then are the very
 * same objects, which the engine serves by rebuilding load assignments alone). Unchanged documents are handed over as
 * the very same objects, as the directory and Kubernetes sources do, so the caches are exercised as in production.
 *
 * <p>{@code -Dshardgate.incremental.steps=N} and {@code -Dshardgate.incremental.seeds=K} run longer (the defaults keep
 * the suite fast).
 */
class IncrementalTranslationTest {

  private static final int STEPS = Integer.getInteger("shardgate.incremental.steps", 250);
  private static final int SEEDS = Integer.getInteger("shardgate.incremental.seeds", 5);

  @TestFactory
  Stream<DynamicTest> incrementalEqualsFromScratch() {
    return Stream.iterate(1L, s -> s + 1).limit(SEEDS)
        .map(seed -> DynamicTest.dynamicTest("seed " + seed, () -> run(seed)));
  }

  private static void run(long seed) throws SourceException {
    Random random = new Random(seed);
    Random tlsRandom = new Random(-seed);
    Config config = Config.generate(random);
    config.addTls(tlsRandom);
    TranslationEngine engine = new TranslationEngine();
    LastGood incrementalLastGood = LastGood.EMPTY;
    LastGood freshLastGood = LastGood.EMPTY;
    Parser parser = new Parser();
    TlsSecretCatalog freshSecrets = TlsSecretCatalog.EMPTY;
    int reused = 0;
    int servedSecrets = 0;
    int endpointOnly = 0;
    int servedEndpoints = 0;
    for (int step = 0; step <= STEPS; step++) {
      // TLS edits come from their own stream, so every other edit of a seed is what it was before TLS existed.
      String edit = step == 0 ? "initial" : tlsRandom.nextInt(8) == 0 ? config.mutateTls(tlsRandom)
          : config.mutate(random);
      ConfigInput input = parser.input(config.files(), config.endpointState(), config.secretState());
      Translation incremental = engine.translate(input, incrementalLastGood);
      // The secrets' last good content is state beside LastGood: the fresh engine starts from its own, as it did.
      TranslationEngine freshEngine = new TranslationEngine(freshSecrets);
      Translation fresh = freshEngine.translate(input, freshLastGood);
      freshSecrets = freshEngine.secretCatalog();
      String where = "seed " + seed + ", step " + step + " (" + edit + ")";
      boolean same = fresh.gateway().equals(incremental.gateway()) && fresh.xds().equals(incremental.xds())
          && fresh.plan().equals(incremental.plan());
      if (!same) {
        // Rendered only on a mismatch: the renders are what a reviewer reads, and what costs most.
        String a = Trees.yaml(TranslationOutput.full(fresh.gateway()));
        String b = Trees.yaml(TranslationOutput.full(incremental.gateway()));
        if (!a.equals(b)) {
          fail(where + ": the incremental translation differs from a fresh one\n" + Diff.unified(a, b)
              + "\nconfig:\n" + config.files());
        }
        for (String role : fresh.xds().keySet()) {
          String x = Trees.yaml(TranslationOutput.xds(fresh.xds().get(role), true));
          Object other = incremental.xds().get(role);
          String y = Trees.yaml(other == null ? "none" : TranslationOutput.xds(incremental.xds().get(role), true));
          if (!x.equals(y)) {
            fail(where + ": xDS resources of " + role + " differ\n" + Diff.unified(x, y));
          }
        }
        assertEquals(fresh.xds(), incremental.xds(), where + ": xDS resources");
        assertEquals(fresh.plan(), incremental.plan(), where + ": shard plan");
        assertEquals(fresh.gateway(), incremental.gateway(), where + ": gateway translation");
      }
      freshLastGood = fresh.gateway().lastGood();
      incrementalLastGood = incremental.gateway().lastGood();
      reused += fresh.xds().size() - incremental.translated().size();
      endpointOnly += incremental.endpointsOnly() ? 1 : 0;
      servedEndpoints += incremental.xds().values().stream()
          .mapToInt(x -> x.endpoints().stream().mapToInt(EndpointTranslator::endpointCount).sum()).sum();
      servedSecrets += incremental.xds().values().stream().mapToInt(x -> x.secrets().size()).sum();
    }
    assertTrue(servedSecrets > 0, "seed " + seed + ": no shard ever served an SDS secret");
    assertTrue(engine.secretPasses() > 0, "seed " + seed + ": no secret-only step");
    // The generator must reach what it is for: endpoint-only passes, and EDS clusters that get endpoints.
    assertTrue(endpointOnly > 0, "seed " + seed + ": no endpoint-only step");
    assertTrue(servedEndpoints > 0, "seed " + seed + ": no EDS cluster ever had an endpoint");
    // The point of the engine: most steps reuse most shards.
    assertTrue(reused > STEPS / 2, "seed " + seed + ": shards reused " + reused + " times in " + STEPS + " steps");
  }

  /** Parses each file once per distinct text, so unchanged files give the very same document objects. */
  private static final class Parser {
    private final Map<String, Map.Entry<String, List<SourceDocument>>> parsed = new HashMap<>();

    ConfigInput input(Map<String, String> files, EndpointState endpoints, SecretState secrets)
        throws SourceException {
      List<SourceDocument> docs = new ArrayList<>();
      for (Map.Entry<String, String> f : files.entrySet()) {
        Map.Entry<String, List<SourceDocument>> p = parsed.get(f.getKey());
        if (p == null || !p.getKey().equals(f.getValue())) {
          p = Map.entry(f.getValue(), new YamlDocumentReader().read(f.getKey(), f.getValue()));
          parsed.put(f.getKey(), p);
        }
        docs.addAll(p.getValue());
      }
      return new ConfigInput("generated", docs, List.of(), endpoints, secrets);
    }
  }

  /** A generated configuration: one resource per file, rendered from a small model that edits change. */
  private static final class Config {
    private static final String[] NAMESPACES = {"team-a", "team-b", "shared"};
    private static final String[] PREFIXES = {"/", "/a", "/a/b", "/a/b/c", "/b", "/b/x", "/c"};
    private static final String[] PROXIES = {"proxy-one", "proxy-two", "proxy-three"};
    private static final String[] SHARD_LABELS = {"one", "two", "three", "none"};
    private static final String[] SERVICES = {"svc-a", "svc-b"};
    private static final int[] SERVICE_PORTS = {80, 81};
    private static final String[] SECRETS = {"tls-a", "tls-b", "tls-c"};
    private static final String[] SECRET_CONTENTS = {"v1", "v2", "bad"};

    final Map<String, Gw> gateways = new TreeMap<>();
    final Map<String, Vs> virtualServices = new TreeMap<>();
    final Map<String, Rt> routeTables = new TreeMap<>();
    final Map<String, Us> upstreams = new TreeMap<>();
    final Map<String, Ug> groups = new TreeMap<>();
    /** Service key to its endpoints; an edit replaces one Service's object and keeps the others'. */
    final Map<String, ServiceEndpoints> endpoints = new TreeMap<>();
    /** Secret name (in namespace shared) to its content: v1, v2 (valid), bad (key not matching); absent: missing. */
    final Map<String, String> secrets = new TreeMap<>();
    boolean replaceInvalidRoutes;
    boolean readAllNamespaces;
    boolean settingsBroken;
    int counter;

    record Route(String prefix, String action, String target, String selectorLabel, String selectorNamespace) {}

    static final class Gw {
      String name;
      String namespace = "gloo-system";
      List<String> proxies = new ArrayList<>();
      int port;
      String selection; // label, expression, refs, all
      String shard;
      List<String> refs = new ArrayList<>();
      boolean broken;
      boolean noType;
      boolean ssl;
    }

    static final class Vs {
      String name;
      String namespace;
      Map<String, String> labels = new TreeMap<>();
      List<String> domains = new ArrayList<>();
      List<Route> routes = new ArrayList<>();
      boolean broken;
      /** The secretRef of its sslConfig (namespace shared), or null for none. */
      String secret;
    }

    static final class Rt {
      String name;
      String namespace;
      Map<String, String> labels = new TreeMap<>();
      int weight;
      List<Route> routes = new ArrayList<>();
      boolean broken;
    }

    static final class Us {
      String name;
      String namespace;
      int port;
      boolean broken;
      /** Non-null for a kube Upstream: the Service (in its namespace) and port. */
      String service;
      int servicePort;
      /** Written by discovery (in gloo-system, labelled discovered_by) for {@code serviceNamespace/service}. */
      boolean discovered;
      String serviceNamespace;
    }

    static final class Ug {
      String name;
      String namespace;
      List<String> destinations = new ArrayList<>();
    }

    static Config generate(Random r) {
      Config c = new Config();
      for (int i = 0; i < 6; i++) {
        c.addUpstream(r);
      }
      for (int i = 0; i < 3; i++) {
        c.toggleDiscovered(r);
      }
      for (int i = 0; i < 6; i++) {
        c.changeEndpoints(r);
      }
      for (int i = 0; i < 2; i++) {
        c.addGroup(r);
      }
      for (int i = 0; i < 4; i++) {
        c.addGateway(r);
      }
      for (int i = 0; i < 10; i++) {
        c.addRouteTable(r);
      }
      for (int i = 0; i < 8; i++) {
        c.addVirtualService(r);
      }
      return c;
    }

    /**
     * Makes some Gateways SSL and gives some VirtualServices a secretRef, with {@code r} its own random stream so the
     * rest of the generated configuration stays what it was for each seed.
     */
    void addTls(Random r) {
      for (String name : SECRETS) {
        secrets.put(name, "v1");
      }
      gateways.values().forEach(g -> g.ssl = r.nextInt(3) == 0);
      virtualServices.values().forEach(v -> v.secret = r.nextBoolean() ? pick(r, SECRETS) : null);
    }

    private static <T> T pick(Random r, T[] values) {
      return values[r.nextInt(values.length)];
    }

    private static <T> T pick(Random r, List<T> values) {
      return values.get(r.nextInt(values.size()));
    }

    private String id(String kind) {
      return kind + "-" + (counter++);
    }

    void addUpstream(Random r) {
      Us u = new Us();
      u.name = id("us");
      u.namespace = pick(r, NAMESPACES);
      u.port = 9000 + r.nextInt(50);
      if (r.nextInt(3) == 0) {
        u.service = pick(r, SERVICES);
        u.servicePort = SERVICE_PORTS[r.nextInt(SERVICE_PORTS.length)];
      }
      upstreams.put(u.namespace + "/" + u.name, u);
    }

    /** Discovery's Upstream for a random Service port appears, or disappears when it is there. */
    String toggleDiscovered(Random r) {
      String ns = pick(r, NAMESPACES);
      String svc = pick(r, SERVICES);
      int port = SERVICE_PORTS[r.nextInt(SERVICE_PORTS.length)];
      String key = "gloo-system/" + DiscoveredUpstreams.name(ns, svc, port);
      if (upstreams.remove(key) != null) {
        return "Service port disappears: " + key;
      }
      Us u = new Us();
      u.name = DiscoveredUpstreams.name(ns, svc, port);
      u.namespace = "gloo-system";
      u.discovered = true;
      u.service = svc;
      u.serviceNamespace = ns;
      u.servicePort = port;
      upstreams.put(key, u);
      return "Service port appears: " + key;
    }

    /** One Service's endpoints change (a new object); the other Services keep theirs. */
    String changeEndpoints(Random r) {
      String ns = pick(r, NAMESPACES);
      String svc = pick(r, SERVICES);
      if (r.nextInt(5) == 0) {
        endpoints.remove(ns + "/" + svc);
        return "endpoints of " + ns + "/" + svc + " gone";
      }
      Map<Integer, List<KubeEndpoint>> byPort = new TreeMap<>();
      for (int port : SERVICE_PORTS) {
        List<KubeEndpoint> list = new ArrayList<>();
        for (int i = 0; i < r.nextInt(4); i++) {
          list.add(new KubeEndpoint("10.0." + r.nextInt(3) + "." + r.nextInt(250), 8000 + r.nextInt(3),
              r.nextInt(4) == 0 ? KubeEndpoint.Health.DRAINING : KubeEndpoint.Health.READY,
              new TreeMap<>(Map.of("app", svc)), r.nextBoolean() ? "zone-a" : ""));
        }
        byPort.put(port, list);
      }
      ServiceEndpoints se = new ServiceEndpoints(ns, svc, byPort);
      endpoints.put(se.key(), se);
      return "endpoints of " + se.key();
    }

    /** The secrets as a source hands them over: an unchanged secret is the very object it was. */
    SecretState secretState() {
      SortedMap<String, KubeSecret> out = new TreeMap<>();
      secrets.forEach((name, content) -> out.put("shared/" + name, SecretPool.secret(name, content)));
      return new SecretState(out);
    }

    EndpointState endpointState() {
      return new EndpointState(new TreeMap<>(endpoints));
    }

    void addGroup(Random r) {
      Ug g = new Ug();
      g.name = id("ug");
      g.namespace = pick(r, NAMESPACES);
      for (int i = 0; i < 1 + r.nextInt(2); i++) {
        g.destinations.add(randomUpstreamRef(r));
      }
      groups.put(g.namespace + "/" + g.name, g);
    }

    void addGateway(Random r) {
      Gw g = new Gw();
      g.name = id("gw");
      g.proxies.add(pick(r, PROXIES));
      if (r.nextInt(4) == 0) {
        g.proxies.add(pick(r, PROXIES));
      }
      g.port = 8080 + r.nextInt(3);
      g.selection = pick(r, new String[] {"label", "label", "expression", "refs", "all"});
      g.shard = pick(r, SHARD_LABELS);
      gateways.put(g.name, g);
    }

    void addVirtualService(Random r) {
      Vs v = new Vs();
      v.name = id("vs");
      v.namespace = pick(r, NAMESPACES);
      v.labels.put("shard", pick(r, SHARD_LABELS));
      if (r.nextBoolean()) {
        v.labels.put("team", pick(r, NAMESPACES));
      }
      v.domains.add(v.name + ".example.com");
      if (r.nextInt(5) == 0) {
        v.domains.add("shared.example.com");
      }
      for (int i = 0; i < 1 + r.nextInt(3); i++) {
        v.routes.add(randomRoute(r, "/"));
      }
      virtualServices.put(v.namespace + "/" + v.name, v);
    }

    void addRouteTable(Random r) {
      Rt t = new Rt();
      t.name = id("rt");
      t.namespace = pick(r, NAMESPACES);
      t.labels.put("delegate", pick(r, new String[] {"x", "y", "z"}));
      t.weight = r.nextInt(3);
      for (int i = 0; i < 1 + r.nextInt(3); i++) {
        t.routes.add(randomRoute(r, pick(r, PREFIXES)));
      }
      routeTables.put(t.namespace + "/" + t.name, t);
    }

    private String randomUpstreamRef(Random r) {
      if (upstreams.isEmpty() || r.nextInt(8) == 0) {
        return pick(r, NAMESPACES) + "/missing";
      }
      return pick(r, new ArrayList<>(upstreams.keySet()));
    }

    private Route randomRoute(Random r, String base) {
      String prefix = pick(r, PREFIXES);
      if (r.nextBoolean() && !base.equals("/")) {
        prefix = base + (r.nextBoolean() ? "" : "/" + (char) ('a' + r.nextInt(3)));
      }
      return switch (r.nextInt(10)) {
        case 0, 1 -> new Route(prefix, "direct", String.valueOf(200 + r.nextInt(5)), null, null);
        case 2 -> new Route(prefix, "forward", randomUpstreamRef(r), null, null);
        case 3 -> r.nextBoolean() ? new Route(prefix, "forward", randomUpstreamRef(r), null, null)
            : new Route(prefix, "kube", pick(r, NAMESPACES) + "/" + pick(r, SERVICES),
                String.valueOf(SERVICE_PORTS[r.nextInt(SERVICE_PORTS.length)]), null);
        case 4 -> new Route(prefix, "group", groups.isEmpty() ? "shared/none" : pick(r, new ArrayList<>(groups.keySet())),
            null, null);
        case 5, 6 -> new Route(prefix, "delegateRef",
            routeTables.isEmpty() || r.nextInt(8) == 0 ? "shared/missing" : pick(r, new ArrayList<>(routeTables.keySet())),
            null, null);
        case 7, 8 -> new Route(prefix, "delegateSelector", null, pick(r, new String[] {"x", "y", "z"}),
            r.nextInt(4) == 0 ? "*" : pick(r, NAMESPACES));
        default -> new Route(prefix, r.nextInt(3) == 0 ? "none" : "direct", "404", null, null);
      };
    }

    /** Applies one random TLS edit (secret content, secretRefs, SSL Gateways) and says what it was. */
    String mutateTls(Random r) {
      switch (r.nextInt(4)) {
        case 0 -> {
          String name = pick(r, SECRETS);
          secrets.put(name, "v1".equals(secrets.get(name)) ? "v2" : "v1");
          return "rotate secret " + name + " to " + secrets.get(name);
        }
        case 1 -> {
          String name = pick(r, SECRETS);
          if (r.nextBoolean()) {
            secrets.put(name, "bad");
            return "break secret " + name;
          }
          secrets.remove(name);
          return "delete secret " + name;
        }
        case 2 -> {
          Vs v = pick(r, new ArrayList<>(virtualServices.values()));
          v.secret = v.secret == null || r.nextBoolean() ? pick(r, SECRETS) : null;
          return "sslConfig of " + v.name + ": " + v.secret;
        }
        default -> {
          Gw g = pick(r, new ArrayList<>(gateways.values()));
          g.ssl = !g.ssl;
          return "ssl of " + g.name + ": " + g.ssl;
        }
      }
    }

    /** Applies one random edit and says what it was. */
    String mutate(Random r) {
      int kind = r.nextInt(30);
      switch (kind) {
        case 26, 27 -> {
          return changeEndpoints(r);
        }
        case 28 -> {
          return toggleDiscovered(r);
        }
        case 29 -> {
          Us u = pick(r, new ArrayList<>(upstreams.values()));
          if (u.discovered) {
            return toggleDiscovered(r);
          }
          if (u.service == null) {
            u.service = pick(r, SERVICES);
          }
          u.servicePort = SERVICE_PORTS[r.nextInt(SERVICE_PORTS.length)];
          return "Service port of " + u.name;
        }
        case 0, 1, 2 -> {
          Vs v = pick(r, new ArrayList<>(virtualServices.values()));
          if (v == null) {
            return "none";
          }
          int i = r.nextInt(v.routes.size() + 1);
          if (i == v.routes.size() || v.routes.size() == 0) {
            v.routes.add(randomRoute(r, "/"));
          } else if (r.nextBoolean() && v.routes.size() > 1) {
            v.routes.remove(i);
          } else {
            v.routes.set(i, randomRoute(r, "/"));
          }
          return "route of " + v.name;
        }
        case 3, 4 -> {
          Vs v = pick(r, new ArrayList<>(virtualServices.values()));
          v.labels.put("shard", pick(r, SHARD_LABELS));
          return "shard label of " + v.name;
        }
        case 5 -> {
          Vs v = pick(r, new ArrayList<>(virtualServices.values()));
          v.domains.set(0, r.nextBoolean() ? "shared.example.com" : v.name + ".example.com");
          return "domain of " + v.name;
        }
        case 6, 7, 8 -> {
          Rt t = pick(r, new ArrayList<>(routeTables.values()));
          int i = r.nextInt(t.routes.size());
          t.routes.set(i, randomRoute(r, t.routes.get(i).prefix()));
          return "route of " + t.name;
        }
        case 9 -> {
          Rt t = pick(r, new ArrayList<>(routeTables.values()));
          t.labels.put("delegate", pick(r, new String[] {"x", "y", "z"}));
          return "delegate label of " + t.name;
        }
        case 10 -> {
          Rt t = pick(r, new ArrayList<>(routeTables.values()));
          t.weight = r.nextInt(3);
          return "weight of " + t.name;
        }
        case 11 -> {
          if (routeTables.size() > 4 && r.nextBoolean()) {
            String key = pick(r, new ArrayList<>(routeTables.keySet()));
            routeTables.remove(key);
            return "delete " + key;
          }
          addRouteTable(r);
          return "add a route table";
        }
        case 12 -> {
          if (virtualServices.size() > 3 && r.nextBoolean()) {
            String key = pick(r, new ArrayList<>(virtualServices.keySet()));
            virtualServices.remove(key);
            return "delete " + key;
          }
          addVirtualService(r);
          return "add a virtual service";
        }
        case 13 -> {
          if (upstreams.size() > 2 && r.nextBoolean()) {
            String key = pick(r, new ArrayList<>(upstreams.keySet()));
            upstreams.remove(key);
            return "delete " + key;
          }
          addUpstream(r);
          return "add an upstream";
        }
        case 14 -> {
          Us u = pick(r, new ArrayList<>(upstreams.values()));
          u.port = 9000 + r.nextInt(50);
          return "port of " + u.name;
        }
        case 15 -> {
          Vs v = pick(r, new ArrayList<>(virtualServices.values()));
          v.broken = !v.broken;
          return (v.broken ? "break " : "fix ") + v.name;
        }
        case 16 -> {
          Rt t = pick(r, new ArrayList<>(routeTables.values()));
          t.broken = !t.broken;
          return (t.broken ? "break " : "fix ") + t.name;
        }
        case 17 -> {
          Us u = pick(r, new ArrayList<>(upstreams.values()));
          u.broken = !u.broken;
          return (u.broken ? "break " : "fix ") + u.name;
        }
        case 18 -> {
          Gw g = pick(r, new ArrayList<>(gateways.values()));
          g.shard = pick(r, SHARD_LABELS);
          g.selection = pick(r, new String[] {"label", "expression", "refs", "all"});
          g.refs.clear();
          if (g.selection.equals("refs")) {
            for (int i = 0; i < 2; i++) {
              g.refs.add(r.nextInt(5) == 0 ? "shared/missing" : pick(r, new ArrayList<>(virtualServices.keySet())));
            }
          }
          return "selection of " + g.name;
        }
        case 19 -> {
          Gw g = pick(r, new ArrayList<>(gateways.values()));
          g.proxies.clear();
          g.proxies.add(pick(r, PROXIES));
          g.port = 8080 + r.nextInt(3);
          return "proxy and port of " + g.name;
        }
        case 20 -> {
          Gw g = pick(r, new ArrayList<>(gateways.values()));
          if (r.nextBoolean()) {
            g.broken = !g.broken;
            return (g.broken ? "break " : "fix ") + g.name;
          }
          g.noType = !g.noType;
          return (g.noType ? "take the httpGateway of " : "give back the httpGateway of ") + g.name;
        }
        case 21 -> {
          replaceInvalidRoutes = !replaceInvalidRoutes;
          return "replaceInvalidRoutes " + replaceInvalidRoutes;
        }
        case 22 -> {
          if (r.nextBoolean()) {
            settingsBroken = !settingsBroken;
            return (settingsBroken ? "break" : "fix") + " the settings";
          }
          readAllNamespaces = !readAllNamespaces;
          Gw g = pick(r, new ArrayList<>(gateways.values()));
          g.namespace = r.nextBoolean() ? "gloo-system" : "team-a";
          return "readGatewaysFromAllNamespaces " + readAllNamespaces + ", " + g.name + " in " + g.namespace;
        }
        case 23 -> {
          // A cycle: a table delegating to a table that delegates (maybe) back.
          Rt a = pick(r, new ArrayList<>(routeTables.values()));
          Rt b = pick(r, new ArrayList<>(routeTables.values()));
          a.routes.set(0, new Route(a.routes.get(0).prefix(), "delegateRef", b.namespace + "/" + b.name, null, null));
          b.routes.set(0, new Route(b.routes.get(0).prefix(), "delegateRef", a.namespace + "/" + a.name, null, null));
          return "delegation cycle " + a.name + " <-> " + b.name;
        }
        case 24 -> {
          Ug g = pick(r, new ArrayList<>(groups.values()));
          g.destinations.set(0, randomUpstreamRef(r));
          return "destination of " + g.name;
        }
        default -> {
          if (gateways.size() > 2 && r.nextBoolean()) {
            String key = pick(r, new ArrayList<>(gateways.keySet()));
            gateways.remove(key);
            return "delete gateway " + key;
          }
          addGateway(r);
          return "add a gateway";
        }
      }
    }

    Map<String, String> files() {
      Map<String, String> out = new LinkedHashMap<>();
      out.put("settings.yaml", settings());
      gateways.values().forEach(g -> out.put("gw-" + g.name + ".yaml", gateway(g)));
      virtualServices.values().forEach(v -> out.put("vs-" + v.namespace + "-" + v.name + ".yaml", vs(v)));
      routeTables.values().forEach(t -> out.put("rt-" + t.namespace + "-" + t.name + ".yaml", rt(t)));
      upstreams.values().forEach(u -> out.put("us-" + u.namespace + "-" + u.name + ".yaml", us(u)));
      groups.values().forEach(g -> out.put("ug-" + g.namespace + "-" + g.name + ".yaml", ug(g)));
      return out;
    }

    private String settings() {
      return """
          apiVersion: gloo.solo.io/v1
          kind: Settings
          metadata: {name: default, namespace: gloo-system}
          spec:
            discoveryNamespace: gloo-system
            gateway: {readGatewaysFromAllNamespaces: %s}
            gloo:
              invalidConfigPolicy: {replaceInvalidRoutes: %s, invalidRouteResponseCode: %s}
          """.formatted(readAllNamespaces, replaceInvalidRoutes, settingsBroken ? "teapot" : "418");
    }

    private static String gateway(Gw g) {
      String selection = switch (g.selection) {
        case "label" -> "virtualServiceSelector: {shard: " + g.shard + "}";
        case "expression" -> "virtualServiceExpressions: {expressions: [{key: shard, operator: In, values: ["
            + g.shard + ", none]}]}";
        case "refs" -> "virtualServices: [" + String.join(", ", g.refs.stream().map(Config::ref).toList()) + "]";
        default -> "virtualServiceNamespaces: ['*']";
      };
      return """
          apiVersion: gateway.solo.io/v1
          kind: Gateway
          metadata: {name: %s, namespace: %s}
          spec:
            bindPort: %s
            proxyNames: [%s]
            ssl: %s
          %s
          """.formatted(g.name, g.namespace, g.broken ? "eighty" : String.valueOf(g.port),
          String.join(", ", g.proxies), g.ssl, g.noType ? "" : "  httpGateway: {" + selection + "}");
    }

    private static String ref(String nsName) {
      int slash = nsName.indexOf('/');
      return "{name: " + nsName.substring(slash + 1) + ", namespace: " + nsName.substring(0, slash) + "}";
    }

    private static String labels(Map<String, String> labels) {
      return "{" + String.join(", ", labels.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue()).toList())
          + "}";
    }

    private static String routes(List<Route> routes, String indent) {
      StringBuilder sb = new StringBuilder();
      for (Route r : routes) {
        sb.append(indent).append("- matchers: [{prefix: '").append(r.prefix()).append("'}]\n");
        String action = switch (r.action()) {
          case "direct" -> "directResponseAction: {status: " + r.target() + "}";
          case "forward" -> "routeAction: {single: {upstream: " + ref(r.target()) + "}}";
          case "kube" -> "routeAction: {single: {kube: {ref: " + ref(r.target()) + ", port: " + r.selectorLabel()
              + "}}}";
          case "group" -> "routeAction: {upstreamGroup: " + ref(r.target()) + "}";
          case "delegateRef" -> "delegateAction: {ref: " + ref(r.target()) + "}";
          case "delegateSelector" -> "delegateAction: {selector: {labels: {delegate: " + r.selectorLabel()
              + "}, namespaces: ['" + r.selectorNamespace() + "']}}";
          default -> null;
        };
        if (action != null) {
          sb.append(indent).append("  ").append(action).append('\n');
        }
      }
      return sb.toString();
    }

    private static String vs(Vs v) {
      return """
          apiVersion: gateway.solo.io/v1
          kind: VirtualService
          metadata: {name: %s, namespace: %s, labels: %s}
          spec:
            %s
            virtualHost:
              domains: [%s]
              routes:
          %s""".formatted(v.name, v.namespace, labels(v.labels),
          v.secret == null ? "" : "sslConfig: {secretRef: {name: " + v.secret + ", namespace: shared}}",
          String.join(", ", v.domains),
          v.broken ? "      - matchers: [{prefix: 7}]\n        directResponseAction: {status: nope}\n"
              : routes(v.routes, "      "));
    }

    private static String rt(Rt t) {
      return """
          apiVersion: gateway.solo.io/v1
          kind: RouteTable
          metadata: {name: %s, namespace: %s, labels: %s}
          spec:
            weight: %s
            routes:
          %s""".formatted(t.name, t.namespace, labels(t.labels), t.broken ? "heavy" : String.valueOf(t.weight),
          routes(t.routes, "    "));
    }

    private static String us(Us u) {
      if (u.discovered) {
        return """
            apiVersion: gloo.solo.io/v1
            kind: Upstream
            metadata: {name: %s, namespace: %s, labels: {discovered_by: kubernetesplugin}}
            spec:
              kube: {serviceName: %s, serviceNamespace: %s, servicePort: %s}
            """.formatted(u.name, u.namespace, u.service, u.serviceNamespace, u.servicePort);
      }
      if (u.service != null) {
        return """
            apiVersion: gloo.solo.io/v1
            kind: Upstream
            metadata: {name: %s, namespace: %s}
            spec:
              kube: {serviceName: %s, servicePort: %s}
            """.formatted(u.name, u.namespace, u.service, u.broken ? "-1" : String.valueOf(u.servicePort));
      }
      return """
          apiVersion: gloo.solo.io/v1
          kind: Upstream
          metadata: {name: %s, namespace: %s}
          spec:
            static: {hosts: [{addr: 127.0.0.1, port: %s}]}
          """.formatted(u.name, u.namespace, u.broken ? "-1" : String.valueOf(u.port));
    }

    private static String ug(Ug g) {
      return """
          apiVersion: gloo.solo.io/v1
          kind: UpstreamGroup
          metadata: {name: %s, namespace: %s}
          spec:
            destinations:
          %s""".formatted(g.name, g.namespace, String.join("", g.destinations.stream()
          .map(d -> "    - {weight: 1, destination: {upstream: " + ref(d) + "}}\n").toList()));
    }
  }

  /**
   * Test-made certificates for the generated secrets, made once per JVM: per name a v1 and a v2 (both valid) and a
   * bad one (v1's certificate with another key); one {@link KubeSecret} object per name and content.
   */
  private static final class SecretPool {
    private static final Map<String, KubeSecret> SECRETS = new HashMap<>();
    private static TestSecrets pki;

    static synchronized KubeSecret secret(String name, String content) {
      return SECRETS.computeIfAbsent(name + "/" + content, k -> {
        if (pki == null) {
          try {
            Path dir = Files.createTempDirectory("incremental-pki");
            dir.toFile().deleteOnExit();
            pki = new TestSecrets("incremental-ca", dir);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
        TestSecrets.Pem pem = content.equals("bad")
            ? new TestSecrets.Pem(secret(name, "v1").text(KubeSecret.TLS_CERT), pki.leaf("other").key())
            : pki.leaf(name + ".example.com");
        return TestSecrets.kubeTls("shared", name, pem, null, "secrets/shared/" + name + ".yaml:1");
      });
    }
  }
}
