package io.shardgate.controlplane.source;

import java.util.Objects;

/**
 * Something a config source noticed about a file while reading it, before any decoding: a file that does not parse,
 * cannot be read, or a document that is skipped or looks misplaced.
 *
 * <p>Stage: source output. Immutable value; thread-safe.
 *
 * @param file the file (or directory) relative to the source root, with '/' separators; empty for the root itself
 * @param line 1-based line, or 0 when unknown
 * @param column 1-based column, or 0 when unknown
 * @param severity {@link Severity#ERROR} when (part of) a file is not being read as written,
 *     {@link Severity#WARNING} when it is read but something looks wrong
 * @param message what happened, and what to change; without the location
 */
public record SourceProblem(String file, int line, int column, Severity severity, String message) {

  /** How bad a {@link SourceProblem} is. */
  public enum Severity {
    /** The file (or part of it) is not being read as written; its last good version is served, if any. */
    ERROR,
    /** The file is read, but something in it is skipped or looks unintended. */
    WARNING
  }

  public SourceProblem {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(severity, "severity");
    Objects.requireNonNull(message, "message");
  }

  /** A problem without a column. */
  public SourceProblem(String file, int line, Severity severity, String message) {
    this(file, line, 0, severity, message);
  }

  /** {@code file:line:column}, leaving out unknown parts. */
  public String location() {
    StringBuilder sb = new StringBuilder(file.isEmpty() ? "." : file);
    if (line > 0) {
      sb.append(':').append(line);
      if (column > 0) {
        sb.append(':').append(column);
      }
    }
    return sb.toString();
  }

  /** {@code file:line:column: message}, for logs and command-line output. */
  @Override
  public String toString() {
    return location() + ": " + message;
  }
}
