package io.shardgate.controlplane.nomad;

import java.util.List;

/**
 * Writes HCL2 text: blocks, attributes with aligned equals signs, and heredocs.
 *
 * <p>Stage: output formatting. Not thread-safe (one per file). String values pass through {@link #quote}, which
 * escapes HCL's template sequences, so {@code ${NOMAD_ALLOC_ID}} in a value reaches Nomad as written (Nomad
 * interpolates it at run time) instead of being evaluated by the HCL parser.
 */
final class Hcl {

  private final StringBuilder out = new StringBuilder();
  private int depth;

  /** A comment line at the current depth. */
  Hcl comment(String text) {
    for (String line : text.split("\n", -1)) {
      indent().append("# ").append(line).append('\n');
    }
    return this;
  }

  Hcl blank() {
    out.append('\n');
    return this;
  }

  Hcl open(String type, String... labels) {
    indent().append(type);
    for (String label : labels) {
      out.append(' ').append(quote(label));
    }
    out.append(" {\n");
    depth++;
    return this;
  }

  Hcl close() {
    depth--;
    indent().append("}\n");
    return this;
  }

  Hcl attr(String name, Object value) {
    String literal = literal(value);
    if (value instanceof List<?> list && depth * 2 + name.length() + 3 + literal.length() > 120) {
      // One item a line when the list does not fit, so a diff shows which argument changed.
      indent().append(name).append(" = [\n");
      depth++;
      for (Object item : list) {
        indent().append(literal(item)).append(",\n");
      }
      depth--;
      indent().append("]\n");
      return this;
    }
    indent().append(name).append(" = ").append(literal).append('\n');
    return this;
  }

  /** A multi-line string as a heredoc; the text must end in a newline. */
  Hcl heredoc(String name, String marker, String text) {
    if (!text.endsWith("\n")) {
      throw new IllegalArgumentException("heredoc text must end in a newline");
    }
    for (String line : text.split("\n")) {
      if (line.strip().equals(marker)) {
        throw new IllegalArgumentException("heredoc text contains its end marker " + marker);
      }
    }
    indent().append(name).append(" = <<").append(marker).append('\n');
    out.append(escapeTemplate(text));
    out.append(marker).append('\n');
    return this;
  }

  String text() {
    return out.toString();
  }

  private StringBuilder indent() {
    return out.append("  ".repeat(depth));
  }

  private static String literal(Object value) {
    if (value instanceof String s) {
      return quote(s);
    }
    if (value instanceof Integer || value instanceof Long || value instanceof Boolean) {
      return value.toString();
    }
    if (value instanceof List<?> list) {
      StringBuilder sb = new StringBuilder("[");
      for (int i = 0; i < list.size(); i++) {
        sb.append(i == 0 ? "" : ", ").append(literal(list.get(i)));
      }
      return sb.append(']').toString();
    }
    throw new IllegalArgumentException("no HCL literal for " + value);
  }

  /** A double-quoted HCL string whose value, after parsing, is {@code s} exactly. */
  static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return escapeTemplate(sb.append('"').toString());
  }

  /** {@code ${} and {@code %{} start HCL template sequences; doubling the sign makes them literal. */
  private static String escapeTemplate(String s) {
    return s.replace("${", "$${").replace("%{", "%%{");
  }
}
