package io.shardgate.controlplane.source;

import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.model.SameObjects;
import io.shardgate.sharding.secret.KubeSecret;
import io.shardgate.sharding.secret.SecretState;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Everything a directory source read in one pass: the documents, the TLS secrets, the problems met on the way, and a
 * hash of every file's bytes. {@link #toString()} shows no secret data ({@link KubeSecret} redacts itself).
 *
 * <p>Stage: source output. Immutable value (the document trees are unmodifiable); thread-safe.
 *
 * @param documents documents ordered by file (see {@link DirectoryLoader}) and then by position in the file
 * @param problems problems ordered by file and position, as met
 * @param fileHashes relative path ({@code /} separators) to the SHA-256 (lower-case hex) of the file's bytes, for
 *     every YAML file read, in the same order as {@code documents}
 * @param fileStats relative path to the size, modification time and identity the file had when it was read: a file
 *     whose stat is unchanged is not read again by a full re-scan
 * @param secrets the Secrets read (never documents: their bytes must not reach the decoder, whose messages quote
 *     values), ordered by file and position; their origin is {@code file:line}. An unchanged secret keeps its object.
 */
public record DirectoryContents(
    List<SourceDocument> documents, List<SourceProblem> problems, Map<String, String> fileHashes,
    Map<String, String> fileStats, List<KubeSecret> secrets) {

  /** Nothing read yet. */
  public static final DirectoryContents EMPTY = new DirectoryContents(List.of(), List.of(), Map.of(), Map.of());

  public DirectoryContents {
    documents = List.copyOf(documents);
    problems = List.copyOf(problems);
    fileHashes = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(fileHashes)));
    fileStats = Map.copyOf(Objects.requireNonNull(fileStats));
    secrets = secrets == null ? List.of() : List.copyOf(secrets);
  }

  /** Contents without secrets. */
  public DirectoryContents(List<SourceDocument> documents, List<SourceProblem> problems, Map<String, String> fileHashes,
      Map<String, String> fileStats) {
    this(documents, problems, fileHashes, fileStats, List.of());
  }

  /**
   * The secrets by {@code namespace/name}, their objects as they are; a secret defined twice is the first one in file
   * order (the loader warns about the other).
   */
  public SecretState secretState() {
    SortedMap<String, KubeSecret> out = new TreeMap<>();
    secrets.forEach(s -> out.putIfAbsent(s.key(), s));
    return new SecretState(out);
  }

  /** The file (relative path) a secret of these contents was read from: its origin without {@code :line}. */
  static String fileOf(KubeSecret secret) {
    String origin = secret.origin();
    int colon = origin.lastIndexOf(':');
    return colon < 0 ? origin : origin.substring(0, colon);
  }

  /** Contents without stat information (tests and tools). */
  public DirectoryContents(List<SourceDocument> documents, List<SourceProblem> problems, Map<String, String> fileHashes) {
    this(documents, problems, fileHashes, Map.of());
  }

  /**
   * Whether {@code other} holds the same files, documents and problems: the same file hashes and problems, and the
   * very same document objects (a file that was not read again hands its documents over as they were). Costs no
   * hashing, so a re-read that found nothing new is dropped cheaply.
   */
  public boolean sameAs(DirectoryContents other) {
    if (other == null || other.documents.size() != documents.size() || !other.fileHashes.equals(fileHashes)
        || !other.problems.equals(problems)) {
      return false;
    }
    return SameObjects.inOrder(documents, other.documents) && SameObjects.inOrder(secrets, other.secrets);
  }

  /** The documents read from {@code file} (relative path), in file order; empty when none. */
  public List<SourceDocument> documentsOf(String file) {
    List<SourceDocument> out = new ArrayList<>();
    for (SourceDocument d : documents) {
      if (d.origin().equals(file)) {
        out.add(d);
      }
    }
    return out;
  }

  /** The problems reported for {@code file} (relative path); empty when none. */
  public List<SourceProblem> problemsOf(String file) {
    List<SourceProblem> out = new ArrayList<>();
    for (SourceProblem p : problems) {
      if (p.file().equals(file)) {
        out.add(p);
      }
    }
    return out;
  }

  /** Whether any problem is an {@link SourceProblem.Severity#ERROR}. */
  public boolean hasErrors() {
    return problems.stream().anyMatch(p -> p.severity() == SourceProblem.Severity.ERROR);
  }

  /**
   * SHA-256 (lower-case hex) over the file hashes, the documents (trees and field lines) and the problems: equal
   * hashes mean equal contents, so a re-read that found nothing new can be dropped.
   *
   * <p>The documents are hashed too, not only the file hashes, because a broken file serves documents from an
   * earlier read, which the bytes on disk do not determine. Computed on every call, in time linear in the size of
   * the contents; keep the result rather than calling it repeatedly.
   */
  public String contentHash() {
    MessageDigest digest = sha256();
    try (DataOutputStream out = new DataOutputStream(new DigestOutputStream(OutputStream.nullOutputStream(),
        digest))) {
      writeString(out, "shardgate.directory-contents.v1");
      out.writeInt(fileHashes.size());
      for (Map.Entry<String, String> e : fileHashes.entrySet()) {
        writeString(out, e.getKey());
        writeString(out, e.getValue());
      }
      out.writeInt(documents.size());
      for (SourceDocument d : documents) {
        writeString(out, d.origin());
        out.writeInt(d.line());
        writeValue(out, d.content());
        Map<String, Integer> lines = new TreeMap<>(d.fieldLines());
        out.writeInt(lines.size());
        for (Map.Entry<String, Integer> e : lines.entrySet()) {
          writeString(out, e.getKey());
          out.writeInt(e.getValue());
        }
      }
      out.writeInt(secrets.size());
      for (KubeSecret s : secrets) {
        // Each value's own SHA-256, never the value: this hash may be logged or stored.
        writeString(out, s.origin());
        writeString(out, s.key());
        writeString(out, s.type());
        out.writeInt(s.keys().size());
        for (String k : s.keys()) {
          writeString(out, k);
          out.write(sha256().digest(s.value(k)));
        }
      }
      out.writeInt(problems.size());
      for (SourceProblem p : problems) {
        writeString(out, p.file());
        out.writeInt(p.line());
        out.writeInt(p.column());
        writeString(out, p.severity().name());
        writeString(out, p.message());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("hashing in memory cannot fail", e);
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  // Every value is written with a type tag and every string with its length, so that no two different trees
  // produce the same byte stream.
  private static void writeValue(DataOutputStream out, Object value) throws IOException {
    if (value == null) {
      out.writeByte('N');
    } else if (value instanceof Map<?, ?> map) {
      out.writeByte('M');
      out.writeInt(map.size());
      for (Map.Entry<?, ?> e : map.entrySet()) {
        writeString(out, String.valueOf(e.getKey()));
        writeValue(out, e.getValue());
      }
    } else if (value instanceof List<?> list) {
      out.writeByte('L');
      out.writeInt(list.size());
      for (Object item : list) {
        writeValue(out, item);
      }
    } else if (value instanceof String s) {
      out.writeByte('S');
      writeString(out, s);
    } else if (value instanceof Long l) {
      out.writeByte('I');
      out.writeLong(l);
    } else if (value instanceof Double d) {
      out.writeByte('D');
      out.writeLong(Double.doubleToLongBits(d));
    } else if (value instanceof Boolean b) {
      out.writeByte('B');
      out.writeBoolean(b);
    } else {
      out.writeByte('O');
      writeString(out, value.getClass().getName() + ":" + value);
    }
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(bytes.length);
    out.write(bytes);
  }
}
