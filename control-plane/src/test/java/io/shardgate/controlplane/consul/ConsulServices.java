package io.shardgate.controlplane.consul;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Registers service instances in a real Consul agent through its agent API, each with a TTL check driven by the
 * test ({@code PUT /v1/agent/check/pass|fail/<id>}): deterministic, no timing. Test-only; used from the test thread.
 */
final class ConsulServices {

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String address;
  private final String token;

  /** {@code token}: the ACL token to send (null: none). */
  ConsulServices(String address, String token) {
    this.address = address;
    this.token = token;
  }

  /** The check ID of an instance's TTL check. */
  static String checkOf(String id) {
    return id + "-ttl";
  }

  /** Registers {@code id} of {@code service} at {@code address:port} with its tags and a TTL check, still critical. */
  void register(String service, String id, String serviceAddress, int port, List<String> tags) throws Exception {
    String json = "{\"ID\":\"" + id + "\",\"Name\":\"" + service + "\",\"Address\":\"" + serviceAddress
        + "\",\"Port\":" + port + ",\"Tags\":[" + tags.stream().map(t -> "\"" + t + "\"")
        .collect(Collectors.joining(",")) + "],\"Check\":{\"CheckID\":\"" + checkOf(id)
        + "\",\"TTL\":\"30m\",\"Status\":\"critical\"}}";
    put("/v1/agent/service/register", json);
  }

  void pass(String id) throws Exception {
    put("/v1/agent/check/pass/" + checkOf(id), "");
  }

  void fail(String id) throws Exception {
    put("/v1/agent/check/fail/" + checkOf(id), "");
  }

  void deregister(String id) throws Exception {
    put("/v1/agent/service/deregister/" + id, "");
  }

  /** A PUT that must answer 200; returns the body. */
  String put(String path, String body) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(address + path)).timeout(Duration.ofSeconds(30))
        .PUT(HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("X-Consul-Token", token);
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new AssertionError("PUT " + path + " answered " + r.statusCode() + ": " + r.body());
    }
    return r.body();
  }

  /** A DELETE that must answer 200. */
  void delete(String path) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(address + path)).timeout(Duration.ofSeconds(30))
        .DELETE();
    if (token != null) {
      b.header("X-Consul-Token", token);
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new AssertionError("DELETE " + path + " answered " + r.statusCode() + ": " + r.body());
    }
  }
}
