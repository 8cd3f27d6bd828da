package io.shardgate.loadtests;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.zip.DataFormatException;
import org.HdrHistogram.Histogram;

/**
 * The protected API's load generator in the load-isolation experiment: a fixed request rate (open loop) over a pool of
 * keep-alive connections, each request's latency measured <b>from the moment it was due</b>, not from when it was
 * sent, so a stalled gateway shows as latency for every request that had to wait (no coordinated omission). Requests
 * are due at {@code start + k / rate}; a connection takes the next due request when it is free; when every connection
 * is busy, due requests wait and their wait counts.
 *
 * <p>Runs as its own process ({@code main}) so it can be pinned beside the protected shard; writes its result to a
 * file the harness reads back with {@link Result#read}. Latencies go into an HdrHistogram (1 µs to 60 s, 3 significant
 * digits). Chosen over fortio: no Go build on every CI machine, and the due-time rule is written out here.
 */
final class OpenLoopDriver {

  private static final long HIGHEST_NANOS = TimeUnit.SECONDS.toNanos(60);

  /** What a run measured: counts, the latency histogram (ns), and up to one error sample. */
  record Result(long sent, long ok, long errors, String errorSample, Histogram histogram) {

    void write(Path file) throws IOException {
      ByteBuffer buffer = ByteBuffer.allocate(histogram.getNeededByteBufferCapacity());
      int length = histogram.encodeIntoCompressedByteBuffer(buffer);
      String encoded = Base64.getEncoder().encodeToString(Arrays.copyOf(buffer.array(), length));
      Files.writeString(file, "sent=" + sent + "\nok=" + ok + "\nerrors=" + errors + "\nerrorSample="
          + errorSample.replace('\n', ' ') + "\nhistogram=" + encoded + "\n", StandardCharsets.UTF_8);
    }

    static Result read(Path file) throws IOException {
      long sent = 0;
      long ok = 0;
      long errors = 0;
      String sample = "";
      Histogram histogram = null;
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        int eq = line.indexOf('=');
        String key = line.substring(0, eq);
        String value = line.substring(eq + 1);
        switch (key) {
          case "sent" -> sent = Long.parseLong(value);
          case "ok" -> ok = Long.parseLong(value);
          case "errors" -> errors = Long.parseLong(value);
          case "errorSample" -> sample = value;
          case "histogram" -> {
            try {
              histogram = Histogram.decodeFromCompressedByteBuffer(
                  ByteBuffer.wrap(Base64.getDecoder().decode(value)), 0);
            } catch (DataFormatException e) {
              throw new IOException("bad histogram in " + file, e);
            }
          }
          default -> { }
        }
      }
      if (histogram == null) {
        throw new IOException(file + " holds no histogram");
      }
      return new Result(sent, ok, errors, sample, histogram);
    }
  }

  private final int port;
  private final String host;
  private final String path;
  private final long periodNanos;
  private final long warmupNanos;
  private final long durationNanos;
  private final int connections;
  private final AtomicLong next = new AtomicLong();
  private final LongAdder sent = new LongAdder();
  private final LongAdder ok = new LongAdder();
  private final LongAdder errors = new LongAdder();
  private final AtomicReference<String> errorSample = new AtomicReference<>("");

  OpenLoopDriver(int port, String host, String path, double rate, long warmupMillis, long durationMillis,
      int connections) {
    this.port = port;
    this.host = host;
    this.path = path;
    this.periodNanos = Math.max(1, Math.round(1e9 / rate));
    this.warmupNanos = TimeUnit.MILLISECONDS.toNanos(warmupMillis);
    this.durationNanos = TimeUnit.MILLISECONDS.toNanos(durationMillis);
    this.connections = connections;
  }

  /** Runs the warm-up (not recorded) and the measured duration; returns what was measured. */
  Result run() throws InterruptedException {
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
    long recordFrom = start + warmupNanos;
    long end = recordFrom + durationNanos;
    List<Histogram> histograms = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < connections; i++) {
      Histogram h = new Histogram(1_000, HIGHEST_NANOS, 3);
      histograms.add(h);
      Thread t = new Thread(() -> connection(start, recordFrom, end, h), "open-loop-" + i);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) {
      t.join();
    }
    Histogram all = new Histogram(1_000, HIGHEST_NANOS, 3);
    histograms.forEach(all::add);
    return new Result(sent.sum(), ok.sum(), errors.sum(), errorSample.get(), all);
  }

  /** One keep-alive connection, with the buffered reader that must live as long as it does. */
  private record Connection(Socket socket, InputStream in, OutputStream out) {}

  private void connection(long start, long recordFrom, long end, Histogram histogram) {
    byte[] request = ("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    Connection connection = null;
    while (true) {
      long due = start + next.getAndIncrement() * periodNanos;
      if (due - end >= 0) {
        break;
      }
      for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
        LockSupport.parkNanos(wait);
      }
      boolean record = due - recordFrom >= 0;
      int status;
      try {
        if (connection == null) {
          connection = connect();
        }
        connection.out().write(request);
        connection.out().flush();
        status = readResponse(connection.in());
      } catch (IOException e) {
        status = -1;
        if (record) {
          error(e.toString());
        }
        close(connection);
        connection = null;
      }
      // a failed request waited too: its time counts, so errors cannot make the tail look better
      long latency = System.nanoTime() - due;
      if (record) {
        sent.increment();
        histogram.recordValue(Math.min(Math.max(latency, 1_000), HIGHEST_NANOS));
        if (status == 200) {
          ok.increment();
        } else if (status > 0) {
          error("status " + status);
        }
      }
    }
    close(connection);
  }

  private void error(String what) {
    errors.increment();
    errorSample.compareAndSet("", what);
  }

  private Connection connect() throws IOException {
    Socket s = new Socket();
    s.setTcpNoDelay(true);
    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
    s.setSoTimeout(30_000);
    return new Connection(s, new BufferedInputStream(s.getInputStream(), 16 * 1024), s.getOutputStream());
  }

  /** Reads one response (status line, headers, Content-Length or chunked body); returns its status. */
  private static int readResponse(InputStream in) throws IOException {
    String statusLine = line(in);
    String[] parts = statusLine.split(" ", 3);
    if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
      throw new IOException("not an HTTP/1.x status line: '" + statusLine + "'");
    }
    int status = Integer.parseInt(parts[1]);
    long length = -1;
    boolean chunked = false;
    boolean close = false;
    for (String h = line(in); !h.isEmpty(); h = line(in)) {
      String lower = h.toLowerCase(Locale.ROOT);
      if (lower.startsWith("content-length:")) {
        length = Long.parseLong(lower.substring(15).trim());
      } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
        chunked = true;
      } else if (lower.startsWith("connection:") && lower.contains("close")) {
        close = true;
      }
    }
    if (chunked) {
      for (long size = chunkSize(in); size > 0; size = chunkSize(in)) {
        in.skipNBytes(size);
        line(in);
      }
      line(in);
    } else if (length > 0) {
      in.skipNBytes(length);
    }
    if (close) {
      throw new IOException("the gateway closed the connection after status " + status);
    }
    return status;
  }

  private static long chunkSize(InputStream in) throws IOException {
    return Long.parseLong(line(in).split(";")[0].trim(), 16);
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder(64);
    int b;
    while ((b = in.read()) != -1) {
      if (b == '\n') {
        int n = sb.length();
        return n > 0 && sb.charAt(n - 1) == '\r' ? sb.substring(0, n - 1) : sb.toString();
      }
      sb.append((char) b);
    }
    throw new IOException("connection closed while reading a response");
  }

  private static void close(Connection connection) {
    if (connection != null) {
      try {
        connection.socket().close();
      } catch (IOException ignored) {
        // closing a broken connection
      }
    }
  }

  /**
   * {@code OpenLoopDriver PORT HOST PATH RATE WARMUP_MS DURATION_MS CONNECTIONS OUT_FILE}: runs and writes the result.
   */
  public static void main(String[] args) throws Exception {
    if (args.length != 8) {
      System.err.println("usage: OpenLoopDriver PORT HOST PATH RATE WARMUP_MS DURATION_MS CONNECTIONS OUT_FILE");
      System.exit(2);
    }
    OpenLoopDriver driver = new OpenLoopDriver(Integer.parseInt(args[0]), args[1], args[2],
        Double.parseDouble(args[3]), Long.parseLong(args[4]), Long.parseLong(args[5]), Integer.parseInt(args[6]));
    Result result = driver.run();
    result.write(Path.of(args[7]));
    System.out.printf(Locale.ROOT, "sent %d ok %d errors %d p99 %.3f ms%n", result.sent(), result.ok(),
        result.errors(), result.histogram().getValueAtPercentile(99) / 1e6);
  }
}
