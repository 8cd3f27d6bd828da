package io.shardgate.sharding.decode;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Checks a regular expression before it can reach Envoy, which compiles it with RE2 and rejects the whole
 * RouteConfiguration (a NACK) when it cannot. Java's engine accepts more than RE2, so the RE2-only restrictions that
 * users actually hit (look-around, back-references, possessive quantifiers) are checked explicitly. Pure.
 */
public final class RegexCheck {

  private static final Pattern RE2_UNSUPPORTED =
      Pattern.compile("\\(\\?[=!]|\\(\\?<[=!]|\\\\[1-9]|\\\\k<|[*+?}]\\+");

  private RegexCheck() {}

  /** The problem with {@code regex}, or null when Envoy will accept it. */
  public static String problem(String regex) {
    if (regex.isEmpty()) {
      return "the regular expression is empty";
    }
    try {
      Pattern.compile(regex);
    } catch (PatternSyntaxException e) {
      return "invalid regular expression: " + e.getDescription() + " near index " + e.getIndex();
    }
    var m = RE2_UNSUPPORTED.matcher(regex);
    if (m.find()) {
      return "regular expression uses '" + m.group()
          + "', which Envoy's RE2 engine does not support (no look-around, back-references or possessive"
          + " quantifiers)";
    }
    return null;
  }
}
