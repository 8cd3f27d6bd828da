package io.shardgate.controlplane.nomad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.shardgate.controlplane.cli.BuildVersion;
import io.shardgate.controlplane.cli.ShardgateCli;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.xds.EnvoyValidation;
import io.shardgate.templates.BootstrapParams;
import io.shardgate.templates.BootstrapRenderer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.yaml.snakeyaml.Yaml;
import picocli.CommandLine;

/**
 * {@code render nomad} for the chart's default values and for several shards with the edge: every file parses with
 * HashiCorp's real HCL2 parser (tools/hcl-check.sh; no Nomad binary runs here, so the jobs' structure is checked from
 * what that parser decodes); each shard's job has its count, ports, Consul checks and drain; the bootstrap in its
 * template stanza, with Consul's answer filled in, is BootstrapRenderer's bootstrap and passes the real Envoy's
 * {@code --mode validate}; the text matches the golden files ({@code -Dgolden.update=true} rewrites them).
 */
class NomadJobRenderTest {

  static final String UPDATE = "./mvnw -pl control-plane test -Dtest=NomadJobRenderTest -Dgolden.update=true";
  private static final String VERSION = "1.2.3-test";

  /** What a case's values say about one proxy, written out by hand from the values files. */
  record Shard(String name, String namespace, Integer count, int statsPort, boolean checks, int httpPort,
      boolean staticPorts, String killTimeout) {}

  record Case(String name, List<Path> values, List<Shard> shards) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Case> cases() {
    Path chartCases = ExampleConfig.repoRoot().resolve("proxy-templates/src/test/resources/helm");
    Path own = ExampleConfig.repoRoot().resolve("control-plane/src/test/resources/nomad");
    return Stream.of(
        new Case("default", List.of(),
            List.of(new Shard("gateway-proxy", "gloo-system", 1, 8081, true, 8080, false, "40s"))),
        new Case("three-shards-with-replicas", List.of(chartCases.resolve("three-shards-with-replicas.values.yaml")),
            List.of(
                new Shard("catalog", "gloo-system", 2, 8081, true, 8080, false, "30s"),
                new Shard("internal", "gloo-system", 0, 0, false, 8080, false, "40s"),
                new Shard("payments", "gloo-system", 3, 8081, true, 8080, false, "40s"))),
        new Case("three-shards-and-edge", List.of(own.resolve("three-shards-and-edge.values.yaml")),
            List.of(
                new Shard("catalog", "gateways", 2, 8081, true, 8080, false, "30s"),
                new Shard("gateway-proxy-edge", "gateways", 2, 8081, true, 8080, false, "40s"),
                new Shard("internal", "gateways", null, 9102, true, 8080, true, "40s"),
                new Shard("payments", "gateways", 3, 8081, true, 8080, false, "40s"))));
  }

  @TempDir
  Path work;

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void jobsParseWithTheRealHclParserAndHaveEachShardsStructure(Case c) throws Exception {
    SortedMap<String, String> files = NomadJobRenderer.render(ChartValues.load(c.values()), VERSION);
    List<Path> written = write(files, work.resolve(c.name()));
    checkGolden(c.name(), files);

    List<Map<String, Object>> jobs = HclCheck.check(written).jobs();
    Map<String, Map<String, Object>> byName = new TreeMap<>();
    jobs.forEach(j -> byName.put((String) j.get("name"), j));
    List<String> expectedJobs = new ArrayList<>(List.of("shardgate"));
    c.shards().forEach(s -> expectedJobs.add(s.name()));
    assertEquals(new TreeSet<>(expectedJobs), byName.keySet(), "the jobs rendered");
    assertTrue(files.containsKey("shardgate.vault-policy.hcl"), "the control plane's Vault policy is written");

    assertControlPlane(byName.get("shardgate"));
    for (Shard shard : c.shards()) {
      assertShard(shard, byName.get(shard.name()), work.resolve(c.name()));
    }
  }

  private static void assertControlPlane(Map<String, Object> job) {
    Map<String, Object> group = only(job, "groups");
    assertEquals(1, group.get("count"));
    assertEquals(List.of("xds:9977", "admin:9091"), ports(group));
    Map<String, Object> service = only(group, "services");
    assertEquals(NomadJobRenderer.XDS_SERVICE, service.get("name"));
    assertEquals("xds", service.get("port"));
    assertEquals(List.of(Map.of("type", "http", "port", "admin", "path", "/readyz", "interval", "10s")),
        service.get("checks"));
    Map<String, Object> task = only(group, "tasks");
    assertEquals("docker", task.get("driver"));
    assertEquals("shardgate/control-plane:" + VERSION, task.get("image"));
    assertEquals(List.of("shardgate"), task.get("vaultRoles"));
    @SuppressWarnings("unchecked")
    List<String> args = (List<String>) task.get("args");
    assertEquals("serve", args.get(0));
    // The parsed value is what Nomad receives: its runtime interpolation fills in the node's address.
    assertEquals("http://${attr.unique.network.ip-address}:8500", args.get(args.indexOf("--consul") + 1));
    assertEquals("9977", args.get(args.indexOf("--xds-port") + 1));
  }

  private void assertShard(Shard shard, Map<String, Object> job, Path dir) throws Exception {
    String what = "job " + shard.name();
    assertEquals(shard.count() == null ? "system" : "service", job.get("type"), what + " type");
    Map<String, Object> group = only(job, "groups");
    assertEquals(shard.count(), group.get("count"), what + " count");
    List<String> expectedPorts = new ArrayList<>();
    String mapping = shard.staticPorts() ? "static:" : "";
    expectedPorts.add("http:" + mapping + shard.httpPort());
    expectedPorts.add("https:" + mapping + 8443);
    if (shard.statsPort() > 0) {
      expectedPorts.add("stats:" + shard.statsPort());
    }
    assertEquals(expectedPorts, ports(group), what + " ports");
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> services = (List<Map<String, Object>>) group.get("services");
    assertEquals(List.of(shard.name(), shard.name() + "-https"), services.stream().map(s -> s.get("name")).toList());
    for (Map<String, Object> service : services) {
      assertEquals(shard.checks()
          ? List.of(Map.of("type", "http", "port", "stats", "path", "/ready", "interval", "5s")) : List.of(),
          service.get("checks"), what + " service " + service.get("name") + " checks");
    }
    Map<String, Object> task = only(group, "tasks");
    assertEquals("docker", task.get("driver"));
    assertEquals("envoyproxy/envoy:v1.40.0", task.get("image"));
    assertEquals("SIGTERM", task.get("killSignal"));
    assertEquals(shard.killTimeout(), task.get("killTimeout"), what + " kill_timeout");

    @SuppressWarnings("unchecked")
    List<Map<String, Object>> templates = (List<Map<String, Object>>) task.get("templates");
    Map<String, String> byDestination = new TreeMap<>();
    templates.forEach(t -> byDestination.put((String) t.get("destination"), (String) t.get("data")));
    String script = byDestination.get(NomadJobRenderer.WRAPPER_PATH);
    String bootstrap = byDestination.get(NomadJobRenderer.BOOTSTRAP_PATH);
    assertTrue(script != null && bootstrap != null, what + " has the wrapper and bootstrap templates: " + templates);
    assertEquals(!shard.killTimeout().equals("30s"), script.contains("/healthcheck/fail"),
        what + ": the wrapper drains through the admin interface exactly when gracefulShutdown is on");
    assertBashAccepts(script, dir.resolve(shard.name() + ".run-envoy.sh"));

    // Consul template's answer for one passing control plane instance, filled in as consul-template would.
    String concrete = fillConsulTemplate(bootstrap, "127.0.0.1", 9977);
    BootstrapParams expected = BootstrapParams.builder(shard.name())
        .namespace(shard.namespace())
        .xdsHost("127.0.0.1")
        .xdsPort(9977)
        .statsPort(shard.statsPort())
        .statsAddress(shard.statsPort() > 0 ? "0.0.0.0" : BootstrapParams.DEFAULT_STATS_ADDRESS)
        .build();
    Object expectedTree = new Yaml().load(BootstrapRenderer.render(expected));
    Object actualTree = new Yaml().load(concrete);
    assertEquals(expectedTree, actualTree,
        what + ": the bootstrap is BootstrapRenderer's for role " + expected.role());
    assertTrue(concrete.contains("role: \"" + shard.namespace() + "~" + shard.name() + "\""), what + " role");
    Path file = dir.resolve(shard.name() + ".envoy.yaml");
    Files.writeString(file, concrete, StandardCharsets.UTF_8);
    EnvoyValidation.Run run = EnvoyValidation.validate(file, dir);
    assertEquals(0, run.exitCode(), () -> "envoy --mode validate rejected " + what + "'s bootstrap:\n" + run.output());
  }

  /** Every values file the chart's own golden cases use is accepted (the schema check agrees with Helm's) and parses. */
  @Test
  void everyChartCaseRendersJobsTheHclParserAccepts() throws Exception {
    Path chartCases = ExampleConfig.repoRoot().resolve("proxy-templates/src/test/resources/helm");
    List<Path> valuesFiles;
    try (Stream<Path> list = Files.list(chartCases)) {
      valuesFiles = list.filter(p -> p.getFileName().toString().endsWith(".values.yaml")).sorted().toList();
    }
    assertTrue(valuesFiles.size() >= 5, "the chart's cases: " + valuesFiles);
    for (Path values : valuesFiles) {
      String name = values.getFileName().toString();
      List<Path> written = write(NomadJobRenderer.render(ChartValues.load(List.of(values)), VERSION),
          work.resolve("chart-" + name));
      assertFalse(HclCheck.check(written).jobs().isEmpty(), name);
    }
  }

  @Test
  void consulTemplateLoopGivesOneEndpointPerControlPlaneInstance() {
    String bootstrap = NomadJobRenderer.consulBootstrap(
        BootstrapRenderer.render(BootstrapParams.builder("p").xdsHost("192.0.2.1").build()), 9977);
    Matcher m = RANGE.matcher(bootstrap);
    assertTrue(m.find(), "the xDS endpoint is a Consul template range over " + NomadJobRenderer.XDS_SERVICE);
    assertFalse(bootstrap.contains("192.0.2.1"), "no trace of the marker address is left");
  }

  @Test
  void misspelledValuesKeyIsRefusedNamingIt() throws IOException {
    Path values = work.resolve("typo.values.yaml");
    Files.writeString(values, "gatewayProxies:\n  payments:\n    podTemplate:\n      htpPort: 8080\n");
    Result r = cli("render", "nomad", "--values", values.toString(), "--output", work.resolve("out").toString());
    assertEquals(2, r.exit(), r.err());
    assertTrue(r.err().contains(values.toString()) && r.err().contains("gatewayProxies.payments.podTemplate.htpPort")
        && r.err().contains("did you mean \"httpPort\""), r.err());
    assertFalse(Files.exists(work.resolve("out")), "nothing is written when the values are refused");
  }

  @Test
  void wrongTypeAndUnknownTopLevelKeyAreRefused() throws IOException {
    Path values = work.resolve("bad.values.yaml");
    Files.writeString(values, "edge:\n  bindPort: http\ncontrolplane: {}\n");
    Result r = cli("render", "nomad", "--values", values.toString(), "--output", work.toString());
    assertEquals(2, r.exit(), r.err());
    assertTrue(r.err().contains("edge.bindPort: expected integer"), r.err());
    assertTrue(r.err().contains("controlplane: unknown key") && r.err().contains("did you mean \"controlPlane\""),
        r.err());
  }

  @Test
  void laterValuesFilesWinAndNullRemovesADefault() throws Exception {
    Path first = work.resolve("first.yaml");
    Path second = work.resolve("second.yaml");
    Files.writeString(first, "gatewayProxies:\n  a:\n    kind: {deployment: {replicas: 4}}\n");
    Files.writeString(second, "gatewayProxies:\n  gateway-proxy: null\n  a:\n    kind: {deployment: {replicas: 5}}\n");
    SortedMap<String, String> files = NomadJobRenderer.render(ChartValues.load(List.of(first, second)), VERSION);
    assertEquals(List.of("a.nomad.hcl", "shardgate.nomad.hcl", "shardgate.vault-policy.hcl"),
        List.copyOf(files.keySet()));
    assertTrue(files.get("a.nomad.hcl").contains("count = 5"), files.get("a.nomad.hcl"));
  }

  @Test
  void cliWritesTheSameFilesAsTheRendererAndHasHelp() throws Exception {
    Path out = work.resolve("cli");
    Result r = cli("render", "nomad", "--output", out.toString());
    assertEquals(0, r.exit(), r.err());
    SortedMap<String, String> expected = NomadJobRenderer.render(ChartValues.load(List.of()),
        BuildVersion.current().version());
    for (Map.Entry<String, String> e : expected.entrySet()) {
      assertEquals(e.getValue(), Files.readString(out.resolve(e.getKey())), e.getKey());
    }
    Result help = cli("render", "--help");
    assertEquals(0, help.exit());
    assertTrue(help.out().contains("nomad"), help.out());
    Result nomadHelp = cli("render", "nomad", "--help");
    assertEquals(0, nomadHelp.exit());
    assertTrue(nomadHelp.out().contains("--values") && nomadHelp.out().contains("--output"), nomadHelp.out());
  }

  // Helpers.

  private static final Pattern RANGE = Pattern.compile(
      "\n\\{\\{- range service \"" + NomadJobRenderer.XDS_SERVICE + "\" }}\n(.*?)\n\\{\\{- end }}", Pattern.DOTALL);

  /** consul-template's rendering of the loop for one instance: the {@code {{-}} trims the newline before it. */
  static String fillConsulTemplate(String data, String address, int port) {
    Matcher m = RANGE.matcher(data);
    if (!m.find()) {
      fail("no {{ range service \"" + NomadJobRenderer.XDS_SERVICE + "\" }} loop in the bootstrap:\n" + data);
    }
    String body = "\n" + m.group(1).replace("{{ .Address }}", address).replace("{{ .Port }}", Integer.toString(port));
    String out = data.substring(0, m.start()) + body + data.substring(m.end());
    assertFalse(out.contains("{{"), "no other template expression is left:\n" + out);
    return out;
  }

  private static void assertBashAccepts(String script, Path file) throws Exception {
    Files.writeString(file, script, StandardCharsets.UTF_8);
    Process p = new ProcessBuilder("bash", "-n", file.toString()).redirectErrorStream(true).start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "bash -n did not finish");
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), "bash -n refused the wrapper:\n" + output + "\n" + script);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> only(Map<String, Object> parent, String key) {
    List<Map<String, Object>> items = (List<Map<String, Object>>) parent.get(key);
    assertEquals(1, items.size(), key + ": " + items);
    return items.get(0);
  }

  @SuppressWarnings("unchecked")
  private static List<String> ports(Map<String, Object> group) {
    List<String> out = new ArrayList<>();
    for (Map<String, Object> p : (List<Map<String, Object>>) group.get("ports")) {
      Object staticPort = p.get("static");
      out.add(p.get("name") + ":" + (staticPort != null ? "static:" + staticPort : p.get("to")));
    }
    return out;
  }

  private static List<Path> write(Map<String, String> files, Path dir) throws IOException {
    Files.createDirectories(dir);
    List<Path> out = new ArrayList<>();
    for (Map.Entry<String, String> e : files.entrySet()) {
      out.add(Files.writeString(dir.resolve(e.getKey()), e.getValue(), StandardCharsets.UTF_8));
    }
    return out;
  }

  /** One golden folder per case; an update rewrites it and removes files the renderer no longer writes. */
  private static void checkGolden(String name, SortedMap<String, String> files) throws IOException {
    Path dir = Path.of(System.getProperty("project.basedir", "")).toAbsolutePath()
        .resolve("src/test/resources/nomad/golden").resolve(name);
    if (Boolean.getBoolean("golden.update")) {
      Files.createDirectories(dir);
      try (Stream<Path> old = Files.list(dir)) {
        for (Path p : old.toList()) {
          if (!files.containsKey(p.getFileName().toString())) {
            Files.delete(p);
          }
        }
      }
      for (Map.Entry<String, String> e : files.entrySet()) {
        Files.writeString(dir.resolve(e.getKey()), e.getValue(), StandardCharsets.UTF_8);
      }
      return;
    }
    if (!Files.isDirectory(dir)) {
      fail(dir + " does not exist. Create it with:\n  " + UPDATE);
    }
    try (Stream<Path> present = Files.list(dir)) {
      assertEquals(files.keySet(), new TreeSet<>(present.map(p -> p.getFileName().toString()).toList()),
          "the files of golden case " + name + " (regenerate with " + UPDATE + ")");
    }
    for (Map.Entry<String, String> e : files.entrySet()) {
      assertEquals(Files.readString(dir.resolve(e.getKey())), e.getValue(),
          name + "/" + e.getKey() + " differs from the golden file; if intended, regenerate with:\n  " + UPDATE);
    }
  }

  record Result(int exit, String out, String err) {}

  private static Result cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new ShardgateCli());
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute(args);
    return new Result(exit, out.toString(), err.toString());
  }
}
