package io.shardgate.controlplane.source;

import io.shardgate.sharding.decode.SourceDocument;
import java.io.StringReader;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeId;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.reader.ReaderException;
import org.yaml.snakeyaml.representer.Representer;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * Parses the text of one YAML file (one or more documents) into {@link SourceDocument}s: a plain tree per document
 * plus the line of every field, so that later stages can point at {@code file:line}.
 *
 * <p>Stage: source. Pure and stateless; thread-safe (each call builds its own parser, as SnakeYAML's are not).
 *
 * <p>Rules, chosen to match what Kubernetes and Gloo users expect and to stay safe on hostile input:
 *
 * <ul>
 *   <li>Plain scalars resolve by the YAML 1.2 core schema, not SnakeYAML's YAML 1.1 default: only
 *       {@code true/false} (and their capitalised forms) are booleans, so {@code on}, {@code no} or {@code y} stay
 *       strings, and {@code 1:30} is not a sexagesimal number. Integers become {@code Long} (decimal, {@code 0x},
 *       {@code 0o}); an integer beyond the {@code long} range stays a {@code String} with its original text, so no
 *       digit is lost and the decoder can name the value it rejects. Floats become {@code Double}; timestamps,
 *       binary and custom tags stay {@code String}. Quoted scalars are always strings.
 *   <li>Mapping keys are the key's text ({@code 200: x} has key {@code "200"}); a key that is a mapping or a list
 *       is an error. A duplicate key is an error naming both lines.
 *   <li>Anchors, aliases and merge keys ({@code <<: *base}, explicit keys win) work, but at most
 *       {@value #MAX_ALIASES_FOR_COLLECTIONS} aliases to collections per document and
 *       {@value #MAX_ALIAS_EXPANSION_NODES} nodes produced through aliases, so an alias bomb fails fast instead of
 *       filling the heap. Recursive aliases are an error.
 *   <li>A document is at most {@value #MAX_DOCUMENT_CODE_POINTS} code points.
 *   <li>Empty documents ({@code ---} alone, comments only, or an explicit {@code null}) are skipped; any other
 *       document that is not a mapping is an error.
 * </ul>
 *
 * <p>Field lines are keyed by path: mapping keys joined with '.', list items as {@code [i]}, e.g.
 * {@code spec.virtualHost.routes[0].matchers[1].prefix}. Keys are not escaped, so a label key like
 * {@code app.kubernetes.io/name} yields a path with extra dots; {@link SourceDocument#lineOf} then falls back to
 * the enclosing field, which is still the right neighbourhood. A field merged in through {@code <<} or an alias
 * reports the line where the anchored text is written. The returned trees are unmodifiable, because a loader may
 * hand the same documents out again after a broken edit.
 */
public final class YamlDocumentReader {

  /** Aliases to a mapping or list allowed per document; real configs use a handful. */
  public static final int MAX_ALIASES_FOR_COLLECTIONS = 50;

  /** Nodes that aliases may expand to per document (aliases multiply; text size alone does not bound them). */
  public static final int MAX_ALIAS_EXPANSION_NODES = 100_000;

  /** Largest document, in code points. */
  public static final int MAX_DOCUMENT_CODE_POINTS = 8 * 1024 * 1024;

  /** Deepest nesting of the produced tree; guards the recursive conversion against chains of aliases. */
  static final int MAX_DEPTH = 200;

  private static final int MAX_NESTING_IN_TEXT = 100;

  /** Creates a reader; it holds no state. */
  public YamlDocumentReader() {}

  /**
   * Parses a file's bytes, which must be UTF-8 (a byte order mark is allowed).
   *
   * @param file the file's name for messages and {@link SourceDocument#origin()}
   * @throws SourceException when the bytes are not UTF-8 or the text is not valid YAML, see {@link #read(String,
   *     String)}
   */
  public List<SourceDocument> read(String file, byte[] bytes) throws SourceException {
    return read(file, decodeUtf8(file, bytes));
  }

  /**
   * Parses a file's text.
   *
   * @param file the file's name for messages and {@link SourceDocument#origin()}
   * @return the non-empty documents in file order
   * @throws SourceException on a syntax error, a document that is not a mapping, a duplicate or complex key, an
   *     invalid explicitly tagged value, or when a limit is exceeded
   */
  public List<SourceDocument> read(String file, String text) throws SourceException {
    // Only the composer is used; the constructor and representer are required by Yaml's only constructor that
    // accepts both LoaderOptions and a Resolver.
    LoaderOptions options = loaderOptions();
    DumperOptions dumperOptions = new DumperOptions();
    Yaml yaml = new Yaml(new SafeConstructor(options), new Representer(dumperOptions), dumperOptions, options,
        new CoreSchemaResolver());
    List<SourceDocument> out = new ArrayList<>();
    try {
      for (Node root : yaml.composeAll(new StringReader(text))) {
        if (root == null || isNull(root)) {
          continue;
        }
        int line = lineOf(root);
        if (!(root instanceof MappingNode)) {
          throw new SourceException(file, line, columnOf(root), "the document is a " + describe(root)
              + ", but a resource must be a mapping (apiVersion: ..., kind: ..., metadata: ..., spec: ...)");
        }
        Converter converter = new Converter(file);
        @SuppressWarnings("unchecked")
        Map<String, Object> content = (Map<String, Object>) converter.convert(root, "", 0);
        out.add(new SourceDocument(file, line, content, converter.lines));
      }
    } catch (MarkedYAMLException e) {
      throw fromMarked(file, e);
    } catch (ReaderException e) {
      throw fromReader(file, text, e);
    } catch (YAMLException e) {
      throw new SourceException(file, 0, 0, withHint(wording(e.getMessage())));
    }
    return out;
  }

  private static LoaderOptions loaderOptions() {
    LoaderOptions options = new LoaderOptions();
    options.setMaxAliasesForCollections(MAX_ALIASES_FOR_COLLECTIONS);
    options.setAllowDuplicateKeys(false);
    options.setAllowRecursiveKeys(false);
    options.setCodePointLimit(MAX_DOCUMENT_CODE_POINTS);
    options.setNestingDepthLimit(MAX_NESTING_IN_TEXT);
    // The composer must leave merge keys alone: we merge ourselves so explicit keys win and lines stay right.
    options.setMergeOnCompose(false);
    return options;
  }

  private static String decodeUtf8(String file, byte[] bytes) throws SourceException {
    int start = bytes.length >= 3 && (bytes[0] & 0xff) == 0xEF && (bytes[1] & 0xff) == 0xBB
        && (bytes[2] & 0xff) == 0xBF ? 3 : 0;
    CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(bytes, start, bytes.length - start);
    try {
      return decoder.decode(in).toString();
    } catch (CharacterCodingException e) {
      // The decoder stops at the first bad byte; report the line it is on.
      int bad = Math.min(in.position(), bytes.length);
      int line = 1;
      int lineStart = start;
      for (int i = start; i < bad; i++) {
        if (bytes[i] == '\n') {
          line++;
          lineStart = i + 1;
        }
      }
      throw new SourceException(file, line, bad - lineStart + 1,
          "the file is not valid UTF-8 (byte 0x" + Integer.toHexString(bytes[bad] & 0xff)
              + "); save it as UTF-8");
    }
  }

  private static SourceException fromMarked(String file, MarkedYAMLException e) {
    Mark problem = e.getProblemMark();
    Mark context = e.getContextMark();
    // Never getMessage(): it quotes the offending line (a PEM or base64 line in a secret file) under a caret.
    StringBuilder sb = new StringBuilder(wording(e.getProblem()));
    if (e.getContext() != null) {
      sb.append(" (").append(wording(e.getContext()));
      if (context != null && (problem == null || context.getLine() != problem.getLine())) {
        sb.append(" started at line ").append(context.getLine() + 1);
      }
      sb.append(')');
    }
    Mark at = problem != null ? problem : context;
    int line = at == null ? 0 : at.getLine() + 1;
    int column = at == null ? 0 : at.getColumn() + 1;
    return new SourceException(file, line, column, withHint(sb.toString()));
  }

  private static SourceException fromReader(String file, String text, ReaderException e) {
    // The position counts code points from the start of the stream.
    int line = 1;
    int column = 1;
    int seen = 0;
    for (int i = 0; i < text.length() && seen < e.getPosition(); i = text.offsetByCodePoints(i, 1), seen++) {
      if (text.charAt(i) == '\n') {
        line++;
        column = 1;
      } else {
        column++;
      }
    }
    return new SourceException(file, line, column, String.format(
        "the character U+%04X is not allowed in YAML; delete it, or write it as an escape in a double-quoted string",
        e.getCodePoint()));
  }

  /**
   * SnakeYAML's problem and context phrases as Shardgate words them: what went wrong, without the parts of some
   * phrases that repeat the file's text (the character found, an anchor, alias or tag name, a version number). A
   * file that does not parse cannot be told to be a secret or not, so no parse error of any file quotes it; the
   * location (file:line:column) says where. First match wins; a phrase no entry knows becomes a generic one.
   */
  private static final List<Wording> WORDINGS = List.of(
      // Fixed phrases of the scanner, parser and composer (no text of the file in them).
      Wording.kept("(?:mapping values|mapping keys|sequence entries) are not allowed here"),
      Wording.kept("could not find expected ':'"),
      Wording.kept("found unexpected (?:end of stream|document separator)"),
      Wording.kept("A simple key is required only if it is the first token in the current line"),
      Wording.kept("expected indentation indicator in the range 1-9, but found 0"),
      Wording.kept("found duplicate YAML directive"),
      Wording.kept("found incompatible YAML document \\(version 1\\.\\* is required\\)"),
      Wording.kept("expected a single document in the stream|but found another document"),
      Wording.kept("while (?:scanning|parsing) (?:a|an) [A-Za-z -]+|while scanning for the next token"
          + "|while parsing a node|second occurrence"),
      Wording.kept("Number of aliases for non-scalar nodes exceeds the specified max=\\d+"),
      Wording.kept("The incoming YAML document exceeds the limit: \\d+ code points\\.?"),
      Wording.kept("Nesting Depth exceeded max \\d+"),
      // The parser names tokens ('<block mapping start>'), never text.
      Wording.kept("expected [^\\n]{1,40}?, but found '?<[a-z ]+>'?"),
      Wording.kept("found character '\\\\t\\(TAB\\)' that cannot start any token.*"),
      // Phrases that end in the file's text: the text is left out.
      new Wording("found character .* that cannot start any token.*", "found a character that cannot start any token"),
      new Wording("(expected [^\\n]*?), but found.*", "$1, but found something else"),
      new Wording("(expected URI in UTF-8):.*", "$1"),
      new Wording("(found unknown escape character|found undefined alias|found undefined tag handle|Global tag is not"
          + " allowed|found a number which cannot represent a valid version|unexpected character found).*", "$1"),
      new Wording("found duplicate anchor .*", "found duplicate anchor"));

  private record Wording(Pattern pattern, String replacement) {
    Wording(String regex, String replacement) {
      this(Pattern.compile(regex, Pattern.DOTALL), replacement);
    }

    static Wording kept(String regex) {
      return new Wording("(" + regex + ")", "$1");
    }
  }

  /** {@code phrase} as worded by {@link #WORDINGS}: never a character of the file's text. */
  static String wording(String phrase) {
    if (phrase == null) {
      return "the YAML does not parse here";
    }
    String p = phrase.strip();
    for (Wording w : WORDINGS) {
      Matcher m = w.pattern().matcher(p);
      if (m.matches()) {
        return m.replaceFirst(w.replacement());
      }
    }
    return "the YAML does not parse here";
  }

  // Short advice for the mistakes people actually make; the parser's own wording names the symptom, not the fix.
  private static final String[][] HINTS = {
    {"mapping values are not allowed here",
        "check the indentation of this line, or quote a value that contains ': '"},
    {"could not find expected ':'", "a key is missing its ':', or a multi-line value needs quoting or indenting"},
    {"expected <block end>", "this line is indented differently from its siblings"},
    {"found unexpected end of stream", "a quote or bracket opened above is never closed"},
    {"found undefined alias", "define the anchor (&name) before using the alias (*name)"},
    {"found duplicate anchor", "each anchor name (&name) may be defined once per document"},
    {"Number of aliases for non-scalar nodes exceeds",
        "at most " + MAX_ALIASES_FOR_COLLECTIONS + " aliases to mappings or lists are allowed per document"},
    {"exceeds the limit", "split the file; a document may hold at most " + MAX_DOCUMENT_CODE_POINTS
        + " characters"},
    {"Global tag is not allowed", "remove the !!type tag; resources are plain YAML"},
    {"found unknown escape character", "in double quotes, write a backslash as \\\\ or use single quotes"},
  };

  private static String withHint(String reason) {
    for (String[] hint : HINTS) {
      if (reason.contains(hint[0])) {
        return reason + "; " + hint[1];
      }
    }
    return reason;
  }

  private static boolean isNull(Node node) {
    return node instanceof ScalarNode && Tag.NULL.equals(node.getTag());
  }

  private static int lineOf(Node node) {
    return node.getStartMark() == null ? 0 : node.getStartMark().getLine() + 1;
  }

  private static int columnOf(Node node) {
    return node.getStartMark() == null ? 0 : node.getStartMark().getColumn() + 1;
  }

  private static String describe(Node node) {
    if (node instanceof SequenceNode) {
      return "list";
    }
    if (node instanceof ScalarNode) {
      return "plain value"; // not quoted back: the file may hold a secret
    }
    return node.getNodeId().name();
  }

  /** Converts one document's node graph into a plain tree, recording field lines on the way. */
  private static final class Converter {
    private final String file;
    private Map<String, Integer> lines = new HashMap<>();
    private final Set<Node> converted = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Set<Node> inProgress = Collections.newSetFromMap(new IdentityHashMap<>());
    private int aliasDepth;
    private int aliasNodes;

    Converter(String file) {
      this.file = file;
    }

    Object convert(Node node, String path, int depth) throws SourceException {
      if (depth > MAX_DEPTH) {
        throw error(node, "nesting deeper than " + MAX_DEPTH + " levels (through aliases?)");
      }
      if (node instanceof ScalarNode scalar) {
        countAliasNode(node);
        return scalar(scalar);
      }
      if (inProgress.contains(node)) {
        throw error(node, "an alias refers to a mapping or list that contains it; recursive aliases are not "
            + "allowed");
      }
      // The composer hands out the same Node object for every alias of an anchor; seeing one again means we
      // are expanding an alias.
      boolean alias = converted.contains(node);
      if (alias) {
        aliasDepth++;
      }
      inProgress.add(node);
      try {
        countAliasNode(node);
        Object result;
        if (node instanceof SequenceNode seq) {
          List<Object> list = new ArrayList<>(seq.getValue().size());
          int i = 0;
          for (Node item : seq.getValue()) {
            String itemPath = path + "[" + i++ + "]";
            lines.put(itemPath, lineOf(item));
            list.add(convert(item, itemPath, depth + 1));
          }
          result = Collections.unmodifiableList(list);
        } else if (node instanceof MappingNode map) {
          result = mapping(map, path, depth);
        } else {
          throw error(node, "unsupported YAML node " + node.getNodeId());
        }
        converted.add(node);
        return result;
      } finally {
        inProgress.remove(node);
        if (alias) {
          aliasDepth--;
        }
      }
    }

    private void countAliasNode(Node node) throws SourceException {
      if (aliasDepth > 0 && ++aliasNodes > MAX_ALIAS_EXPANSION_NODES) {
        throw error(node, "aliases expand to more than " + MAX_ALIAS_EXPANSION_NODES
            + " values; write the repeated parts out or use fewer nested aliases");
      }
    }

    private Map<String, Object> mapping(MappingNode node, String path, int depth) throws SourceException {
      Map<String, Integer> explicitKeyLines = new HashMap<>();
      for (NodeTuple tuple : node.getValue()) {
        if (isMergeKey(tuple.getKeyNode())) {
          continue;
        }
        String key = key(tuple.getKeyNode());
        Integer first = explicitKeyLines.putIfAbsent(key, lineOf(tuple.getKeyNode()));
        if (first != null) {
          throw error(tuple.getKeyNode(), "duplicate key '" + key + "' (first at line " + first
              + "); remove one of them");
        }
      }
      Map<String, Object> out = new LinkedHashMap<>();
      for (NodeTuple tuple : node.getValue()) {
        Node keyNode = tuple.getKeyNode();
        if (isMergeKey(keyNode)) {
          merge(out, explicitKeyLines.keySet(), tuple.getValueNode(), path, depth);
          continue;
        }
        String key = key(keyNode);
        String childPath = path.isEmpty() ? key : path + "." + key;
        lines.put(childPath, lineOf(keyNode));
        out.put(key, convert(tuple.getValueNode(), childPath, depth + 1));
      }
      return Collections.unmodifiableMap(out);
    }

    private void merge(Map<String, Object> out, Set<String> explicitKeys, Node source, String path, int depth)
        throws SourceException {
      List<Node> sources = new ArrayList<>();
      if (source instanceof MappingNode) {
        sources.add(source);
      } else if (source instanceof SequenceNode seq) {
        for (Node item : seq.getValue()) {
          if (!(item instanceof MappingNode)) {
            throw error(item, "a '<<' list may only hold mappings, found a " + describe(item));
          }
          sources.add(item);
        }
      } else {
        throw error(source, "the value of '<<' must be a mapping or a list of mappings, found a "
            + describe(source));
      }
      for (Node src : sources) {
        Map<String, Integer> outer = lines;
        lines = new HashMap<>();
        Map<?, ?> merged;
        Map<String, Integer> mergedLines;
        try {
          merged = (Map<?, ?>) convert(src, path, depth);
          mergedLines = lines;
        } finally {
          lines = outer;
        }
        for (Map.Entry<?, ?> e : merged.entrySet()) {
          String key = (String) e.getKey();
          // Explicit keys win wherever they appear; among merged mappings the first one wins.
          if (explicitKeys.contains(key) || out.containsKey(key)) {
            continue;
          }
          out.put(key, e.getValue());
          String childPath = path.isEmpty() ? key : path + "." + key;
          for (Map.Entry<String, Integer> l : mergedLines.entrySet()) {
            String p = l.getKey();
            if (p.equals(childPath) || p.startsWith(childPath + ".") || p.startsWith(childPath + "[")) {
              lines.put(p, l.getValue());
            }
          }
        }
      }
    }

    private static boolean isMergeKey(Node key) {
      return key instanceof ScalarNode && Tag.MERGE.equals(key.getTag());
    }

    private String key(Node keyNode) throws SourceException {
      if (!(keyNode instanceof ScalarNode scalar)) {
        throw error(keyNode, "a mapping key must be a plain value, found a "
            + (keyNode instanceof SequenceNode ? "list" : "mapping") + "; check for a stray '?' or brackets");
      }
      return scalar.getValue();
    }

    private Object scalar(ScalarNode node) throws SourceException {
      Tag tag = node.getTag();
      String v = node.getValue();
      if (Tag.NULL.equals(tag)) {
        return null;
      }
      if (Tag.BOOL.equals(tag)) {
        if (CoreSchemaResolver.BOOL.matcher(v).matches()) {
          return v.charAt(0) == 't' || v.charAt(0) == 'T';
        }
        throw error(node, "the value is tagged !!bool but is not true or false");
      }
      if (Tag.INT.equals(tag)) {
        Object n = integer(v);
        if (n == null) {
          throw error(node, "the value is tagged !!int but is not an integer");
        }
        return n;
      }
      if (Tag.FLOAT.equals(tag)) {
        if (CoreSchemaResolver.FLOAT.matcher(v).matches() || CoreSchemaResolver.DECIMAL_INT.matcher(v).matches()) {
          return floating(v);
        }
        throw error(node, "the value is tagged !!float but is not a number");
      }
      return v;
    }

    private SourceException error(Node node, String reason) {
      return new SourceException(file, lineOf(node), columnOf(node), reason);
    }
  }

  /** A Long, or the original text when it does not fit a long, or null when {@code v} is not an integer. */
  static Object integer(String v) {
    BigInteger n;
    if (CoreSchemaResolver.DECIMAL_INT.matcher(v).matches()) {
      n = new BigInteger(v.startsWith("+") ? v.substring(1) : v);
    } else if (CoreSchemaResolver.HEX_INT.matcher(v).matches()) {
      n = new BigInteger(v.substring(2), 16);
    } else if (CoreSchemaResolver.OCTAL_INT.matcher(v).matches()) {
      n = new BigInteger(v.substring(2), 8);
    } else {
      return null;
    }
    return n.bitLength() < 64 ? (Object) n.longValue() : v;
  }

  static Double floating(String v) {
    String lower = v.toLowerCase(Locale.ROOT);
    if (lower.equals(".nan")) {
      return Double.NaN;
    }
    if (lower.endsWith(".inf")) {
      return lower.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
    }
    return Double.parseDouble(v);
  }

  /**
   * Resolves plain scalars by the YAML 1.2 core schema, plus the {@code <<} merge key that Kubernetes' YAML parser
   * also accepts.
   */
  static final class CoreSchemaResolver extends Resolver {
    static final Pattern NULL = Pattern.compile("~|null|Null|NULL|");
    static final Pattern BOOL = Pattern.compile("true|True|TRUE|false|False|FALSE");
    static final Pattern DECIMAL_INT = Pattern.compile("[-+]?[0-9]+");
    static final Pattern OCTAL_INT = Pattern.compile("0o[0-7]+");
    static final Pattern HEX_INT = Pattern.compile("0x[0-9a-fA-F]+");
    static final Pattern FLOAT = Pattern.compile(
        "[-+]?(?:\\.[0-9]+|[0-9]+(?:\\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN)");

    @Override
    protected void addImplicitResolvers() {
      // resolve() below is the whole table; SnakeYAML's YAML 1.1 resolvers must not be registered.
    }

    @Override
    public Tag resolve(NodeId kind, String value, boolean implicit) {
      if (kind == NodeId.mapping) {
        return Tag.MAP;
      }
      if (kind == NodeId.sequence) {
        return Tag.SEQ;
      }
      if (!implicit) {
        return Tag.STR;
      }
      if (value.equals("<<")) {
        return Tag.MERGE;
      }
      if (NULL.matcher(value).matches()) {
        return Tag.NULL;
      }
      if (BOOL.matcher(value).matches()) {
        return Tag.BOOL;
      }
      if (DECIMAL_INT.matcher(value).matches() || OCTAL_INT.matcher(value).matches()
          || HEX_INT.matcher(value).matches()) {
        return Tag.INT;
      }
      if (FLOAT.matcher(value).matches()) {
        return Tag.FLOAT;
      }
      return Tag.STR;
    }
  }
}
