package io.shardgate.controlplane.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.shardgate.controlplane.e2e.ExampleConfig;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image the build made, run by a real OCI runtime: crun from the machine's apt sources (tools/install-crun.sh,
 * run by the build before the integration tests), as root (or through passwordless sudo), in the host's network
 * namespace. The layers are unpacked in order into a bundle's rootfs; config.json is {@code crun spec}'s, with the
 * image's entrypoint, env, working dir and user 65532:65532, a read-only root, a tmpfs on /tmp and
 * docs/examples/sharded bound read-only at /config. {@code serve} must answer {@code GET /ready} with 200 within a
 * generous bound; the container is always killed and deleted afterwards.
 */
class ImageRunIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicInteger CONTAINERS = new AtomicInteger();

  @TempDir static Path work;
  /** crun's command line: the wrapper, through sudo when this JVM is not root. */
  private static List<String> crun;
  private static Path rootfs;
  private static JsonNode imageConfig;

  @BeforeAll
  static void unpackTheImage() throws Exception {
    Path bin = Path.of(System.getProperty("shardgate.crun.bin", ".tools/crun/crun")).toAbsolutePath();
    assertTrue(Files.isExecutable(bin), bin + " is missing: tools/install-crun.sh installs it (the build runs it"
        + " in pre-integration-test)");
    // crun runs containers as root: this JVM's user, or passwordless sudo (a CI runner's user)
    String uid = Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("Uid:"))
        .findFirst().orElse("Uid: unknown");
    if (uid.matches("Uid:\\s+0\\s.*")) {
      crun = List.of(bin.toString());
    } else {
      Process sudo = new ProcessBuilder("sudo", "-n", "true").redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      assertTrue(sudo.waitFor(30, TimeUnit.SECONDS) && sudo.exitValue() == 0,
          "crun runs containers as root: run the build as root or give this user passwordless sudo; it is " + uid);
      crun = List.of("sudo", "-n", bin.toString());
    }
    OciImage image = OciImage.read(BuiltArtifacts.imageTarball());
    imageConfig = image.config().get("config");
    rootfs = work.resolve("rootfs");
    image.unpack(rootfs);
  }

  @Test
  void servesTheExampleAsNonRootOnAReadOnlyRootAndAnswersReady() throws Exception {
    int[] ports = ExampleConfig.freePorts(2);
    List<String> args = List.of("serve", "--config-dir", "/config", "--xds-port", String.valueOf(ports[0]),
        "--admin-port", String.valueOf(ports[1]));
    Container c = create(args, List.of("JAVA_TOOL_OPTIONS=-Xmx256m"));
    Process run = c.run();
    try {
      URI ready = URI.create("http://127.0.0.1:" + ports[1] + "/ready");
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      String last = "nothing yet";
      HttpResponse<String> response = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (System.nanoTime() < deadline) {
        if (!run.isAlive()) {
          fail("the container exited with " + run.exitValue() + " before /ready answered; its output:\n" + c.log());
        }
        try {
          response = http.send(HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(5)).build(),
              HttpResponse.BodyHandlers.ofString());
          last = response.statusCode() + " " + response.body();
          if (response.statusCode() == 200) {
            break;
          }
        } catch (IOException e) {
          last = e.toString();
        }
        Thread.sleep(500);
      }
      assertTrue(response != null && response.statusCode() == 200,
          "GET /ready within 120 s; last: " + last + "\ncontainer output:\n" + c.log());
      assertTrue(response.body().startsWith("ready\n") && response.body().contains(ExampleConfig.PROTECTED_ROLE
          + ": ready") && response.body().contains(ExampleConfig.NOISY_ROLE + ": ready"), response.body());

      long pid = c.pid();
      List<String> status = Files.readAllLines(Path.of("/proc/" + pid + "/status"));
      assertTrue(status.contains("Uid:\t65532\t65532\t65532\t65532"), "the JVM runs as 65532: " + status);
      assertTrue(status.contains("Gid:\t65532\t65532\t65532\t65532"), "with group 65532: " + status);
      List<String> mounts = Files.readAllLines(Path.of("/proc/" + pid + "/mountinfo"));
      assertTrue(mounts.stream().anyMatch(m -> field(m, 4).equals("/") && ("," + field(m, 5) + ",").contains(",ro,")),
          "the root file system is read-only: " + mounts);
      assertTrue(mounts.stream().anyMatch(m -> field(m, 4).equals("/tmp") && m.contains(" - tmpfs ")),
          "/tmp is a tmpfs: " + mounts);
      assertTrue(c.log().contains("Picked up JAVA_TOOL_OPTIONS: -Xmx256m"), "JAVA_TOOL_OPTIONS is honoured:\n"
          + c.log());
    } finally {
      c.destroy(run);
    }
  }

  @Test
  void versionInTheImagePrintsThePomVersionAndTheCommit() throws Exception {
    Container c = create(List.of("--version"), List.of());
    Process run = c.run();
    try {
      assertTrue(run.waitFor(120, TimeUnit.SECONDS), "shardgate --version finished; output:\n" + c.log());
      assertEquals(0, run.exitValue(), c.log());
      String expected = "shardgate " + BuiltArtifacts.projectVersion() + " (commit "
          + BuiltArtifacts.gitHead().substring(0, 12);
      assertTrue(c.log().matches("(?s)\\Q" + expected + "\\E(\\+dirty)?\\)\n"), "printed '" + c.log() + "', expected "
          + expected + ")");
    } finally {
      c.destroy(run);
    }
  }

  /** A bundle for one container: the shared rootfs, and crun spec's config.json adapted to the image's config. */
  private static Container create(List<String> args, List<String> extraEnv) throws Exception {
    String id = "shardgate-it-" + ProcessHandle.current().pid() + "-" + CONTAINERS.incrementAndGet();
    Path bundle = Files.createDirectories(work.resolve(id));
    BuiltArtifacts.run(bundle, List.of(crun.get(crun.size() - 1), "spec"), 60); // writing a file needs no root
    ObjectNode spec = (ObjectNode) JSON.readTree(bundle.resolve("config.json").toFile());
    ObjectNode process = (ObjectNode) spec.get("process");
    process.put("terminal", false);
    ArrayNode argv = process.putArray("args");
    imageConfig.get("Entrypoint").forEach(a -> argv.add(a.asText()));
    args.forEach(argv::add);
    ArrayNode env = process.putArray("env");
    imageConfig.get("Env").forEach(e -> env.add(e.asText()));
    extraEnv.forEach(env::add);
    process.put("cwd", imageConfig.get("WorkingDir").asText());
    String[] user = imageConfig.get("User").asText().split(":");
    ObjectNode u = process.putObject("user");
    u.put("uid", Integer.parseInt(user[0]));
    u.put("gid", Integer.parseInt(user[1]));
    ObjectNode root = spec.putObject("root");
    root.put("path", rootfs.toString());
    root.put("readonly", true);
    ArrayNode mounts = (ArrayNode) spec.get("mounts");
    ObjectNode tmp = mounts.addObject();
    tmp.put("destination", "/tmp").put("type", "tmpfs").put("source", "tmpfs");
    tmp.putArray("options").add("nosuid").add("nodev").add("mode=1777").add("size=256m");
    ObjectNode config = mounts.addObject();
    config.put("destination", "/config").put("type", "bind")
        .put("source", BuiltArtifacts.repoRoot().resolve("docs/examples/sharded").toString());
    config.putArray("options").add("rbind").add("ro");
    // The host's network namespace: the test reaches the admin port on 127.0.0.1.
    ArrayNode namespaces = (ArrayNode) spec.at("/linux/namespaces");
    for (int i = namespaces.size() - 1; i >= 0; i--) {
      if (namespaces.get(i).get("type").asText().equals("network")) {
        namespaces.remove(i);
      }
    }
    JSON.writerWithDefaultPrettyPrinter().writeValue(bundle.resolve("config.json").toFile(), spec);
    return new Container(id, bundle, work.resolve("crun-state"), bundle.resolve("output.log"));
  }

  private record Container(String id, Path bundle, Path state, Path logFile) {

    Process run() throws IOException {
      Files.createDirectories(state);
      return new ProcessBuilder(crun("--root", state.toString(), "run", "--bundle", bundle.toString(), id))
          .redirectErrorStream(true).redirectOutput(logFile.toFile()).start();
    }

    String log() throws IOException {
      return Files.readString(logFile, StandardCharsets.UTF_8);
    }

    /** The container's init process on the host (the JVM), from {@code crun state}. */
    long pid() throws Exception {
      JsonNode s = JSON.readTree(BuiltArtifacts.run(bundle, crun("--root", state.toString(), "state", id), 60));
      assertEquals("running", s.get("status").asText(), s.toString());
      return s.get("pid").asLong();
    }

    /** Kills and deletes the container whatever happened; reports what it could not clean up. */
    void destroy(Process run) throws Exception {
      List<String> problems = new ArrayList<>();
      if (run.isAlive()) {
        exec("kill", id, "KILL"); // fails harmlessly when the container has just exited
        if (!run.waitFor(60, TimeUnit.SECONDS)) {
          run.destroyForcibly();
          problems.add("crun run " + id + " did not exit after crun kill");
        }
      }
      exec("delete", "--force", id);
      if (exec("state", id)) {
        problems.add("container " + id + " is still there after crun delete --force");
      }
      assertEquals(List.of(), problems, "cleaning up container " + id);
    }

    /** Runs a crun command (bounded); whether it succeeded. */
    private boolean exec(String... command) throws Exception {
      List<String> argv = new ArrayList<>(List.of("--root", state.toString()));
      argv.addAll(List.of(command));
      Process p = new ProcessBuilder(crun(argv.toArray(String[]::new))).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return false;
      }
      return p.exitValue() == 0;
    }
  }

  private static List<String> crun(String... args) {
    List<String> argv = new ArrayList<>(crun);
    argv.addAll(List.of(args));
    return argv;
  }

  /** Field {@code i} (0-based, space-separated) of a /proc/PID/mountinfo line. */
  private static String field(String line, int i) {
    String[] f = line.split(" ");
    return f.length > i ? f[i] : "";
  }
}
