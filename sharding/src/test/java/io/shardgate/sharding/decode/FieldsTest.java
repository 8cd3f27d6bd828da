package io.shardgate.sharding.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/** The table checker: {@link Fields} bound to messages of the real {@link GlooApi} table. */
class FieldsTest {

  private Fields.Problems problems;

  private Fields fields(String message, String yaml) {
    Map<String, Object> map = new Yaml().load(yaml);
    problems = new Fields.Problems(new SourceDocument("f.yaml", 0, Map.of(), Map.of()));
    return new Fields(map, "spec", problems, GlooApi.table().message(message));
  }

  private Fields finished(String message, String yaml) {
    Fields f = fields(message, yaml);
    f.finish();
    return f;
  }

  @Test
  void aKeyThatIsNotAFieldIsAnErrorWithTheNearestField() {
    finished("Matcher", "{prefx: /typo}");
    assertEquals(List.of("spec.prefx (f.yaml): 'prefx' is not a field of Matcher; did you mean 'prefix'?"),
        problems.errors);
    finished("Matcher", "{Prefix: /a}");
    assertEquals(List.of("spec.Prefix (f.yaml): 'Prefix' is not a field of Matcher; did you mean 'prefix'?"),
        problems.errors, "field names are case sensitive, as in proto-JSON");
    finished("Matcher", "{queryParameter: []}");
    assertTrue(problems.errors.get(0).endsWith("did you mean 'queryParameters'?"), problems.errors.toString());
    finished("Matcher", "{colour: blue}");
    assertEquals(List.of("spec.colour (f.yaml): 'colour' is not a field of Matcher"), problems.errors,
        "no suggestion when nothing is close");
  }

  @Test
  void glooZeroNamesAndHintsExplainWhatBecameOfThem() {
    finished("Route", "{matcher: {prefix: /}}");
    assertEquals(List.of("spec.matcher (f.yaml): 'matcher' is not a field of Route; did you mean 'matchers'?"
        + " (Gloo 0.x called it 'matcher')"), problems.errors);
    finished("Upstream", "{upstreamSpec: {static: {}}}");
    assertTrue(problems.errors.get(0).contains("Gloo 1.0 moved the fields of 'upstreamSpec'"), problems.errors.toString());
  }

  @Test
  void theSnakeCaseSpellingIsTheSameFieldButNotTwice() {
    Fields f = fields("Matcher", "{case_sensitive: false}");
    assertEquals(Boolean.FALSE, f.bool("caseSensitive"));
    f.finish();
    assertEquals(List.of(), problems.errors);
    finished("RouteOptions", "{prefixRewrite: /a, prefix_rewrite: /b}");
    assertEquals(1, problems.errors.size(), problems.errors.toString());
    assertTrue(problems.errors.get(0).contains("is written twice, as 'prefixRewrite' and as 'prefix_rewrite'"));
  }

  @Test
  void unservedFieldsWarnUnlessTheyHoldTheirDefault() {
    finished("Gateway", "{useProxyProto: false, options: {}}");
    assertEquals(List.of("spec.options (f.yaml): listener options are not served by Shardgate yet; ignored"),
        problems.warnings, "false is the default; an empty message is still set");
    finished("Gateway", "{useProxyProto: true}");
    assertEquals(List.of("spec.useProxyProto (f.yaml): PROXY protocol is not supported by Shardgate yet; ignored"),
        problems.warnings);
    finished("GatewayOptions", "{enableGatewayController: true}");
    assertEquals(List.of(), problems.warnings, "the declared default");
    finished("GatewayOptions", "{enableGatewayController: false}");
    assertEquals(1, problems.warnings.size(), "false is not this field's default");
    finished("Upstream", "{static: {hosts: []}, respectDnsTtl: null, dnsRefreshRate: 0s, httpConnectHeaders: []}");
    assertEquals(List.of(), problems.warnings, "null, an empty list and a zero duration are defaults");
  }

  @Test
  void ignoredFieldsAreSilentButStillTypeChecked() {
    finished("GlooOptions", "{xdsBindAddr: 0.0.0.0:9977, disableProxyGarbageCollection: true}");
    assertEquals(List.of(), problems.warnings);
    assertEquals(List.of(), problems.errors);
    finished("GlooOptions", "{xdsBindAddr: 9977}");
    assertEquals(List.of("spec.xdsBindAddr (f.yaml): expected a string, got a number (quote it to write it as text)"),
        problems.errors);
  }

  @Test
  void typesAreStrictAsInProtoJson() {
    Fields f = fields("StaticHost", "{addr: true, port: '8080', sniAddr: 42}");
    assertNull(f.str("addr"));
    assertNull(f.integer("port"));
    assertNull(f.str("sniAddr"));
    assertEquals(List.of(
        "spec.addr (f.yaml): expected a string, got a boolean (quote it to write it as text)",
        "spec.port (f.yaml): expected an integer, got a string (write the number without quotes)",
        "spec.sniAddr (f.yaml): expected a string, got a number (quote it to write it as text)"), problems.errors);

    f = fields("Matcher", "{caseSensitive: 'true'}");
    assertNull(f.bool("caseSensitive"));
    assertEquals(List.of("spec.caseSensitive (f.yaml): expected true or false, got a string of 4 characters"),
        problems.errors);

    f = fields("StaticHost", "{port: -1}");
    assertNull(f.integer("port"));
    assertEquals(List.of("spec.port (f.yaml): must be between 0 and 4294967295 (uint32), got -1"), problems.errors);

    // 64-bit integers are strings in proto-JSON, so a quoted number is fine there.
    finished("ObjectMeta", "{generation: '7', deletionGracePeriodSeconds: 30}");
    assertEquals(List.of(), problems.errors);
    finished("ObjectMeta", "{generation: seven}");
    assertEquals(List.of("spec.generation (f.yaml): expected an integer, got a string of 5 characters"),
        problems.errors);

    f = fields("RouteOptions", "{timeout: 15, idleTimeout: '1.5s'}");
    assertNull(f.duration("timeout"));
    assertEquals(Duration.ofMillis(1500), f.duration("idleTimeout"));
    assertEquals(List.of("spec.timeout (f.yaml): expected a duration in seconds such as '15s' or '0.5s', got a"
        + " number"), problems.errors);

    // google.protobuf.Duration's range, also beyond a long.
    f = fields("RouteOptions", "{timeout: '315576000000s', idleTimeout: '315576000001s'}");
    assertEquals(Duration.ofSeconds(315_576_000_000L), f.duration("timeout"));
    assertNull(f.duration("idleTimeout"));
    assertEquals(List.of("spec.idleTimeout (f.yaml): is out of range: a duration is at most 315576000000s (about"
        + " 10,000 years), got '315576000001s'"), problems.errors);
    f = fields("RouteOptions", "{timeout: '9223372036854775808s'}");
    assertNull(f.duration("timeout"));
    assertEquals(List.of("spec.timeout (f.yaml): is out of range: a duration is at most 315576000000s (about"
        + " 10,000 years), got '9223372036854775808s'"), problems.errors);
  }

  @Test
  void nestedValuesNobodyReadAreCheckedByTheTable() {
    finished("Settings", "{gloo: {invalidConfigPolicy: {replaceInvalidRoutes: maybe}}}");
    assertEquals(List.of("spec.gloo.invalidConfigPolicy.replaceInvalidRoutes (f.yaml): expected true or false, got a"
        + " string of 5 characters"), problems.errors);
    finished("Route", "{matchers: [{prefix: /, headers: [{name: x, valu: y}]}]}");
    assertEquals(List.of("spec.matchers[0].headers[0].valu (f.yaml): 'valu' is not a field of HeaderMatcher; did you"
        + " mean 'value'?"), problems.errors);
  }

  @Test
  void enumsTakeNamesAndNumbersOnly() {
    Fields f = fields("RedirectAction", "{responseCode: 3}");
    assertEquals("TEMPORARY_REDIRECT", f.enumName("responseCode"));
    f = fields("SelectorExpression", "{operator: in}");
    assertNull(f.enumName("operator"));
    assertEquals(List.of("spec.operator (f.yaml): must be one of Equals, DoubleEquals, NotEquals, In, NotIn, Exists,"
        + " DoesNotExist, GreaterThan, LessThan, got 'in'"), problems.errors);
  }

  @Test
  void oneofGroupsTakeOneMember() {
    finished("Matcher", "{prefix: /a, exact: /b}");
    assertEquals(List.of("spec (f.yaml): set only one of prefix, exact, regex and connectMatcher; found prefix and"
        + " exact"), problems.errors);
    finished("Matcher", "{prefix: /a, exact: null}");
    assertEquals(List.of(), problems.errors, "null is unset");
  }

  @Test
  void unservableAndFailsClosedFieldsAreRecordedForTheRoute() {
    finished("Route", "{matchers: [{connectMatcher: {}}], options: {extauth: {configRef: {name: a}}, waf: {disabled:"
        + " true}}}");
    assertEquals(List.of(), problems.errors);
    assertEquals(List.of(), problems.warnings);
    Fields.Problems.Claimed claim = problems.claimUnservable("spec");
    List<String> claimed = claim.reasons();
    assertTrue(claim.closes(), "extauth restricts access: the route fails closed");
    assertEquals(2, claimed.size(), claimed.toString());
    assertTrue(claimed.get(0).startsWith("matchers[0].connectMatcher (f.yaml): CONNECT matchers"), claimed.get(0));
    assertTrue(claimed.get(1).startsWith("options.extauth (f.yaml): requires external authentication"), claimed.get(1));
    assertTrue(problems.unservable.isEmpty(), "claimed reasons are gone");
  }

  @Test
  void wrongTypesDescribeTheValueAndNeverShowIt() {
    String secret = "AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMI/K7MDENG/bPxRfiCY";
    finished("HeaderMatcher", "{name: x-api-key, value: {token: " + secret + "}, regex: " + secret + "}");
    assertEquals(2, problems.errors.size(), problems.errors.toString());
    for (String e : problems.errors) {
      assertFalse(e.contains("AKIA"), e);
    }
    assertTrue(problems.errors.get(1).endsWith("expected true or false, got a string of 50 characters"),
        problems.errors.toString());
  }

  @Test
  void onlyFieldsMarkedShownQuoteTheirValueCutTo64Characters() {
    Fields f = fields("HeaderMatcher", "{}");
    String longPath = "/" + "a".repeat(100);
    assertEquals("'" + "/" + "a".repeat(63) + "\u2026'", fields("Matcher", "{}").shown("prefix", longPath));
    assertEquals("'/orders'", fields("Matcher", "{}").shown("prefix", "/orders"));
    assertEquals("a string of 6 characters", f.shown("value", "secret"), "header values are never shown");
    assertEquals("'x-tenant'", f.shown("name", "x-tenant"));
    assertEquals("'a\\u000ab'", Fields.quote("a\nb"), "control characters are escaped");
  }

  @Test
  void askingForAFieldTheTableLacksIsADecoderBug() {
    Fields f = fields("Matcher", "{}");
    assertThrows(IllegalStateException.class, () -> f.str("path"));
    assertThrows(IllegalStateException.class, () -> f.bool("prefix"), "a string field read as a bool");
  }
}
