package io.shardgate.controlplane.e2e;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.IntPredicate;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Seeded random wrong edits of YAML files, one at a time, for {@link MutationE2ETest}: the typos, half-done edits,
 * pastes in the wrong place and broken saves a person makes in a config directory.
 *
 * <p>Pure and deterministic: mutation {@code number} of {@code seed} depends on those two numbers and the files
 * alone, not on the mutations before it, so one failing mutation can be replayed on its own. Works on lines (the
 * YAML is never parsed), so every mutation can say in words where it changed what: {@code
 * routetables/payments/payments-api.yaml:10: changed key 'prefix' to 'prefx'}. Thread-safe (no state).
 */
final class YamlMutator {

  /**
   * One mutation of one file.
   *
   * @param number its number in its seed's sequence
   * @param file the file's path relative to the config directory
   * @param kind what sort of edit it is
   * @param content the file's new bytes (not always valid UTF-8)
   * @param description what was changed, as {@code file:line: what}
   * @param secret a secret-looking value the edit wrote into the file, which must never be logged; null when none
   */
  record Mutation(int number, String file, Kind kind, byte[] content, String description, String secret) {

    /** The new content as text (invalid UTF-8 shows as replacement characters). */
    String text() {
      return new String(content, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      return "#" + number + " " + description;
    }
  }

  /** The kinds of mutation, each choosing its own spot in the file; one that finds no spot is skipped. */
  enum Kind {
    /** One character of a key changed, dropped, added or swapped. */
    KEY_TYPO {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line l = t.pick(r, Line::isKey);
        if (l == null) {
          return Optional.empty();
        }
        String key = typo(l.key, r);
        return t.replaceLine(l, l.withKey(key), "changed key '" + l.key + "' to '" + key + "'");
      }
    },
    /** One character of {@code kind}, {@code apiVersion}, a name or a namespace (a resource's or a reference's). */
    IDENTITY_TYPO {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line l = t.pick(r, x -> x.isScalar() && x.key != null && IDENTITY_KEYS.contains(x.key));
        if (l == null) {
          return Optional.empty();
        }
        String value = typo(l.value, r);
        return t.replaceLine(l, l.withValue(value), "changed " + l.key + " '" + l.value + "' to '" + value + "'");
      }
    },
    /** One character of any other scalar value. */
    VALUE_TYPO {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line l = t.pick(r, Line::isScalar);
        if (l == null) {
          return Optional.empty();
        }
        String value = typo(l.value, r);
        return t.replaceLine(l, l.withValue(value), "changed " + l.what() + " '" + l.value + "' to '" + value + "'");
      }
    },
    /** A line deleted. */
    DELETE_LINE {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line l = t.pick(r, Line::hasContent);
        if (l == null) {
          return Optional.empty();
        }
        List<String> lines = t.linesCopy();
        lines.remove(l.index);
        return t.edit(lines, l, "deleted the line '" + l.raw.strip() + "'");
      }
    },
    /** A line written twice. */
    DUPLICATE_LINE {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line l = t.pick(r, Line::hasContent);
        if (l == null) {
          return Optional.empty();
        }
        List<String> lines = t.linesCopy();
        lines.add(l.index, l.raw);
        return t.edit(lines, l, "duplicated the line '" + l.raw.strip() + "'");
      }
    },
    /** A line turned into a comment. */
    COMMENT_OUT {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line l = t.pick(r, x -> x.hasContent() && !x.isComment());
        if (l == null) {
          return Optional.empty();
        }
        String commented = " ".repeat(l.indent) + "# " + l.raw.substring(l.indent);
        return t.replaceLine(l, commented, "commented out '" + l.raw.strip() + "'");
      }
    },
    /** A line's indentation changed by one, two or four columns, or removed. */
    REINDENT {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line l = t.pick(r, x -> x.hasContent() && !x.isComment());
        if (l == null) {
          return Optional.empty();
        }
        int[] deltas = {-4, -2, -1, 1, 2, 4, -l.indent};
        int indent = Math.max(0, l.indent + deltas[r.nextInt(deltas.length)]);
        if (indent == l.indent) {
          indent = l.indent + 1;
        }
        return t.replaceLine(l, " ".repeat(indent) + l.raw.substring(l.indent),
            "indented '" + l.raw.strip() + "' by " + indent + " instead of " + l.indent + " spaces");
      }
    },
    /** A scalar, list or mapping value replaced by a value of another type. */
    RETYPE_VALUE {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line l = t.pick(r, x -> x.isScalar() || x.isParent());
        if (l == null) {
          return Optional.empty();
        }
        String value = RETYPED[r.nextInt(RETYPED.length)];
        return t.replaceValue(l, value, "replaced " + l.what() + " " + l.shown() + " with " + value);
      }
    },
    /** A value emptied: nothing, an empty string, an empty list or an empty mapping. */
    EMPTY_VALUE {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line l = t.pick(r, x -> x.key != null && (x.isScalar() || x.isParent()));
        if (l == null) {
          return Optional.empty();
        }
        String[] empties = {"", "\"\"", "''", "[]", "{}"};
        String value = empties[r.nextInt(empties.length)];
        return t.replaceValue(l, value, "emptied " + l.what() + " (was " + l.shown() + ", now "
            + (value.isEmpty() ? "nothing" : value) + ")");
      }
    },
    /** A key Gloo does not have, next to an existing one: a made-up name, a near miss, or a snake_case twin. */
    UNKNOWN_KEY {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line l = t.pick(r, Line::isKey);
        if (l == null) {
          return Optional.empty();
        }
        String[] made = {"unknownField", "enabled", "description", "matcher", "routePlugins", "x-owner", "weight"};
        String key = switch (r.nextInt(3)) {
          case 0 -> made[r.nextInt(made.length)];
          case 1 -> typo(l.key, r);
          default -> snakeCase(l.key).equals(l.key) ? l.key + "Extra" : snakeCase(l.key);
        };
        String value = l.isScalar() && r.nextBoolean() ? l.value : SCALARS[r.nextInt(SCALARS.length)];
        int end = t.blockEnd(l.index);
        List<String> lines = t.linesCopy();
        lines.add(end, " ".repeat(l.keyColumn) + key + ": " + value);
        return t.edit(lines, l, "added the unknown key '" + key + ": " + value + "' next to '" + l.key + "'");
      }
    },
    /** A key and everything under it moved out of its parent, next to the parent. */
    MOVE_KEY_UP {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line l = t.pick(r, x -> x.isKey() && !x.item && t.parentOf(x.index) != null);
        if (l == null) {
          return Optional.empty();
        }
        Line parent = t.parentOf(l.index);
        List<String> block = t.block(l.index);
        List<String> lines = t.linesCopy();
        lines.subList(l.index, l.index + block.size()).clear();
        Text without = new Text(t.file, lines, t.finalNewline);
        int at = without.blockEnd(parent.index);
        lines.addAll(at, shift(block, parent.keyColumn - l.keyColumn));
        return t.edit(lines, l, "moved '" + l.key + "' one level up, out of '" + parent.key + "'");
      }
    },
    /** A key and everything under it moved into the mapping of a sibling. */
    MOVE_KEY_DOWN {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line l = t.pick(r, x -> x.isKey() && !x.item && t.mappingSibling(x.index) != null);
        if (l == null) {
          return Optional.empty();
        }
        Line sibling = t.mappingSibling(l.index);
        Line child = t.firstChild(sibling.index);
        List<String> block = t.block(l.index);
        List<String> lines = t.linesCopy();
        lines.subList(l.index, l.index + block.size()).clear();
        int at = sibling.index < l.index ? sibling.index + 1 : sibling.index + 1 - block.size();
        lines.addAll(at, shift(block, child.keyColumn - l.keyColumn));
        return t.edit(lines, l, "moved '" + l.key + "' one level down, into '" + sibling.key + "'");
      }
    },
    /** Two lines swapped: mostly neighbours, sometimes any two. */
    SWAP_LINES {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line a = t.pick(r, Line::hasContent);
        if (a == null || t.lines.size() < 2) {
          return Optional.empty();
        }
        int b = r.nextInt(3) > 0 ? (a.index + 1 < t.lines.size() ? a.index + 1 : a.index - 1)
            : r.nextInt(t.lines.size());
        if (b == a.index || t.lines.get(b).equals(a.raw)) {
          return Optional.empty();
        }
        List<String> lines = t.linesCopy();
        lines.set(a.index, t.lines.get(b));
        lines.set(b, a.raw);
        return t.edit(lines, a, "swapped '" + a.raw.strip() + "' with line " + (b + 1) + " '"
            + t.lines.get(b).strip() + "'");
      }
    },
    /** The file cut short, as by a save that did not finish: anywhere, even to nothing. */
    TRUNCATE {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        String text = t.join(t.lines);
        int at = r.nextInt(3) == 0 ? 0 : r.nextInt(text.length());
        int line = (int) text.substring(0, at).chars().filter(c -> c == '\n').count() + 1;
        return Optional.of(new Edit(text.substring(0, at).getBytes(StandardCharsets.UTF_8), line,
            "truncated the file to its first " + at + " of " + text.length() + " characters", null));
      }
    },
    /** A YAML syntax error: unclosed brackets or quotes, a tab, a stray list item, an unknown alias, ... */
    SYNTAX_ERROR {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line l = t.pick(r, x -> x.hasContent() && !x.isComment());
        if (l == null) {
          return Optional.empty();
        }
        String pad = " ".repeat(l.keyColumn);
        String v = l.value == null ? "" : l.value;
        return switch (r.nextInt(12)) {
          case 0 -> l.value == null ? Optional.empty() : t.replaceValue(l, "[" + v, "opened a '[' that never closes");
          case 1 -> l.value == null ? Optional.empty()
              : t.replaceValue(l, "\"" + v, "opened a quote that never closes");
          case 2 -> l.indent == 0 ? Optional.empty()
              : t.replaceLine(l, "\t" + l.raw.substring(l.indent), "indented with a tab");
          case 3 -> l.value == null ? Optional.empty() : t.replaceValue(l, v + ": x", "wrote 'key: value: x'");
          case 4 -> t.insertAfter(l, pad + "- stray", "added a list item '- stray' in a mapping");
          case 5 -> l.value == null ? Optional.empty() : t.replaceValue(l, "*undefined", "used an undefined alias");
          case 6 -> l.value == null ? Optional.empty()
              : t.replaceValue(l, (r.nextBoolean() ? "@" : "`") + v, "started a value with a reserved character");
          case 7 -> l.value == null ? Optional.empty()
              : t.replaceValue(l, "{a: " + v, "opened a '{' that never closes");
          case 8 -> t.insertAfter(l, pad + "justaword", "added a line without a colon");
          case 9 -> l.value == null || v.isEmpty() ? Optional.empty()
              : t.replaceValue(l, v.charAt(0) + "\u0007" + v.substring(1), "put a control character in a value");
          case 10 -> l.key == null || l.value == null ? Optional.empty()
              : t.insertAfter(l, pad + l.key + ": " + v, "repeated the key '" + l.key + "'");
          default -> {
            byte[] text = t.join(t.lines).getBytes(StandardCharsets.UTF_8);
            int at = t.offsetOf(l.index) + l.indent;
            byte[] out = new byte[text.length + 2];
            System.arraycopy(text, 0, out, 0, at);
            out[at] = (byte) 0xC3; // a UTF-8 lead byte followed by a byte that cannot continue it
            out[at + 1] = (byte) 0x28;
            System.arraycopy(text, at, out, at + 2, text.length - at);
            yield Optional.of(new Edit(out, l.index + 1, "wrote bytes that are not UTF-8", null));
          }
        };
      }
    },
    /** A number (or the number of a duration) set to a value out of its range or not an integer. */
    OUT_OF_RANGE_NUMBER {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line l = t.pick(r, x -> x.isScalar() && (INTEGER.matcher(x.value).matches()
            || DURATION.matcher(x.value).matches()));
        if (l == null) {
          return Optional.empty();
        }
        boolean duration = DURATION.matcher(l.value).matches();
        String number = NUMBERS[r.nextInt(NUMBERS.length)];
        String value = duration ? number + "s" : number;
        return t.replaceValue(l, value, "changed " + l.what() + " " + l.value + " to " + value);
      }
    },
    /** A value replaced by a long secret-looking string (an AWS key pair), which must never reach a log. */
    SECRET_VALUE {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line l = t.pick(r, x -> x.isScalar() || x.isParent());
        if (l == null) {
          return Optional.empty();
        }
        String secret = secret(r);
        Optional<Edit> edit = r.nextBoolean() || l.key == null
            ? t.replaceValue(l, secret, "replaced " + l.what() + " " + l.shown() + " with a secret-looking value")
            : t.insertAfter(t.lineAt(t.blockEnd(l.index) - 1), " ".repeat(l.keyColumn) + "awsSecretAccessKey: "
                + secret, "added the key 'awsSecretAccessKey' with a secret-looking value next to '" + l.key + "'");
        return edit.map(e -> new Edit(e.content, e.line, e.what, secret));
      }
    },
    /** A second document in the file for the same resource, equal or with one value changed. */
    DUPLICATE_DOCUMENT {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        List<String> copy = t.linesCopy();
        String what = "appended a second document for the same resource";
        if (r.nextBoolean()) {
          Line l = t.pick(r, x -> x.isScalar() && (x.key == null || !IDENTITY_KEYS.contains(x.key)));
          if (l != null) {
            String value = typo(l.value, r);
            copy.set(l.index, l.withValue(value));
            what += ", whose line " + (l.index + 1) + " says '" + value + "' instead of '" + l.value + "'";
          }
        }
        List<String> lines = t.linesCopy();
        lines.add("---");
        lines.addAll(copy);
        return t.edit(lines, t.lineAt(t.lines.size() - 1), what);
      }
    },
    /** A {@code ---} in the middle: one resource becomes two documents, the second without its identity. */
    SPLIT_DOCUMENT {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line l = t.pick(r, x -> x.index > 0 && x.hasContent());
        if (l == null) {
          return Optional.empty();
        }
        List<String> lines = t.linesCopy();
        lines.add(l.index, "---");
        return t.edit(lines, l, "started a new document ('---') before '" + l.raw.strip() + "'");
      }
    },
    /** A key deleted with everything under it. */
    DELETE_BLOCK {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line l = t.pick(r, Line::isParent);
        if (l == null) {
          return Optional.empty();
        }
        List<String> lines = t.linesCopy();
        int size = t.block(l.index).size();
        lines.subList(l.index, l.index + size).clear();
        return t.edit(lines, l, "deleted '" + l.key + "' and the " + (size - 1) + (size == 2 ? " line" : " lines")
            + " under it");
      }
    },
    /** Characters that look harmless: a BOM, CRLF line ends, a zero-width space, a homoglyph, a no-break space. */
    ODD_CHARACTERS {
      @Override
      Optional<Edit> apply(Text t, SplittableRandom r) {
        Line l = t.pick(r, x -> x.hasContent() && !x.isComment());
        if (l == null) {
          return Optional.empty();
        }
        int keyEnd = l.key == null ? -1 : l.keyColumn + l.key.length();
        return switch (r.nextInt(7)) {
          case 0 -> Optional.of(new Edit(("\uFEFF" + t.join(t.lines)).getBytes(StandardCharsets.UTF_8), 1,
              "put a byte order mark at the start", null));
          case 1 -> Optional.of(new Edit(t.join(t.lines).replace("\n", "\r\n").getBytes(StandardCharsets.UTF_8), 1,
              "changed every line end to CRLF", null));
          case 2 -> t.replaceLine(l, l.raw + "   ", "added trailing spaces");
          case 3 -> l.value == null || l.value.isEmpty() ? Optional.empty()
              : t.replaceValue(l, l.value + "\u200B", "put a zero-width space at the end of " + l.what());
          case 4 -> keyEnd < 0 || l.key.indexOf('a') < 0 ? Optional.empty()
              : t.replaceLine(l, l.withKey(l.key.replaceFirst("a", "\u0430")),
                  "replaced an 'a' of the key '" + l.key + "' with a Cyrillic 'a'");
          case 5 -> l.indent == 0 ? Optional.empty()
              : t.replaceLine(l, "\u00A0" + l.raw.substring(1), "indented with a no-break space");
          default -> Optional.of(new Edit(t.join(t.lines).stripTrailing().getBytes(StandardCharsets.UTF_8),
              t.lines.size(), "removed the final line end", null));
        };
      }
    };

    abstract Optional<Edit> apply(Text t, SplittableRandom r);
  }

  private static final List<String> IDENTITY_KEYS = List.of("kind", "apiVersion", "name", "namespace");
  private static final Pattern KEY_LINE = Pattern.compile("([A-Za-z_][A-Za-z0-9_.-]*):(?: +(.*))?");
  private static final Pattern INTEGER = Pattern.compile("-?\\d+");
  private static final Pattern DURATION = Pattern.compile("\\d+(\\.\\d+)?s");
  private static final String[] RETYPED = {"42", "-7", "3.25", "true", "false", "\"text\"", "'9101'", "null", "~",
      "[]", "[a, 1]", "{}", "{k: v}", "2024-01-31", "!!binary aGk=", ".nan", "0o17", "- item"};
  private static final String[] SCALARS = {"true", "1", "x", "\"\"", "[]", "{}", "null"};
  private static final String[] NUMBERS = {"-1", "0", "65535", "65536", "2147483647", "2147483648", "4294967295",
      "4294967296", "-2147483649", "9223372036854775807", "9223372036854775808", "99999999999999999999999999",
      "1e400", "0.5", "-0", "0x10000", "315576000001"};
  private static final String LETTERS = "abcdefghijklmnopqrstuvwxyz";
  private static final String DIGITS = "0123456789";
  private static final String MARKS = "-._/: ";

  private YamlMutator() {}

  /**
   * Mutation {@code number} of {@code seed}: a file chosen from {@code files} (relative path to text) and one edit
   * of it that changes its bytes.
   */
  static Mutation mutation(long seed, int number, SortedMap<String, String> files) {
    SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + number);
    List<String> names = new ArrayList<>(files.keySet());
    while (true) {
      String file = names.get(r.nextInt(names.size()));
      String original = files.get(file);
      Text text = Text.of(file, original);
      Kind kind = Kind.values()[r.nextInt(Kind.values().length)];
      Optional<Edit> edit = kind.apply(text, r);
      if (edit.isPresent() && !Arrays.equals(edit.get().content, original.getBytes(StandardCharsets.UTF_8))) {
        Edit e = edit.get();
        return new Mutation(number, file, kind, e.content, file + ":" + e.line + ": " + e.what, e.secret);
      }
    }
  }

  /** Reads every file of {@code files} as text, for {@link #mutation}. */
  static SortedMap<String, String> texts(Map<String, byte[]> files) {
    SortedMap<String, String> out = new TreeMap<>();
    files.forEach((k, v) -> out.put(k, new String(v, StandardCharsets.UTF_8)));
    return out;
  }

  /** One character of {@code s} changed, dropped, added, swapped with its neighbour or flipped in case. */
  static String typo(String s, SplittableRandom r) {
    if (s.isEmpty()) {
      return String.valueOf(LETTERS.charAt(r.nextInt(LETTERS.length())));
    }
    while (true) {
      int at = r.nextInt(s.length());
      char c = s.charAt(at);
      String out = switch (r.nextInt(5)) {
        case 0 -> s.substring(0, at) + similar(c, r) + s.substring(at + 1);
        case 1 -> s.substring(0, at) + similar(c, r) + s.substring(at);
        case 2 -> s.length() > 1 ? s.substring(0, at) + s.substring(at + 1) : s + similar(c, r);
        case 3 -> at + 1 < s.length() ? s.substring(0, at) + s.charAt(at + 1) + c + s.substring(at + 2) : s;
        default -> Character.isLetter(c) ? s.substring(0, at)
            + (Character.isUpperCase(c) ? Character.toLowerCase(c) : Character.toUpperCase(c)) + s.substring(at + 1)
            : s;
      };
      if (!out.equals(s)) {
        return out;
      }
    }
  }

  /** A character of the same class as {@code c}: a letter for a letter, a digit for a digit, else a mark. */
  private static char similar(char c, SplittableRandom r) {
    String pool = Character.isDigit(c) ? DIGITS : Character.isLetter(c) ? LETTERS : MARKS;
    return pool.charAt(r.nextInt(pool.length()));
  }

  private static String snakeCase(String key) {
    return key.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT);
  }

  /** An AWS-style access key id and secret key, 69 characters: longer than any value a message may quote (64). */
  private static String secret(SplittableRandom r) {
    String upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    String mixed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+";
    StringBuilder sb = new StringBuilder("AKIA");
    for (int i = 0; i < 16; i++) {
      sb.append(upper.charAt(r.nextInt(upper.length())));
    }
    sb.append('/');
    for (int i = 0; i < 48; i++) {
      sb.append(mixed.charAt(r.nextInt(mixed.length())));
    }
    return sb.toString();
  }

  private static List<String> shift(List<String> block, int by) {
    List<String> out = new ArrayList<>();
    for (String line : block) {
      if (line.isBlank()) {
        out.add(line);
      } else if (by >= 0) {
        out.add(" ".repeat(by) + line);
      } else {
        int spaces = 0;
        while (spaces < line.length() && spaces < -by && line.charAt(spaces) == ' ') {
          spaces++;
        }
        out.add(line.substring(spaces));
      }
    }
    return out;
  }

  /** The result of one kind's edit: new bytes, the 1-based line it is about, what it did. */
  record Edit(byte[] content, int line, String what, String secret) {}

  /**
   * One line as the mutator sees it. For {@code - key: value} lines {@code item} is true and {@code keyColumn} is
   * the column of {@code key}; a scalar list item has a value and no key; a parent key has a key and no value.
   */
  static final class Line {
    final int index;
    final String raw;
    final int indent;
    final boolean item;
    final int keyColumn;
    final String key;
    final String value;

    Line(int index, String raw) {
      this.index = index;
      this.raw = raw;
      int i = 0;
      while (i < raw.length() && raw.charAt(i) == ' ') {
        i++;
      }
      this.indent = i;
      String rest = raw.substring(i);
      boolean isItem = rest.startsWith("- ") || rest.equals("-");
      int column = i;
      if (isItem) {
        column = i + 1;
        while (column < raw.length() && raw.charAt(column) == ' ') {
          column++;
        }
        rest = raw.substring(column);
      }
      this.item = isItem;
      this.keyColumn = column;
      Matcher m = KEY_LINE.matcher(rest);
      if (!rest.startsWith("#") && m.matches()) {
        this.key = m.group(1);
        this.value = m.group(2) == null || m.group(2).isEmpty() ? null : m.group(2);
      } else {
        this.key = null;
        this.value = isItem && !rest.isEmpty() && !rest.startsWith("#") ? rest : null;
      }
    }

    boolean hasContent() {
      return !raw.isBlank();
    }

    boolean isComment() {
      return raw.strip().startsWith("#");
    }

    boolean isKey() {
      return key != null;
    }

    /** A key or list item with a one-line value other than a flow collection. */
    boolean isScalar() {
      return value != null && !value.startsWith("[") && !value.startsWith("{");
    }

    /** A key whose value is the block below it. */
    boolean isParent() {
      return key != null && value == null;
    }

    String what() {
      return key != null ? "the value of '" + key + "'" : "the list item";
    }

    String shown() {
      return value == null ? "(the block under it)" : "'" + value + "'";
    }

    String withKey(String newKey) {
      return raw.substring(0, keyColumn) + newKey + raw.substring(keyColumn + key.length());
    }

    String withValue(String newValue) {
      if (key == null) {
        return raw.substring(0, keyColumn) + newValue;
      }
      String head = raw.substring(0, keyColumn) + key + ":";
      return newValue.isEmpty() ? head : head + " " + newValue;
    }
  }

  /** A file as lines, with the structure helpers the kinds share. */
  static final class Text {
    final String file;
    final List<String> lines;
    final boolean finalNewline;

    Text(String file, List<String> lines, boolean finalNewline) {
      this.file = file;
      this.lines = List.copyOf(lines);
      this.finalNewline = finalNewline;
    }

    static Text of(String file, String text) {
      boolean finalNewline = text.endsWith("\n");
      String body = finalNewline ? text.substring(0, text.length() - 1) : text;
      return new Text(file, Arrays.asList(body.split("\n", -1)), finalNewline);
    }

    List<String> linesCopy() {
      return new ArrayList<>(lines);
    }

    Line lineAt(int index) {
      return new Line(index, lines.get(index));
    }

    String join(List<String> out) {
      return String.join("\n", out) + (finalNewline ? "\n" : "");
    }

    int offsetOf(int index) {
      int offset = 0;
      for (int i = 0; i < index; i++) {
        offset += lines.get(i).getBytes(StandardCharsets.UTF_8).length + 1;
      }
      return offset;
    }

    /** A random line satisfying {@code ok}, or null when none does. */
    Line pick(SplittableRandom r, Predicate<Line> ok) {
      List<Line> candidates = new ArrayList<>();
      for (int i = 0; i < lines.size(); i++) {
        Line l = lineAt(i);
        if (ok.test(l)) {
          candidates.add(l);
        }
      }
      return candidates.isEmpty() ? null : candidates.get(r.nextInt(candidates.size()));
    }

    /**
     * The index after the last line of the block of line {@code index}: the lines below it that are indented
     * deeper than its key, and the list at its key's own column that a parent key may have; trailing blank and
     * comment lines are not part of it.
     */
    int blockEnd(int index) {
      Line head = lineAt(index);
      int end = index + 1;
      int last = index + 1;
      while (end < lines.size()) {
        Line l = lineAt(end);
        if (!l.hasContent() || l.isComment()) {
          end++;
          continue;
        }
        boolean inside = l.indent > head.keyColumn || (l.indent == head.keyColumn && l.item && head.isParent());
        if (!inside) {
          break;
        }
        end++;
        last = end;
      }
      return last;
    }

    List<String> block(int index) {
      return lines.subList(index, blockEnd(index));
    }

    /** The key whose block holds line {@code index}, or null at the top level. */
    Line parentOf(int index) {
      Line l = lineAt(index);
      for (int i = index - 1; i >= 0; i--) {
        Line p = lineAt(i);
        if (p.hasContent() && !p.isComment() && p.keyColumn < l.keyColumn && p.key != null) {
          return blockEnd(i) > index ? p : null;
        }
        if (p.hasContent() && !p.isComment() && p.keyColumn < l.keyColumn) {
          return null;
        }
      }
      return null;
    }

    /** A parent key next to line {@code index} in the same mapping whose block is a mapping, or null. */
    Line mappingSibling(int index) {
      Line l = lineAt(index);
      IntPredicate sibling = i -> {
        Line s = lineAt(i);
        Line child = firstChild(i);
        return s.isParent() && !s.item && s.keyColumn == l.keyColumn && child != null && child.isKey() && !child.item;
      };
      for (int i = index - 1; i >= 0; i--) {
        Line p = lineAt(i);
        if (!p.hasContent() || p.isComment() || p.keyColumn > l.keyColumn) {
          continue;
        }
        if (p.keyColumn < l.keyColumn || p.item) {
          break;
        }
        if (sibling.test(i)) {
          return p;
        }
      }
      for (int i = blockEnd(index); i < lines.size(); i++) {
        Line n = lineAt(i);
        if (!n.hasContent() || n.isComment() || n.keyColumn > l.keyColumn) {
          continue;
        }
        if (n.keyColumn < l.keyColumn || n.item) {
          break;
        }
        if (sibling.test(i)) {
          return n;
        }
      }
      return null;
    }

    Line firstChild(int index) {
      for (int i = index + 1; i < blockEnd(index); i++) {
        Line c = lineAt(i);
        if (c.hasContent() && !c.isComment()) {
          return c;
        }
      }
      return null;
    }

    Optional<Edit> edit(List<String> out, Line at, String what) {
      return Optional.of(new Edit(join(out).getBytes(StandardCharsets.UTF_8), at.index + 1, what, null));
    }

    Optional<Edit> replaceLine(Line l, String replacement, String what) {
      List<String> out = linesCopy();
      out.set(l.index, replacement);
      return edit(out, l, what);
    }

    Optional<Edit> insertAfter(Line l, String inserted, String what) {
      List<String> out = linesCopy();
      out.add(l.index + 1, inserted);
      return edit(out, l, what);
    }

    /** The value of line {@code l} replaced by {@code value}; for a parent key, its whole block. */
    Optional<Edit> replaceValue(Line l, String value, String what) {
      List<String> out = linesCopy();
      if (l.isParent()) {
        out.subList(l.index + 1, blockEnd(l.index)).clear();
      }
      if (value.startsWith("- ") && l.key != null) {
        out.set(l.index, l.withValue(""));
        out.add(l.index + 1, " ".repeat(l.keyColumn + 2) + value);
      } else {
        out.set(l.index, l.withValue(value));
      }
      return edit(out, l, what);
    }
  }
}
