package io.shardgate.sharding.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RouteOptionsTest {

  private static final RouteOptions.Cors CORS =
      new RouteOptions.Cors(List.of("https://a.example.com"), List.of(), List.of(), List.of(), List.of(), null, false, false);
  private static final RouteOptions.Retries RETRIES =
      new RouteOptions.Retries("5xx", 2, null, null, null, List.of(), null);

  private static RouteOptions with(
      String prefixRewrite, RouteOptions.RegexRewrite regexRewrite, RouteOptions.HostRewrite host, Duration timeout,
      RouteOptions.Retries retries, RouteOptions.Cors cors, Map<String, Map<String, Object>> metadata) {
    return new RouteOptions(
        prefixRewrite, regexRewrite, host, null, timeout, null, retries, null, cors, null, null, null, metadata);
  }

  @Test
  void childFieldsWinAndUnsetOnesComeFromTheParent() {
    RouteOptions parent = with("/", null, null, Duration.ofSeconds(10), RETRIES, CORS, Map.of("a", Map.of("x", 1L)));
    RouteOptions.Retries childRetries = new RouteOptions.Retries("reset", 5, null, null, null, List.of(), null);
    RouteOptions child = with(null, null, null, Duration.ofSeconds(3), childRetries, null, null);

    RouteOptions merged = child.mergedOver(parent);

    assertEquals("/", merged.prefixRewrite());
    assertEquals(Duration.ofSeconds(3), merged.timeout());
    assertSame(childRetries, merged.retries(), "a set option wins whole; its fields are not merged");
    assertSame(CORS, merged.cors());
    assertEquals(Map.of("a", Map.of("x", 1L)), merged.envoyMetadata());
  }

  @Test
  void thePathRewriteMergesAsOneOption() {
    RouteOptions parent = with("/", null, null, null, null, null, null);
    RouteOptions.RegexRewrite regex = new RouteOptions.RegexRewrite("^/a", "/b");
    RouteOptions child = with(null, regex, null, null, null, null, null);

    RouteOptions merged = child.mergedOver(parent);

    assertNull(merged.prefixRewrite(), "Envoy takes one path rewrite; the child's replaces the parent's");
    assertSame(regex, merged.regexRewrite());
    assertEquals("/", RouteOptions.NONE.mergedOver(parent).prefixRewrite());
  }

  @Test
  void theHostRewriteIsOneOption() {
    RouteOptions parent = with(null, null, new RouteOptions.HostRewrite("a.internal", null, null, null), null, null, null, null);
    RouteOptions child = with(null, null, new RouteOptions.HostRewrite(null, true, null, null), null, null, null, null);

    RouteOptions.HostRewrite merged = child.mergedOver(parent).hostRewrite();

    assertNull(merged.literal());
    assertEquals(Boolean.TRUE, merged.auto());
    assertEquals("autoHostRewrite", merged.fieldName());
  }

  @Test
  void noneOverNoneIsNone() {
    assertEquals(RouteOptions.NONE, RouteOptions.NONE.mergedOver(RouteOptions.NONE));
    assertEquals(List.of(), RouteOptions.NONE.forwardOnlyOptionNames());
  }

  @Test
  void emptyUpgradesAndMetadataCountAsUnset() {
    RouteOptions o = new RouteOptions(null, null, null, null, null, null, null, null, null, null, null, List.of(), Map.of());
    assertEquals(RouteOptions.NONE, o);
  }
}
