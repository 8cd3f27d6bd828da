package io.shardgate.controlplane.kube;

import io.shardgate.sharding.decode.GlooApi;
import io.shardgate.sharding.decode.GlooApi.EnumRef;
import io.shardgate.sharding.decode.GlooApi.EnumType;
import io.shardgate.sharding.decode.GlooApi.Field;
import io.shardgate.sharding.decode.GlooApi.ListOf;
import io.shardgate.sharding.decode.GlooApi.MapOf;
import io.shardgate.sharding.decode.GlooApi.Message;
import io.shardgate.sharding.decode.GlooApi.MessageRef;
import io.shardgate.sharding.decode.GlooApi.Opaque;
import io.shardgate.sharding.decode.GlooApi.Scalar;
import io.shardgate.sharding.decode.GlooApi.Type;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * Generates the chart's CustomResourceDefinitions ({@code helm/shardgate/crds/}) from the Gloo field table
 * ({@link GlooApi}): the table that drives decoding also decides what the API server checks, so the two cannot drift.
 * Every field the table types gets its type (integers with their range, wrappers nullable, enums by name or number);
 * {@code any} and {@code struct} fields, the status and the Proxy spec keep unknown fields, so real Gloo manifests are
 * accepted. Oneof groups and defaults are left to the decoder (it names the resource, field and file).
 *
 * <p>Test code, because the CRDs are a committed build artefact that {@link CrdsMatchTableTest} compares with this
 * output: nothing at run time generates them. Pure and stateless; thread-safe.
 */
final class CrdGenerator {

  /** One custom resource kind; {@code message} is the table's message of its spec, or null for an open spec. */
  record Kind(String group, String kind, String plural, List<String> shortNames, String message,
      boolean statusSubresource, String shardsPath) {

    String crdName() {
      return plural + "." + group;
    }

    /** The file under {@code helm/shardgate/crds/}. */
    String fileName() {
      return group + "_" + plural + ".yaml";
    }
  }

  static final String GATEWAY_GROUP = "gateway.solo.io";
  static final String GLOO_GROUP = "gloo.solo.io";

  /** Short names as Gloo's own CRDs have them, so {@code kubectl get vs} works as users know it. */
  static final List<Kind> KINDS = List.of(
      new Kind(GATEWAY_GROUP, "Gateway", "gateways", List.of("gw", "ggw"), "Gateway", true, ".spec.proxyNames"),
      new Kind(GATEWAY_GROUP, "VirtualService", "virtualservices", List.of("vs", "gvs"), "VirtualService", true,
          ".status.proxies"),
      new Kind(GATEWAY_GROUP, "RouteTable", "routetables", List.of("rt", "grt"), "RouteTable", true,
          ".status.proxies"),
      new Kind(GLOO_GROUP, "Upstream", "upstreams", List.of("us"), "Upstream", true, ".status.proxies"),
      new Kind(GLOO_GROUP, "UpstreamGroup", "upstreamgroups", List.of("ug"), "UpstreamGroup", true,
          ".status.proxies"),
      new Kind(GLOO_GROUP, "Settings", "settings", List.of("st"), "Settings", true, ".status.proxies"),
      // Shardgate keeps Proxies only as a record of what it built (persistProxySpec): their spec is Gloo's
      // internal API, not the user's, so it is not checked; they have no status of their own.
      new Kind(GLOO_GROUP, "Proxy", "proxies", List.of("px", "gpx"), null, false, null));

  static final String HEADER = "# Generated from Shardgate's Gloo field table (sharding/.../decode/gloo-api.fields) by"
      + " CrdGenerator; do not edit.\n# Regenerate: " + CrdsMatchTableTest.REGENERATE + "\n";

  private final GlooApi api;

  CrdGenerator(GlooApi api) {
    this.api = api;
  }

  /** File name to YAML text, for every kind, in file-name order. */
  Map<String, String> files() {
    Map<String, String> out = new TreeMap<>();
    for (Kind kind : KINDS) {
      out.put(kind.fileName(), HEADER + yaml().dump(crd(kind)));
    }
    return out;
  }

  Map<String, Object> crd(Kind kind) {
    Map<String, Object> names = map();
    names.put("kind", kind.kind());
    names.put("listKind", kind.kind() + "List");
    names.put("plural", kind.plural());
    names.put("singular", kind.kind().toLowerCase(Locale.ROOT));
    names.put("shortNames", kind.shortNames());
    names.put("categories", List.of("gloo-gateway", "shardgate"));

    Map<String, Object> version = map();
    version.put("name", "v1");
    version.put("served", true);
    version.put("storage", true);
    version.put("schema", Map.of("openAPIV3Schema", documentSchema(kind)));
    if (kind.statusSubresource()) {
      version.put("subresources", Map.of("status", Map.of()));
    }
    if (kind.shardsPath() != null) {
      version.put("additionalPrinterColumns", List.of(
          column("State", "string", ".status.state", "Accepted, Warning or Rejected, as Shardgate last reported"),
          column("Shards", "string", kind.shardsPath(), kind.shardsPath().startsWith(".spec.")
              ? "The shards (proxies) this Gateway builds"
              : "The shards (Gateway proxyNames) this resource reaches, as Shardgate last reported"),
          column("Age", "date", ".metadata.creationTimestamp", null)));
    }

    Map<String, Object> spec = map();
    spec.put("group", kind.group());
    spec.put("names", names);
    spec.put("scope", "Namespaced");
    spec.put("versions", List.of(version));

    Map<String, Object> crd = map();
    crd.put("apiVersion", "apiextensions.k8s.io/v1");
    crd.put("kind", "CustomResourceDefinition");
    crd.put("metadata", Map.of("name", kind.crdName()));
    crd.put("spec", spec);
    return crd;
  }

  private Map<String, Object> documentSchema(Kind kind) {
    Map<String, Object> properties = map();
    properties.put("apiVersion", Map.of("type", "string"));
    properties.put("kind", Map.of("type", "string"));
    // The API server checks metadata itself.
    properties.put("metadata", Map.of("type", "object"));
    properties.put("spec", kind.message() == null ? openObject() : messageSchema(kind.message(), new ArrayDeque<>()));
    // Gloo's status shapes (state/reason, namespaced statuses keyed by reporter) are all kept as written.
    properties.put("status", openObject());
    Message document = api.message("Document");
    for (Field f : document.fields().values()) {
      if (!properties.containsKey(f.name())) {
        properties.put(f.name(), schema(f.type(), new ArrayDeque<>()));
      }
    }
    Map<String, Object> root = map();
    root.put("type", "object");
    root.put("properties", properties);
    return root;
  }

  private Map<String, Object> messageSchema(String name, Deque<String> path) {
    if (path.contains(name)) {
      // A CRD schema has no references: a recursive message cannot be written out.
      throw new IllegalStateException("the Gloo field table's message " + name + " contains itself (via " + path
          + "); a CRD schema cannot express that");
    }
    path.push(name);
    Map<String, Object> properties = map();
    for (Field f : api.message(name).fields().values()) {
      properties.put(f.name(), schema(f.type(), path));
    }
    path.pop();
    Map<String, Object> out = map();
    out.put("type", "object");
    out.put("properties", properties);
    return out;
  }

  private Map<String, Object> schema(Type type, Deque<String> path) {
    if (type instanceof Scalar s) {
      return scalar(s);
    }
    if (type instanceof EnumRef e) {
      return enumSchema(api.enumType(e.name()));
    }
    if (type instanceof MessageRef m) {
      return messageSchema(m.name(), path);
    }
    if (type instanceof ListOf l) {
      Map<String, Object> out = map();
      out.put("type", "array");
      out.put("items", schema(l.element(), path));
      return out;
    }
    if (type instanceof MapOf m) {
      Map<String, Object> out = map();
      out.put("type", "object");
      out.put("additionalProperties", schema(m.value(), path));
      return out;
    }
    Opaque o = (Opaque) type;
    if (o.mappingOnly()) {
      return openObject();
    }
    return Map.of("x-kubernetes-preserve-unknown-fields", true);
  }

  private static Map<String, Object> scalar(Scalar s) {
    Map<String, Object> out = map();
    switch (s.kind()) {
      case STRING, DURATION -> out.put("type", "string");
      case BOOL -> out.put("type", "boolean");
      case DOUBLE -> out.put("type", "number");
      case INT32 -> {
        out.put("type", "integer");
        out.put("format", "int32");
      }
      case UINT32 -> {
        out.put("type", "integer");
        out.put("minimum", 0);
        out.put("maximum", 4294967295L);
      }
      // proto-JSON writes 64-bit integers as strings too, and the decoder takes both.
      case INT64 -> {
        out.put("x-kubernetes-int-or-string", true);
        out.put("pattern", "^-?[0-9]+$");
      }
      case UINT64 -> {
        out.put("x-kubernetes-int-or-string", true);
        out.put("minimum", 0);
        out.put("pattern", "^[0-9]+$");
      }
      default -> throw new IllegalStateException("no schema for scalar kind " + s.kind());
    }
    if (s.wrapper()) {
      out.put("nullable", true);
    }
    return out;
  }

  /**
   * Gloo takes an enum by value name or by number, as proto-JSON does. A structural schema cannot type the two
   * branches of an anyOf, so the name is checked by a pattern, which holds for numbers vacuously.
   */
  private static Map<String, Object> enumSchema(EnumType e) {
    Map<String, Object> out = map();
    out.put("x-kubernetes-int-or-string", true);
    out.put("pattern", "^(" + String.join("|", e.values().keySet()) + ")$");
    return out;
  }

  private static Map<String, Object> openObject() {
    Map<String, Object> out = map();
    out.put("type", "object");
    out.put("x-kubernetes-preserve-unknown-fields", true);
    return out;
  }

  private static Map<String, Object> column(String name, String type, String jsonPath, String description) {
    Map<String, Object> out = map();
    out.put("name", name);
    out.put("type", type);
    out.put("jsonPath", jsonPath);
    if (description != null) {
      out.put("description", description);
    }
    return out;
  }

  private static Map<String, Object> map() {
    return new LinkedHashMap<>();
  }

  private static Yaml yaml() {
    DumperOptions options = new DumperOptions();
    options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    options.setIndent(2);
    options.setWidth(200);
    options.setSplitLines(false);
    return new Yaml(options);
  }
}
