package io.shardgate.controlplane.cli;

import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code status}: the live status of a running control plane, read from its admin API. */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description = {
      "Show the status of every resource as the running control plane sees it (including rejected resources",
      "that keep serving their last good version), from its admin API. Exits 1 when any resource is rejected."
    })
public final class StatusCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(
      names = "--admin",
      paramLabel = "URL",
      defaultValue = "http://127.0.0.1:9091",
      description = "Admin API of the control plane (default: ${DEFAULT-VALUE}).")
  String admin;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    String body;
    try {
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      HttpResponse<String> response =
          client.send(
              HttpRequest.newBuilder(URI.create(admin.replaceAll("/+$", "") + "/api/status"))
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        err.println("error: " + admin + "/api/status answered " + response.statusCode());
        err.flush();
        return 2;
      }
      body = response.body();
    } catch (Exception e) {
      err.println("error: cannot reach the control plane's admin API at " + admin + " (" + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
          + "). Is 'shardgate serve' running? Pass --admin URL if it listens elsewhere.");
      err.flush();
      return 2;
    }
    Object parsed = new Yaml(new LoaderOptions()).load(body);
    if (!(parsed instanceof Map<?, ?> status) || !(status.get("resources") instanceof Map<?, ?> resources)) {
      out.println("The control plane has not translated any configuration yet.");
      out.flush();
      return 0;
    }
    @SuppressWarnings("unchecked")
    int rejected = StatusPrinter.print((Map<String, ?>) resources, out);
    if (status.get("sourceProblems") instanceof List<?> problems) {
      problems.forEach(out::println);
    }
    out.printf("%d resources, %d rejected (source: %s)%n", resources.size(), rejected, status.get("source"));
    out.flush();
    return rejected > 0 ? 1 : 0;
  }
}
