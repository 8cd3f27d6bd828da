package io.shardgate.loadtests;

import io.grpc.internal.GrpcUtil;
import io.micronaut.core.version.VersionUtils;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Properties;

/** The machine and software the numbers belong to. */
record BenchmarkMachine(String cpu, int cores, long memoryMiB, String kernel, String jdk, String micronaut, String grpc,
    String javaControlPlane, String commit) {

  /** USER_HZ: /proc reports CPU time in these; 100 on every Linux architecture the benchmark runs on. */
  static final int CLOCK_TICKS_PER_SECOND = 100;

  static BenchmarkMachine describe() {
    String cpu = "unknown CPU";
    long mem = 0;
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          cpu = line.substring(line.indexOf(':') + 1).trim();
          break;
        }
      }
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal:")) {
          mem = Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      // the report says unknown
    }
    return new BenchmarkMachine(cpu, Runtime.getRuntime().availableProcessors(), mem,
        System.getProperty("os.name") + " " + System.getProperty("os.version"),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"),
        VersionUtils.getMicronautVersion(), GrpcUtil.IMPLEMENTATION_VERSION,
        mavenVersion("io.envoyproxy.controlplane", "api"),
        System.getProperty("shardgate.bench.commit", "unknown"));
  }

  private static String mavenVersion(String group, String artifact) {
    try (InputStream in = BenchmarkMachine.class.getResourceAsStream(
        "/META-INF/maven/" + group + "/" + artifact + "/pom.properties")) {
      if (in == null) {
        return "unknown";
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version", "unknown");
    } catch (IOException e) {
      return "unknown";
    }
  }

  String summary() {
    return String.format(Locale.ROOT, "%s, %d cores, %,d MiB; %s; %s; commit %s", cpu, cores, memoryMiB, kernel,
        jdk, commit);
  }

  /** The 1, 5 and 15 minute load averages. */
  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException e) {
      return "unknown";
    }
  }

  /** The file system type of the mount holding {@code path}, from /proc/mounts. */
  static String fileSystemOf(Path path) {
    String best = "";
    String type = "unknown";
    try {
      String real = path.toRealPath().toString();
      for (String line : Files.readAllLines(Path.of("/proc/mounts"))) {
        String[] f = line.split(" ");
        if (f.length > 2 && (real.equals(f[1]) || real.startsWith(f[1].endsWith("/") ? f[1] : f[1] + "/"))
            && f[1].length() > best.length()) {
          best = f[1];
          type = f[2];
        }
      }
    } catch (IOException e) {
      return type;
    }
    return type + " (" + best + ")";
  }
}
