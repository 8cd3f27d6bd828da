package io.shardgate.sharding.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.sharding.model.Action;
import io.shardgate.sharding.model.Kind;
import io.shardgate.sharding.model.ResourceKey;
import io.shardgate.sharding.model.ResourceRef;
import io.shardgate.sharding.model.RouteOptions;
import io.shardgate.sharding.report.ResourceStatus;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

class RouteOptionsDecoderTest {

  private static final ResourceKey VS = new ResourceKey(Kind.VIRTUAL_SERVICE, "team", "api");

  /** Decodes one VirtualService (namespace team) whose first route has {@code routeYaml} merged in. */
  private static DecodedResources decode(String routeYaml) {
    String doc =
        """
        apiVersion: gateway.solo.io/v1
        kind: VirtualService
        metadata: {name: api, namespace: team}
        spec:
          virtualHost:
            domains: [api.example.com]
            routes:
            - matchers: [{prefix: /}]
        """
            + routeYaml.indent(6);
    Map<String, Object> content = new Yaml().load(doc);
    return ResourceDecoder.decode(List.of(new SourceDocument("vs.yaml", 1, content, Map.of())));
  }

  private static RouteOptions options(DecodedResources d) {
    assertEquals(List.of(), status(d).errors(), "unexpected errors");
    return d.snapshot().virtualServices().get(0).virtualHost().routes().get(0).options();
  }

  private static ResourceStatus status(DecodedResources d) {
    return d.statuses().get(VS);
  }

  private static void assertError(DecodedResources d, String fieldPath, String messagePart) {
    ResourceStatus s = status(d);
    assertTrue(d.snapshot().virtualServices().isEmpty(), "an invalid option rejects the VirtualService");
    assertTrue(
        s.errors().stream().anyMatch(e -> e.startsWith(fieldPath + " (vs.yaml") && e.contains(messagePart)),
        "expected an error on " + fieldPath + " containing '" + messagePart + "', got " + s.errors());
  }

  @Test
  void decodesEveryOption() {
    RouteOptions o =
        options(
            decode(
                """
                routeAction: {single: {upstream: {name: api}}}
                options:
                  regexRewrite: {pattern: {regex: '^/v1/(.*)'}, substitution: '/\\1'}
                  hostRewriteHeader: x-host
                  appendXForwardedHost: true
                  timeout: 5s
                  idleTimeout: 60s
                  retries:
                    retryOn: 5xx
                    retryBackOff: {baseInterval: 0.1s}
                    previousPriorities: {}
                    retriableStatusCodes: [503]
                    rateLimitedRetryBackOff: {resetHeaders: [{name: retry-after}]}
                  headerManipulation:
                    requestHeadersToAdd: [{header: {key: x-a, value: '1'}}, {header: {key: x-b, value: '2'}, append: false}]
                    responseHeadersToRemove: [server]
                  cors: {allowOrigin: ['https://a.example.com'], maxAge: '60'}
                  faults: {abort: {percentage: 0.5, httpStatus: 503}}
                  shadowing: {upstream: {name: mirror}, percentage: 10}
                  upgrades: [{websocket: {}}]
                  envoyMetadata: {io.example: {k: v}}
                """));
    assertEquals(new RouteOptions.RegexRewrite("^/v1/(.*)", "/\\1"), o.regexRewrite());
    assertEquals("x-host", o.hostRewrite().header());
    assertEquals(Boolean.TRUE, o.appendXForwardedHost());
    assertEquals(Duration.ofSeconds(60), o.idleTimeout());
    assertEquals(Duration.ofMillis(100), o.retries().retryBackOff().baseInterval());
    assertEquals(1, o.retries().previousPriorities().updateFrequency(), "Gloo's default update frequency");
    assertEquals(List.of(503), o.retries().retriableStatusCodes());
    assertEquals("SECONDS", o.retries().rateLimitedRetryBackOff().resetHeaders().get(0).format());
    assertTrue(o.headerManipulation().requestHeadersToAdd().get(0).append(), "append defaults to true, as in Gloo");
    assertFalse(o.headerManipulation().requestHeadersToAdd().get(1).append());
    assertEquals("60", o.cors().maxAge());
    assertEquals(0.5, o.faults().abort().percentage());
    assertEquals(
        new ResourceRef("team", "mirror"), o.shadowing().upstream(), "no namespace: the VirtualService's namespace");
    assertEquals(List.of(new RouteOptions.Upgrade("websocket", null)), o.upgrades());
    assertEquals(Map.of("io.example", Map.of("k", "v")), o.envoyMetadata());
  }

  @Test
  void aRegexRe2CannotCompileIsAnErrorNamingTheField() {
    assertError(
        decode(
            """
            routeAction: {single: {upstream: {name: api}}}
            options: {regexRewrite: {pattern: {regex: '(a)\\1'}, substitution: x}}
            """),
        "spec.virtualHost.routes[0].options.regexRewrite.pattern.regex",
        "back-references");
  }

  @Test
  void invalidValuesAreErrorsNamingTheirFields() {
    assertError(
        decode(
            """
            routeAction: {single: {upstream: {name: api}}}
            options: {retries: {retryBackOff: {maxInterval: 1s}}}
            """),
        "spec.virtualHost.routes[0].options.retries.retryBackOff.baseInterval",
        "is required");
    assertError(
        decode(
            """
            routeAction: {single: {upstream: {name: api}}}
            options: {headerManipulation: {requestHeadersToRemove: [host]}}
            """),
        "spec.virtualHost.routes[0].options.headerManipulation.requestHeadersToRemove[0]",
        "cannot be removed");
    assertError(
        decode(
            """
            routeAction: {single: {upstream: {name: api}}}
            options: {faults: {delay: {percentage: 10, fixedDelay: 0s}}}
            """),
        "spec.virtualHost.routes[0].options.faults.delay.fixedDelay",
        "greater than 0");
    assertError(
        decode(
            """
            routeAction: {single: {upstream: {name: api}}}
            options: {shadowing: {upstream: {name: m}, percentage: many}}
            """),
        "spec.virtualHost.routes[0].options.shadowing.percentage",
        "expected a number");
    assertError(
        decode(
            """
            routeAction: {single: {upstream: {name: api}}}
            options: {upgrades: [{websocket: {}}, {websocket: {enabled: false}}]}
            """),
        "spec.virtualHost.routes[0].options.upgrades[1]",
        "websocket upgrade again");
    assertError(
        decode(
            """
            routeAction: {single: {upstream: {name: api}}}
            options: {cors: {allowOrigin: [a], maxAge: soon}}
            """),
        "spec.virtualHost.routes[0].options.cors.maxAge",
        "number of seconds");
  }

  @Test
  void unservedOptionsAreWarningsNamingThemAndDefaultsAreSilent() {
    DecodedResources d =
        decode(
            """
            routeAction: {single: {upstream: {name: api}}}
            options:
              maxStreamDuration: {maxStreamDuration: 1s}
              extProc: {disabled: true}
              lbHash: {}
              bufferPerRoute: null
            """);
    List<String> warnings = status(d).warnings();
    assertTrue(
        warnings.stream().anyMatch(w -> w.startsWith("spec.virtualHost.routes[0].options.maxStreamDuration (vs.yaml")
            && w.contains("not served by Shardgate yet")),
        warnings.toString());
    assertTrue(
        warnings.stream().anyMatch(w -> w.startsWith("spec.virtualHost.routes[0].options.extProc ")
            && w.contains("Enterprise")),
        warnings.toString());
    assertTrue(warnings.stream().anyMatch(w -> w.contains("options.lbHash ")), "an empty message is still set: " + warnings);
    assertFalse(warnings.stream().anyMatch(w -> w.contains("bufferPerRoute")), "null is unset: " + warnings);
    assertNull(d.snapshot().virtualServices().get(0).virtualHost().routes().get(0).unservable());
  }

  @Test
  void optionsThatRestrictAccessMakeTheRouteUnservableUnlessTurnedOff() {
    DecodedResources d = decode(
        """
        routeAction: {single: {upstream: {name: api}}}
        options:
          waf: {}
          extauth: {configRef: {name: corp-sso, namespace: gloo-system}}
        """);
    assertEquals(List.of(), status(d).errors());
    String unservable = d.snapshot().virtualServices().get(0).virtualHost().routes().get(0).unservable();
    assertTrue(unservable.startsWith("options.waf (vs.yaml"), unservable);
    assertTrue(unservable.contains("options.extauth (vs.yaml"), unservable);
    assertTrue(unservable.contains("external authentication"), unservable);

    DecodedResources off = decode(
        """
        routeAction: {single: {upstream: {name: api}}}
        options:
          waf: {disabled: true}
          extauth: {disable: true}
          rbac: {disable: true}
        """);
    assertEquals(List.of(), status(off).errors());
    assertEquals(List.of(), status(off).warnings());
    assertNull(off.snapshot().virtualServices().get(0).virtualHost().routes().get(0).unservable());
  }

  @Test
  void forwardOnlyOptionsOnARedirectAreAWarning() {
    DecodedResources d =
        decode(
            """
            redirectAction: {hostRedirect: b.example.com}
            options: {timeout: 1s, cors: {allowOrigin: [a]}, headerManipulation: {responseHeadersToRemove: [server]}}
            """);
    assertEquals(
        List.of(
            "spec.virtualHost.routes[0].options (vs.yaml:1): timeout, cors apply only to routes with a routeAction;"
                + " ignored on this redirectAction route"),
        status(d).warnings());
  }

  @Test
  void redirectRegexRewrite() {
    DecodedResources d =
        decode(
            """
            redirectAction: {regexRewrite: {pattern: {regex: '^/old/(.*)'}, substitution: '/new/\\1'}}
            """);
    assertEquals(List.of(), status(d).errors());
    Action.Redirect r = (Action.Redirect) d.snapshot().virtualServices().get(0).virtualHost().routes().get(0).action();
    assertEquals(new RouteOptions.RegexRewrite("^/old/(.*)", "/new/\\1"), r.regexRewrite());
    assertNull(r.prefixRewrite());
  }
}
