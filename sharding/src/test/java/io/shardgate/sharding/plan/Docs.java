package io.shardgate.sharding.plan;

import io.shardgate.sharding.decode.DecodedResources;
import io.shardgate.sharding.decode.ResourceDecoder;
import io.shardgate.sharding.decode.SourceDocument;
import io.shardgate.sharding.translate.GatewayTranslation;
import io.shardgate.sharding.translate.GatewayTranslator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/** Test input: multi-document YAML text to decoded resources, a translation and a plan. */
final class Docs {

  private Docs() {}

  /**
   * The documents of {@code yaml} (separated by {@code ---} lines), each with the line it starts on in {@code file},
   * shifted by {@code lineOffset} (to move resources within a file).
   */
  @SuppressWarnings("unchecked")
  static List<SourceDocument> parse(String file, String yaml, int lineOffset) {
    List<SourceDocument> out = new ArrayList<>();
    String[] lines = yaml.split("\n", -1);
    StringBuilder doc = new StringBuilder();
    int start = 1;
    for (int i = 0; i <= lines.length; i++) {
      boolean end = i == lines.length || lines[i].equals("---");
      if (end) {
        Object tree = new Yaml(new LoaderOptions()).load(doc.toString());
        if (tree instanceof Map<?, ?> m) {
          out.add(new SourceDocument(file, start + lineOffset, (Map<String, Object>) m, Map.of()));
        }
        doc.setLength(0);
        start = i + 2;
      } else {
        doc.append(lines[i]).append('\n');
      }
    }
    return out;
  }

  static DecodedResources decode(String yaml) {
    return ResourceDecoder.decode(parse("config.yaml", yaml, 0));
  }

  static ShardPlan plan(String yaml) {
    return plan(ResourceDecoder.decode(parse("config.yaml", yaml, 0)));
  }

  static ShardPlan plan(DecodedResources decoded) {
    GatewayTranslation t = GatewayTranslator.translate(decoded);
    return ShardPlanner.plan(decoded.snapshot(), t, PlanSettings.of(decoded.snapshot().settings()));
  }
}
