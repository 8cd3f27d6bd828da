package io.shardgate.controlplane.source;

import io.shardgate.controlplane.source.SourceProblem.Severity;
import io.shardgate.sharding.decode.DecodedDocument;
import io.shardgate.sharding.decode.DocumentIdentity;
import io.shardgate.sharding.decode.ResourceDecoder;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.secret.KubeSecret;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * Reads every YAML file under a config directory into {@link DirectoryContents}.
 *
 * <p>Stage: source. Pure: the result is a function of the files' bytes and of the {@code previous} contents passed
 * in (no clock, no caches, no logging); thread-safe.
 *
 * <p><b>Which files.</b> Every regular file ending in {@code .yaml} or {@code .yml} (any case) under the root,
 * following symbolic links (a Kubernetes ConfigMap volume is made of them) but not link loops. Files and folders
 * whose name starts with '.' are skipped (editor swap files, {@code .git}, the ConfigMap's {@code ..data}
 * internals). Files are ordered by their relative path compared folder by folder, so the order does not depend on
 * the file system.
 *
 * <p><b>Gloo's layout</b>, {@code <root>/<plural>/<namespace>/<name>.yaml} with {@code <plural>} one of
 * {@code gateways virtualservices routetables upstreams upstreamgroups settings proxies secrets}:
 *
 * <ul>
 *   <li>a document with {@code kind} or {@code spec} is taken to be in Kubernetes form; any other is Gloo's flat
 *       form (metadata plus the spec fields at the top level) and becomes {@code {apiVersion, kind, metadata,
 *       spec: {...the rest}}}, with {@code status} and {@code namespacedStatuses} kept beside {@code spec} and the
 *       field lines moved under {@code spec.} accordingly;
 *   <li>a missing {@code kind} is the folder's, a missing {@code apiVersion} the kind's usual one
 *       ({@code gateway.solo.io/v1}, {@code gloo.solo.io/v1}, or {@code v1} for Secret);
 *   <li>a missing {@code metadata.namespace} is the folder name and a missing {@code metadata.name} the file name
 *       without extension;
 *   <li>what the document says explicitly wins over the folders, with a warning when its {@code kind} or
 *       {@code metadata.namespace} contradicts them (the file name and {@code metadata.name} may differ freely).
 * </ul>
 *
 * <p><b>Any other YAML file</b> holds Kubernetes-style documents, passed through as they are; judging
 * {@code apiVersion} and {@code kind} is the decoder's job. A document without {@code kind} is skipped with a
 * warning (a Helm values file or similar, most likely).
 *
 * <p><b>Last good per file.</b> A file that does not parse, cannot be read, is larger than {@value
 * #MAX_FILE_BYTES} bytes or holds a Gloo document whose identity is wrong ({@link DocumentIdentity}: a typo in
 * {@code kind} or {@code apiVersion}, an invalid name or namespace) is an {@link Severity#ERROR} problem, and the
 * documents the same path produced in
 * {@code previous} are kept, so a half-done edit never takes config away from the Envoys; a file without an earlier
 * good version contributes nothing. The same holds for every file under a folder that cannot be listed. A file that
 * is deleted is gone. A file whose bytes are unchanged since {@code previous} is not parsed again: its documents and
 * problems are reused, which gives the same result faster.
 */
public final class DirectoryLoader {

  /** Largest file read; anything bigger is an error rather than a heap risk. */
  public static final long MAX_FILE_BYTES = YamlDocumentReader.MAX_DOCUMENT_CODE_POINTS;

  private record GlooFolder(String kind, String apiVersion) {}

  private static final Map<String, GlooFolder> GLOO_FOLDERS = Map.of(
      "gateways", new GlooFolder("Gateway", "gateway.solo.io/v1"),
      "virtualservices", new GlooFolder("VirtualService", "gateway.solo.io/v1"),
      "routetables", new GlooFolder("RouteTable", "gateway.solo.io/v1"),
      "upstreams", new GlooFolder("Upstream", "gloo.solo.io/v1"),
      "upstreamgroups", new GlooFolder("UpstreamGroup", "gloo.solo.io/v1"),
      "settings", new GlooFolder("Settings", "gloo.solo.io/v1"),
      "proxies", new GlooFolder("Proxy", "gloo.solo.io/v1"),
      "secrets", new GlooFolder("Secret", "v1"));

  private static final Map<String, String> API_VERSION_OF_KIND = apiVersionOfKind();

  // In Gloo's flat form these sit beside the spec fields but are not part of the spec.
  private static final Set<String> FLAT_NON_SPEC_FIELDS = Set.of("apiVersion", "metadata", "status",
      "namespacedStatuses");

  private final YamlDocumentReader reader;

  /** A loader with the default {@link YamlDocumentReader}. */
  public DirectoryLoader() {
    this(new YamlDocumentReader());
  }

  /** A loader that parses with {@code reader}. */
  public DirectoryLoader(YamlDocumentReader reader) {
    this.reader = Objects.requireNonNull(reader, "reader");
  }

  /** Reads {@code root} with no earlier contents to fall back on. */
  public DirectoryContents load(Path root) {
    return load(root, null);
  }

  /**
   * Reads {@code root}.
   *
   * @param previous what the last read of the same root returned, or null; broken files keep their documents
   *     from it, and unchanged files reuse its results
   * @throws IllegalArgumentException when {@code root} does not exist or is not a directory
   * @throws UncheckedIOException when walking the tree fails in a way not tied to one file or folder
   */
  public DirectoryContents load(Path root, DirectoryContents previous) {
    checkRoot(root);
    Previous prev = new Previous(previous == null ? DirectoryContents.EMPTY : previous);
    List<Entry> entries = walk(root, root);
    entries.addAll(keptUnderUnreadableFolders(entries, prev));
    return assemble(root, entries, prev);
  }

  /**
   * Reads only what changed under {@code root} since {@code previous}: the files (or folders) named in
   * {@code changed}, as paths relative to the root with {@code /} separators; every other file keeps what it had in
   * {@code previous}, unread. A named folder is read whole; a name that no longer exists removes what was under it.
   * Equal to {@link #load} when {@code changed} names everything that changed.
   *
   * @throws IllegalArgumentException when {@code root} does not exist or is not a directory
   */
  public DirectoryContents update(Path root, DirectoryContents previous, Collection<String> changed) {
    checkRoot(root);
    Previous prev = new Previous(previous == null ? DirectoryContents.EMPTY : previous);
    // In the previous read's order, which is already sorted: the sort in assemble then costs a pass, not n log n.
    Map<String, Entry> byPath = new LinkedHashMap<>();
    for (String file : prev.files()) {
      byPath.put(file, new Entry(file, EntryType.REUSED, null));
    }
    List<Entry> walked = new ArrayList<>();
    for (String rel : new TreeSet<>(changed)) {
      if (rel.isEmpty()) {
        return load(root, previous); // the root itself changed: read it all
      }
      String prefix = rel + "/";
      byPath.keySet().removeIf(k -> k.equals(rel) || k.startsWith(prefix));
      if (!hiddenPath(rel)) {
        walked.addAll(walk(root, root.resolve(rel)));
      }
    }
    walked.addAll(keptUnderUnreadableFolders(walked, prev));
    for (Entry e : walked) {
      byPath.put(e.rel, e);
    }
    return assemble(root, new ArrayList<>(byPath.values()), prev);
  }

  private DirectoryContents assemble(Path root, List<Entry> entries, Previous prev) {
    entries.sort(Comparator.comparing(Entry::rel, DirectoryLoader::comparePaths));
    List<SourceDocument> documents = new ArrayList<>();
    List<SourceProblem> problems = new ArrayList<>();
    List<KubeSecret> secrets = new ArrayList<>();
    Map<String, String> fileHashes = new LinkedHashMap<>();
    Map<String, String> fileStats = new HashMap<>();
    for (Entry entry : entries) {
      switch (entry.type) {
        case FILE -> readFile(root, entry.rel, prev, documents, problems, secrets, fileHashes, fileStats);
        case UNREADABLE_FILE -> keepPrevious(entry.rel, 0, 0, entry.message, prev, documents, problems, secrets);
        case UNREADABLE_FOLDER -> problems.add(new SourceProblem(entry.rel, 0, Severity.ERROR, entry.message));
        case KEPT -> {
          documents.addAll(prev.documents(entry.rel));
          secrets.addAll(prev.secrets(entry.rel));
          String hash = prev.contents.fileHashes().get(entry.rel);
          if (hash != null) {
            fileHashes.put(entry.rel, hash);
          }
        }
        case REUSED -> {
          documents.addAll(prev.documents(entry.rel));
          secrets.addAll(prev.secrets(entry.rel));
          problems.addAll(prev.problems(entry.rel));
          String hash = prev.contents.fileHashes().get(entry.rel);
          if (hash != null) {
            fileHashes.put(entry.rel, hash);
          }
          String stat = prev.contents.fileStats().get(entry.rel);
          if (stat != null) {
            fileStats.put(entry.rel, stat);
          }
        }
        case SKIPPED -> problems.add(new SourceProblem(entry.rel, 0, Severity.WARNING, entry.message));
        default -> throw new IllegalStateException(entry.type.name());
      }
    }
    return new DirectoryContents(documents, withDuplicateSecrets(problems, secrets), fileHashes, fileStats, secrets);
  }

  /** Marks the warnings {@link #withDuplicateSecrets} makes, so that a later read can drop them before making its own. */
  private static final String DUPLICATE_SECRET = " is also defined earlier; this one is ignored";

  /**
   * {@code problems} with one warning per secret defined a second time (the first in file order serves, as in
   * {@link DirectoryContents#secretState}). Computed over the whole tree at every read, so warnings carried over from
   * unchanged files are dropped first.
   */
  private static List<SourceProblem> withDuplicateSecrets(List<SourceProblem> problems, List<KubeSecret> secrets) {
    List<SourceProblem> out = new ArrayList<>(problems);
    out.removeIf(p -> p.severity() == Severity.WARNING && p.message().endsWith(DUPLICATE_SECRET));
    Map<String, KubeSecret> first = new HashMap<>();
    for (KubeSecret s : secrets) {
      KubeSecret earlier = first.putIfAbsent(s.key(), s);
      if (earlier != null) {
        int colon = s.origin().lastIndexOf(':');
        out.add(new SourceProblem(s.origin().substring(0, colon), Integer.parseInt(s.origin().substring(colon + 1)),
            Severity.WARNING, "Secret " + s.key() + " (" + earlier.origin() + ")" + DUPLICATE_SECRET));
      }
    }
    return out;
  }

  /** Throws the {@link IllegalArgumentException} {@link #load} throws for a missing root. */
  static void checkRoot(Path root) {
    Objects.requireNonNull(root, "root");
    if (!Files.exists(root)) {
      throw new IllegalArgumentException("config directory " + root.toAbsolutePath()
          + " does not exist; pass --config-dir with the directory that holds your YAML files");
    }
    if (!Files.isDirectory(root)) {
      throw new IllegalArgumentException("config directory " + root.toAbsolutePath()
          + " is not a directory; pass --config-dir with the directory that holds your YAML files");
    }
  }

  private void readFile(Path root, String rel, Previous prev, List<SourceDocument> documents,
      List<SourceProblem> problems, List<KubeSecret> secrets, Map<String, String> fileHashes,
      Map<String, String> fileStats) {
    Path path = root.resolve(rel);
    byte[] bytes;
    try {
      BasicFileAttributes attrs = Files.readAttributes(path, BasicFileAttributes.class);
      // A file whose size, modification time and identity are those of the last read is not read again: a re-scan
      // of a large tree then costs a stat per file, not a read and a hash.
      String stat = attrs.size() + "/" + attrs.lastModifiedTime().to(TimeUnit.NANOSECONDS) + "/"
          + attrs.fileKey();
      String previousHash = prev.contents.fileHashes().get(rel);
      if (previousHash != null && stat.equals(prev.contents.fileStats().get(rel))) {
        fileHashes.put(rel, previousHash);
        fileStats.put(rel, stat);
        documents.addAll(prev.documents(rel));
        problems.addAll(prev.problems(rel));
        secrets.addAll(prev.secrets(rel));
        return;
      }
      fileStats.put(rel, stat);
      long size = attrs.size();
      if (size > MAX_FILE_BYTES) {
        keepPrevious(rel, 0, 0, "the file is " + size + " bytes, more than the " + MAX_FILE_BYTES
            + " allowed; split it", prev, documents, problems, secrets);
        return;
      }
      bytes = Files.readAllBytes(path);
    } catch (NoSuchFileException e) {
      return; // deleted between listing and reading: the next read sees the deletion
    } catch (IOException e) {
      keepPrevious(rel, 0, 0, "cannot read the file: " + describe(e), prev, documents, problems, secrets);
      return;
    }
    String hash = sha256Hex(bytes);
    fileHashes.put(rel, hash);
    if (hash.equals(prev.contents.fileHashes().get(rel))) {
      documents.addAll(prev.documents(rel));
      problems.addAll(prev.problems(rel));
      secrets.addAll(prev.secrets(rel));
      return;
    }
    List<SourceDocument> parsed;
    try {
      parsed = reader.read(rel, bytes);
    } catch (SourceException e) {
      keepPrevious(rel, e.line(), e.column(), e.reason(), prev, documents, problems, secrets);
      return;
    }
    GlooFolder folder = glooFolderOf(rel);
    List<SourceDocument> fileDocuments = new ArrayList<>();
    List<SourceProblem> fileProblems = new ArrayList<>();
    for (SourceDocument doc : parsed) {
      if (folder != null) {
        String[] segments = rel.split("/");
        fileDocuments.add(normaliseGloo(doc, folder, segments[1], stem(segments[2]), fileProblems));
      } else if (doc.content().get("kind") == null) {
        fileProblems.add(new SourceProblem(rel, doc.line(), Severity.WARNING, "the document has no 'kind' and is "
            + "skipped; outside Gloo's <plural>/<namespace>/<name>.yaml folders every document needs apiVersion "
            + "and kind"));
      } else {
        fileDocuments.add(doc);
      }
    }
    // Secrets leave the document path here: the decoder's messages quote values, and a secret's must never be shown.
    // A Secret document that cannot be read is as broken as a file that does not parse.
    List<KubeSecret> fileSecrets = new ArrayList<>();
    List<SourceProblem> identityErrors = new ArrayList<>();
    for (Iterator<SourceDocument> it = fileDocuments.iterator(); it.hasNext(); ) {
      SourceDocument doc = it.next();
      if (!DirectorySecrets.isSecret(doc)) {
        continue;
      }
      it.remove();
      DirectorySecrets.Result secret = DirectorySecrets.read(doc);
      if (secret.secret() != null) {
        fileSecrets.add(sameIfEqual(secret.secret(), prev.secrets(rel)));
      } else if (secret.problem().severity() == Severity.ERROR) {
        identityErrors.add(secret.problem());
      } else {
        fileProblems.add(secret.problem());
      }
    }
    // A Gloo document with a wrong identity (a typo in kind, apiVersion or name) is as broken as a file that does
    // not parse: skipping it would silently delete the resource from its shard.
    for (SourceDocument doc : fileDocuments) {
      DocumentIdentity.Result identity = DocumentIdentity.check(doc);
      if (identity.verdict() == DocumentIdentity.Verdict.ERROR) {
        identityErrors.add(new SourceProblem(rel, doc.lineOf(identity.field()), Severity.ERROR, identity.message()));
      }
    }
    if (!identityErrors.isEmpty()) {
      SourceProblem first = identityErrors.get(0);
      keepPrevious(rel, first.line(), 0, first.message(), prev, documents, problems, secrets);
      problems.addAll(identityErrors.subList(1, identityErrors.size()));
      return;
    }
    SourceProblem renamed = renamedAndRejected(rel, fileDocuments, prev.documents(rel));
    if (renamed != null) {
      keepPrevious(rel, renamed.line(), 0, renamed.message(), prev, documents, problems, secrets);
      return;
    }
    documents.addAll(fileDocuments);
    problems.addAll(fileProblems);
    secrets.addAll(fileSecrets);
  }

  /**
   * The very object of {@code before} when it holds an equal secret: consumers tell changed secrets by identity, and
   * an edit elsewhere in the file must not look like a rotation.
   */
  private static KubeSecret sameIfEqual(KubeSecret secret, List<KubeSecret> before) {
    for (KubeSecret b : before) {
      if (b.equals(secret)) {
        return b;
      }
    }
    return secret;
  }

  /**
   * Why the file's new documents look like a save cut short inside {@code metadata.name} or
   * {@code metadata.namespace}, or null: a resource the file held is gone and in its place is one of a new identity
   * that is rejected. Taken as it is, the edit would delete a serving resource and add one that serves nothing, so it
   * is an error of the file, which keeps its last documents. A rename whose new resource is accepted goes through.
   * Only the new identities are decoded, and only when one went missing.
   */
  private static SourceProblem renamedAndRejected(String rel, List<SourceDocument> now, List<SourceDocument> before) {
    Set<String> previous = new HashSet<>();
    before.forEach(d -> previous.add(identityOf(d)));
    Map<String, SourceDocument> added = new LinkedHashMap<>();
    for (SourceDocument d : now) {
      String id = identityOf(d);
      if (!previous.remove(id)) {
        added.put(id, d);
      }
    }
    previous.remove(null);
    if (previous.isEmpty() || added.isEmpty()) {
      return null;
    }
    for (Map.Entry<String, SourceDocument> e : added.entrySet()) {
      DecodedDocument decoded = ResourceDecoder.decodeDocument(e.getValue());
      if (decoded.key() != null && !decoded.errors().isEmpty()) {
        SourceDocument doc = e.getValue();
        return new SourceProblem(rel, doc.lineOf("metadata.name"), Severity.ERROR, "this document is now "
            + decoded.key() + ", which is rejected (" + decoded.errors().get(0) + "), and "
            + String.join(", ", new TreeSet<>(previous)) + " is gone: a save cut short or a mistyped name? Fix the"
            + " name, or the new resource to rename it");
      }
    }
    return null;
  }

  /** {@code Kind namespace/name} as the document writes it, or null when it has no such identity. */
  private static String identityOf(SourceDocument doc) {
    Object kind = doc.content().get("kind");
    if (!(doc.content().get("metadata") instanceof Map<?, ?> meta) || !(kind instanceof String)) {
      return null;
    }
    Object namespace = meta.get("namespace") == null ? "default" : meta.get("namespace");
    return kind + " " + namespace + "/" + meta.get("name");
  }

  private static void keepPrevious(String rel, int line, int column, String reason, Previous prev,
      List<SourceDocument> documents, List<SourceProblem> problems, List<KubeSecret> secrets) {
    List<SourceDocument> kept = prev.documents(rel);
    List<KubeSecret> keptSecrets = prev.secrets(rel);
    secrets.addAll(keptSecrets);
    int n = kept.size() + keptSecrets.size();
    String consequence = n == 0
        ? "; the file contributes nothing until it is fixed"
        : "; still serving the " + n + (n == 1 ? " document" : " documents") + " it held when it last parsed";
    problems.add(new SourceProblem(rel, line, column, Severity.ERROR, reason + consequence));
    documents.addAll(kept);
  }

  /**
   * A Gloo document of {@code kind} (Gateway, Upstream, ...) read at a place that names its kind, namespace and name
   * (a Consul key), normalised as a document of Gloo's folder layout is: see the class comment. Pure.
   */
  static SourceDocument normaliseGloo(SourceDocument doc, String kind, String namespace, String name,
      List<SourceProblem> problems) {
    return normaliseGloo(doc, new GlooFolder(kind, API_VERSION_OF_KIND.get(kind)), namespace, name, problems);
  }

  private static SourceDocument normaliseGloo(SourceDocument doc, GlooFolder folder, String namespace,
      String name, List<SourceProblem> problems) {
    Map<String, Object> in = doc.content();
    Map<String, Object> out = new LinkedHashMap<>();
    Map<String, Integer> lines;
    Object explicitKind = in.get("kind");
    if (explicitKind != null || in.containsKey("spec")) {
      if (explicitKind != null && !folder.kind.equals(explicitKind)) {
        problems.add(new SourceProblem(doc.origin(), doc.lineOf("kind"), Severity.WARNING, "kind " + explicitKind
            + " in a folder for " + folder.kind + " resources; reading it as " + explicitKind
            + " as it says (move the file, or fix its kind)"));
      }
      Object kind = explicitKind != null ? explicitKind : folder.kind;
      Object apiVersion = in.get("apiVersion") != null ? in.get("apiVersion") : API_VERSION_OF_KIND.get(kind);
      putIfNotNull(out, "apiVersion", apiVersion);
      out.put("kind", kind);
      out.put("metadata", in.get("metadata"));
      in.forEach(out::putIfAbsent);
      lines = doc.fieldLines();
    } else {
      out.put("apiVersion", in.get("apiVersion") != null ? in.get("apiVersion") : folder.apiVersion);
      out.put("kind", folder.kind);
      out.put("metadata", in.get("metadata"));
      Map<String, Object> spec = new LinkedHashMap<>();
      in.forEach((k, v) -> {
        if (!FLAT_NON_SPEC_FIELDS.contains(k)) {
          spec.put(k, v);
        }
      });
      out.put("spec", Collections.unmodifiableMap(spec));
      in.forEach((k, v) -> {
        if (FLAT_NON_SPEC_FIELDS.contains(k) && !k.equals("apiVersion") && !k.equals("metadata")) {
          out.put(k, v);
        }
      });
      lines = new LinkedHashMap<>();
      for (Map.Entry<String, Integer> e : doc.fieldLines().entrySet()) {
        String path = e.getKey();
        lines.put(FLAT_NON_SPEC_FIELDS.contains(topField(path)) ? path : "spec." + path, e.getValue());
      }
    }
    out.put("metadata", withDefaults(doc, out.get("metadata"), namespace, name, problems));
    return new SourceDocument(doc.origin(), doc.line(), Collections.unmodifiableMap(out), lines);
  }

  private static Object withDefaults(SourceDocument doc, Object metadata, String namespace, String name,
      List<SourceProblem> problems) {
    if (metadata != null && !(metadata instanceof Map)) {
      return metadata; // not ours to judge: the decoder reports a metadata that is not a mapping
    }
    Map<String, Object> md = new LinkedHashMap<>();
    if (metadata != null) {
      ((Map<?, ?>) metadata).forEach((k, v) -> md.put((String) k, v));
    }
    if (md.get("name") == null) {
      md.put("name", name);
    }
    Object ns = md.get("namespace");
    if (ns == null) {
      md.put("namespace", namespace);
    } else if (!namespace.equals(ns)) {
      problems.add(new SourceProblem(doc.origin(), doc.lineOf("metadata.namespace"), Severity.WARNING,
          "metadata.namespace " + ns + " in the folder for namespace " + namespace + "; using " + ns
              + " as it says (move the file, or fix its namespace)"));
    }
    return Collections.unmodifiableMap(md);
  }

  private static void putIfNotNull(Map<String, Object> map, String key, Object value) {
    if (value != null) {
      map.put(key, value);
    }
  }

  private static String topField(String path) {
    int end = path.length();
    int dot = path.indexOf('.');
    int bracket = path.indexOf('[');
    if (dot >= 0) {
      end = dot;
    }
    if (bracket >= 0 && bracket < end) {
      end = bracket;
    }
    return path.substring(0, end);
  }

  private static GlooFolder glooFolderOf(String rel) {
    String[] segments = rel.split("/");
    return segments.length == 3 ? GLOO_FOLDERS.get(segments[0]) : null;
  }

  private static String stem(String fileName) {
    int dot = fileName.lastIndexOf('.');
    return dot > 0 ? fileName.substring(0, dot) : fileName;
  }

  private static Map<String, String> apiVersionOfKind() {
    Map<String, String> m = new LinkedHashMap<>();
    GLOO_FOLDERS.values().forEach(f -> m.put(f.kind, f.apiVersion));
    return Map.copyOf(m);
  }

  // ---- walking ----

  private enum EntryType { FILE, UNREADABLE_FILE, UNREADABLE_FOLDER, KEPT, REUSED, SKIPPED }

  private record Entry(String rel, EntryType type, String message) {}

  /** The entries under {@code start} (the root, a folder or a file below it); none when it does not exist. */
  private static List<Entry> walk(Path root, Path start) {
    List<Entry> entries = new ArrayList<>();
    if (!start.equals(root) && !Files.exists(start, LinkOption.NOFOLLOW_LINKS)) {
      return entries;
    }
    try {
      Files.walkFileTree(start, EnumSet.of(FileVisitOption.FOLLOW_LINKS), Integer.MAX_VALUE,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
              return !dir.equals(root) && isHidden(dir) ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
              if (isHidden(file) || !isYaml(file)) {
                return FileVisitResult.CONTINUE;
              }
              if (attrs.isRegularFile()) {
                entries.add(new Entry(relative(root, file), EntryType.FILE, null));
              } else if (attrs.isSymbolicLink()) {
                // Following links, the walker only reports the link itself when its target is missing.
                entries.add(new Entry(relative(root, file), EntryType.SKIPPED,
                    "symbolic link to a file that does not exist; skipped"));
              }
              // Anything else (a FIFO, a device) named *.yaml is ignored: reading it could block forever.
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) {
              if (isHidden(file) && !file.equals(root)) {
                return FileVisitResult.CONTINUE;
              }
              String rel = relative(root, file);
              if (e instanceof FileSystemLoopException) {
                entries.add(new Entry(rel, EntryType.SKIPPED,
                    "symbolic link back to an enclosing folder; not followed"));
              } else if (e instanceof NoSuchFileException) {
                return FileVisitResult.CONTINUE; // deleted while we walked
              } else if (isYaml(file)) {
                entries.add(new Entry(rel, EntryType.UNREADABLE_FILE, "cannot read the file: " + describe(e)));
              } else {
                entries.add(new Entry(rel, EntryType.UNREADABLE_FOLDER, "cannot list the folder: " + describe(e)
                    + "; files under it keep what they held at the last successful read"));
              }
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) {
              if (e != null) {
                entries.add(new Entry(relative(root, dir), EntryType.UNREADABLE_FOLDER, "cannot list the folder: "
                    + describe(e) + "; files under it keep what they held at the last successful read"));
              }
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException e) {
      throw new UncheckedIOException("cannot walk config directory " + root.toAbsolutePath(), e);
    }
    return entries;
  }

  private static List<Entry> keptUnderUnreadableFolders(List<Entry> entries, Previous prev) {
    List<Entry> kept = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    entries.forEach(e -> seen.add(e.rel));
    for (Entry e : entries) {
      if (e.type != EntryType.UNREADABLE_FOLDER) {
        continue;
      }
      String prefix = e.rel.isEmpty() ? "" : e.rel + "/";
      Set<String> files = new TreeSet<>(prev.contents.fileHashes().keySet());
      files.addAll(prev.documentFiles());
      for (String file : files) {
        if (file.startsWith(prefix) && seen.add(file)) {
          kept.add(new Entry(file, EntryType.KEPT, null));
        }
      }
    }
    return kept;
  }

  /** Whether a relative path has a hidden segment: such names are never read. */
  private static boolean hiddenPath(String rel) {
    for (String segment : rel.split("/")) {
      if (segment.startsWith(".")) {
        return true;
      }
    }
    return false;
  }

  private static boolean isHidden(Path path) {
    Path name = path.getFileName();
    return name != null && name.toString().startsWith(".");
  }

  private static boolean isYaml(Path path) {
    Path name = path.getFileName();
    if (name == null) {
      return false;
    }
    String n = name.toString().toLowerCase(Locale.ROOT);
    return n.endsWith(".yaml") || n.endsWith(".yml");
  }

  /** {@code path} relative to {@code root}, with {@code /} separators. */
  static String relative(Path root, Path path) {
    Path rel = root.relativize(path);
    StringBuilder sb = new StringBuilder();
    for (Path segment : rel) {
      if (sb.length() > 0) {
        sb.append('/');
      }
      sb.append(segment);
    }
    return sb.toString();
  }

  /** Compares '/'-separated paths folder by folder, so that a folder's files stay together. */
  static int comparePaths(String a, String b) {
    // Character by character with '/' below every other character: the same order as comparing the segments, without
    // splitting (this runs for every file on every read, so it must not allocate).
    int n = Math.min(a.length(), b.length());
    for (int i = 0; i < n; i++) {
      char x = a.charAt(i);
      char y = b.charAt(i);
      if (x != y) {
        return x == '/' ? -1 : y == '/' ? 1 : Character.compare(x, y);
      }
    }
    return Integer.compare(a.length(), b.length());
  }

  private static String describe(IOException e) {
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": "
        + e.getMessage();
  }

  static String sha256Hex(byte[] bytes) {
    return HexFormat.of().formatHex(DirectoryContents.sha256().digest(bytes));
  }

  /** The previous contents, indexed by file. */
  private static final class Previous {
    final DirectoryContents contents;
    private final Map<String, List<SourceDocument>> documents = new LinkedHashMap<>();
    private final Map<String, List<SourceProblem>> problems = new LinkedHashMap<>();
    private final Map<String, List<KubeSecret>> secrets = new HashMap<>();

    Previous(DirectoryContents contents) {
      this.contents = contents;
      for (KubeSecret s : contents.secrets()) {
        secrets.computeIfAbsent(DirectoryContents.fileOf(s), k -> new ArrayList<>()).add(s);
      }
      for (SourceDocument d : contents.documents()) {
        documents.computeIfAbsent(d.origin(), k -> new ArrayList<>()).add(d);
      }
      for (SourceProblem p : contents.problems()) {
        problems.computeIfAbsent(p.file(), k -> new ArrayList<>()).add(p);
      }
    }

    List<SourceDocument> documents(String file) {
      return documents.getOrDefault(file, List.of());
    }

    Set<String> documentFiles() {
      Set<String> out = new LinkedHashSet<>(documents.keySet());
      out.addAll(secrets.keySet());
      return out;
    }

    List<KubeSecret> secrets(String file) {
      return secrets.getOrDefault(file, List.of());
    }

    List<SourceProblem> problems(String file) {
      return problems.getOrDefault(file, List.of());
    }

    /** Every file (or folder) the previous contents know: read, kept, or with a problem. */
    Set<String> files() {
      Set<String> out = new LinkedHashSet<>(contents.fileHashes().keySet());
      out.addAll(documents.keySet());
      out.addAll(secrets.keySet());
      out.addAll(problems.keySet());
      return out;
    }
  }
}
