package io.shardgate.controlplane.ads;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.micronaut.context.ApplicationContext;
import io.micronaut.core.type.Argument;
import io.micronaut.json.JsonMapper;
import io.shardgate.controlplane.cli.ServeCommand;
import io.shardgate.controlplane.e2e.ExampleConfig;
import io.shardgate.controlplane.pipeline.ShardPipeline;
import io.shardgate.controlplane.pipeline.Translation;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The {@code serve} command running in-process on a copy of {@code docs/examples/sharded} (free loopback ports for
 * xDS, the admin API and the example's listeners), with a gRPC channel to its ADS port and helpers to edit the config
 * atomically, wait for the edit's translation, and read the admin API. Close it to stop everything.
 */
public final class ServedExample implements AutoCloseable {

  /** Liveness bound for things that must happen; never a speed assertion. */
  public static final Duration LIVENESS = Duration.ofSeconds(30);

  private final ExampleConfig config;
  private final ApplicationContext context;
  private final ManagedChannel channel;
  private final int adminPort;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private ServedExample(ExampleConfig config, ApplicationContext context, ManagedChannel channel, int adminPort) {
    this.config = config;
    this.context = context;
    this.channel = channel;
    this.adminPort = adminPort;
  }

  /** Copies the example into {@code work/config} and serves it. */
  public static ServedExample start(Path work) throws IOException {
    int[] ports = ExampleConfig.freePorts(6);
    ExampleConfig config = ExampleConfig.copyTo(work.resolve("config"), ports);
    ApplicationContext context = ServeCommand.start(config.dir(), ports[4], ports[5], "127.0.0.1");
    ServeCommand.awaitFirstTranslation(context);
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", ports[4]).usePlaintext().build();
    return new ServedExample(config, context, channel, ports[5]);
  }

  /**
   * Stops this control plane and starts a new process-like one (new context, cache and ports, fresh state
   * directory) on the same config directory: what a restart or a second replica looks like to an Envoy.
   */
  public ServedExample restart() throws InterruptedException {
    close();
    int[] ports = ExampleConfig.freePorts(2);
    ApplicationContext next = ServeCommand.start(config.dir(), ports[0], ports[1], "127.0.0.1");
    ServeCommand.awaitFirstTranslation(next);
    return new ServedExample(config, next,
        NettyChannelBuilder.forAddress("127.0.0.1", ports[0]).usePlaintext().build(), ports[1]);
  }

  public ExampleConfig config() {
    return config;
  }

  public ManagedChannel channel() {
    return channel;
  }

  public ApplicationContext context() {
    return context;
  }

  /**
   * Replaces exactly one occurrence of {@code from} in a config file, writing a hidden temporary file and moving it
   * over the original, so the watcher can never read a half-written file, then waits until the pipeline has
   * translated the edit.
   */
  public void editAndAwaitTranslation(String relative, String from, String to) throws IOException {
    ShardPipeline pipeline = context.getBean(ShardPipeline.class);
    Translation before = pipeline.latest();
    Path file = config.file(relative);
    String text = Files.readString(file, StandardCharsets.UTF_8);
    int at = text.indexOf(from);
    if (at < 0 || text.indexOf(from, at + 1) >= 0) {
      throw new IllegalStateException(relative + " must contain '" + from + "' exactly once");
    }
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
    Files.writeString(tmp, text.replace(from, to), StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    long deadline = System.nanoTime() + LIVENESS.toNanos();
    while (pipeline.latest() == before) {
      if (System.nanoTime() > deadline) {
        fail("the edit of " + relative + " was not translated within " + LIVENESS);
      }
      sleep(Duration.ofMillis(20));
    }
  }

  /** {@code GET path} on the admin port; fails unless the status is 200. */
  public HttpResponse<String> get(String path) {
    try {
      HttpResponse<String> response = http.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path)).timeout(LIVENESS).GET().build(),
          HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      assertTrue(response.statusCode() == 200, () -> "GET " + path + ": " + response.statusCode() + " "
          + response.body());
      return response;
    } catch (IOException e) {
      throw new AssertionError("GET " + path + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** {@code GET /api/status}, parsed. */
  public Map<String, Object> status() {
    String body = get("/api/status").body();
    try {
      return context.getBean(JsonMapper.class).readValue(body, Argument.mapOf(String.class, Object.class));
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + body, e);
    }
  }

  public static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow();
    channel.awaitTermination(10, TimeUnit.SECONDS);
    context.close();
  }
}
