package io.shardgate.controlplane.e2e;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A test host with its own address: a network namespace ({@code ip netns add}), a veth pair with a private /30 out of
 * 10.250.0.0/16 (the host side {@code .1}, the namespace side {@code .2} of the block), and {@link NetnsBackend}
 * running inside it as its own JVM, listening on the namespace address only. The Kubernetes API server refuses
 * loopback endpoint addresses, so this is how an EndpointSlice can point a real Envoy at a real backend on one
 * machine; nothing else on the machine listens on that address, so a request that reaches the backend went there.
 *
 * <p>Names carry the pid of the JVM that made them ({@code sgtest-<pid>-<n>}, links {@code sgt<pid>h<n>}), so that
 * builds running side by side never touch each other's namespaces, and the remains of a JVM that was killed (its pid
 * no longer running) are removed by the next {@link #start}. {@link #close()} stops the backend by its pid, deletes
 * the veth pair and the namespace, and fails if any of them is left; a shutdown hook does the same if the JVM ends
 * first.
 *
 * <p>Needs root and iproute2's {@code ip}; without them it fails, naming what is missing (never skips: CI runs as
 * root). Stateful; {@link #close()} may be called from any thread, more than once.
 */
public final class NetnsTestHost implements AutoCloseable {

  static final String NAMESPACE_PREFIX = "sgtest-";
  private static final String LINK_PREFIX = "sgt";
  private static final Pattern NAMESPACE = Pattern.compile(Pattern.quote(NAMESPACE_PREFIX) + "(\\d+)-(\\d+)");
  private static final Pattern LINK = Pattern.compile(Pattern.quote(LINK_PREFIX) + "(\\d+)[hn](\\d+)");
  private static final Duration COMMAND_BOUND = Duration.ofSeconds(30);
  /** A JVM start on a loaded 2-core machine takes seconds; give it plenty. */
  private static final Duration READY_BOUND = Duration.ofSeconds(60);
  private static final Duration STOP_GRACE = Duration.ofSeconds(10);
  private static final AtomicInteger SEQUENCE = new AtomicInteger();
  private static boolean reaped;

  private final String backendName;
  private final String namespace;
  private final String hostLink;
  private final String nsLink;
  private final String hostAddress;
  private final String address;
  private final int port;
  private final Path log;
  private Process backend;
  private Thread shutdownHook;
  private boolean closed;

  private NetnsTestHost(String backendName, int sequence, String hostAddress, String address, int port, Path log) {
    long pid = ProcessHandle.current().pid();
    this.backendName = backendName;
    this.namespace = NAMESPACE_PREFIX + pid + "-" + sequence;
    this.hostLink = LINK_PREFIX + pid + "h" + sequence;
    this.nsLink = LINK_PREFIX + pid + "n" + sequence;
    this.hostAddress = hostAddress;
    this.address = address;
    this.port = port;
    this.log = log;
  }

  /**
   * Creates the namespace and its veth pair and starts a backend named {@code backendName} on its address and
   * {@code port}; returns once the backend accepts connections from the host. Its output goes to
   * {@code logDir/<backendName>.log}. Whatever was made is removed again when a step fails.
   */
  public static NetnsTestHost start(String backendName, int port, Path logDir) throws IOException,
      InterruptedException {
    String ip = requireRootAndIp();
    reapStale();
    int sequence = SEQUENCE.getAndIncrement();
    String[] pair = freeBlock();
    NetnsTestHost host = new NetnsTestHost(backendName, sequence, pair[0], pair[1], port,
        logDir.resolve(backendName + ".log"));
    host.shutdownHook = new Thread(host::closeQuietly, "netns-test-host-" + host.namespace);
    Runtime.getRuntime().addShutdownHook(host.shutdownHook);
    try {
      host.createNetwork(ip);
      host.startBackend(ip);
    } catch (IOException | InterruptedException | RuntimeException | AssertionError e) {
      host.closeQuietly();
      throw e;
    }
    return host;
  }

  /** The namespace side's address: the one an EndpointSlice names and the backend listens on. */
  public String address() {
    return address;
  }

  /** The host side's address of the veth pair: where requests from this machine come from. */
  public String hostAddress() {
    return hostAddress;
  }

  public int port() {
    return port;
  }

  public String backendName() {
    return backendName;
  }

  public String namespace() {
    return namespace;
  }

  /**
   * Runs {@code mainClass} (a class of these tests that needs nothing but the JDK, such as {@link NetnsHttpGet}) in a
   * JVM inside the namespace, so that what it connects to on this host sees it come from {@link #address()}, not from
   * loopback; returns its output, or fails with it unless it exits with 0 within the bound.
   */
  public String runJava(Class<?> mainClass, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(ipBinary(), "netns", "exec", namespace,
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx32m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", ownClassFolder(), mainClass.getName()));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(READY_BOUND.toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      fail(mainClass.getSimpleName() + " in " + namespace + " did not finish within " + READY_BOUND);
    }
    String output = new String(out, StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      fail(mainClass.getSimpleName() + " in " + namespace + " exited with " + p.exitValue() + ":\n" + output);
    }
    return output;
  }

  /** The host side's veth link name. */
  String hostLink() {
    return hostLink;
  }

  /** Requests the backend served so far, as it printed them ({@code <method> <path> from <peer address>}). */
  public List<String> requests() {
    List<String> out = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
        if (line.startsWith(NetnsBackend.REQUEST_LINE)) {
          out.add(line.substring(NetnsBackend.REQUEST_LINE.length()));
        }
      }
    } catch (IOException e) {
      throw new AssertionError("cannot read the log of backend " + backendName + " at " + log + ": " + e, e);
    }
    return out;
  }

  /** The backend's log tail, for failure messages. */
  public String logTail() {
    return ExampleConfig.tail(log, 30);
  }

  @Override
  public String toString() {
    return backendName + " at " + address + ":" + port + " (netns " + namespace + ")";
  }

  private void createNetwork(String ip) throws IOException, InterruptedException {
    run(ip, "netns", "add", namespace);
    run(ip, "link", "add", hostLink, "type", "veth", "peer", "name", nsLink);
    run(ip, "link", "set", nsLink, "netns", namespace);
    run(ip, "addr", "add", hostAddress + "/30", "dev", hostLink);
    run(ip, "link", "set", hostLink, "up");
    run(ip, "netns", "exec", namespace, ip, "addr", "add", address + "/30", "dev", nsLink);
    run(ip, "netns", "exec", namespace, ip, "link", "set", nsLink, "up");
    run(ip, "netns", "exec", namespace, ip, "link", "set", "lo", "up");
  }

  private void startBackend(String ip) throws IOException, InterruptedException {
    Files.createDirectories(log.getParent());
    List<String> command = List.of(ip, "netns", "exec", namespace,
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx32m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-cp", ownClassFolder(), NetnsBackend.class.getName(), address, Integer.toString(port), backendName);
    // `ip netns exec` execs the command after entering the namespace: this pid is the backend JVM's own.
    backend = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
        .start();
    long deadline = System.nanoTime() + READY_BOUND.toNanos();
    String last = "no attempt";
    while (true) {
      if (!backend.isAlive()) {
        fail("backend " + this + " exited with status " + backend.exitValue() + " before it accepted connections."
            + " Its log:\n" + logTail());
      }
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress(address, port), 1_000);
        return;
      } catch (IOException notYet) {
        last = notYet.toString();
      }
      if (System.nanoTime() - deadline > 0) {
        fail("backend " + this + " did not accept connections within " + READY_BOUND + " (last: " + last
            + "). Its log:\n" + logTail());
      }
      Thread.sleep(100);
    }
  }

  /** The folder (or jar) this class was loaded from: NetnsBackend needs nothing but the JDK and itself. */
  private static String ownClassFolder() {
    try {
      return Path.of(NetnsBackend.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    } catch (URISyntaxException e) {
      throw new IllegalStateException("cannot locate the test classes: " + e, e);
    }
  }

  /**
   * Stops the backend (SIGTERM to its pid, SIGKILL after a grace period), deletes the veth pair and the namespace,
   * then checks that neither is left; fails naming what is.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    List<String> problems = new ArrayList<>();
    if (backend != null && backend.isAlive()) {
      backend.destroy();
      try {
        if (!backend.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
          backend.destroyForcibly().waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
        }
      } catch (InterruptedException e) {
        backend.destroyForcibly();
        Thread.currentThread().interrupt();
      }
      if (backend.isAlive()) {
        problems.add("backend pid " + backend.pid() + " still runs");
      }
    }
    String ip = ipBinary();
    try {
      Set<String> links = hostLinks(ip);
      if (links.contains(hostLink)) {
        // Deleting one end deletes its peer inside the namespace too.
        runQuietly(ip, "link", "del", hostLink);
      }
      if (namespaces(ip).contains(namespace)) {
        killNamespacePids(ip, namespace);
        runQuietly(ip, "netns", "del", namespace);
      }
      if (namespaces(ip).contains(namespace)) {
        problems.add("network namespace " + namespace + " is still there");
      }
      if (hostLinks(ip).contains(hostLink)) {
        problems.add("link " + hostLink + " is still there");
      }
    } catch (IOException e) {
      problems.add("cannot list namespaces or links: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      problems.add("interrupted while cleaning up");
    }
    if (shutdownHook != null && Thread.currentThread() != shutdownHook) {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs anyway, and finds this closed
      }
    }
    if (!problems.isEmpty()) {
      throw new AssertionError("cleaning up " + this + " left: " + String.join("; ", problems));
    }
  }

  private void closeQuietly() {
    try {
      close();
    } catch (AssertionError e) {
      System.out.println("[netns-test-host] " + e.getMessage());
    }
  }

  /**
   * Removes the namespaces and links of this class whose owning JVM is gone (it was killed before it could clean up):
   * their processes first (by the pids {@code ip netns pids} lists), then the links and namespaces. Those of JVMs
   * still running (another build beside this one) are left alone.
   */
  static synchronized void reapStale() throws IOException, InterruptedException {
    if (reaped) {
      return;
    }
    reaped = true;
    String ip = ipBinary();
    for (String link : hostLinks(ip)) {
      Matcher m = LINK.matcher(link);
      if (m.matches() && !isRunning(Long.parseLong(m.group(1)))) {
        System.out.println("[netns-test-host] deleting link " + link + ", left by a test JVM that is gone");
        runQuietly(ip, "link", "del", link);
      }
    }
    for (String ns : namespaces(ip)) {
      Matcher m = NAMESPACE.matcher(ns);
      if (m.matches() && !isRunning(Long.parseLong(m.group(1)))) {
        System.out.println("[netns-test-host] deleting network namespace " + ns + ", left by a test JVM that is gone");
        killNamespacePids(ip, ns);
        runQuietly(ip, "netns", "del", ns);
      }
    }
  }

  /** Forgets that stale namespaces were reaped in this JVM, so a test can make the next start reap again. */
  static synchronized void reapAgain() {
    reaped = false;
  }

  /** The names {@code ip netns list} shows (the first word of each line). */
  static Set<String> namespaces(String ip) throws IOException, InterruptedException {
    Set<String> names = new TreeSet<>();
    for (String line : run(ip, "netns", "list").split("\n")) {
      if (!line.isBlank()) {
        names.add(line.strip().split("\\s+")[0]);
      }
    }
    return names;
  }

  /** Link names in the host's namespace ({@code ip -o link show}: "N: name@peer: ..."). */
  static Set<String> hostLinks(String ip) throws IOException, InterruptedException {
    Set<String> names = new TreeSet<>();
    for (String line : run(ip, "-o", "link", "show").split("\n")) {
      String[] fields = line.split(":\\s+", 3);
      if (fields.length >= 2) {
        String name = fields[1];
        int at = name.indexOf('@');
        names.add(at < 0 ? name : name.substring(0, at));
      }
    }
    return names;
  }

  private static void killNamespacePids(String ip, String ns) throws IOException, InterruptedException {
    for (String pid : runQuietly(ip, "netns", "pids", ns).split("\\s+")) {
      if (pid.matches("\\d+")) {
        ProcessHandle.of(Long.parseLong(pid)).ifPresent(p -> {
          p.destroy();
          try {
            p.onExit().get(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
          } catch (Exception notYet) {
            p.destroyForcibly();
          }
        });
      }
    }
  }

  /**
   * A /30 out of 10.250.0.0/16 that no interface of this host uses yet, as {host address, namespace address}. Picked
   * at random, so that two test JVMs starting at the same moment hardly ever pick the same one.
   */
  private static String[] freeBlock() throws IOException, InterruptedException {
    String used = run(ipBinary(), "-o", "-4", "addr", "show");
    for (int attempt = 0; attempt < 1000; attempt++) {
      int third = ThreadLocalRandom.current().nextInt(256);
      int block = ThreadLocalRandom.current().nextInt(64) * 4;
      String prefix = "10.250." + third + ".";
      if (!used.contains(" " + prefix + (block + 1) + "/") && !used.contains(" " + prefix + (block + 2) + "/")) {
        return new String[] {prefix + (block + 1), prefix + (block + 2)};
      }
    }
    throw new IllegalStateException("no free /30 in 10.250.0.0/16 on this host:\n" + used);
  }

  private static String requireRootAndIp() throws IOException, InterruptedException {
    String ip = ipBinary();
    if (ip == null) {
      fail("This test runs its backend in a network namespace and needs iproute2's `ip` (apt-get install iproute2);"
          + " none was found in /usr/sbin, /sbin, /usr/bin, /bin or PATH.");
    }
    String uid = run("id", "-u").strip();
    if (!uid.equals("0")) {
      fail("This test runs its backend in a network namespace (ip netns add, a veth pair), which needs root; it runs"
          + " as uid " + uid + ". Run it as root (CI does).");
    }
    return ip;
  }

  /** iproute2's {@code ip}, or null when this host has none. */
  static String ipBinary() {
    List<Path> candidates = new ArrayList<>(List.of(Path.of("/usr/sbin/ip"), Path.of("/sbin/ip"),
        Path.of("/usr/bin/ip"), Path.of("/bin/ip")));
    String path = System.getenv("PATH");
    if (path != null) {
      for (String dir : path.split(":")) {
        if (!dir.isEmpty()) {
          candidates.add(Path.of(dir, "ip"));
        }
      }
    }
    return candidates.stream().filter(Files::isExecutable).findFirst().map(Path::toString).orElse(null);
  }

  private static boolean isRunning(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  /** Runs a command; fails naming it and its output unless it exits with 0 in time. Returns its output. */
  static String run(String... command) throws IOException, InterruptedException {
    Result r = exec(command);
    if (r.exit != 0) {
      throw new IllegalStateException(String.join(" ", command) + " exited with " + r.exit + ": " + r.output.strip());
    }
    return r.output;
  }

  /** Runs a cleanup command, reporting (not throwing) a failure; returns its output. */
  private static String runQuietly(String... command) throws IOException, InterruptedException {
    Result r = exec(command);
    if (r.exit != 0) {
      System.out.println("[netns-test-host] " + String.join(" ", command) + " exited with " + r.exit + ": "
          + r.output.strip());
    }
    return r.output;
  }

  private record Result(int exit, String output) {}

  private static Result exec(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(COMMAND_BOUND.toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(String.join(" ", command) + " did not finish within " + COMMAND_BOUND);
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }
}
