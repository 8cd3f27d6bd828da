package io.shardgate.loadtests;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** One CSV file, written as rows come. */
final class CsvFile {
  private final BufferedWriter out;

  CsvFile(Path file, String header) throws IOException {
    out = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
    out.write(header);
    out.newLine();
  }

  synchronized void row(Object... values) {
    try {
      StringBuilder sb = new StringBuilder();
      for (Object v : values) {
        String s = String.valueOf(v);
        sb.append(sb.length() == 0 ? "" : ",").append(s.contains(",") || s.contains("\"")
            ? "\"" + s.replace("\"", "\"\"") + "\"" : s);
      }
      out.write(sb.toString());
      out.newLine();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  synchronized void close() {
    try {
      out.close();
    } catch (IOException e) {
      System.err.println("closing a CSV file: " + e);
    }
  }
}
