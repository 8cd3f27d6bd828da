package io.shardgate.controlplane.source;

/**
 * A file a config source could not turn into documents: a YAML syntax error, a document that is not a mapping, a
 * duplicate key, an alias bomb, bytes that are not UTF-8.
 *
 * <p>Stage: source. Immutable value (an exception so that the reader can abort a file mid-way); thread-safe.
 *
 * <p>{@link #getMessage()} reads {@code <file>:<line>:<column>: <reason>}, leaving out the parts that are unknown,
 * so it can be printed as is and editors can jump to the spot.
 */
public final class SourceException extends Exception {

  private final String file;
  private final int line;
  private final int column;
  private final String reason;

  /**
   * @param file the file, relative to the source root
   * @param line 1-based line, or 0 when unknown
   * @param column 1-based column, or 0 when unknown
   * @param reason what is wrong and, where we can tell, what to change
   */
  public SourceException(String file, int line, int column, String reason) {
    super(format(file, line, column, reason));
    this.file = file;
    this.line = line;
    this.column = column;
    this.reason = reason;
  }

  /** The file, relative to the source root. */
  public String file() {
    return file;
  }

  /** 1-based line, or 0 when unknown. */
  public int line() {
    return line;
  }

  /** 1-based column, or 0 when unknown. */
  public int column() {
    return column;
  }

  /** The message without the location. */
  public String reason() {
    return reason;
  }

  static String format(String file, int line, int column, String reason) {
    StringBuilder sb = new StringBuilder(file);
    if (line > 0) {
      sb.append(':').append(line);
      if (column > 0) {
        sb.append(':').append(column);
      }
    }
    return sb.append(": ").append(reason).toString();
  }
}
