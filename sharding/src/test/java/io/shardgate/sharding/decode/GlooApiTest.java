package io.shardgate.sharding.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shardgate.sharding.decode.GlooApi.Field;
import io.shardgate.sharding.decode.GlooApi.Status;
import io.shardgate.sharding.model.Kind;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The table loads, every kind has its message, and the parser rejects malformed lines naming them. */
class GlooApiTest {

  @Test
  void theTableLoadsWithAMessageForEveryKindShardgateReads() {
    GlooApi api = GlooApi.table();
    for (Kind k : List.of(Kind.GATEWAY, Kind.VIRTUAL_SERVICE, Kind.ROUTE_TABLE, Kind.UPSTREAM, Kind.UPSTREAM_GROUP,
        Kind.SETTINGS)) {
      assertNotNull(api.message(k.kindName()), k.kindName());
    }
    Field prefix = api.message("Matcher").field("prefix");
    assertEquals(Status.SERVED, prefix.status());
    assertEquals("pathSpecifier", prefix.oneof());
    assertEquals("case_sensitive", api.message("Matcher").field("caseSensitive").protoName());
    assertEquals(api.message("Matcher").field("caseSensitive"), api.message("Matcher").field("case_sensitive"));
    assertEquals("disable", api.message("RouteOptions").field("extauth").offKey());
  }

  @Test
  void everyOptionThatRestrictsAccessFailsClosed() {
    for (String message : List.of("RouteOptions", "VirtualHostOptions")) {
      for (String name : List.of("extauth", "jwt", "jwtStaged", "rbac", "waf", "dlp", "ratelimit", "ratelimitBasic",
          "rateLimitConfigs", "ratelimitEarly", "rateLimitEarlyConfigs", "ratelimitRegular",
          "rateLimitRegularConfigs")) {
        assertEquals(Status.FAILS_CLOSED, GlooApi.table().message(message).field(name).status(), message + "." + name);
      }
    }
  }

  @Test
  void malformedTablesFailNamingTheLine() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> GlooApi.parse("message A\n  b string served\n  c Nope served\n"));
    assertTrue(e.getMessage().contains("no message or enum named Nope"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> GlooApi.parse("message A\n  b string sometimes\n"));
    assertTrue(e.getMessage().contains(":2: unknown status 'sometimes'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> GlooApi.parse("message A\n  b string served oneof=x\n"));
    assertTrue(e.getMessage().contains("fewer than two fields"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> GlooApi.parse("message A\n  b string served off=a:b\n"));
    assertTrue(e.getMessage().contains("only for failsClosed"), e.getMessage());
  }

  @Test
  void notesCommentsAndEnumsParse() {
    GlooApi api = GlooApi.parse("""
        # a comment
        message A
          b any unserved  # a comment, not a note
          c E   served default=Y -- the note -- with dashes
          d list<map<A>> served
        enum E X Y=5
        """);
    assertEquals(null, api.message("A").field("b").note());
    assertEquals("the note -- with dashes", api.message("A").field("c").note());
    assertEquals(new GlooApi.EnumRef("E"), api.message("A").field("c").type());
    assertEquals("Y", api.enumType("E").nameOf(5));
    assertEquals(new GlooApi.ListOf(new GlooApi.MapOf(new GlooApi.MessageRef("A"))), api.message("A").field("d").type());
  }
}
