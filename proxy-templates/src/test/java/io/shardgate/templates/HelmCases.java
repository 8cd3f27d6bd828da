package io.shardgate.templates;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The chart's golden cases in {@code src/test/resources/helm}: {@code <case>.values.yaml}, the values of one
 * behaviour, and {@code <case>.manifests.yaml}, what {@code helm template gw helm/shardgate --namespace shardgate}
 * renders from them.
 *
 * <p>Every case is rendered with {@link #FIXED_WEBHOOK_TLS} first: without it the chart makes a fresh self-signed
 * webhook CA and certificate (genCA) on every render, so the Secret and the caBundle would differ each time. With
 * it they are the same fixed test material, and the rest of the output has no randomness, clock or map order.
 *
 * <p>To keep each expected file about its behaviour, {@value #DEFAULT_CASE} holds the whole output and every other
 * case only the objects that differ from it (added or changed, whole), then a comment naming the objects it
 * removes. A change to an object every case shares thus shows once, in the default case.
 */
final class HelmCases {

  static final String VALUES = ".values.yaml";
  static final String MANIFESTS = ".manifests.yaml";
  static final String FIXED_WEBHOOK_TLS = "fixed-webhook-tls.yaml";
  static final String DEFAULT_CASE = "default";

  private HelmCases() {}

  static Path dir() {
    return Golden.sourceDir("helm");
  }

  static List<Path> valuesFiles() {
    return Golden.list(dir(), VALUES);
  }

  static List<Path> manifestFiles() {
    return Golden.list(dir(), MANIFESTS);
  }

  static String caseName(Path file) {
    String name = file.getFileName().toString();
    return name.substring(0, name.indexOf('.'));
  }

  static Path manifestsFileOf(Path valuesFile) {
    return valuesFile.resolveSibling(caseName(valuesFile) + MANIFESTS);
  }

  static Path valuesFileOf(Path manifestsFile) {
    return manifestsFile.resolveSibling(caseName(manifestsFile) + VALUES);
  }

  /** The expected text of one case: the whole output for the default case, else its difference from it. */
  static String expectedText(Path work, Path valuesFile) {
    String text = render(work, valuesFile).text();
    if (caseName(valuesFile).equals(DEFAULT_CASE)) {
      return text;
    }
    Map<String, String> base = objects(render(work, dir().resolve(DEFAULT_CASE + VALUES)).text());
    Map<String, String> mine = objects(text);
    StringBuilder out = new StringBuilder("# The objects this case renders differently from " + DEFAULT_CASE
        + MANIFESTS + " (added or changed).\n");
    mine.forEach((key, doc) -> {
      if (!doc.equals(base.get(key))) {
        out.append(doc);
      }
    });
    List<String> removed = new ArrayList<>(base.keySet());
    removed.removeAll(mine.keySet());
    out.append("---\n# Not rendered in this case: ").append(removed.isEmpty() ? "-" : String.join(", ", removed))
        .append('\n');
    return out.toString();
  }

  /** The documents of a helm template output by {@code Kind namespace/name}, each with its leading separator. */
  private static Map<String, String> objects(String text) {
    Map<String, String> docs = new LinkedHashMap<>();
    for (String part : text.split("(?m)^---\n")) {
      if (part.isBlank()) {
        continue;
      }
      Helm.Doc doc = new Helm.Doc(Helm.parse(part));
      Object namespace = doc.at("metadata", "namespace");
      String key = doc.kind() + " " + (namespace == null ? "" : namespace + "/") + doc.name();
      if (docs.put(key, "---\n" + part) != null) {
        throw new IllegalStateException("helm template rendered " + key + " twice");
      }
    }
    return docs;
  }

  /** Renders one case, with the fixed webhook certificate first and the case's own values over it. */
  static Helm.Manifests render(Path work, Path valuesFile) {
    return Helm.template(work, "-f", dir().resolve(FIXED_WEBHOOK_TLS).toString(), "-f", valuesFile.toString());
  }
}
