package io.shardgate.controlplane.nomad;

import io.shardgate.templates.BootstrapParams;
import io.shardgate.templates.BootstrapRenderer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Renders Nomad job specifications (HCL2) for Shardgate from the Helm chart's values ({@link ChartValues}): one
 * job for the control plane, one per enabled gateway proxy (shard) and one for the edge when it is enabled, and
 * the Vault policy of the control plane.
 *
 * <p>Stage: deployment rendering. Pure: the files depend only on the values and the version (sorted keys, no clock),
 * so equal input gives byte-equal files. Stateless, thread-safe.
 *
 * <p>Each shard's bootstrap is {@link BootstrapRenderer}'s, with the xDS endpoint replaced by a Consul template
 * loop over the passing instances of the control plane's Consul service {@value #XDS_SERVICE}, so proxies find
 * the control plane by name.
 */
public final class NomadJobRenderer {

  /** The Consul service the control plane's xDS port registers as (Gloo's name for it). */
  public static final String XDS_SERVICE = "gloo-xds";
  /** Where Vault registers itself in Consul by default. */
  static final String VAULT_ADDRESS = "https://vault.service.consul:8200";
  /** The node's own Consul agent, through Nomad's runtime interpolation of the node's address. */
  static final String CONSUL_ADDRESS = "http://${attr.unique.network.ip-address}:8500";
  static final String STATE_DIR = "/alloc/data";
  /** serve's default --vault-path-prefix: where Gloo keeps Secrets in Vault. */
  static final String VAULT_PATH_PREFIX = "gloo/gloo.solo.io/v1/Secret";
  static final String BOOTSTRAP_PATH = "local/envoy.yaml";
  static final String WRAPPER_PATH = "local/run-envoy.sh";
  /** TEST-NET-1 (RFC 5737): never a real address, so it marks exactly the xDS endpoint in the rendered bootstrap. */
  private static final String XDS_MARKER_HOST = "192.0.2.1";
  private static final String HEREDOC_MARKER = "EOF_BOOTSTRAP";

  private static final String HEADER = "Rendered by `shardgate render nomad` from the Helm chart's values;"
      + " render again rather than editing.";

  private NomadJobRenderer() {}

  /**
   * The files to write: file name to content, sorted by name.
   *
   * @param values the merged chart values
   * @param version the control plane image's default tag (the build's version)
   * @throws IllegalArgumentException naming the value that cannot become a job
   */
  public static SortedMap<String, String> render(Map<String, Object> values, String version) {
    String fullname = str(values, "fullnameOverride");
    String controlPlaneJob = fullname.isEmpty() ? "shardgate" : fullname;
    String writeNamespace = str(values, "settings.writeNamespace");
    String namespace = writeNamespace.isEmpty() ? BootstrapParams.DEFAULT_NAMESPACE : writeNamespace;
    int xdsPort = integer(values, "controlPlane.xdsPort");

    SortedMap<String, String> files = new TreeMap<>();
    files.put(controlPlaneJob + ".nomad.hcl", controlPlane(values, controlPlaneJob, version));
    files.put(controlPlaneJob + ".vault-policy.hcl", vaultPolicy(controlPlaneJob));

    Map<String, Object> defaults = map(values, "gatewayProxyDefaults");
    for (Map.Entry<String, Object> e : map(values, "gatewayProxies").entrySet()) {
      Map<String, Object> spec = ChartValues.coalesce(asMap(e.getValue()), defaults);
      if (bool(spec, "disabled")) {
        continue;
      }
      Map<String, Object> pt = map(spec, "podTemplate");
      add(files, controlPlaneJob, e.getKey(), shard(e.getKey(), namespace, xdsPort, spec,
          integer(pt, "httpPort"), integer(pt, "httpsPort"), "gatewayProxies." + e.getKey()));
    }
    if (bool(values, "edge.enabled")) {
      String name = str(values, "edge.proxyName");
      Map<String, Object> spec = ChartValues.coalesce(map(values, "edge.proxy"), defaults);
      add(files, controlPlaneJob, name, shard(name, namespace, xdsPort, spec, integer(values, "edge.bindPort"),
          integer(values, "edge.tlsBindPort"), "edge.proxy"));
    }
    return files;
  }

  private static void add(SortedMap<String, String> files, String controlPlaneJob, String name, String job) {
    if (name.equals(controlPlaneJob)) {
      throw new IllegalArgumentException("the proxy name " + name + " is also the control plane's job name; set"
          + " fullnameOverride to another name");
    }
    if (files.put(name + ".nomad.hcl", job) != null) {
      throw new IllegalArgumentException("two proxies are named " + name + " (a gatewayProxies key and"
          + " edge.proxyName?)");
    }
  }

  private static String controlPlane(Map<String, Object> values, String job, String version) {
    Map<String, Object> cp = map(values, "controlPlane");
    String tag = str(cp, "image.tag");
    String image = str(cp, "image.repository") + ":" + (tag.isEmpty() ? version : tag);
    String xdsAddress = str(cp, "xdsAddress");
    List<String> args = new ArrayList<>(List.of(
        "serve",
        "--consul", CONSUL_ADDRESS,
        "--vault-addr", VAULT_ADDRESS,
        "--state-dir", STATE_DIR,
        // In the task's own network namespace the wildcard is the task's address only.
        "--xds-address", xdsAddress.isEmpty() ? "0.0.0.0" : xdsAddress,
        "--xds-port", Integer.toString(integer(cp, "xdsPort")),
        "--admin-address", "0.0.0.0",
        "--admin-port", Integer.toString(integer(cp, "adminPort")),
        "--admin-remote-access", str(cp, "adminRemoteAccess")));
    args.addAll(strings(cp, "extraArgs"));

    Hcl h = new Hcl().comment(HEADER)
        .comment("The Shardgate control plane: reads the Gloo objects from Consul KV, secrets from Vault, and serves")
        .comment("each shard its xDS; registered in Consul as " + XDS_SERVICE + " so the gateway proxies find it.")
        .open("job", job)
        .attr("datacenters", List.of("*"))
        .attr("type", "service")
        .blank()
        .open("group", "control-plane")
        .attr("count", integer(cp, "replicas"));
    if (bool(cp, "persistence.enabled")) {
      h.blank().comment("The state dir (the last good config of rejected resources) follows the allocation across"
              + "\nrestarts and updates, as the chart's PersistentVolumeClaim does.")
          .open("ephemeral_disk").attr("sticky", true).attr("migrate", true)
          .attr("size", mebibytes(str(cp, "persistence.size"), "controlPlane.persistence.size")).close();
    }
    h.blank()
        .open("network")
        .open("port", "xds").attr("to", integer(cp, "xdsPort")).close()
        .open("port", "admin").attr("to", integer(cp, "adminPort")).close()
        .close()
        .blank()
        .open("service")
        .attr("name", XDS_SERVICE)
        .attr("port", "xds")
        .attr("provider", "consul")
        .attr("tags", List.of("shardgate", "xds"))
        .open("check")
        .attr("name", "readyz")
        .attr("type", "http")
        .attr("port", "admin")
        .attr("path", "/readyz")
        .attr("interval", "10s")
        .attr("timeout", "2s")
        .close()
        .close()
        .blank()
        .open("task", "control-plane")
        .attr("driver", "docker")
        .blank()
        .open("config")
        .attr("image", image)
        .attr("ports", List.of("xds", "admin"))
        .attr("args", args)
        .close()
        .blank()
        .comment("Nomad's workload identity logs in to Vault with the JWT role of this name, which carries the policy")
        .comment("of the same name (" + job + ".vault-policy.hcl); the task gets VAULT_TOKEN.")
        .open("vault").attr("role", job).attr("change_mode", "restart").close()
        .blank()
        .open("env");
    String javaOptions = ("-XX:MaxRAMPercentage=" + integer(cp, "maxRAMPercentage") + " "
        + str(cp, "javaToolOptions")).strip();
    h.attr("JAVA_TOOL_OPTIONS", javaOptions);
    env(h, cp, "extraEnv", "controlPlane.extraEnv");
    h.close();
    resources(h, map(cp, "resources"), "controlPlane.resources");
    return h.close().close().close().text();
  }

  private static String vaultPolicy(String job) {
    // serve --vault-addr reads <mount>/data/<path prefix>/<namespace>/<name> with the defaults secret and
    // gloo/gloo.solo.io/v1/Secret (Gloo's layout), and only the data path (rotation polls it, no metadata reads).
    return new Hcl().comment(HEADER)
        .comment("Vault policy of the Shardgate control plane (" + job + "): read the Gloo Secrets in the KV v2 engine")
        .comment("at secret/, at Gloo's paths (serve's --vault-mount and --vault-path-prefix defaults); nothing else.")
        .comment("  vault policy write " + job + " " + job + ".vault-policy.hcl")
        .open("path", "secret/data/" + VAULT_PATH_PREFIX + "/*").attr("capabilities", List.of("read")).close()
        .text();
  }

  private static String shard(String name, String namespace, int xdsPort, Map<String, Object> spec, int httpPort,
      int httpsPort, String where) {
    Map<String, Object> pt = map(spec, "podTemplate");
    boolean stats = bool(spec, "stats.enabled");
    int statsPort = stats ? integer(spec, "stats.port") : 0;
    String loopback = str(pt, "loopBackAddress");
    int adminPort = integer(pt, "adminPort");
    BootstrapParams params;
    try {
      params = BootstrapParams.builder(name)
          .namespace(namespace)
          .xdsHost(XDS_MARKER_HOST)
          .xdsPort(xdsPort)
          .adminAddress(loopback)
          .adminPort(adminPort)
          .statsPort(statsPort)
          .statsAddress(stats ? str(spec, "stats.address") : BootstrapParams.DEFAULT_STATS_ADDRESS)
          .build();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
    }
    String bootstrap = consulBootstrap(BootstrapRenderer.render(params), xdsPort);

    Map<String, Object> kind = map(spec, "kind");
    boolean daemonSet = kind.get("daemonSet") instanceof Map<?, ?>;
    boolean hostPort = daemonSet && bool(kind, "daemonSet.hostPort");
    boolean hostNetwork = daemonSet && bool(kind, "daemonSet.hostNetwork");
    boolean graceful = bool(pt, "gracefulShutdown.enabled");
    int sleep = integer(pt, "gracefulShutdown.sleepTimeSeconds");
    int grace = integer(pt, "terminationGracePeriodSeconds");
    int killTimeout = grace > 0 ? grace : graceful ? sleep + 15 : 30;

    Hcl h = new Hcl().comment(HEADER)
        .comment("Gateway proxy shard " + name + ": Envoys with the role " + params.role() + ", which get their")
        .comment("config over xDS from the control plane found in Consul as " + XDS_SERVICE + ".")
        .open("job", name)
        .attr("datacenters", List.of("*"))
        .comment(daemonSet ? "kind.daemonSet: one Envoy on every node." : "kind.deployment: replicas Envoys.")
        .attr("type", daemonSet ? "system" : "service")
        .blank()
        .open("group", "gateway-proxy");
    if (!daemonSet) {
      h.attr("count", integer(kind, "deployment.replicas")).blank();
    }
    h.open("network");
    if (hostNetwork) {
      h.attr("mode", "host");
    }
    port(h, "http", httpPort, hostPort || hostNetwork);
    port(h, "https", httpsPort, hostPort || hostNetwork);
    if (stats) {
      port(h, "stats", statsPort, hostNetwork);
    }
    List<String> ports = new ArrayList<>(List.of("http", "https"));
    if (stats) {
      ports.add("stats");
    }
    for (Object extra : list(pt, "extraPorts")) {
      Map<String, Object> p = asMap(extra);
      String portName = String.valueOf(p.get("name"));
      if (!(p.get("containerPort") instanceof Integer containerPort) || p.get("name") == null) {
        throw new IllegalArgumentException(where + ".podTemplate.extraPorts: each needs name and containerPort");
      }
      port(h, portName, containerPort, hostNetwork);
      ports.add(portName);
    }
    h.close();
    boolean checks = stats && bool(pt, "probes");
    service(h, name, "http", params.role(), checks);
    service(h, name + "-https", "https", params.role(), checks);

    List<String> envoyArgs = new ArrayList<>(List.of(
        // A distinct node id per allocation in logs and the control plane's status; the shard comes from the role.
        "${NOMAD_JOB_NAME}.${NOMAD_ALLOC_ID}",
        "--log-level", str(spec, "envoyLogLevel")));
    envoyArgs.addAll(strings(spec, "extraEnvoyArgs"));

    h.blank()
        .open("task", "envoy")
        .attr("driver", "docker")
        .comment("Envoy exits at once on a signal; the wrapper (" + WRAPPER_PATH + ") first drains it, so Nomad")
        .comment("waits kill_timeout for that before it kills the task.")
        .attr("kill_signal", "SIGTERM")
        .attr("kill_timeout", killTimeout + "s")
        .blank()
        .open("config")
        .attr("image", str(pt, "image.repository") + ":" + str(pt, "image.tag"))
        .attr("ports", ports);
    if (hostNetwork) {
      h.attr("network_mode", "host");
    }
    h.comment("The envoy user of the envoyproxy/envoy image, as in the chart.")
        .attr("user", "101:101")
        .attr("entrypoint", List.of("/bin/bash", "/" + WRAPPER_PATH))
        .attr("args", envoyArgs)
        .close()
        .blank()
        .open("template")
        .attr("destination", WRAPPER_PATH)
        .attr("perms", "0755")
        .attr("change_mode", "restart")
        .heredoc("data", "EOF_SCRIPT", wrapperScript(loopback, adminPort, graceful ? sleep : 0))
        .close()
        .blank()
        .comment("The bootstrap BootstrapRenderer makes for this shard, with the xDS endpoints filled in by Nomad's")
        .comment("Consul template from the passing " + XDS_SERVICE + " instances. When they change Envoy restarts")
        .comment("(spread by splay) to pick up the new addresses; its shard config comes back over xDS.")
        .open("template")
        .attr("destination", BOOTSTRAP_PATH)
        .attr("change_mode", "restart")
        .attr("splay", "30s")
        .heredoc("data", HEREDOC_MARKER, bootstrap)
        .close();
    List<Object> customEnv = list(spec, "customEnv");
    if (!customEnv.isEmpty()) {
      h.blank().open("env");
      env(h, spec, "customEnv", where + ".customEnv");
      h.close();
    }
    resources(h, map(pt, "resources"), where + ".podTemplate.resources");
    return h.close().close().close().text();
  }

  /**
   * The bash wrapper that starts Envoy and, on SIGTERM, does what the chart's preStop hook does: fail Envoy's
   * health checks through its admin interface (so /ready and the Consul check turn unhealthy while connections
   * drain), wait, then stop Envoy. Its arguments: the node id, then more Envoy arguments. Nomad sets
   * NOMAD_TASK_DIR (/local in a docker task), where the bootstrap is.
   */
  static String wrapperScript(String adminAddress, int adminPort, int sleepSeconds) {
    StringBuilder sb = new StringBuilder()
        .append("#!/bin/bash\n")
        .append("# Starts Envoy with the shard's bootstrap; on SIGTERM (the job's kill_signal) drains it first, as the\n")
        .append("# chart's preStop hook does, within the job's kill_timeout.\n")
        .append("node=\"$1\"\n")
        .append("shift\n")
        .append("envoy --config-path \"$NOMAD_TASK_DIR/envoy.yaml\" --service-node \"$node\" --disable-hot-restart \"$@\" &\n")
        .append("pid=$!\n")
        .append("drain() {\n");
    if (sleepSeconds > 0) {
      sb.append("  # /ready answers 503 from now on, so the Consul check fails and clients move away.\n")
          .append("  exec 3<>/dev/tcp/").append(adminAddress).append('/').append(adminPort)
          .append(" && printf 'POST /healthcheck/fail HTTP/1.1\\r\\nHost: localhost\\r\\nContent-Length: 0\\r\\n")
          .append("Connection: close\\r\\n\\r\\n' >&3 && cat <&3 >/dev/null\n")
          .append("  sleep ").append(sleepSeconds).append('\n');
    }
    return sb.append("  kill -TERM \"$pid\"\n")
        .append("}\n")
        .append("trap drain TERM\n")
        .append("status=0\n")
        .append("# wait returns early when the trap runs; keep waiting until Envoy has exited.\n")
        .append("while kill -0 \"$pid\" 2>/dev/null; do\n")
        .append("  wait \"$pid\"\n")
        .append("  status=$?\n")
        .append("done\n")
        .append("exit \"$status\"\n")
        .toString();
  }

  private static void port(Hcl h, String name, int port, boolean staticPort) {
    h.open("port", name).attr(staticPort ? "static" : "to", port).close();
  }

  private static void service(Hcl h, String name, String port, String role, boolean check) {
    h.blank().open("service")
        .attr("name", name)
        .attr("port", port)
        .attr("provider", "consul")
        .attr("tags", List.of("shardgate", "gateway-proxy", "role=" + role));
    if (check) {
      h.comment("503 until Envoy has its shard's first config, and again once a drain starts.")
          .open("check")
          .attr("name", "ready")
          .attr("type", "http")
          .attr("port", "stats")
          .attr("path", "/ready")
          .attr("interval", "5s")
          .attr("timeout", "2s")
          .close();
    }
    h.close();
  }

  /** The Bootstrap's one xDS endpoint becomes a Consul template loop over the control plane's instances. */
  static String consulBootstrap(String bootstrap, int xdsPort) {
    if (bootstrap.contains("{{") || bootstrap.contains("}}")) {
      throw new IllegalStateException("the bootstrap contains {{ or }}, which Nomad's template would interpret");
    }
    Pattern endpoint = Pattern.compile("\n( +- endpoint:\n +address:\n +socket_address:\n +address: )\""
        + Pattern.quote(XDS_MARKER_HOST) + "\"\n( +port_value: )" + xdsPort + "\n");
    Matcher m = endpoint.matcher(bootstrap);
    if (!m.find()) {
      throw new IllegalStateException("the bootstrap has no xDS endpoint " + XDS_MARKER_HOST + ":" + xdsPort);
    }
    String loop = "\n{{- range service \"" + XDS_SERVICE + "\" }}\n" + m.group(1) + "\"{{ .Address }}\"\n"
        + m.group(2) + "{{ .Port }}\n{{- end }}\n";
    String out = bootstrap.substring(0, m.start()) + loop + bootstrap.substring(m.end());
    if (out.contains(XDS_MARKER_HOST)) {
      throw new IllegalStateException("the bootstrap names the xDS host outside its endpoint (TLS is not rendered"
          + " for Nomad yet)");
    }
    return out;
  }

  private static void env(Hcl h, Map<String, Object> values, String key, String where) {
    for (Object item : list(values, key)) {
      Map<String, Object> e = asMap(item);
      if (!(e.get("name") instanceof String envName) || !(e.get("value") instanceof String value)) {
        throw new IllegalArgumentException(where + ": each entry needs name and value (valueFrom is Kubernetes only)");
      }
      h.attr(envName, value);
    }
  }

  /** Kubernetes resources to Nomad's: cpu requests in MHz (1 core = 1000), memory limit (else request) in MB. */
  private static void resources(Hcl h, Map<String, Object> resources, String where) {
    Map<String, Object> requests = asMap(resources.getOrDefault("requests", Map.of()));
    Map<String, Object> limits = asMap(resources.getOrDefault("limits", Map.of()));
    Object cpu = requests.get("cpu");
    Object memory = limits.containsKey("memory") ? limits.get("memory") : requests.get("memory");
    if (cpu == null && memory == null) {
      return;
    }
    h.blank().open("resources");
    if (cpu != null) {
      h.attr("cpu", millicores(String.valueOf(cpu), where + ".requests.cpu"));
    }
    if (memory != null) {
      h.attr("memory", mebibytes(String.valueOf(memory), where + ".memory"));
    }
    h.close();
  }

  private static int millicores(String quantity, String where) {
    Matcher m = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)(m?)").matcher(quantity);
    if (!m.matches()) {
      throw new IllegalArgumentException(where + ": \"" + quantity + "\" is not a CPU quantity like 250m or 1");
    }
    double value = Double.parseDouble(m.group(1));
    return (int) Math.max(1, Math.round(m.group(2).isEmpty() ? value * 1000 : value));
  }

  private static int mebibytes(String quantity, String where) {
    Matcher m = Pattern.compile("([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?").matcher(quantity);
    if (!m.matches()) {
      throw new IllegalArgumentException(where + ": \"" + quantity + "\" is not a memory quantity like 128Mi or 1Gi");
    }
    long value = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "" : m.group(2);
    double bytes = switch (unit) {
      case "Ki" -> value * 1024.0;
      case "Mi" -> value * 1024.0 * 1024;
      case "Gi" -> value * 1024.0 * 1024 * 1024;
      case "Ti" -> value * 1024.0 * 1024 * 1024 * 1024;
      case "k" -> value * 1e3;
      case "M" -> value * 1e6;
      case "G" -> value * 1e9;
      case "T" -> value * 1e12;
      default -> value;
    };
    return (int) Math.max(1, Math.ceil(bytes / (1024 * 1024)));
  }

  // Typed access to the merged values; the schema has checked the types, so a mismatch here is a missing key.

  private static Object get(Map<String, Object> values, String path) {
    Object cur = values;
    for (String part : path.split("\\.")) {
      if (!(cur instanceof Map<?, ?> m)) {
        return null;
      }
      cur = m.get(part);
    }
    return cur;
  }

  private static String str(Map<String, Object> values, String path) {
    Object v = get(values, path);
    return v == null ? "" : String.valueOf(v);
  }

  private static boolean bool(Map<String, Object> values, String path) {
    return Boolean.TRUE.equals(get(values, path));
  }

  private static int integer(Map<String, Object> values, String path) {
    if (!(get(values, path) instanceof Integer i)) {
      throw new IllegalArgumentException(path + " is missing: expected a number");
    }
    return i;
  }

  private static Map<String, Object> map(Map<String, Object> values, String path) {
    return asMap(get(values, path));
  }

  private static List<Object> list(Map<String, Object> values, String path) {
    Object v = get(values, path);
    if (v == null) {
      return List.of();
    }
    @SuppressWarnings("unchecked")
    List<Object> l = (List<Object>) v;
    return l;
  }

  private static List<String> strings(Map<String, Object> values, String path) {
    return list(values, path).stream().map(String::valueOf).toList();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> asMap(Object value) {
    return value instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
  }
}
