package io.shardgate.controlplane.kube;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * The chart's own ValidatingWebhookConfiguration (helm/shardgate, rendered with the real helm), pointed at a webhook
 * the test or benchmark runs on this machine: the in-cluster {@code clientConfig.service} becomes
 * {@code url: https://127.0.0.1:<port>/validation} with the test CA, {@code failurePolicy} becomes {@code Fail} so
 * an unreachable webhook shows as a refusal rather than passing unchecked, and {@code timeoutSeconds} 30. Everything
 * else (the webhook's name, its rules, operations, object selector) is the chart's, so what the API server sends is what it sends in
 * a cluster.
 *
 * <p>Stateless.
 */
public final class ChartWebhookConfiguration {

  /** The webhook's name in the chart, which kubectl prints in a refusal ({@code admission webhook "..." denied}). */
  public static final String WEBHOOK_NAME = "validation.shardgate.io";

  private ChartWebhookConfiguration() {}

  /** The YAML of the configuration; {@code work} holds helm's folders. */
  @SuppressWarnings("unchecked")
  public static String forLocalWebhook(Path work, int port, String caPem) {
    String rendered = KubeCli.template(work, "shardgate", "gloo-system", "--show-only", "templates/webhook.yaml");
    List<Map<String, Object>> found = new ArrayList<>();
    for (Map<String, Object> doc : KubeCli.documents(rendered)) {
      if ("ValidatingWebhookConfiguration".equals(doc.get("kind"))) {
        found.add(doc);
      }
    }
    if (found.size() != 1) {
      throw new AssertionError("the chart renders " + found.size() + " ValidatingWebhookConfigurations, not one:\n"
          + rendered);
    }
    Map<String, Object> configuration = found.get(0);
    List<Map<String, Object>> webhooks = (List<Map<String, Object>>) configuration.get("webhooks");
    for (Map<String, Object> webhook : webhooks) {
      Map<String, Object> clientConfig = new LinkedHashMap<>();
      clientConfig.put("url", "https://127.0.0.1:" + port + "/validation");
      clientConfig.put("caBundle", Base64.getEncoder().encodeToString(caPem.getBytes(StandardCharsets.UTF_8)));
      webhook.put("clientConfig", clientConfig);
      webhook.put("failurePolicy", "Fail");
      // The most the API server allows: these runs share two cores with other builds.
      webhook.put("timeoutSeconds", 30);
    }
    DumperOptions options = new DumperOptions();
    options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    return new Yaml(options).dump(configuration);
  }
}
