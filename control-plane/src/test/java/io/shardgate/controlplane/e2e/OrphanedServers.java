package io.shardgate.controlplane.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * The clean-up shared by the test harnesses that start real servers (KubeApiServer, ConsulAgent) in a work folder
 * under {@code java.io.tmpdir}: each folder holds an owner file (the pid of the test JVM) and a pids file (one
 * {@code <pid> <binary>} line per server, in start order). A folder whose owning JVM is gone was left by a JVM killed
 * before its afterAll or shutdown hook ran; its servers are stopped, last started first, and the folder deleted.
 * Folders of JVMs that still run (another build on this machine) are left alone, and a recorded pid is stopped only
 * while it still runs the recorded binary, so a reused pid is never hit.
 *
 * <p>Stateless; messages go to stdout with the harness's tag.
 */
public final class OrphanedServers {

  private OrphanedServers() {}

  /** Stops the servers of dead test JVMs' folders named {@code workPrefix*} and deletes those folders. */
  public static void reap(String tag, String workPrefix, String ownerFile, String pidsFile) {
    Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
    List<Path> dirs;
    try (Stream<Path> listed = Files.list(tmp)) {
      dirs = listed.filter(d -> d.getFileName().toString().startsWith(workPrefix)).toList();
    } catch (IOException e) {
      System.out.println("[" + tag + "] cannot list " + tmp + " for the remains of killed test JVMs: " + e);
      return;
    }
    for (Path dir : dirs) {
      try {
        Path owner = dir.resolve(ownerFile);
        if (!Files.isRegularFile(owner) || isRunning(Long.parseLong(Files.readString(owner).strip()))) {
          continue;
        }
        Path pids = dir.resolve(pidsFile);
        List<String> lines = new ArrayList<>(Files.isRegularFile(pids) ? Files.readAllLines(pids) : List.of());
        Collections.reverse(lines); // last started first, as the harnesses' stop() does (an API server before etcd)
        for (String line : lines) {
          String[] pidAndBinary = line.split(" ", 2);
          ProcessHandle.of(Long.parseLong(pidAndBinary[0]))
              .filter(p -> p.info().command().map(pidAndBinary[1]::equals).orElse(false))
              .ifPresent(orphan -> stop(tag, orphan, pidAndBinary[1]));
        }
        deleteTree(tag, dir);
      } catch (IOException | RuntimeException e) {
        System.out.println("[" + tag + "] could not clean up " + dir + ", left by a killed test JVM: " + e);
      }
    }
  }

  /** Deletes a folder and everything in it; a failure is printed, not thrown. */
  public static void deleteTree(String tag, Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      System.out.println("[" + tag + "] could not delete " + root + ": " + e);
    }
  }

  private static void stop(String tag, ProcessHandle orphan, String binary) {
    System.out.println("[" + tag + "] stopping " + binary + " (pid " + orphan.pid() + "), left running by a test JVM"
        + " that was killed");
    orphan.destroy();
    try {
      orphan.onExit().get(15, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      orphan.destroyForcibly();
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      orphan.destroyForcibly();
    }
  }

  private static boolean isRunning(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }
}
