package io.shardgate.controlplane.app;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Produces;

/**
 * {@code GET /metrics} on the admin port (loopback by default): every metric in the Prometheus text exposition format
 * 0.0.4, which every Prometheus version scrapes. Read-only, no authentication, like the rest of the admin API; see
 * {@code docs/metrics.md}. Stateless apart from the registry it reads; thread-safe.
 */
@Controller
public class MetricsController {

  /** The content type of the Prometheus text format, as Prometheus expects it. */
  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final PrometheusMeterRegistry registry;

  public MetricsController(PrometheusMeterRegistry registry) {
    this.registry = registry;
  }

  @Get("/metrics")
  @Produces(MediaType.TEXT_PLAIN)
  public HttpResponse<String> metrics() {
    return HttpResponse.ok(registry.scrape()).contentType(CONTENT_TYPE);
  }
}
