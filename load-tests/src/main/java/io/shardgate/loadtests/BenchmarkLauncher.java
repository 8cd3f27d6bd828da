package io.shardgate.loadtests;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.function.Function;

/**
 * How a benchmark that starts servers runs from its {@code main}: options parsed (a bad one is one error line and exit
 * 2, {@code --help} prints the usage text), the run, and its clean-up on every way out, Ctrl-C included, so that no
 * server it started outlives it. Exit status 0 when the run completes, 1 when it fails.
 */
final class BenchmarkLauncher {

  /** A benchmark run: {@link #run()} once, then {@link #cleanUp()} (which may also be called by the shutdown hook). */
  interface Run {
    void run() throws Exception;

    /** Stops what the run started; safe to call more than once and from the shutdown hook. */
    void cleanUp();

    /** After the run and its clean-up on the normal path (not from the hook): e.g. closing result files. */
    default void finish() {}
  }

  /** Makes the run from the options (it may open files or fail on them). */
  interface Factory<O> {
    Run create(O options) throws Exception;
  }

  private BenchmarkLauncher() {}

  /**
   * Runs a benchmark and exits the JVM.
   *
   * @param name the benchmark's name in messages ({@code serve benchmark})
   * @param script the launcher script whose {@code --help} a bad option points at
   * @param usageResource the class-path resource holding the usage text
   * @param parse parses the arguments; null means {@code --help}; IllegalArgumentException means a bad option
   * @param create makes the run from the options
   */
  static <O> void main(String[] args, String name, String script, String usageResource,
      Function<String[], O> parse, Factory<O> create) {
    O options;
    try {
      options = parse.apply(args);
    } catch (IllegalArgumentException e) {
      System.err.println("error: " + e.getMessage());
      System.err.println("See: bash " + script + " --help");
      System.exit(2);
      return;
    }
    if (options == null) {
      System.out.print(usage(usageResource));
      return;
    }
    Run run;
    try {
      run = create.create(options);
    } catch (Exception e) {
      System.err.println(name + " cannot start: " + e.getMessage());
      System.exit(1);
      return;
    }
    Thread hook = new Thread(run::cleanUp, name.replace(' ', '-') + "-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
    int status = 0;
    try {
      run.run();
    } catch (Exception | AssertionError e) {
      System.err.println(name + " FAILED: " + e.getMessage());
      e.printStackTrace();
      status = 1;
    } finally {
      run.cleanUp();
      run.finish();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // stopped from outside (Ctrl-C): the hook has cleaned up
      }
    }
    System.exit(status);
  }

  /** The usage text of a benchmark, from the class path. */
  static String usage(String resource) {
    try (InputStream in = BenchmarkLauncher.class.getResourceAsStream("/" + resource)) {
      return new String(Objects.requireNonNull(in, resource).readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
