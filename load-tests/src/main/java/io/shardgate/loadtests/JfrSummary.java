package io.shardgate.loadtests;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * What a JFR recording of {@code serve} during an edit burst says about the cost of a pass: where the pipeline
 * thread's CPU samples are (top frames, and Shardgate methods inclusive), what it allocates per pass, which threads
 * take the rest, and the GC pauses. Pure function of the file; thread-safe.
 *
 * @param pipelineSamples execution samples of the pipeline thread
 * @param allSamples execution samples of every thread
 * @param topSelf pipeline thread: top frame to samples, largest first
 * @param shardgateInclusive pipeline thread: Shardgate method to samples whose stack holds it, largest first
 * @param threads thread (digits folded to #) to samples, largest first
 * @param topSelfAll every thread: top frame to samples, largest first
 * @param allocatedBytes bytes allocated by the whole process: heap used before each GC minus heap used after the
 *     one before it (JFR's heap summaries; exact up to what the last GC left unreclaimed)
 * @param pipelineAllocationShare the pipeline thread's share of the allocation samples' weights (the weights
 *     themselves overstate the total several times here, their proportions are what they are good for)
 * @param gcs garbage collections
 * @param longestGcPause longest pause of any of them
 */
record JfrSummary(
    long pipelineSamples,
    long allSamples,
    List<Map.Entry<String, Long>> topSelf,
    List<Map.Entry<String, Long>> shardgateInclusive,
    List<Map.Entry<String, Long>> threads,
    List<Map.Entry<String, Long>> topSelfAll,
    long allocatedBytes,
    double pipelineAllocationShare,
    int gcs,
    Duration longestGcPause) {

  private static final int TOP = 25;

  static JfrSummary of(Path recording, String pipelineThread) throws IOException {
    Map<String, Long> self = new HashMap<>();
    Map<String, Long> inclusive = new HashMap<>();
    Map<String, Long> threads = new HashMap<>();
    Map<String, Long> selfAll = new HashMap<>();
    long pipelineSamples = 0;
    long allSamples = 0;
    long pipelineAlloc = 0;
    long allAlloc = 0;
    List<RecordedEvent> heapSummaries = new ArrayList<>();
    int gcs = 0;
    Duration longest = Duration.ZERO;
    for (RecordedEvent e : RecordingFile.readAllEvents(recording)) {
      String type = e.getEventType().getName();
      switch (type) {
        case "jdk.ExecutionSample" -> {
          RecordedThread t = e.getThread("sampledThread");
          RecordedStackTrace stack = e.getStackTrace();
          if (t == null || stack == null || stack.getFrames().isEmpty()) {
            continue;
          }
          allSamples++;
          String name = threadName(t);
          threads.merge(name.replaceAll("[0-9]+", "#"), 1L, Long::sum);
          String top = frame(stack.getFrames().get(0));
          selfAll.merge(top, 1L, Long::sum);
          if (name.equals(pipelineThread)) {
            pipelineSamples++;
            self.merge(top, 1L, Long::sum);
            Set<String> seen = new LinkedHashSet<>();
            for (RecordedFrame f : stack.getFrames()) {
              String m = frame(f);
              if (m.startsWith("io.shardgate.") && !m.contains("$$Lambda")) {
                seen.add(m);
              }
            }
            seen.forEach(m -> inclusive.merge(m, 1L, Long::sum));
          }
        }
        case "jdk.ObjectAllocationSample" -> {
          long weight = e.getLong("weight");
          allAlloc += weight;
          RecordedThread t = e.getThread("eventThread");
          if (t != null && threadName(t).equals(pipelineThread)) {
            pipelineAlloc += weight;
          }
        }
        case "jdk.GCHeapSummary" -> heapSummaries.add(e);
        case "jdk.GarbageCollection" -> {
          gcs++;
          Duration pause = e.getDuration("longestPause");
          if (pause.compareTo(longest) > 0) {
            longest = pause;
          }
        }
        default -> {
          // other events are not summarized
        }
      }
    }
    return new JfrSummary(pipelineSamples, allSamples, top(self), top(inclusive), top(threads), top(selfAll),
        allocatedBetweenGcs(heapSummaries), allAlloc == 0 ? Double.NaN : (double) pipelineAlloc / allAlloc, gcs,
        longest);
  }

  /** What was allocated between collections: heap used before a GC minus heap used after the previous one. */
  private static long allocatedBetweenGcs(List<RecordedEvent> summaries) {
    summaries.sort(Comparator.comparing(RecordedEvent::getStartTime));
    long allocated = 0;
    long afterPrevious = -1;
    for (RecordedEvent e : summaries) {
      long used = e.getLong("heapUsed");
      if ("Before GC".equals(e.getString("when"))) {
        if (afterPrevious >= 0) {
          allocated += Math.max(0, used - afterPrevious);
        }
      } else {
        afterPrevious = used;
      }
    }
    return allocated;
  }

  private static String threadName(RecordedThread t) {
    return t.getJavaName() != null ? t.getJavaName() : String.valueOf(t.getOSName());
  }

  private static String frame(RecordedFrame f) {
    return f.getMethod().getType().getName() + "." + f.getMethod().getName();
  }

  private static List<Map.Entry<String, Long>> top(Map<String, Long> counts) {
    List<Map.Entry<String, Long>> list = new ArrayList<>(counts.entrySet());
    list.sort(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder())
        .thenComparing(Map.Entry.comparingByKey()));
    return List.copyOf(list.subList(0, Math.min(TOP, list.size())));
  }

  /** Markdown: the lists above, as percentages of their sample counts. */
  String markdown(int passes) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "%d passes profiled; %d CPU samples of the pipeline thread, %d of all threads;"
            + " allocated %.1f MiB per pass by the whole process (heap before each GC minus after the previous),"
            + " %.0f %%"
            + " of it by the pipeline thread (allocation samples); %d GCs, longest pause %.1f ms.%n%n", passes,
        pipelineSamples, allSamples, allocatedPerPassMiB(passes), 100 * pipelineAllocationShare, gcs,
        longestGcPause.toNanos() / 1e6));
    table(sb, "Pipeline thread, top frames (self)", topSelf, pipelineSamples);
    table(sb, "Pipeline thread, Shardgate methods (inclusive)", shardgateInclusive, pipelineSamples);
    table(sb, "All threads, by thread", threads, allSamples);
    table(sb, "All threads, top frames (self)", topSelfAll, allSamples);
    return sb.toString();
  }

  double allocatedPerPassMiB(int passes) {
    return allocatedBytes / 1048576.0 / Math.max(1, passes);
  }

  private static void table(StringBuilder sb, String title, List<Map.Entry<String, Long>> rows, long total) {
    sb.append("| ").append(title).append(" | samples | % |\n|---|---|---|\n");
    for (Map.Entry<String, Long> r : rows) {
      sb.append(String.format(Locale.ROOT, "| `%s` | %d | %.1f |%n", r.getKey(), r.getValue(),
          100.0 * r.getValue() / Math.max(1, total)));
    }
    sb.append('\n');
  }
}
