package io.shardgate.templates;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A line-oriented text template: {@code ${name}} placeholders, and sections between a line {@code #@if name} and
 * a line {@code #@end} that are kept only when their switch is on. Sections nest; directive lines never reach
 * the output.
 *
 * <p>Strict on purpose: a bootstrap with a silently empty value starts an Envoy that fails later and far away. So
 * every placeholder and section of the template must be given a value or switch, every value and switch given
 * must be used somewhere in the template (even inside a section that is off), and a placeholder in emitted text
 * must have a non-null value. Immutable; thread-safe.
 */
final class Template {

  private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Za-z][A-Za-z0-9]*)}");
  private static final Pattern DIRECTIVE = Pattern.compile("\\s*#@.*");
  private static final Pattern IF = Pattern.compile("\\s*#@if ([A-Za-z][A-Za-z0-9]*)\\s*");
  private static final Pattern END = Pattern.compile("\\s*#@end\\s*");

  /** A text line with its 1-based line number and the sections enclosing it, outermost first. */
  private record Line(int number, String text, List<String> sections) {}

  private final String name;
  private final List<Line> lines;
  private final Set<String> placeholders;
  private final Set<String> sections;

  private Template(String name, List<Line> lines, Set<String> placeholders, Set<String> sections) {
    this.name = name;
    this.lines = lines;
    this.placeholders = placeholders;
    this.sections = sections;
  }

  /** Reads a UTF-8 template from the class path, relative to {@code anchor}'s package. */
  static Template load(Class<?> anchor, String resource) {
    try (InputStream in = anchor.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(
            "template " + resource + " is not on the class path next to " + anchor.getName());
      }
      return parse(resource, new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read template " + resource, e);
    }
  }

  /**
   * Parses template text.
   *
   * @param name the template's name, for messages
   * @throws IllegalArgumentException when a directive or placeholder is malformed or sections are unbalanced
   */
  static Template parse(String name, String text) {
    List<Line> lines = new ArrayList<>();
    Set<String> placeholders = new TreeSet<>();
    Set<String> sections = new TreeSet<>();
    Deque<String> open = new ArrayDeque<>();
    String[] raw = text.split("\r?\n", -1);
    // A final newline ends the last line rather than starting an empty one.
    int count = raw.length > 0 && raw[raw.length - 1].isEmpty() ? raw.length - 1 : raw.length;
    for (int i = 0; i < count; i++) {
      int number = i + 1;
      String line = raw[i];
      if (DIRECTIVE.matcher(line).matches()) {
        Matcher ifMatch = IF.matcher(line);
        if (ifMatch.matches()) {
          open.addLast(ifMatch.group(1));
          sections.add(ifMatch.group(1));
        } else if (END.matcher(line).matches()) {
          if (open.isEmpty()) {
            throw new IllegalArgumentException(where(name, number) + "#@end without #@if");
          }
          open.removeLast();
        } else {
          throw new IllegalArgumentException(
              where(name, number) + "unknown directive \"" + line.strip() + "\": expected #@if <name> or #@end");
        }
        continue;
      }
      placeholders.addAll(placeholdersIn(name, number, line));
      lines.add(new Line(number, line, List.copyOf(open)));
    }
    if (!open.isEmpty()) {
      throw new IllegalArgumentException(name + ": section " + open.getLast() + " has no #@end");
    }
    return new Template(name, List.copyOf(lines), Set.copyOf(placeholders), Set.copyOf(sections));
  }

  /**
   * Fills the template.
   *
   * @param values a value for every placeholder of the template; {@code null} is allowed only for placeholders
   *     that appear solely inside sections that are off
   * @param switches on/off for every section of the template
   * @throws IllegalArgumentException when values or switches do not match the template's placeholders and
   *     sections, or an emitted placeholder has no value
   */
  String render(Map<String, String> values, Map<String, Boolean> switches) {
    requireSameNames("placeholder", placeholders, values.keySet());
    requireSameNames("section", sections, switches.keySet());
    StringBuilder out = new StringBuilder();
    for (Line line : lines) {
      if (!allOn(line.sections(), switches)) {
        continue;
      }
      Matcher m = PLACEHOLDER.matcher(line.text());
      String filled = m.replaceAll(match -> {
        String value = values.get(match.group(1));
        if (value == null) {
          throw new IllegalArgumentException(where(name, line.number()) + "no value for ${" + match.group(1) + "}");
        }
        return Matcher.quoteReplacement(value);
      });
      out.append(filled).append('\n');
    }
    return out.toString();
  }

  private static boolean allOn(List<String> enclosing, Map<String, Boolean> switches) {
    for (String section : enclosing) {
      if (!Boolean.TRUE.equals(switches.get(section))) {
        return false;
      }
    }
    return true;
  }

  private void requireSameNames(String kind, Set<String> inTemplate, Set<String> given) {
    Set<String> missing = new TreeSet<>(inTemplate);
    missing.removeAll(given);
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(name + ": no " + kind + " value given for " + missing);
    }
    Set<String> unknown = new TreeSet<>(given);
    unknown.removeAll(inTemplate);
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException(
          name + ": unknown " + kind + " " + unknown + ", the template has " + inTemplate);
    }
  }

  private static List<String> placeholdersIn(String name, int number, String line) {
    List<String> found = new ArrayList<>();
    int from = 0;
    int start;
    while ((start = line.indexOf("${", from)) >= 0) {
      Matcher m = PLACEHOLDER.matcher(line).region(start, line.length());
      if (!m.lookingAt()) {
        throw new IllegalArgumentException(
            where(name, number) + "malformed placeholder at column " + (start + 1) + ": expected ${name}");
      }
      found.add(m.group(1));
      from = m.end();
    }
    return found;
  }

  private static String where(String name, int number) {
    return name + " line " + number + ": ";
  }
}
