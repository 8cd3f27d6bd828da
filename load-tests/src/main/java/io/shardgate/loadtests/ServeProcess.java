package io.shardgate.loadtests;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real control plane as a child process: {@code java <flags> -jar shardgate.jar serve} on free loopback ports,
 * with its own state directory, its output in a log file. Gives the benchmark what it observes from outside: ports,
 * the admin API and {@code /metrics}, the process's CPU time from {@code /proc}, and {@code jcmd}.
 *
 * <p>Stateful edge (a process); thread-safe. {@link #close()} always ends the process, by its pid: a polite stop
 * first (SIGTERM, so the JVM's shutdown hooks close the ports), then a kill.
 */
final class ServeProcess implements AutoCloseable {

  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
  /** What ShardPipeline logs at the end of every pass, after publishing and persisting. */
  static final String PASS_LOGGED = " ShardPipeline - Translated ";

  private final Process process;
  private final List<String> command;
  private final long startNanos;
  private final long startEpochMillis;
  private final int xdsPort;
  private final int adminPort;
  private final Path log;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  /** How far the log has been read for {@link #passesLogged()}, and what it found; guarded by this. */
  private long logOffset;
  private int passesLogged;

  private ServeProcess(Process process, List<String> command, long startNanos, long startEpochMillis, int xdsPort,
      int adminPort, Path log) {
    this.process = process;
    this.command = command;
    this.startNanos = startNanos;
    this.startEpochMillis = startEpochMillis;
    this.xdsPort = xdsPort;
    this.adminPort = adminPort;
    this.log = log;
  }

  /** Starts {@code serve}; the returned object's {@link #startNanos()} is taken just before the process starts. */
  static ServeProcess start(Path jar, List<String> jvmFlags, Path configDir, Path stateDir, Path log)
      throws IOException {
    return start(jar, jvmFlags, List.of("--config-dir", configDir.toString()), stateDir, log);
  }

  /** Starts {@code serve --kubernetes --kubeconfig FILE}, as {@link #start} does otherwise. */
  static ServeProcess startKubernetes(Path jar, List<String> jvmFlags, Path kubeconfig, Path stateDir, Path log)
      throws IOException {
    return startKubernetes(jar, jvmFlags, kubeconfig, List.of(), stateDir, log);
  }

  /** As {@link #startKubernetes(Path, List, Path, Path, Path)}, with more options of serve ({@code --webhook-*}). */
  static ServeProcess startKubernetes(Path jar, List<String> jvmFlags, Path kubeconfig, List<String> moreArgs,
      Path stateDir, Path log) throws IOException {
    List<String> args = new ArrayList<>(List.of("--kubernetes", "--kubeconfig", kubeconfig.toString()));
    args.addAll(moreArgs);
    return start(jar, jvmFlags, args, stateDir, log);
  }

  /** Starts {@code serve --consul ADDR} plus {@code moreArgs} ({@code --vault-addr ...}), as {@link #start} does. */
  static ServeProcess startConsul(Path jar, List<String> jvmFlags, String consul, List<String> moreArgs,
      Path stateDir, Path log) throws IOException {
    List<String> args = new ArrayList<>(List.of("--consul", consul));
    args.addAll(moreArgs);
    return start(jar, jvmFlags, args, stateDir, log);
  }

  private static ServeProcess start(Path jar, List<String> jvmFlags, List<String> sourceArgs, Path stateDir, Path log)
      throws IOException {
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(jar + " does not exist: build first (./mvnw -B -ntp -DskipTests package)");
    }
    int[] ports = freePorts(2);
    List<String> command = new ArrayList<>();
    command.add(javaExecutable());
    command.addAll(jvmFlags);
    command.addAll(List.of("-jar", jar.toString(), "serve"));
    command.addAll(sourceArgs);
    command.addAll(List.of("--state-dir", stateDir.toString(), "--xds-port", Integer.toString(ports[0]),
        "--admin-port", Integer.toString(ports[1])));
    Files.createDirectories(log.getParent());
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    long epoch = System.currentTimeMillis();
    long nanos = System.nanoTime();
    Process p = pb.start();
    return new ServeProcess(p, List.copyOf(command), nanos, epoch, ports[0], ports[1], log);
  }

  /** The java of the JVM running this benchmark, so parent and child run the same JDK. */
  static String javaExecutable() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  static String jdkTool(String name) {
    return Path.of(System.getProperty("java.home"), "bin", name).toString();
  }

  /** Ports free on loopback right now (bound and released; serve binds them a moment later). */
  static int[] freePorts(int n) throws IOException {
    int[] ports = new int[n];
    List<ServerSocket> held = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        ServerSocket s = new ServerSocket(0, 0, InetAddress.getLoopbackAddress());
        held.add(s);
        ports[i] = s.getLocalPort();
      }
    } finally {
      for (ServerSocket s : held) {
        s.close();
      }
    }
    return ports;
  }

  List<String> command() {
    return command;
  }

  long pid() {
    return process.pid();
  }

  long startNanos() {
    return startNanos;
  }

  long startEpochMillis() {
    return startEpochMillis;
  }

  int xdsPort() {
    return xdsPort;
  }

  int adminPort() {
    return adminPort;
  }

  Path log() {
    return log;
  }

  /** Milliseconds since the process was started. */
  double sinceStartMs(long nanos) {
    return (nanos - startNanos) / 1e6;
  }

  /** Fails with the exit code and the end of the log if the process is gone; {@code waitingFor} says for what. */
  void checkAlive(String waitingFor) {
    if (!process.isAlive()) {
      throw new IllegalStateException("serve exited with code " + process.exitValue() + " while waiting for "
          + waitingFor + "; the end of " + log + ":\n" + logTail(40));
    }
  }

  /** Whether a TCP connection to the port on loopback is accepted now. */
  static boolean accepts(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** {@code GET path} on the admin port: the status code and body, or -1 when nothing answered. */
  HttpResponse<String> get(String path) throws IOException {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
          .timeout(REQUEST_TIMEOUT).GET().build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  /** A scrape of {@code /metrics}; fails unless it answers 200. */
  Map<String, Double> metrics() {
    try {
      HttpResponse<String> r = get("/metrics");
      if (r.statusCode() != 200) {
        throw new IllegalStateException("GET /metrics answered " + r.statusCode() + ": " + r.body());
      }
      return PrometheusText.parse(r.body());
    } catch (IOException e) {
      checkAlive("GET /metrics");
      throw new UncheckedIOException("GET /metrics failed", e);
    }
  }

  /** User plus system CPU time of the whole process so far, in clock ticks, from {@code /proc/<pid>/stat}. */
  long cpuTicks() {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid()), "stat"), StandardCharsets.US_ASCII);
      // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime: fields 14 and 15
    } catch (IOException e) {
      checkAlive("reading /proc/" + pid() + "/stat");
      throw new UncheckedIOException(e);
    }
  }

  /** CPU time one thread of the process has had, by its (kernel, 15-character) name. */
  record ThreadCpu(String name, long nanos) {}

  /**
   * Every thread of the process now: thread id to its name and CPU time in nanoseconds, from
   * {@code /proc/<pid>/task/<tid>/schedstat} (exact, unlike the 10 ms ticks of {@code stat}). Threads that end while
   * being read are left out.
   */
  Map<Long, ThreadCpu> threadCpu() {
    Map<Long, ThreadCpu> threads = new HashMap<>();
    Path tasks = Path.of("/proc", Long.toString(pid()), "task");
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(tasks)) {
      for (Path task : dir) {
        try {
          String name = Files.readString(task.resolve("comm"), StandardCharsets.UTF_8).trim();
          String sched = Files.readString(task.resolve("schedstat"), StandardCharsets.US_ASCII).trim();
          threads.put(Long.parseLong(task.getFileName().toString()),
              new ThreadCpu(name, Long.parseLong(sched.substring(0, sched.indexOf(' ')))));
        } catch (IOException | RuntimeException gone) {
          // the thread ended between listing and reading
        }
      }
    } catch (IOException e) {
      checkAlive("reading " + tasks);
      throw new UncheckedIOException(e);
    }
    return threads;
  }

  /** Runs {@code jcmd <pid> args...} and returns its output; fails unless it exits with 0. */
  String jcmd(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(jdkTool("jcmd"), Long.toString(pid())));
    cmd.addAll(List.of(args));
    return run(cmd, Duration.ofSeconds(120));
  }

  /** Runs a short command, returns its output (stdout and stderr); fails unless it exits with 0 in time. */
  static String run(List<String> cmd, Duration timeout) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out;
    try {
      out = p.getInputStream().readAllBytes();
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException(String.join(" ", cmd) + " did not finish within " + timeout);
      }
    } finally {
      if (p.isAlive()) {
        p.destroyForcibly();
      }
    }
    String text = new String(out, StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " exited with " + p.exitValue() + ": " + text);
    }
    return text;
  }

  /**
   * Translation passes the log reports as finished so far: ShardPipeline logs "Translated ..." once a pass has
   * published and persisted. Reads only what was appended since the last call, whole lines only.
   */
  synchronized int passesLogged() {
    try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
      long length = f.length();
      if (length <= logOffset) {
        return passesLogged;
      }
      byte[] bytes = new byte[(int) Math.min(length - logOffset, 64L * 1024 * 1024)];
      f.seek(logOffset);
      f.readFully(bytes);
      int lastNewline = -1;
      for (int i = bytes.length - 1; i >= 0; i--) {
        if (bytes[i] == '\n') {
          lastNewline = i;
          break;
        }
      }
      if (lastNewline < 0) {
        return passesLogged;
      }
      String text = new String(bytes, 0, lastNewline + 1, StandardCharsets.UTF_8);
      for (String line : text.split("\n")) {
        if (line.contains(PASS_LOGGED)) {
          passesLogged++;
        }
      }
      logOffset += lastNewline + 1;
      return passesLogged;
    } catch (IOException e) {
      throw new UncheckedIOException("reading " + log, e);
    }
  }

  /** The last {@code lines} lines of the log. */
  String logTail(int lines) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(cannot read the log: " + e + ")";
    }
  }

  /** Stops the process: SIGTERM and up to 30 s for its shutdown hooks, then SIGKILL. Idempotent. */
  @Override
  public void close() {
    ProcessHandle handle = process.toHandle();
    if (!handle.isAlive()) {
      return;
    }
    handle.destroy();
    try {
      if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        System.err.println("serve (pid " + pid() + ") did not stop within " + STOP_TIMEOUT + " of SIGTERM; killing it");
        handle.destroyForcibly();
        process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      handle.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
